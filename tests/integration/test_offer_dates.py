"""Organisers change the dates of a published offer (issue 14), on both databases: a moved date
moves every place (the invite read by ical.js: same UID, higher SEQUENCE, the new time), a
reserved room moves with it or refuses the move, a removed date cancels its places (CANCEL) and
ends its waiting list, more places go to the waiting list, and bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.domain.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from booking.domain.offer_dates import MAX_DATES_PER_OFFER
from booking.models import Booking, OfferDate, OfferSignup, OutboxMessage, WaitingListEntry
from booking.services import bookings, offer_catalogue, offer_dates, offer_publishing, offer_signups, offer_waiting_list
from tests.integration.test_notifications import calendar_part, deliver, mail_app  # noqa: F401 (fixture)
from tests.integration.test_offers import people, task
from tests.support.icaljs import parse_with_icaljs


async def first_date(app, offer) -> OfferDate:
    async with app.database.reader() as session:
        return (await session.exec(select(OfferDate).where(OfferDate.offer_id == offer.id).order_by(OfferDate.starts_at))).first()  # type: ignore[arg-type]


async def kinds_to(app, address: str) -> list[str]:
    async with app.database.reader() as session:
        return list((await session.exec(select(OutboxMessage.kind).where(OutboxMessage.recipient == address).order_by(OutboxMessage.id))).all())  # type: ignore[arg-type]


async def test_a_move_sends_the_same_uid_with_a_higher_sequence_at_the_new_time(mail_app, world, smtp_server):
    app = mail_app
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=2))
    await offer_signups.sign_up(app, world["member_a"], offer.id, None)
    await deliver(app)
    first = parse_with_icaljs(calendar_part(smtp_server.messages[-1].message).get_payload(decode=True))["events"][0]
    date = await first_date(app, offer)
    new_start = date.starts_at + timedelta(days=1, hours=2)
    await offer_dates.move_date(app, world["org_admin_a"], date.id, new_start, new_start + timedelta(hours=3))  # type: ignore[arg-type]
    await deliver(app)
    moved = smtp_server.messages[-1].message
    assert moved["To"] == world.emails["member_a"]
    part = calendar_part(moved)
    assert part.get_param("method") == "REQUEST"
    reading = parse_with_icaljs(part.get_payload(decode=True))
    event = reading["events"][0]
    assert reading["method"] == "REQUEST"
    assert event["uid"] == first["uid"] and event["sequence"] > first["sequence"]
    assert event["start"]["utc"].startswith(new_start.strftime("%Y-%m-%dT%H:%M"))
    # The place moved in the engine: the booking holds the new time, the page shows it taken.
    view = await offer_catalogue.get_offer(app, None, offer.id)
    assert [(d.starts_at, d.taken) for d in view.dates] == [(new_start, 1)]
    # The previous time is in the mail's text; nobody else's data.
    assert "Bisher:" in moved.get_body(("plain",)).get_content()


async def test_a_reserved_room_moves_with_the_date_or_refuses_the_move(app, world):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, reserve_resource_ids=[world.room.id]))
    date = await first_date(app, offer)
    # Someone else books the room one day later: moving there is refused at the field, nothing changes.
    later = date.starts_at + timedelta(days=1)
    other = await bookings.create_booking(app, world["member_a"], bookings.BookingRequest(world.room.id, later, later + timedelta(hours=3)))
    with pytest.raises(Conflict) as refused:
        await offer_dates.move_date(app, world["org_admin_a"], date.id, later, later + timedelta(hours=3))  # type: ignore[arg-type]
    assert refused.value.field == "starts_at"
    assert (await first_date(app, offer)).starts_at == date.starts_at
    # Two days later is free: the room's booking moves too (SEQUENCE + 1).
    free = date.starts_at + timedelta(days=2)
    await offer_dates.move_date(app, world["org_admin_a"], date.id, free, free + timedelta(hours=3))  # type: ignore[arg-type]
    async with app.database.reader() as session:
        reservation = await session.get(Booking, offer.reserved_booking_ids[0])
        assert reservation.starts_at == free and reservation.sequence == 1  # type: ignore[union-attr]
    assert other.id is not None
    # A new date reserves the room too, under the same rules: the taken time is refused.
    with pytest.raises(Conflict):
        await offer_dates.add_date(app, world["org_admin_a"], offer.id, later, later + timedelta(hours=1))  # type: ignore[arg-type]
    added = await offer_dates.add_date(app, world["org_admin_a"], offer.id, later + timedelta(days=7), later + timedelta(days=7, hours=1))  # type: ignore[arg-type]
    listing = await offer_dates.offer_dates(app, world["org_admin_a"], offer.id)
    assert [d.id for d in listing.dates] == [added.id, date.id] or [d.id for d in listing.dates] == [date.id, added.id]
    assert all(d.rooms == (world.room.name,) for d in listing.dates)


async def test_removing_a_date_cancels_places_and_ends_its_waiting_list(mail_app, world, smtp_server):
    app = mail_app
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=1, repeat="weekly", count=2))
    date = await first_date(app, offer)
    helpers = await people(app, 2)
    await offer_signups.sign_up(app, helpers[0], offer.id, date.id)
    await offer_waiting_list.join_waiting_list(app, helpers[1], offer.id, date.id)  # type: ignore[arg-type]
    told = await offer_dates.remove_date(app, world["org_admin_a"], date.id)  # type: ignore[arg-type]
    assert told == 1
    async with app.database.reader() as session:
        signup = (await session.exec(select(OfferSignup).where(OfferSignup.user_id == helpers[0].user_id))).one()
        entry = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.person_id == helpers[1].user_id))).one()
        held = (await session.exec(select(Booking).where(Booking.booker_id == helpers[1].user_id))).all()
    assert signup.status == "cancelled" and entry.status == "withdrawn" and not held  # no hold offered on a removed date
    assert await kinds_to(app, helpers[1].email) == ["offer_waiting_ended"]
    await deliver(app)
    cancel = [m.message for m in smtp_server.messages if m.message["To"] == helpers[0].email][-1]
    assert parse_with_icaljs(calendar_part(cancel).get_payload(decode=True))["method"] == "CANCEL"
    view = await offer_catalogue.get_offer(app, None, offer.id)
    assert len([d for d in view.dates if not d.is_cancelled]) == 1
    # Removed once: a second remove or a move of it is refused.
    with pytest.raises(InvalidInput):
        await offer_dates.remove_date(app, world["org_admin_a"], date.id)  # type: ignore[arg-type]


async def test_more_places_are_offered_to_the_waiting_list(app, world):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=1))
    date = await first_date(app, offer)
    helpers = await people(app, 3)
    await offer_signups.sign_up(app, helpers[0], offer.id, date.id)
    await offer_waiting_list.join_waiting_list(app, helpers[1], offer.id, date.id)  # type: ignore[arg-type]
    await offer_waiting_list.join_waiting_list(app, helpers[2], offer.id, date.id)  # type: ignore[arg-type]
    assert await offer_dates.change_places(app, world["org_admin_a"], offer.id, 2) == 1
    assert await kinds_to(app, helpers[1].email) == ["waiting_list_offer"]
    assert await kinds_to(app, helpers[2].email) == []
    # Fewer places than a date holds now (the sign-up and the hold): refused at the field.
    with pytest.raises(PolicyViolation) as refused:
        await offer_dates.change_places(app, world["org_admin_a"], offer.id, 1)
    assert refused.value.field == "places"


async def test_bad_dates_and_strangers_are_refused_and_change_nothing(app, world, clock):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world))
    date = await first_date(app, offer)
    start = date.starts_at
    for actor in (world["member_a"], world["lender_b"]):
        with pytest.raises(NotFound):
            await offer_dates.move_date(app, actor, date.id, start + timedelta(days=1), start + timedelta(days=1, hours=1))  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            await offer_dates.offer_dates(app, actor, offer.id)
    organiser = world["lender_a"]  # site staff organise too
    with pytest.raises(InvalidInput) as wrong:  # ends before it starts
        await offer_dates.move_date(app, organiser, date.id, start + timedelta(hours=2), start + timedelta(hours=1))  # type: ignore[arg-type]
    assert wrong.value.field == "ends_at"
    with pytest.raises(InvalidInput) as past:
        await offer_dates.add_date(app, organiser, offer.id, app.now() - timedelta(hours=2), app.now() - timedelta(hours=1))
    assert past.value.field == "starts_at"
    with pytest.raises(Conflict) as overlap:  # two dates of one offer share one resource
        await offer_dates.add_date(app, organiser, offer.id, start + timedelta(hours=1), start + timedelta(hours=5))
    assert overlap.value.field == "starts_at"
    # A date that has begun is not moved.
    clock.now = start + timedelta(minutes=5)
    with pytest.raises(PolicyViolation):
        await offer_dates.move_date(app, organiser, date.id, start + timedelta(days=1), start + timedelta(days=1, hours=1))  # type: ignore[arg-type]
    assert (await first_date(app, offer)).starts_at == start


async def test_at_most_max_dates_per_offer(app, world):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, repeat="daily", count=60))
    async with app.database.transaction() as session:
        last = (await session.exec(select(OfferDate).where(OfferDate.offer_id == offer.id).order_by(OfferDate.starts_at.desc()))).first()  # type: ignore[attr-defined]
        for n in range(1, MAX_DATES_PER_OFFER - 60 + 1):
            session.add(OfferDate(offer_id=offer.id, starts_at=last.starts_at + timedelta(days=n), ends_at=last.ends_at + timedelta(days=n)))  # type: ignore[union-attr]
    beyond = last.starts_at + timedelta(days=400)  # type: ignore[union-attr]
    with pytest.raises(PolicyViolation) as refused:
        await offer_dates.add_date(app, world["org_admin_a"], offer.id, beyond, beyond + timedelta(hours=1))
    assert refused.value.field == "starts_at"
    listing = await offer_dates.offer_dates(app, world["org_admin_a"], offer.id)
    assert len(listing.dates) == MAX_DATES_PER_OFFER and not listing.may_add


async def test_more_places_through_the_edit_form_are_offered_to_the_waiting_list_too(app, world):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=1))
    date = await first_date(app, offer)
    helpers = await people(app, 2)
    await offer_signups.sign_up(app, helpers[0], offer.id, date.id)
    await offer_waiting_list.join_waiting_list(app, helpers[1], offer.id, date.id)  # type: ignore[arg-type]
    await offer_publishing.update_offer(app, world["org_admin_a"], offer.id, task(world, places=2))
    assert await kinds_to(app, helpers[1].email) == ["waiting_list_offer"]


async def test_a_sign_up_that_read_a_date_before_it_was_removed_does_not_take_a_place_on_it(app, world):
    # On PostgreSQL sign_up reads the dates before it takes the places' lock; an organiser may
    # remove the date in between. Replay that order: read, remove, then take places.
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=2))
    stale = await first_date(app, offer)
    await offer_dates.remove_date(app, world["org_admin_a"], stale.id)  # type: ignore[arg-type]
    (helper,) = await people(app, 1)
    async with app.database.transaction() as session:
        result = await offer_signups._take_places(session, app, helper, offer, [(stale, None)], app.now())  # noqa: SLF001
    assert result.confirmed == [] and [d.id for d in result.full] == [stale.id]
    async with app.database.reader() as session:
        assert (await session.exec(select(Booking).where(Booking.resource_id == offer.resource_id))).all() == []


async def test_people_waiting_for_a_moved_date_are_told_and_a_held_place_keeps_its_link(mail_app, world, smtp_server):
    app = mail_app
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=1))
    date = await first_date(app, offer)
    helpers = await people(app, 3)
    await offer_signups.sign_up(app, helpers[0], offer.id, date.id)
    await offer_waiting_list.join_waiting_list(app, helpers[1], offer.id, date.id)  # type: ignore[arg-type]
    await offer_waiting_list.join_waiting_list(app, helpers[2], offer.id, date.id)  # type: ignore[arg-type]
    await offer_dates.change_places(app, world["org_admin_a"], offer.id, 2)  # helpers[1] is offered the new place
    # Moved to a time sooner than the hold would run out: the hold ends when the date begins.
    soon = app.now() + timedelta(hours=3)
    await offer_dates.move_date(app, world["org_admin_a"], date.id, soon, soon + timedelta(hours=2))  # type: ignore[arg-type]
    assert await kinds_to(app, helpers[1].email) == ["waiting_list_offer", "offer_waiting_moved"]
    assert await kinds_to(app, helpers[2].email) == ["offer_waiting_moved"]
    async with app.database.reader() as session:
        hold = (await session.exec(select(Booking).where(Booking.booker_id == helpers[1].user_id))).one()
        entries = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.resource_id == offer.resource_id))).all()
    assert hold.status == "held" and hold.starts_at.replace(tzinfo=None) == soon.replace(tzinfo=None)
    assert hold.hold_expires_at.replace(tzinfo=None) <= soon.replace(tzinfo=None)  # type: ignore[union-attr]
    assert {(e.person_id, e.status) for e in entries} == {(helpers[1].user_id, "offered"), (helpers[2].user_id, "waiting")}
    assert all(e.starts_at.replace(tzinfo=None) == soon.replace(tzinfo=None) for e in entries)
    await deliver(app)
    to = {m.message["To"]: m.message.get_body(("plain",)).get_content() for m in smtp_server.messages if "verschoben" in str(m.message["Subject"])}
    held_text, waiting_text = to[helpers[1].email], to[helpers[2].email]
    assert "freihalten" in held_text and "/waiting-list/offers/" in held_text and "Bisher:" in held_text
    assert "Warteliste" in waiting_text and "/waiting-list/offers/" not in waiting_text and "Bisher:" in waiting_text
    # Nobody else's data: the other person's name is in neither mail.
    assert helpers[2].display_name not in held_text and helpers[1].display_name not in waiting_text
