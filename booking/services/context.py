"""What every service function needs: the database, the settings and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from booking.db import Database
from booking.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    database: Database
    settings: Settings
    clock: Callable[[], datetime] = field(default=system_clock)

    def now(self) -> datetime:
        return self.clock()
