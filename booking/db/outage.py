"""One log line per database outage, not a traceback per request.

While the database is away every request fails the same way; the first failure of an
episode is logged (a warning naming the error), later ones only counted. The episode ends
at the first connection that works again (a pool checkout, after the ping of db/engine.py), which
logs one line at INFO with how long it lasted and how many requests were refused.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("booking.db")


class OutageMonitor:
    """Is the database away, since when, and how many requests it cost; logs the episodes."""

    def __init__(self, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self._clock = clock
        self._since: float | None = None
        self._refused = 0

    @property
    def is_down(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException) -> None:
        """A request or job failed because the database is unavailable."""
        self._refused += 1
        if self._since is None:
            self._since = self._clock()
            reason = " ".join(str(error).split())[:200]
            log.warning(
                "database unavailable (%s: %s); answering 503 until it is back", type(error).__name__, reason
            )

    def reachable(self) -> None:
        """A connection to the database works (again)."""
        if self._since is None:
            return
        seconds, refused = self._clock() - self._since, self._refused
        self._since, self._refused = None, 0
        log.info("database available again after %.0f s (%d requests answered 503)", seconds, refused)
