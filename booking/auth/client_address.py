"""The client's address, believing X-Forwarded-For only from configured proxies.

The login rate limit counts per client address. A header any client can send must not decide
that address, or rotating it buys unlimited attempts. So ``scope["client"]`` is rewritten only
when the connection comes from one of ``auth.trusted_proxies``; then the header is read from
the right (the entry the nearest proxy appended) past every trusted proxy, and the first
address that is not one of ours is the client. Uvicorn's own proxy handling (which trusts
loopback by default) is switched off by ``booking serve``; run bare uvicorn with
``--no-proxy-headers``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """Membership test for the configured proxy addresses and networks."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
        self.is_trusted = lru_cache(maxsize=4096)(self._is_trusted)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def client_from(self, peer: str, forwarded_for: str) -> str:
        """The client behind ``peer`` according to a header it sent (only used if it is trusted)."""
        if not self.is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            host = _without_port(hop)
            if not self.is_trusted(host):
                return host
        # Every hop is one of our proxies: the leftmost is as close to the client as we know.
        return _without_port(hops[0]) if hops else peer


def _without_port(hop: str) -> str:
    if hop.startswith("["):  # [2001:db8::1]:4711
        return hop[1 : hop.find("]")] if "]" in hop else hop
    if hop.count(":") == 1:  # 192.0.2.1:4711
        return hop.split(":", 1)[0]
    return hop


class ClientAddressMiddleware(ASGIMiddleware):
    """Replaces the peer address by the forwarded one for requests from trusted proxies."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted = TrustedProxies(trusted_proxies)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        client = scope.get("client")
        if self.trusted and client and self.trusted.is_trusted(client[0]):
            forwarded_for: list[str] = []
            forwarded_proto = None
            for name, value in scope.get("headers") or ():
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    forwarded_proto = value.decode("latin-1").strip().lower()
            if forwarded_for:
                scope["client"] = (self.trusted.client_from(client[0], ",".join(forwarded_for)), 0)
            if forwarded_proto in ("http", "https"):
                scope["scheme"] = forwarded_proto
        await next_app(scope, receive, send)
