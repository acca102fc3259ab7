"""Cancelling a whole volunteer offer (issue 14), on both databases: only its organisers; every
participant of a date still ahead is told by mail with a CANCEL invite, everyone waiting is taken
off the list with a mail (and offered nothing); once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from booking.domain.errors import NotFound, TransitionNotAllowed
from booking.models import Booking, OfferSignup, OutboxMessage, WaitingListEntry
from booking.services import offer_catalogue, offer_publishing, offer_signups, offer_waiting_list
from booking.services.offer_publishing import OfferInput
from tests.integration.test_notifications import calendar_part, deliver, mail_app  # noqa: F401 (fixture)
from tests.support.world import next_monday


async def two_dates_one_place(app, world):
    start = next_monday(app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], OfferInput(
        kind="task", title="Repair-Café", site_id=world.site_a.id, places=1, local_start=start, duration=timedelta(hours=3),
        organisation_id=world.org_a.id, repeat="weekly", count=2))
    await offer_signups.sign_up(app, world["member_a"], offer.id, None)  # both dates
    first = (await offer_catalogue.get_offer(app, None, offer.id)).dates[0]
    await offer_waiting_list.join_waiting_list(app, world["member_b"], offer.id, first.id)
    return offer


async def test_only_organisers_see_what_a_cancel_does_and_cancel(app, world):
    offer = await two_dates_one_place(app, world)
    preview = await offer_publishing.cancel_preview(app, world["org_admin_a"], offer.id)
    assert (preview.participants, preview.waiting, preview.dates) == (2, 1, 2)
    for role in ("member_a", "member_b", "lender_b"):
        with pytest.raises(NotFound):
            await offer_publishing.cancel_preview(app, world[role], offer.id)
        with pytest.raises(NotFound):
            await offer_publishing.cancel_offer(app, world[role], offer.id)
    assert (await offer_catalogue.get_offer(app, None, offer.id)).offer.cancelled_at is None


async def test_cancel_tells_participants_with_a_cancel_invite_and_the_waiting_by_mail(mail_app, world, smtp_server):
    app = mail_app
    offer = await two_dates_one_place(app, world)
    await offer_publishing.cancel_offer(app, world["lender_a"], offer.id)  # the site's staff organise it too
    async with app.database.reader() as session:
        signups = (await session.exec(select(OfferSignup).where(OfferSignup.offer_id == offer.id))).all()
        places = (await session.exec(select(Booking).where(Booking.resource_id == offer.resource_id))).all()
        entries = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.resource_id == offer.resource_id))).all()
        kinds = sorted((m.kind, m.recipient) for m in (await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.kind).in_(["offer_cancelled", "waiting_list_removed"])))).all())
    assert {s.status for s in signups} == {"cancelled"} and all(s.cancel_token_hash is None for s in signups)
    assert {b.status for b in places} == {"cancelled"}  # no hold was offered to the person waiting
    assert [e.status for e in entries] == ["withdrawn"]
    assert kinds == [("offer_cancelled", world.emails["member_a"])] * 2 + [("waiting_list_removed", world.emails["member_b"])]
    await deliver(app)
    cancels = [m for m in smtp_server.messages if world.emails["member_a"] in m.rcpt_tos and "abgesagt" in str(m.message["Subject"])]
    assert len(cancels) == 2
    for message in cancels:
        calendar = calendar_part(message.message)
        assert calendar is not None and "METHOD:CANCEL" in calendar.get_payload(decode=True).decode()
        assert "Die Veranstaltenden haben diesen Termin abgesagt" in message.message.get_body(preferencelist=("plain",)).get_content()
    with pytest.raises(NotFound):  # off the public calendar
        await offer_catalogue.get_offer(app, None, offer.id)
    with pytest.raises(TransitionNotAllowed):  # once
        await offer_publishing.cancel_offer(app, world["org_admin_a"], offer.id)
    assert (await offer_publishing.cancel_preview(app, world["org_admin_a"], offer.id)).participants == 0


async def test_cancel_ends_a_hold_offered_from_the_waiting_list_and_offers_it_to_nobody(app, world):
    offer = await two_dates_one_place(app, world)
    first = (await offer_catalogue.get_offer(app, None, offer.id)).dates[0]
    await offer_waiting_list.join_waiting_list(app, world["lender_b"], offer.id, first.id)  # second in line
    async with app.database.reader() as session:
        signup = (await session.exec(select(OfferSignup).where(OfferSignup.offer_date_id == first.id))).one()
    from booking.services import bookings

    await bookings.cancel_booking(app, world["member_a"], signup.booking_id)  # type: ignore[arg-type]
    async with app.database.reader() as session:
        [hold] = (await session.exec(select(Booking).where(Booking.resource_id == offer.resource_id, Booking.status == "held"))).all()
    assert hold.booker_id == world["member_b"].user_id
    await offer_publishing.cancel_offer(app, world["org_admin_a"], offer.id)
    async with app.database.reader() as session:
        statuses = {b.id: b.status for b in (await session.exec(select(Booking).where(Booking.resource_id == offer.resource_id))).all()}
        entries = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.resource_id == offer.resource_id))).all()
        removed = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "waiting_list_removed"))).all()
    assert statuses[hold.id] == "cancelled" and "held" not in statuses.values()
    assert sorted(e.status for e in entries) == ["withdrawn", "withdrawn"]
    assert sorted(m.recipient for m in removed) == sorted([world.emails["member_b"], world.emails["lender_b"]])


async def test_cancel_frees_the_rooms_the_task_reserved(app, world):
    start = next_monday(app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], OfferInput(
        kind="task", title="Kleidertausch", site_id=world.site_a.id, places=2, local_start=start, duration=timedelta(hours=3),
        organisation_id=world.org_a.id, repeat="weekly", count=2, reserve_resource_ids=[world.room.id]))
    assert len(offer.reserved_booking_ids) == 2
    await offer_publishing.cancel_offer(app, world["org_admin_a"], offer.id)
    async with app.database.reader() as session:
        statuses = (await session.exec(select(Booking.status).where(col(Booking.id).in_(offer.reserved_booking_ids)))).all()
    assert statuses == ["cancelled", "cancelled"]
