"""Issue 14, acceptance 1: the waiting list of an offer's date, over HTTP on both databases.

An offer with 3 places and 5 sign-ups: 3 confirmed, 2 waiting (one through the page's
"Auf die Warteliste", one through the API's ``waiting_list: true``). One participant cancels;
the first waiting person gets the offer mail (real SMTP server, real outbox worker), confirms
by its link and is a confirmed participant in the organiser's list, with the usual offer
confirmation and invite. Second scenario: the hold runs out (the clock moves; no sleeping) and
the next in line gets it. Never more than 3 places held (held + confirmed) at any step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, func, select

from booking.app import create_app
from booking.domain.lifecycle import HOLDING
from booking.models import Booking, Offer, OfferSignup, OutboxMessage, WaitingListEntry
from booking.services import offer_catalogue, offer_publishing, waiting_list_jobs
from booking.services.offer_publishing import OfferInput
from tests.http.conftest import login
from tests.support.pages import csrf_token, mail_link, send_outbox
from tests.support.world import World, next_monday

NOW = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)
PARTICIPANTS = ("member_a", "member_b", "lender_b")
WAITING = ("lender_a", "manager_a")


@pytest.fixture
def fixed_clock(app_context):
    app_context.clock = lambda: NOW
    return NOW


@pytest.fixture
async def clients(settings, app_context, world):
    transport = httpx.ASGITransport(app=create_app(settings, app_context=app_context))
    made: dict[str, httpx.AsyncClient] = {}

    async def client(role: str) -> httpx.AsyncClient:
        if role not in made:
            made[role] = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
            if role != "anonymous":
                await login(made[role], world, role)
        return made[role]

    yield client
    for each in made.values():
        await each.aclose()


async def make_offer(app_context, world: World) -> Offer:
    start = next_monday(app_context.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    return await offer_publishing.create_offer(app_context, world["org_admin_a"], OfferInput(
        kind="task", title="Tafel: Lebensmittel sortieren", site_id=world.site_a.id, places=3, local_start=start,
        duration=timedelta(hours=3), organisation_id=world.org_a.id))


async def holding(app_context, offer: Offer) -> int:
    async with app_context.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking).where(
            Booking.resource_id == offer.resource_id, col(Booking.status).in_([s.value for s in HOLDING])))).one()


async def held(app_context, offer: Offer) -> list[Booking]:
    async with app_context.database.reader() as session:
        return list((await session.exec(select(Booking).where(Booking.resource_id == offer.resource_id, Booking.status == "held"))).all())


async def five_sign_ups(app_context, world, clients) -> tuple[Offer, int]:
    """3 confirmed (page), then the 4th joins the list on the page, the 5th through the API."""
    offer = await make_offer(app_context, world)
    view = await offer_catalogue.get_offer(app_context, None, offer.id)
    date_id = view.dates[0].id
    for role in PARTICIPANTS:
        client = await clients(role)
        token = await csrf_token(client, f"/mitmachen/{offer.id}")
        signed = await client.post(f"/mitmachen/{offer.id}/anmelden", data={"date_id": str(date_id), "_csrf_token": token})
        assert signed.status_code == 303, signed.text
    fourth = await clients(WAITING[0])
    page = await fourth.get(f"/mitmachen/{offer.id}")
    assert "Ausgebucht" in page.text and f'formaction="/mitmachen/{offer.id}/warteliste"' in page.text
    token = await csrf_token(fourth, f"/mitmachen/{offer.id}")
    full = await fourth.post(f"/mitmachen/{offer.id}/anmelden", data={"date_id": str(date_id), "_csrf_token": token})
    assert full.status_code == 409
    joined = await fourth.post(f"/mitmachen/{offer.id}/warteliste", data={"date_id": str(date_id), "_csrf_token": token})
    assert joined.status_code == 303 and joined.headers["location"] == f"/mitmachen/{offer.id}"
    twice = await fourth.post(f"/mitmachen/{offer.id}/warteliste", data={"date_id": str(date_id), "_csrf_token": token})
    assert twice.status_code == 409 and "schon auf der Warteliste" in twice.text  # at the field, nothing written
    fifth = await clients(WAITING[1])
    refused = await fifth.post(f"/api/v1/offers/{offer.id}/signups", json={"date_id": date_id})
    assert refused.status_code == 409 and "waiting_list" in refused.text
    waits = await fifth.post(f"/api/v1/offers/{offer.id}/signups", json={"date_id": date_id, "waiting_list": True})
    assert waits.status_code == 201 and waits.json()["waiting_list_entry_id"], waits.text
    # An e-mail-only visitor is told to log in to wait.
    anonymous_page = await (await clients("anonymous")).get(f"/mitmachen/{offer.id}")
    assert "melden Sie sich bitte an" in anonymous_page.text and "warteliste" not in anonymous_page.text
    assert await holding(app_context, offer) == 3
    async with app_context.database.reader() as session:
        line = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.resource_id == offer.resource_id)
                                   .order_by(col(WaitingListEntry.position)))).all()
    assert [e.person_id for e in line] == [world[r].user_id for r in WAITING]
    # The organiser sees the line in order.
    organiser_page = (await (await clients("org_admin_a")).get(f"/mitmachen/{offer.id}/teilnehmende")).text
    waiting_part = organiser_page[organiser_page.index("Warteliste"):]
    assert waiting_part.index("Lender A") < waiting_part.index("Manager A")
    return offer, date_id


async def cancel_first(app_context, world, clients, offer: Offer) -> None:
    async with app_context.database.reader() as session:
        signup = (await session.exec(select(OfferSignup).where(
            OfferSignup.offer_id == offer.id, OfferSignup.user_id == world["member_a"].user_id))).one()
    client = await clients("member_a")
    token = await csrf_token(client, "/mitmachen/mein-engagement")
    cancelled = await client.post(f"/mitmachen/anmeldungen/{signup.id}/absagen", data={"_csrf_token": token})
    assert cancelled.status_code == 303


async def test_acceptance_offer_waiting_list_confirm_by_link(app_context, world, clients, fixed_clock, smtp_server):
    offer, date_id = await five_sign_ups(app_context, world, clients)
    await cancel_first(app_context, world, clients, offer)
    [hold] = await held(app_context, offer)
    assert hold.booker_id == world["lender_a"].user_id
    assert await holding(app_context, offer) == 3
    async with app_context.database.reader() as session:
        kinds = [m.kind for m in (await session.exec(select(OutboxMessage).where(OutboxMessage.recipient == world.emails["lender_a"]))).all()]
    assert kinds.count("waiting_list_offer") == 1  # offered once, not twice
    await send_outbox(app_context, smtp_server)
    link = mail_link(smtp_server, world.emails["lender_a"], "/waiting-list/offers/")
    offer_mail = next(m for m in smtp_server.messages if world.emails["lender_a"] in m.rcpt_tos and "/waiting-list/offers/" in m.message.get_body(preferencelist=("plain",)).get_content())
    assert "Tafel" in str(offer_mail.message["Subject"]) + offer_mail.message.get_body(preferencelist=("plain",)).get_content()
    stranger = await clients("anonymous")
    answer_page = (await stranger.get(link)).text
    assert "Tafel: Lebensmittel sortieren" in answer_page and f"offer-{offer.id}" not in answer_page  # the offer, not its hidden resource
    mine = (await (await clients("lender_a")).get("/bookings")).text
    assert "Tafel: Lebensmittel sortieren" in mine
    token = await csrf_token(stranger, link)
    taken = await stranger.post(link, data={"answer": "confirm", "_csrf_token": token})
    assert taken.status_code == 303
    async with app_context.database.reader() as session:
        assert (await session.get(Booking, hold.id)).status == "confirmed"  # type: ignore[union-attr]
        signup = (await session.exec(select(OfferSignup).where(OfferSignup.booking_id == hold.id))).one()
        entry = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.booking_id == hold.id))).one()
    assert (signup.user_id, signup.status, signup.offer_date_id) == (world["lender_a"].user_id, "confirmed", date_id)
    assert entry.status == "booked"
    assert await holding(app_context, offer) == 3
    participants_page = (await (await clients("org_admin_a")).get(f"/mitmachen/{offer.id}/teilnehmende")).text
    assert "Lender A" in participants_page[:participants_page.index("Warteliste")]  # a participant, not waiting
    # The usual offer confirmation with an invite and a cancel link.
    await send_outbox(app_context, smtp_server)
    confirmations = [
        m for m in smtp_server.messages if world.emails["lender_a"] in m.rcpt_tos
        and any(p.get_content_type() == "text/calendar" and p.get_param("method") == "REQUEST" for p in m.message.walk())
    ]
    assert confirmations
    assert mail_link(smtp_server, world.emails["lender_a"], "/mitmachen/absagen/")
    # Nobody got a second hold; the next in line still waits.
    assert await held(app_context, offer) == []


async def test_acceptance_offer_hold_expires_and_the_next_gets_it(app_context, world, clients, fixed_clock):
    offer, _ = await five_sign_ups(app_context, world, clients)
    await cancel_first(app_context, world, clients, offer)
    [hold] = await held(app_context, offer)
    assert hold.booker_id == world["lender_a"].user_id
    assert await waiting_list_jobs.expire_holds(app_context, now=NOW + timedelta(hours=23)) == 0
    app_context.clock = lambda: NOW + timedelta(hours=24, minutes=1)
    assert await waiting_list_jobs.expire_holds(app_context) == 1
    [next_hold] = await held(app_context, offer)
    assert next_hold.booker_id == world["manager_a"].user_id
    assert await holding(app_context, offer) == 3
    # The next one declines on "Meine Buchungen"-equivalent API: nobody left, a place is simply free.
    declined = await (await clients("manager_a")).post(f"/api/v1/waiting-list/holds/{next_hold.id}/decline", json={})
    assert declined.status_code == 200, declined.text
    assert await holding(app_context, offer) == 2
    async with app_context.database.reader() as session:
        kinds = [m.kind for m in (await session.exec(select(OutboxMessage).where(OutboxMessage.recipient == world.emails["manager_a"]))).all()]
    assert "waiting_list_offer" in kinds


async def test_the_general_bookings_cancel_ends_the_sign_up_and_offers_the_place_once(app_context, world, clients, fixed_clock):
    offer, _ = await five_sign_ups(app_context, world, clients)
    async with app_context.database.reader() as session:
        signup = (await session.exec(select(OfferSignup).where(
            OfferSignup.offer_id == offer.id, OfferSignup.user_id == world["member_b"].user_id))).one()
    cancelled = await (await clients("member_b")).post(f"/api/v1/bookings/{signup.booking_id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    [hold] = await held(app_context, offer)
    assert hold.booker_id == world["lender_a"].user_id and await holding(app_context, offer) == 3
    async with app_context.database.reader() as session:
        assert (await session.get(OfferSignup, signup.id)).status == "cancelled"  # type: ignore[union-attr]
        offered = (await session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "waiting_list_offer"))).one()
    assert offered == 1
    async with app_context.database.reader() as session:
        to_member_b = [m.kind for m in (await session.exec(select(OutboxMessage).where(OutboxMessage.recipient == world.emails["member_b"]))).all()]
    assert to_member_b.count("offer_cancelled") == 1 and "cancelled" not in to_member_b  # the offer's mail, as by the link
    # The cancel of an offer's place is not undone on the booking pages (the place is held for the next one).
    member_b = await clients("member_b")
    cancelled_page = await member_b.get(f"/bookings/{signup.booking_id}/cancelled")
    assert "/undo-cancel" not in cancelled_page.text
    undo = await member_b.post(f"/bookings/{signup.booking_id}/undo-cancel", data={"_csrf_token": await csrf_token(member_b, "/bookings")})
    assert undo.status_code == 409 and "Bitte melden Sie sich erneut an." in undo.text, undo.text[:300]
    # Taking it on "Meine Buchungen" (the hold's confirm form) makes a participant as well.
    client = await clients("lender_a")
    token = await csrf_token(client, "/bookings")
    taken = await client.post(f"/waiting-list/holds/{hold.id}/confirm", data={"_csrf_token": token})
    assert taken.status_code == 303
    async with app_context.database.reader() as session:
        taken_signup = (await session.exec(select(OfferSignup).where(OfferSignup.booking_id == hold.id))).one()
    assert taken_signup.status == "confirmed" and taken_signup.user_id == world["lender_a"].user_id
