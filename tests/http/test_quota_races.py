"""Issue 16, acceptance 2: quotas under concurrency. 30 concurrent requests of one organisation
against a 10-hour monthly quota, sent from several OS processes to a live server (two uvicorn
workers), never exceed it — also when the bookings are spread over two resources of one
category, which the resource lock alone does not serialise. Both databases."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, time as clock, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from booking.models import Booking, Quota
from booking.resources import CHECKOUT_ROOT
from booking.services.accounts import create_api_token
from booking.services.context import AppContext
from tests.support.live_server import live_server
from tests.support.world import build_world

pytestmark = pytest.mark.slow
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def quota_world(database, settings):
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    async with app.database.transaction() as session:
        # The category "Seminar" of site A holds two rooms: room and comparable_room.
        session.add(Quota(site_id=world.site_a.id, category="Seminar", metric="hours_per_month", subject="organisation",
                          amount=10, enforcement="refuse"))
    tokens = [await create_api_token(app, world.emails[role]) for role in ("member_a", "org_admin_a")]
    return app, world, tokens


@pytest.fixture
def server(db_url):
    with live_server(db_url, workers=2) as base_url:
        yield base_url


def first_of_a_coming_month() -> date:
    soon = datetime.now(UTC).date() + timedelta(days=40)
    return date(soon.year + (soon.month == 12), soon.month % 12 + 1, 1)


def race(server: str, requests: list[tuple[str, dict]], processes: int = 3) -> list[int]:
    start_at = time.time() + 3
    running = []
    for index in range(processes):
        share = requests[index::processes]
        running.append(subprocess.Popen(
            [sys.executable, "-m", "tests.support.race_client", server + "/api/v1/bookings", str(start_at), json.dumps(share)],
            cwd=CHECKOUT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))
    statuses: list[int] = []
    for process in running:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err.decode()
        statuses += json.loads(out)
    return statuses


async def hours_of_org(app, world, resource_ids: list[int]) -> float:
    async with app.database.reader() as session:
        rows = (await session.exec(select(Booking).where(
            col(Booking.resource_id).in_(resource_ids), Booking.organisation_id == world.org_a.id,
            col(Booking.status).in_(("requested", "confirmed", "checked_out", "returned")),
        ))).all()
    return sum((row.ends_at - row.starts_at).total_seconds() for row in rows) / 3600


@pytest.mark.parametrize("spread", [False, True], ids=["one room", "two rooms of one category"])
async def test_thirty_concurrent_requests_never_exceed_a_ten_hour_monthly_quota(quota_world, server, spread):
    app, world, tokens = quota_world
    first = first_of_a_coming_month()
    rooms = [world.room.id, world.comparable_room.id] if spread else [world.room.id]
    requests = []
    for index in range(30):
        # Distinct, non-overlapping hours (no capacity conflict): only the quota can refuse.
        day = first + timedelta(days=1 + index // 6)
        starts_at = datetime.combine(day, clock(8 + 2 * (index % 6)), tzinfo=BERLIN)
        requests.append((tokens[index % 2], {
            "resource_id": rooms[index % len(rooms)], "organisation_id": world.org_a.id,
            "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
        }))
    statuses = race(server, requests)
    counts = Counter(statuses)
    assert set(counts) <= {201, 409} and len(statuses) == 30, counts
    assert counts[201] == 10, counts
    assert await hours_of_org(app, world, [world.room.id, world.comparable_room.id]) == 10
