"""Calendar pages stay small at city size: 500 resources, none of the pages over 500 KB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.models import Booking, Resource, Site
from booking.services.context import AppContext
from tests.integration.conftest import FixedClock

LIMIT = 500_000


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
async def app_context(database, settings, clock) -> AppContext:
    """The app on a fixed clock: the month shown stays in the future."""
    return AppContext(database=database, settings=settings, clock=clock)


async def test_no_calendar_page_over_500_kb_at_500_resources(client, world, app_context):
    async with app_context.database.transaction() as session:
        sites = [Site(name=f"Ort {number:02d}", contact_email=f"ort{number}@site.example") for number in range(25)]
        session.add_all(sites)
        await session.flush()
        resources = [
            Resource(site_id=site.id, kind=("room", "desk", "item")[number % 3], name=f"Ressource {number:02d}", capacity=1 + number % 2 * 9)
            for site in sites for number in range(20)
        ]
        session.add_all(resources)
        await session.flush()
        start = datetime(2026, 3, 2, 9, tzinfo=UTC)
        session.add_all(
            Booking(
                resource_id=resource.id, booker_id=world["member_a"].user_id, starts_at=start + timedelta(days=day, hours=day % 5),
                ends_at=start + timedelta(days=day, hours=day % 5 + 2), status="confirmed", is_exclusive=resource.capacity == 1,
            )
            for resource in resources for day in range(0, 31, 3)
        )
    sizes = {}
    for view in ("agenda", "week", "month"):
        for page in (1, 17):
            response = await client.get(f"/calendar?view={view}&date=2026-03-02&page={page}")
            assert response.status_code == 200
            sizes[(view, page)] = len(response.content)
    print("calendar page sizes (bytes):", sizes)
    assert max(sizes.values()) < LIMIT, sizes
    # Page 17 of 17 holds the last resources (500+ of them, 30 a page).
    assert "Ressource 19" in (await client.get("/calendar?view=agenda&date=2026-03-02&page=17")).text
