"""Random secrets handed out once (API, feed and e-mail tokens); only their hash is stored."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str = "") -> tuple[str, str]:
    """A fresh token and the SHA-256 hex digest to store."""
    token = prefix + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_waiting_list_offer(secret_key: str, entry_id: int, booking_id: int) -> str:
    """The secret of an offer mail's links: ``<entry id>-<HMAC of entry and held booking>``.

    Nothing is stored: the link works while the entry is offered that booking, and only then
    (single use: taking or declining the offer ends that state). The mail worker makes it.
    """
    import base64
    import hmac

    message = f"waiting-list-offer:{int(entry_id)}:{int(booking_id)}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return f"{int(entry_id)}-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def waiting_list_offer_entry_id(token: str) -> int | None:
    """The entry id a token names (not yet proof: compare with ``sign_waiting_list_offer``)."""
    head, _, signature = token.strip().partition("-")
    if not head.isdigit() or len(head) > 12 or not signature:
        return None
    return int(head)
