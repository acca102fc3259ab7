"""Issue 14, acceptance 2: a room's waiting list end to end over HTTP, on both databases.

A person waits on a taken Tuesday evening; the holder cancels; the waiting person gets the
hold by e-mail (a real SMTP server, through the real outbox worker), opens the link and takes
it; a third person trying to book the slot meanwhile gets 409. With the clock moved past a
hold's expiry (no sleeping) the hold is released and offered to the next in line.
Plus: the pages (conflict → "Auf die Warteliste", "Meine Buchungen", the lenders' list), the
API's problem details, and a race of concurrent cancels against a live server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, select

from booking.app import create_app
from booking.models import Booking, OutboxMessage, WaitingListEntry
from booking.services import waiting_list_jobs
from booking.services.accounts import create_api_token
from booking.services.context import AppContext
from booking.resources import CHECKOUT_ROOT
from tests.http.conftest import login
from tests.support.live_server import live_server
from tests.support.pages import csrf_token, mail_link, send_outbox
from tests.support.world import World, build_world

NOW = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)  # a Wednesday
TUESDAY_EVENING = (datetime(2031, 3, 11, 17, 0, tzinfo=UTC), datetime(2031, 3, 11, 19, 0, tzinfo=UTC))  # 18–20 Uhr in Berlin


@pytest.fixture
def fixed_clock(app_context):
    app_context.clock = lambda: NOW
    return NOW


class People:
    """One signed-in HTTP client per person, on the same in-process app."""

    def __init__(self, app, world: World) -> None:
        self.transport = httpx.ASGITransport(app=app)
        self.world = world
        self.clients: dict[str, httpx.AsyncClient] = {}

    async def __call__(self, role: str) -> httpx.AsyncClient:
        if role not in self.clients:
            client = httpx.AsyncClient(transport=self.transport, base_url="http://testserver.local")
            if role != "anonymous":
                await login(client, self.world, role)
            self.clients[role] = client
        return self.clients[role]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


@pytest.fixture
async def people(settings, app_context, world):
    crowd = People(create_app(settings, app_context=app_context), world)
    yield crowd
    await crowd.close()


def slot(room_id: int) -> dict:
    starts_at, ends_at = TUESDAY_EVENING
    return {"resource_id": room_id, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}


async def status_of(app: AppContext, booking_id: int) -> str:
    async with app.database.reader() as session:
        return (await session.get(Booking, booking_id)).status  # type: ignore[union-attr]


async def held_bookings(app: AppContext, resource_id: int) -> list[Booking]:
    async with app.database.reader() as session:
        return list((await session.exec(select(Booking).where(Booking.resource_id == resource_id, Booking.status == "held"))).all())


async def test_acceptance_a_room_waiting_list(app_context, world, people, fixed_clock, smtp_server):
    holder, waiting, third, next_one = [await people(r) for r in ("member_a", "member_b", "org_admin_a", "lender_b")]
    room = world.room.id
    booked = await holder.post("/api/v1/bookings", json=slot(room))
    assert booked.status_code == 201, booked.text
    # The waiting person meets the taken evening and joins the list; so does a later one.
    refused = await waiting.post("/api/v1/bookings", json=slot(room))
    assert refused.status_code == 409
    joined = await waiting.post("/api/v1/waiting-list", json={**slot(room), "title": "Chorprobe"})
    assert joined.status_code == 201, joined.text
    assert (joined.json()["status"], joined.json()["place"]) == ("waiting", 1)
    assert (await next_one.post("/api/v1/waiting-list", json=slot(room))).json()["place"] == 2
    again = await waiting.post("/api/v1/waiting-list", json=slot(room))
    assert again.status_code == 409 and again.json()["code"] == "already_waiting"
    unknown = await waiting.post("/api/v1/waiting-list", json={**slot(room), "priority": 1})
    assert unknown.status_code == 400  # forbid_unknown_fields
    # The holder cancels: the first in line is offered the evening, held for 24 hours.
    assert (await holder.post(f"/api/v1/bookings/{booked.json()['id']}/cancel", json={})).status_code == 200
    [hold] = await held_bookings(app_context, room)
    assert hold.booker_id == world["member_b"].user_id and hold.hold_expires_at == NOW + timedelta(hours=24)
    mine = (await waiting.get("/api/v1/waiting-list")).json()
    assert mine[0]["status"] == "offered" and mine[0]["booking_id"] == hold.id
    # A third person trying to book the evening during the hold: 409, and no double booking.
    assert (await third.post("/api/v1/bookings", json=slot(room))).status_code == 409
    # The mail reaches a real SMTP server through the worker; its link works.
    await send_outbox(app_context, smtp_server)
    link = mail_link(smtp_server, world.emails["member_b"], "/waiting-list/offers/")
    offer_mail = next(m for m in smtp_server.messages if world.emails["member_b"] in m.rcpt_tos and "offers" in m.data.decode())
    assert "Chorprobe" in offer_mail.message["Subject"]
    stranger = await people("anonymous")
    page = await stranger.get(link)
    assert page.status_code == 200 and "Ja, für mich buchen" in page.text
    assert await status_of(app_context, hold.id) == "held"  # opening the link changes nothing
    forged = await stranger.get(link[:-3] + "abc")
    assert forged.status_code == 404
    token = await csrf_token(stranger, link)
    taken = await stranger.post(link, data={"answer": "confirm", "_csrf_token": token})
    assert taken.status_code == 303 and taken.headers["location"] == link
    assert await status_of(app_context, hold.id) == "confirmed"
    assert "Sie haben diesen Platz angenommen" in (await stranger.get(link)).text
    # Single use: the same link cannot decide again.
    assert (await stranger.post(link, data={"answer": "decline", "_csrf_token": token})).status_code == 409
    assert await status_of(app_context, hold.id) == "confirmed"
    await send_outbox(app_context, smtp_server)
    confirmed_mail = [
        m for m in smtp_server.messages if world.emails["member_b"] in m.rcpt_tos
        and any(part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST" for part in m.message.walk())
    ]
    assert confirmed_mail, "the taken hold is confirmed with an invite like any booking"

    # Expiry: the person cancels again; the next in line gets a hold and lets it run out.
    assert (await waiting.post(f"/api/v1/bookings/{hold.id}/cancel", json={})).status_code == 200
    [second_hold] = await held_bookings(app_context, room)
    assert second_hold.booker_id == world["lender_b"].user_id
    assert await waiting_list_jobs.expire_holds(app_context, now=NOW + timedelta(hours=23)) == 0
    app_context.clock = lambda: NOW + timedelta(hours=25)
    assert await waiting_list_jobs.expire_holds(app_context) == 1
    assert await status_of(app_context, second_hold.id) == "expired"
    assert await held_bookings(app_context, room) == []
    # Released: now the third person can book it.
    assert (await third.post("/api/v1/bookings", json=slot(room))).status_code == 201
    await send_outbox(app_context, smtp_server)
    assert any(world.emails["lender_b"] in m.rcpt_tos and "abgelaufen" in str(m.message["Subject"]) for m in smtp_server.messages)


async def test_expiry_offers_the_next_in_line(app_context, world, people, fixed_clock):
    holder, first, second = await people("member_a"), await people("member_b"), await people("org_admin_a")
    room = world.room.id
    booked = (await holder.post("/api/v1/bookings", json=slot(room))).json()
    for person in (first, second):
        assert (await person.post("/api/v1/waiting-list", json=slot(room))).status_code == 201
    await holder.post(f"/api/v1/bookings/{booked['id']}/cancel", json={})
    [hold] = await held_bookings(app_context, room)
    assert await waiting_list_jobs.expire_holds(app_context, now=NOW + timedelta(hours=24, seconds=1)) == 1
    [next_hold] = await held_bookings(app_context, room)
    assert (hold.booker_id, next_hold.booker_id) == (world["member_b"].user_id, world["org_admin_a"].user_id)
    # Declining over the API hands it on (nobody left: free again).
    declined = await second.post(f"/api/v1/waiting-list/holds/{next_hold.id}/decline", json={})
    assert declined.status_code == 200 and declined.json()["status"] == "cancelled"
    assert (await second.get("/api/v1/waiting-list")).json() == []
    # Joining a free time is refused with a reason: book it.
    free = await second.post("/api/v1/waiting-list", json=slot(room))
    assert free.status_code == 409 and free.json()["code"] == "slot_free"


async def test_pages_join_from_the_conflict_and_answer_on_my_bookings(app_context, world, people, fixed_clock):
    holder, waiting, lender, other_lender = [await people(r) for r in ("member_a", "member_b", "lender_a", "lender_b")]
    room = world.room.id
    booked = (await holder.post("/api/v1/bookings", json=slot(room))).json()
    form = {"starts_at": "2031-03-11T18:00", "ends_at": "2031-03-11T20:00", "quantity": "1", "repeat": "none", "title": "Probe"}
    token = await csrf_token(waiting, f"/resources/{room}")
    conflict = await waiting.post(f"/resources/{room}/book", data={**form, "_csrf_token": token})
    assert conflict.status_code == 409 and "Auf die Warteliste" in conflict.text
    hidden = dict(
        (name, value) for name, value in __import__("re").findall(
            r'<input type="hidden" name="(\w+)" value="([^"]*)">',
            conflict.text[conflict.text.index(f'action="/resources/{room}/waiting-list"'):].split("</form>")[0],
        )
    )
    joined = await waiting.post(f"/resources/{room}/waiting-list", data={**hidden, "_csrf_token": token})
    assert joined.status_code == 303 and joined.headers["location"].startswith("/bookings")
    listing = await waiting.get("/bookings")
    assert "Platz 1 auf der Warteliste" in listing.text and "Probe" in listing.text
    # Joining again: the form again with the reason, nothing written.
    twice = await waiting.post(f"/resources/{room}/waiting-list", data={**hidden, "_csrf_token": token})
    assert twice.status_code == 409 and "schon auf der Warteliste" in twice.text
    # The lenders of the site see the list with the name; other sites' lenders do not.
    staff_page = await lender.get("/lender/waiting-lists")
    assert staff_page.status_code == 200 and "Member B" in staff_page.text
    assert "Member B" not in (await other_lender.get("/lender/waiting-lists")).text
    # The holder cancels; "Meine Buchungen" shows the hold with its expiry and the buttons.
    await holder.post(f"/api/v1/bookings/{booked['id']}/cancel", json={})
    listing = await waiting.get("/bookings")
    assert "Frei für Sie" in listing.text and "/confirm" in listing.text and "/decline" in listing.text
    [hold] = await held_bookings(app_context, room)
    taken = await waiting.post(f"/waiting-list/holds/{hold.id}/confirm", data={"_csrf_token": token})
    assert taken.status_code == 303 and taken.headers["location"] == f"/bookings/{hold.id}/confirmation"
    assert await status_of(app_context, hold.id) == "confirmed"
    again = await waiting.post(f"/waiting-list/holds/{hold.id}/confirm", data={"_csrf_token": token})
    assert again.status_code == 409 and "schon geantwortet" in again.text


async def test_the_offer_row_keeps_no_secret_and_the_link_is_redacted_in_logs(app_context, world, people, fixed_clock):
    from booking.log_redaction import redact

    holder, waiting = await people("member_a"), await people("member_b")
    booked = (await holder.post("/api/v1/bookings", json=slot(world.room.id))).json()
    await waiting.post("/api/v1/waiting-list", json=slot(world.room.id))
    await holder.post(f"/api/v1/bookings/{booked['id']}/cancel", json={})
    async with app_context.database.reader() as session:
        [row] = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "waiting_list_offer"))).all()
        [entry] = (await session.exec(select(WaitingListEntry))).all()
    assert "/waiting-list/offers/" not in (row.payload or "")
    from booking.auth.tokens import sign_waiting_list_offer

    token = sign_waiting_list_offer(app_context.settings.secret_key, entry.id, entry.booking_id)  # type: ignore[arg-type]
    assert token not in redact(f'"GET /waiting-list/offers/{token} HTTP/1.1" 200')


# --------------------------------------------------------------------------- a race on a live server


@pytest.mark.slow
async def test_concurrent_cancels_make_one_hold_for_one_freed_unit(database, settings, db_url):
    """Ten cancels of the same booking at once (the booker and their organisation's admin, two
    OS processes against two server processes): one succeeds, one hold for the first in line."""
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    tokens = {role: await create_api_token(app, world.emails[role]) for role in ("member_a", "org_admin_a", "member_b", "lender_b")}
    starts_at = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=9)
    body = {"resource_id": world.room.id, "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=2)).isoformat()}
    with live_server(db_url, workers=2) as server:
        async with httpx.AsyncClient(timeout=60) as client:
            made = await client.post(server + "/api/v1/bookings", json={**body, "organisation_id": world.org_a.id},
                                     headers={"Authorization": f"Bearer {tokens['member_a']}"})
            assert made.status_code == 201, made.text
            for role in ("member_b", "lender_b"):
                joined = await client.post(server + "/api/v1/waiting-list", json=body, headers={"Authorization": f"Bearer {tokens[role]}"})
                assert joined.status_code == 201, joined.text
        url = f"{server}/api/v1/bookings/{made.json()['id']}/cancel"
        start_at = time.time() + 2.0
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.race_client", url, str(start_at),
                 json.dumps([(tokens[role], {}) for _ in range(5)])],
                cwd=CHECKOUT_ROOT, stdout=subprocess.PIPE, text=True,
            )
            for role in ("member_a", "org_admin_a")
        ]
        statuses = [status for process in processes for status in json.loads(process.communicate(timeout=120)[0])]
    assert sorted(statuses) == [200] + [409] * 9, statuses
    holds = await held_bookings(app, world.room.id)
    assert [h.booker_id for h in holds] == [world["member_b"].user_id]
    async with app.database.reader() as session:
        entries = (await session.exec(select(WaitingListEntry).order_by(col(WaitingListEntry.id)))).all()
    assert [e.status for e in entries] == ["offered", "waiting"]
