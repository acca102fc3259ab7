"""/api/v1/series over HTTP: create (both modes), read, cancel following/all, change; bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from booking.models import Booking
from booking.services.context import AppContext
from tests.http.conftest import login
from tests.integration.conftest import FixedClock

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))


async def booking_count(app_context) -> int:
    async with app_context.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking))).one()


def weekly(world, **changes) -> dict:
    body = {
        "resource_id": world.room.id, "starts_at": "2026-03-17T18:00", "ends_at": "2026-03-17T20:00",
        "frequency": "weekly", "weekdays": ["TU"], "count": 4, "title": "Chor", "organisation_id": world.org_a.id,
    }
    body.update(changes)
    return body


async def test_create_read_change_and_cancel_a_series(client, world, app_context):
    await login(client, world, "member_a")
    created = await client.post("/api/v1/series", json=weekly(world))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["rrule"] == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=4" and body["timezone"] == "Europe/Berlin"
    assert [o["local_start"] for o in body["occurrences"]] == ["2026-03-17T18:00", "2026-03-24T18:00", "2026-03-31T18:00", "2026-04-07T18:00"]
    # 18:00 local on both sides of the switch on 29 March.
    assert [o["starts_at"] for o in body["occurrences"]][1:3] == ["2026-03-24T17:00:00Z", "2026-03-31T16:00:00Z"]
    assert body["refused"] == [] and {o["status"] for o in body["occurrences"]} == {"confirmed"}

    read = (await client.get(f"/api/v1/series/{body['id']}")).json()
    assert read["occurrences"] == body["occurrences"]

    third = body["occurrences"][2]
    moved = await client.patch(f"/api/v1/series/{body['id']}", json={"from": third["recurrence_id"], "start_time": "19:00", "duration_minutes": 90})
    assert moved.status_code == 200, moved.text
    assert [(o["local_start"], o["local_end"]) for o in moved.json()["occurrences"]][2:] == [
        ("2026-03-31T19:00", "2026-03-31T20:30"), ("2026-04-07T19:00", "2026-04-07T20:30")
    ]

    cancelled = await client.post(f"/api/v1/series/{body['id']}/cancel", json={"scope": "following", "from": third["recurrence_id"]})
    assert cancelled.status_code == 200, cancelled.text
    assert [o["status"] for o in cancelled.json()["occurrences"]] == ["confirmed", "confirmed", "cancelled", "cancelled"]
    everything = await client.post(f"/api/v1/series/{body['id']}/cancel", json={"scope": "all", "reason": "Chor pausiert"})
    assert {o["status"] for o in everything.json()["occurrences"]} == {"cancelled"}


async def test_refused_dates_answer_409_or_are_reported(client, world, app_context):
    await login(client, world, "member_b")
    taken = await client.post("/api/v1/bookings", json={
        "resource_id": world.room.id, "starts_at": "2026-03-24T19:00:00+01:00", "ends_at": "2026-03-24T21:00:00+01:00",
    })
    assert taken.status_code == 201
    await client.post("/api/v1/auth/logout", json={})
    await login(client, world, "member_a")
    before = await booking_count(app_context)

    refused = await client.post("/api/v1/series", json=weekly(world))
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    [item] = problem["refused"]
    assert item["local_start"] == "2026-03-24T18:00" and item["code"] == "conflict"
    assert item["conflicts"] == [{"starts_at": "2026-03-24T18:00:00Z", "ends_at": "2026-03-24T20:00:00Z", "quantity": 1}]
    assert item["alternatives"] and "Member B" not in refused.text
    assert await booking_count(app_context) == before

    partly = await client.post("/api/v1/series", json=weekly(world, mode="book_free"))
    assert partly.status_code == 201
    assert len(partly.json()["occurrences"]) == 3 and [r["local_start"] for r in partly.json()["refused"]] == ["2026-03-24T18:00"]
    assert partly.json()["excluded_dates"] == ["2026-03-24"]

    # A spring-forward gap is reported, not shifted.
    gap = await client.post("/api/v1/series", json=weekly(world, starts_at="2026-03-22T02:30", ends_at="2026-03-22T03:30", weekdays=["SU"], count=2, mode="book_free"))
    assert gap.status_code == 201
    assert gap.json()["refused"][0]["code"] == "nonexistent_local_time" and gap.json()["refused"][0]["starts_at"] is None
    assert [o["local_start"] for o in gap.json()["occurrences"]] == ["2026-03-22T02:30"]


BAD_INPUTS = [
    {"starts_at": "2026-03-17T18:00:00+01:00"},  # an instant, not a wall time
    {"starts_at": "next tuesday"},
    {"frequency": None},
    {"weekdays": ["XX"]},
    {"count": None},  # neither until nor count
    {"until": "2026-05-01"},  # both until and count
    {"ends_at": None},
    {"duration_minutes": 60},  # both ends_at and duration
    {"ends_at": "2026-03-17T17:00"},  # before the start
    {"weekdays": ["WE"]},  # the first date is a Tuesday
    {"rrule": "FREQ=YEARLY;COUNT=2", "frequency": None, "weekdays": [], "count": None},
    {"rrule": "FREQ=WEEKLY;COUNT=2"},  # rrule and frequency at once
    {"mode": "maybe"},
    {"surprise": 1},
    {"count": 501},
    {"quantity": 3},  # more than the room has
]


async def test_bad_input_answers_400_with_a_reason(client, world, app_context):
    await login(client, world, "member_a")
    for changes in BAD_INPUTS:
        body = {key: value for key, value in weekly(world, **changes).items() if value is not None}
        answer = await client.post("/api/v1/series", json=body)
        assert answer.status_code == 400, (changes, answer.text)
        assert answer.json()["detail"]
    assert await booking_count(app_context) == 0


async def test_rrule_text_and_permissions(client, world, app_context):
    await login(client, world, "member_a")
    body = weekly(world, rrule="FREQ=MONTHLY;BYDAY=TH;BYSETPOS=2;UNTIL=20260601T000000Z", frequency=None, weekdays=[], count=None,
                  starts_at="2026-03-12T18:00", ends_at="2026-03-12T20:00")
    created = await client.post("/api/v1/series", json={k: v for k, v in body.items() if v not in (None, [])})
    assert created.status_code == 201, created.text
    assert [o["local_start"][:10] for o in created.json()["occurrences"]] == ["2026-03-12", "2026-04-09", "2026-05-14"]
    series_id = created.json()["id"]
    await client.post("/api/v1/auth/logout", json={})
    assert (await client.get(f"/api/v1/series/{series_id}")).status_code == 401
    await login(client, world, "member_b")
    assert (await client.get(f"/api/v1/series/{series_id}")).status_code == 404
    assert (await client.post(f"/api/v1/series/{series_id}/cancel", json={})).status_code == 404
    assert (await client.patch(f"/api/v1/series/{series_id}", json={"start_time": "19:00"})).status_code == 404
    await client.post("/api/v1/auth/logout", json={})
    await login(client, world, "lender_a")
    assert (await client.get(f"/api/v1/series/{series_id}")).status_code == 200
    assert (await client.patch(f"/api/v1/series/{series_id}", json={"start_time": "25:00"})).status_code == 400
    assert (await client.patch(f"/api/v1/series/{series_id}", json={})).status_code == 400
    assert (await client.post(f"/api/v1/series/{series_id}/cancel", json={"scope": "following"})).status_code == 400
    assert (await client.get("/api/v1/series/99999")).status_code == 404
