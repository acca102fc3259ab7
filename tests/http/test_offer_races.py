"""Never more sign-ups than places (issue 14, acceptance 1): 50 people sign up for an offer with
3 places at once, from four OS processes against a live server of two worker processes, on
SQLite and PostgreSQL. The places are the capacity of the offer's hidden resource, so the lock
that prevents double bookings is what keeps the count."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from booking.models import Booking, OfferSignup, User
from booking.resources import CHECKOUT_ROOT
from booking.services import offer_catalogue, offer_publishing
from booking.services.accounts import create_api_token
from booking.services.context import AppContext
from tests.support.live_server import live_server
from tests.support.world import build_world, next_monday

pytestmark = pytest.mark.slow
PEOPLE = 50
PLACES = 3


@pytest.fixture
def server(db_url):
    with live_server(db_url, workers=2) as base_url:
        yield base_url


async def test_fifty_sign_ups_from_four_processes_never_exceed_three_places(database, settings, server):
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    start = next_monday(app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Rennen", site_id=world.site_a.id, places=PLACES, local_start=start, duration=timedelta(hours=2),
        organisation_id=world.org_a.id))
    date_id = (await offer_catalogue.get_offer(app, None, offer.id)).dates[0].id  # type: ignore[arg-type]
    async with app.database.transaction() as session:
        session.add_all([User(email=f"racer{n}@example.org", display_name=f"Racer {n}", email_verified_at=app.now()) for n in range(PEOPLE)])
    tokens = [await create_api_token(app, f"racer{n}@example.org") for n in range(PEOPLE)]
    start_at = time.time() + 3
    processes = []
    for index in range(4):
        share = tokens[index::4]
        requests = [(token, {"date_id": date_id}) for token in share]
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "tests.support.race_client", f"{server}/api/v1/offers/{offer.id}/signups", str(start_at), json.dumps(requests)],
            cwd=CHECKOUT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))
    statuses: list[int] = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err.decode()
        statuses += json.loads(out)
    counts = Counter(statuses)
    assert len(statuses) == PEOPLE
    assert counts == Counter({201: PLACES, 409: PEOPLE - PLACES}), counts
    async with app.database.reader() as session:
        holding = (await session.exec(select(func.count()).select_from(Booking).where(
            Booking.resource_id == offer.resource_id, col(Booking.status).in_(("requested", "confirmed", "checked_out"))))).one()
        confirmed = (await session.exec(select(func.count()).select_from(OfferSignup).where(OfferSignup.status == "confirmed"))).one()
    assert holding == PLACES and confirmed == PLACES
