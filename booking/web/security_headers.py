"""Security headers on every answer: pages, API, static files, feeds, errors.

Added in a ``before_send`` hook, so they also reach answers no route handler produced (404
of unknown paths, 405, errors raised in middleware). The Content-Security-Policy allows
scripts, styles, fonts and images from this origin only — no ``'unsafe-inline'``: templates
keep scripts and styles in files under /static (``tests/browser/test_security_headers.py``
watches for violations). Only the embeddable calendar (/embed/…) may be framed by other
sites; everything else refuses framing. The interactive API docs serve a vendored Swagger UI
from /static (``booking.api.docs``) under the same policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

EMBEDDABLE_PREFIX = "/embed/"
HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600


def content_security_policy(path: str, *, image_sources: tuple[str, ...] = ()) -> str:
    """The policy for an answer to ``path``; ``image_sources``: other origins of images (map tiles)."""
    framing = "*" if path.startswith(EMBEDDABLE_PREFIX) else "'none'"
    scripts = styles = "'self'"
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            f"style-src {styles}",
            " ".join(("img-src 'self' data:", *image_sources)),
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {framing}",
        )
    )


def security_headers(path: str, *, https: bool, image_sources: tuple[str, ...] = ()) -> dict[str, str]:
    """Every security header of an answer to ``path``; HSTS only when served over https."""
    headers = {
        "Content-Security-Policy": content_security_policy(path, image_sources=image_sources),
        "X-Content-Type-Options": "nosniff",
        # Secret URLs (feeds, login and reset links) never travel to other sites in a Referer.
        "Referrer-Policy": "same-origin",
    }
    if not path.startswith(EMBEDDABLE_PREFIX):
        headers["X-Frame-Options"] = "DENY"  # for browsers without frame-ancestors
    if https:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_SECONDS}"
    return headers


def security_headers_hook(base_url: str, *, image_sources: tuple[str, ...] = ()) -> Callable[[Message, Scope], Awaitable[None]]:
    """A Litestar ``before_send`` hook adding ``security_headers`` to every HTTP answer;
    ``image_sources``: the map's tile server (settings ``map.tile_url``)."""
    https = base_url.lower().startswith("https://")

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in security_headers(scope.get("path", "/"), https=https, image_sources=image_sources).items():
            headers[name] = value

    return add_security_headers
