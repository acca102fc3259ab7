"""One request, bounded work: hostile series and desk series answer 4xx after a few statements.

A series starting in 1900 (or ending in 3768) used to refuse every date one by one and then
search for alternatives in half-hour steps from each refused date towards today: minutes of
CPU for one request. Now past starts and ranges beyond the horizon are refused up front, and
the search for alternatives of a refused series loads once and walks a fixed number of steps.
Work is measured in SQL statements (an SQLAlchemy event listener), never in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from booking.models import Resource
from booking.services.context import AppContext
from tests.http.conftest import login
from tests.integration.conftest import FixedClock

# Login, lock, site, rules, organisation and a refusal: a refused request needs no more.
FEW_STATEMENTS = 15


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1


@contextmanager
def counting_statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", counter)


def room_series(world, **changes) -> dict:
    body = {"resource_id": world.room.id, "starts_at": "2026-03-17T18:00", "ends_at": "2026-03-17T20:00",
            "frequency": "weekly", "count": 4, "organisation_id": world.org_a.id}
    body.update(changes)
    return body


HOSTILE_SERIES = {
    "starts in 1900": ({"starts_at": "1900-01-02T18:00", "ends_at": "1900-01-02T20:00", "count": 500}, "starts_at"),
    "starts last week": ({"starts_at": "2025-12-30T18:00", "ends_at": "2025-12-30T20:00"}, "starts_at"),
    "starts in year 1": ({"starts_at": "0001-01-01T18:00", "ends_at": "0001-01-01T20:00"}, "starts_at"),
    "starts in 9999": ({"starts_at": "9999-12-31T18:00", "ends_at": "9999-12-31T20:00"}, "starts_at"),
    "ends in 3768": ({"count": None, "until": "3768-01-01"}, "until"),
    "ends in 9999": ({"count": None, "until": "9999-12-31"}, "until"),
    "every 99 months": ({"frequency": "monthly", "interval": 99, "count": 30}, "count"),
    "starts beyond the horizon": ({"starts_at": "2027-03-16T18:00", "ends_at": "2027-03-16T20:00"}, "starts_at"),
    "rrule ends in 3768": ({"frequency": None, "count": None, "rrule": "FREQ=DAILY;UNTIL=37680101T000000Z"}, "until"),
}


@pytest.mark.parametrize("mode", ["all_or_nothing", "book_free"])
@pytest.mark.parametrize("case", list(HOSTILE_SERIES))
async def test_hostile_series_are_refused_up_front(client, world, case, mode):
    changes, field = HOSTILE_SERIES[case]
    await login(client, world, "member_a")
    body = {key: value for key, value in room_series(world, mode=mode, **changes).items() if value is not None}
    with counting_statements() as statements:
        response = await client.post("/api/v1/series", json=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json" and problem["field"] == field, problem
    assert statements.count <= FEW_STATEMENTS


async def desk(app_context: AppContext, world) -> Resource:
    async with app_context.database.transaction() as session:
        resource = Resource(site_id=world.site_a.id, kind="desk", name="Desk 1", category="Desk")
        session.add(resource)
    return resource


HOSTILE_DESK_SERIES = {
    "first day in 1900": ({"first_day": "1900-01-01", "count": 366}, "first_day"),
    "first day last week": ({"first_day": "2025-12-29", "count": 366}, "first_day"),
    "first day in year 1": ({"first_day": "0001-01-01", "count": 3}, "first_day"),
    "first day in 9999": ({"first_day": "9999-12-31", "count": 3}, "first_day"),
    "until 3768": ({"first_day": "2026-01-12", "until": "3768-01-01"}, "until"),
    "until 9999": ({"first_day": "2026-01-12", "until": "9999-12-31"}, "until"),
}


@pytest.mark.parametrize("case", list(HOSTILE_DESK_SERIES))
async def test_hostile_desk_series_are_refused_up_front(client, world, app_context, case):
    body, field = HOSTILE_DESK_SERIES[case]
    resource = await desk(app_context, world)
    await login(client, world, "member_a")
    with counting_statements() as statements:
        response = await client.post("/api/v1/desk-series", json={"resource_id": resource.id, **body})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert statements.count <= FEW_STATEMENTS


async def test_alternatives_for_a_refused_series_cost_the_same_for_few_and_many_dates(client, world):
    """The worst series that passes the up-front checks: every date taken. Each date is checked
    on its own under the lock (two statements each); the alternatives for all refused dates
    come from one load, so the total grows by the per-date checks only."""
    await login(client, world, "member_b")
    blocker = await client.post("/api/v1/series", json={
        "resource_id": world.room.id, "starts_at": "2026-01-06T17:00", "ends_at": "2026-01-06T21:00",
        "frequency": "weekly", "count": 52,
    })
    assert blocker.status_code == 201, blocker.text
    await login(client, world, "member_a")

    async def refused_series(count: int) -> tuple[int, dict]:
        with counting_statements() as statements:
            response = await client.post("/api/v1/series", json=room_series(
                world, starts_at="2026-01-06T18:00", ends_at="2026-01-06T20:00", count=count,
            ))
        assert response.status_code == 409, response.text
        return statements.count, response.json()

    few, few_body = await refused_series(5)
    many, many_body = await refused_series(52)
    assert len(few_body["refused"]) == 5 and len(many_body["refused"]) == 52
    # Alternatives are offered (the hours before and after are free), for a bounded number of dates.
    assert all(item["alternatives"] for item in many_body["refused"][:25])
    assert not any(item["alternatives"] for item in many_body["refused"][25:])
    assert many - few <= 2 * (52 - 5)
    assert many <= 2 * 52 + 2 * FEW_STATEMENTS
