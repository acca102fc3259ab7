"""A small sliding-window rate limiter for the login and e-mail-link forms.

Counts live in the memory of one process (one per app, kept in ``app.state``). With several
worker processes (``uvicorn --workers N`` or several machines) each keeps its own counts, so
the effective limit is N times the configured one. That is still enough to stop password
guessing at scale (Argon2 makes each guess slow anyway); a deployment that needs an exact
global limit should put one in front (reverse proxy) or move the counts into the database.

Keys are the client address plus the e-mail address the form names, so one person mistyping
their password does not lock out a whole office behind one NAT address, and a separate,
looser per-address limit catches someone trying many e-mail addresses from one place.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from litestar import Request

WINDOW_SECONDS = 60.0
PER_ADDRESS_FACTOR = 5
STATE_KEY = "page_rate_limiter"


class RateLimiter:
    """``hit(key, limit)``: records one attempt; returns 0 when allowed, else seconds to wait."""

    def __init__(self, window_seconds: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int) -> int:
        now = self.clock()
        with self._lock:
            if len(self._hits) > 50_000:
                self._forget_old(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return 0

    def _forget_old(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
            del self._hits[key]


def limiter_for(request: Request) -> RateLimiter:
    state = request.app.state
    limiter = state.get(STATE_KEY)
    if limiter is None:
        limiter = RateLimiter()
        state[STATE_KEY] = limiter
    return limiter


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check(request: Request, action: str, email: str, per_minute: int) -> int:
    """Count one attempt of ``action`` for this client and e-mail; seconds to wait, or 0."""
    limiter = limiter_for(request)
    address = client_address(request)
    wait = limiter.hit(f"{action}|{address}|{email.strip().lower()}", per_minute)
    if wait:
        return wait
    return limiter.hit(f"{action}|{address}", per_minute * PER_ADDRESS_FACTOR)


def hourly_limiter(request: Request, key: str) -> RateLimiter:
    """The app's one rate limiter under ``key`` with an hour's window (made at its first use;
    one per process, like every limiter here)."""
    limiter = request.app.state.get(key)
    if limiter is None:
        limiter = RateLimiter(window_seconds=3600.0)
        request.app.state[key] = limiter
    return limiter
