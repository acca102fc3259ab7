"""'Meine Buchungen' lists waiting-list entries that ended for 14 days, with why (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.services import bookings, waiting_list, waiting_list_jobs
from booking.services.bookings import BookingRequest
from booking.services.context import AppContext
from booking.services.waiting_list import JoinRequest
from tests.http.conftest import login
from tests.integration.conftest import FixedClock

STARTS_AT = datetime(2026, 1, 20, 17, tzinfo=UTC)
LAPSED = "Bis zum Beginn ist kein Platz frei geworden."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
async def app_context(database, settings, clock) -> AppContext:
    return AppContext(database=database, settings=settings, clock=clock)


async def test_my_bookings_shows_a_lapsed_entry_for_14_days(client, world, app_context, clock):
    ends_at = STARTS_AT + timedelta(hours=2)
    await bookings.create_booking(app_context, world["member_a"], BookingRequest(world.room.id, STARTS_AT, ends_at))
    entry = await waiting_list.join(app_context, world["member_b"], JoinRequest(world.room.id, STARTS_AT, ends_at))
    await login(client, world, "member_b")
    page = (await client.get("/bookings")).text
    assert f'id="waiting-{entry.id}"' in page and "Platz 1" in page and LAPSED not in page
    clock.now = STARTS_AT
    assert await waiting_list_jobs.lapse_past_entries(app_context) == 1
    client.cookies.clear()
    await login(client, world, "member_b")  # a fresh session on the moved clock
    page = (await client.get("/bookings")).text
    assert "In den letzten 14 Tagen beendet" in page and LAPSED in page and f'id="waiting-{entry.id}"' in page
    assert "Platz 1" not in page and f"/waiting-list/{entry.id}/withdraw" not in page
    clock.now = STARTS_AT + timedelta(days=14, minutes=1)
    client.cookies.clear()
    await login(client, world, "member_b")
    page = (await client.get("/bookings")).text
    assert LAPSED not in page and f'id="waiting-{entry.id}"' not in page
