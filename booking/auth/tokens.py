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
