"""A polled feed costs two statements (issue 10): a 304 to If-None-Match and an unchanged 200
are counted statement by statement, on both databases, against a budget.

The two: the token with its owner's rights (services/feed_access.py) and the summary of the
feed's bookings that makes the ETag. No booking row is loaded; the unchanged body comes from
the process's document cache. Raise a budget only on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.services.context import AppContext
from tests.http.conftest import login
from tests.http.test_query_budget import counted
from tests.integration.conftest import FixedClock

# Before issue 10's feed round: 8 (BEGIN on SQLite, the token, its owner, the resource, its
# site twice, the owner's roles, the summary).
NOT_MODIFIED_BUDGET = {"postgresql": 2, "sqlite": 2}
UNCHANGED_BUDGET = {"postgresql": 2, "sqlite": 2}
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))


@pytest.mark.parametrize(("role", "scope", "private"), [
    ("member_a", "resource", False), ("lender_a", "site", True), ("member_a", "organisation", True), ("member_a", "person", True),
])
async def test_a_polled_feed_stays_within_its_statement_budget(client, world, app_context, role, scope, private):
    await login(client, world, "member_a")
    starts_at = datetime(2026, 2, 3, 10, tzinfo=BERLIN)
    booked = await client.post("/api/v1/bookings", json={
        "resource_id": world.room.id, "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
        "organisation_id": world.org_a.id,
    })
    assert booked.status_code == 201, booked.text
    if role != "member_a":
        await client.post("/api/v1/auth/logout", json={})
        await login(client, world, role)
    target = {"resource": world.room.id, "site": world.site_a.id, "organisation": world.org_a.id, "person": None}[scope]
    made = await client.post("/api/v1/feeds", json={"scope": scope, "target_id": target, "private": private})
    assert made.status_code == 201, made.text
    path = made.json()["url"].removeprefix("http://testserver.local")
    client.cookies.clear()  # calendar apps send no session
    first = await client.get(path)
    assert first.status_code == 200 and b"BEGIN:VEVENT" in first.content
    dialect = app_context.database.dialect

    with counted(app_context.database) as statements:
        not_modified = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304
    print(f"\n{len(statements)} statements for a 304:\n  " + "\n  ".join(statements))
    assert len(statements) <= NOT_MODIFIED_BUDGET[dialect], statements

    with counted(app_context.database) as statements:
        unchanged = await client.get(path)
    assert unchanged.status_code == 200 and unchanged.content == first.content
    print(f"{len(statements)} statements for an unchanged 200:\n  " + "\n  ".join(statements))
    assert len(statements) <= UNCHANGED_BUDGET[dialect], statements
