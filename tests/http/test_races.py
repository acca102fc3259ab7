"""No double booking, ever: real concurrent requests against a real server on loopback.

Both databases; the server runs as two uvicorn worker processes, the clients as asyncio tasks
in this process and, separately, as four OS processes.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, select

from booking.domain.availability import Holding, peak_usage
from booking.domain.intervals import Interval
from booking.models import Booking
from booking.services.accounts import create_api_token
from booking.services.context import AppContext
from booking.resources import CHECKOUT_ROOT
from tests.support.live_server import live_server
from tests.support.world import build_world, next_monday

pytestmark = pytest.mark.slow


@pytest.fixture
async def race_world(database, settings):
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    tokens = {role: await create_api_token(app, world.emails[role]) for role in ("member_a", "member_b", "org_admin_a")}
    return app, world, tokens


@pytest.fixture
def server(db_url):
    with live_server(db_url, workers=2) as base_url:
        yield base_url


def assert_statuses(statuses: list[int], *, successes: int | None = None) -> Counter:
    counts = Counter(statuses)
    assert not [s for s in statuses if s >= 500], counts
    assert set(counts) <= {201, 409}, counts
    if successes is not None:
        assert counts[201] == successes, counts
    return counts


async def holding_rows(app, resource_id: int) -> list[Booking]:
    async with app.database.reader() as session:
        statement = select(Booking).where(Booking.resource_id == resource_id, col(Booking.status).in_(("requested", "confirmed", "checked_out")))
        return list((await session.exec(statement)).all())


async def test_fifty_async_requests_for_one_slot(race_world, server):
    app, world, tokens = race_world
    starts_at = next_monday(datetime.now(UTC), 2) + timedelta(hours=17)
    body = {"resource_id": world.room.id, "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=2)).isoformat()}
    token_list = list(tokens.values())
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as client:
        responses = await asyncio.gather(*(
            client.post(server + "/api/v1/bookings", json=body, headers={"Authorization": f"Bearer {token_list[i % 3]}"})
            for i in range(50)
        ))
    assert_statuses([r.status_code for r in responses], successes=1)
    assert len(await holding_rows(app, world.room.id)) == 1


async def test_fifty_requests_from_four_processes(race_world, server):
    app, world, tokens = race_world
    starts_at = next_monday(datetime.now(UTC), 3) + timedelta(hours=17)
    token_list = list(tokens.values())
    start_at = time.time() + 3
    processes = []
    for process_index in range(4):
        share = 13 if process_index < 2 else 12
        requests = [
            (token_list[(process_index + i) % 3], {
                "resource_id": world.room.id,
                # Overlapping but not identical intervals: the check must be about overlap.
                "starts_at": (starts_at + timedelta(minutes=15 * (i % 3))).isoformat(),
                "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
            })
            for i in range(share)
        ]
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "tests.support.race_client", server + "/api/v1/bookings", str(start_at), json.dumps(requests)],
            cwd=CHECKOUT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))
    statuses: list[int] = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        statuses += json.loads(out)
    assert len(statuses) == 50
    assert_statuses(statuses, successes=1)
    assert len(await holding_rows(app, world.room.id)) == 1


async def test_pooled_item_is_never_oversubscribed(race_world, server):
    app, world, tokens = race_world
    rng = random.Random(20261125)
    base = next_monday(datetime.now(UTC), 2) + timedelta(hours=8)
    token_list = list(tokens.values())
    requests = []
    for i in range(60):
        start = base + timedelta(hours=rng.randint(0, 20))
        requests.append((token_list[i % 3], {
            "resource_id": world.benches.id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=rng.randint(2, 30))).isoformat(),
            "quantity": rng.randint(1, 4),
        }))
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=60)) as client:
        responses = await asyncio.gather(*(
            client.post(server + "/api/v1/bookings", json=body, headers={"Authorization": f"Bearer {token}"})
            for token, body in requests
        ))
    counts = assert_statuses([r.status_code for r in responses])
    assert counts[201] >= 3 and counts[409] >= 1, counts
    rows = await holding_rows(app, world.benches.id)
    assert len(rows) == counts[201]
    holdings = [Holding(Interval(r.starts_at, r.ends_at), r.quantity) for r in rows]
    everything = Interval(base - timedelta(days=1), base + timedelta(days=4))
    assert peak_usage(holdings, everything) <= 10
    # Every accepted request is stored exactly as asked.
    accepted = {(r.json()["starts_at"], r.json()["quantity"]) for r in responses if r.status_code == 201}
    assert len(accepted) <= counts[201]


async def test_exclusion_constraint_backs_up_the_lock_on_postgresql(postgres_database):
    """Even code that skipped the service could not store an overlap on PostgreSQL."""
    from sqlalchemy.exc import IntegrityError

    from booking.settings import load_settings

    app = AppContext(database=postgres_database, settings=load_settings(env={}, secret_key=secrets.token_hex(32)))
    world = await build_world(app)

    from booking.db.errors import is_overlap_violation

    starts_at = next_monday(datetime.now(UTC), 2)
    member = world["member_a"]
    async with app.database.transaction() as session:
        session.add(Booking(resource_id=world.room.id, starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), status="confirmed", booker_id=member.user_id))
    with pytest.raises(IntegrityError) as error:
        async with app.database.transaction() as session:
            session.add(Booking(resource_id=world.room.id, starts_at=starts_at + timedelta(hours=1), ends_at=starts_at + timedelta(hours=3), status="requested", booker_id=member.user_id))
    assert is_overlap_violation(error.value)
    async with app.database.transaction() as session:
        # Back-to-back is fine, and cancelled bookings hold nothing.
        session.add(Booking(resource_id=world.room.id, starts_at=starts_at + timedelta(hours=2), ends_at=starts_at + timedelta(hours=3), status="confirmed", booker_id=member.user_id))
        session.add(Booking(resource_id=world.room.id, starts_at=starts_at, ends_at=starts_at + timedelta(hours=3), status="cancelled", booker_id=member.user_id))
