from __future__ import annotations

from datetime import UTC, datetime

import pytest

from booking.services.context import AppContext
from tests.support.world import World, build_world


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
async def app(database, settings, clock) -> AppContext:
    return AppContext(database=database, settings=settings, clock=clock)


@pytest.fixture
async def world(app) -> World:
    return await build_world(app)
