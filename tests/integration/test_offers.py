"""Volunteer offers (issue 14) on both databases: places are capacity of the booking engine,
sign-up by e-mail with double opt-in and a one-time cancel link, invites read by ical.js, the
engagement record counts attended dates only, offer resources stay out of every listing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from booking.auth.principal import Principal
from booking.domain.errors import Conflict, NotFound, PermissionDenied
from booking.domain.lifecycle import HOLDING
from booking.models import Booking, Offer, OfferSignup, OutboxMessage, Resource, User
from booking.services import offer_catalogue, offer_organisers, offer_publishing, offer_signups
from booking.services.accounts import load_principal
from booking.services.offer_publishing import OfferInput
from booking.services.reminders import enqueue_due_reminders
from tests.integration.test_notifications import calendar_part, deliver, mail_app  # noqa: F401 (fixture)
from tests.support.icaljs import parse_with_icaljs
from tests.support.world import next_monday


def task(world, *, places: int = 3, repeat: str = "none", count: int = 1, **extra) -> OfferInput:
    start = next_monday(world.app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)  # a Monday 10:00 local
    values = dict(
        kind="task", title="Tafel: Lebensmittel sortieren", site_id=world.site_a.id, places=places, local_start=start,
        duration=timedelta(hours=3), organisation_id=world.org_a.id, category="Soziales", contact_name="Frau Kontakt",
        contact_email="kontakt@example.org", repeat=repeat, count=count,
    )
    values.update(extra)
    return OfferInput(**values)


async def people(app, count: int) -> list[Principal]:
    result = []
    async with app.database.transaction() as session:
        users = [User(email=f"helper{n}@example.org", display_name=f"Helfer {n}", email_verified_at=app.now()) for n in range(count)]
        session.add_all(users)
        await session.flush()
        for user in users:
            result.append(await load_principal(session, user))
    return result


async def holding(app, offer: Offer) -> int:
    async with app.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking).where(
            Booking.resource_id == offer.resource_id, Booking.status.in_([s.value for s in HOLDING])))).one()  # type: ignore[attr-defined]


async def test_three_places_five_sign_ups_three_confirmed_two_refused(app, world):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=3))
    helpers = await people(app, 5)
    outcomes = []
    for person in helpers:
        try:
            result = await offer_signups.sign_up(app, person, offer.id, None)
            outcomes.append(len(result.confirmed))
        except Conflict:
            outcomes.append("full")
    assert outcomes == [1, 1, 1, 0, 0]  # "all dates" of a one-date offer: the last two get none
    assert await holding(app, offer) == 3
    view = await offer_catalogue.get_offer(app, None, offer.id)
    assert [(d.taken, d.free) for d in view.dates] == [(3, 0)]
    # One date chosen explicitly: a full date is a Conflict ("ausgebucht").
    with pytest.raises(Conflict):
        await offer_signups.sign_up(app, helpers[4], offer.id, view.dates[0].id)
    # Signing up twice holds one place.
    again = await offer_signups.sign_up(app, helpers[0], offer.id, None)
    assert again.already and not again.confirmed


async def test_only_organisation_admins_and_site_staff_publish(app, world):
    with pytest.raises(PermissionDenied):
        await offer_publishing.create_offer(app, world["member_a"], task(world))
    with pytest.raises(PermissionDenied):
        await offer_publishing.create_offer(app, world["lender_b"], task(world, organisation_id=None))
    assert await offer_publishing.create_offer(app, world["lender_a"], task(world, organisation_id=None))
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, repeat="weekly", count=4))
    view = await offer_catalogue.get_offer(app, None, offer.id)
    # Weekly in the site's local time: 10:00 Berlin each time.
    assert len(view.dates) == 4
    from zoneinfo import ZoneInfo

    assert {d.starts_at.astimezone(ZoneInfo("Europe/Berlin")).hour for d in view.dates} == {10}
    with pytest.raises(NotFound):
        await offer_organisers.participants(app, world["member_a"], offer.id)


async def test_a_task_reserves_a_room_through_the_booking_engine(app, world):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, repeat="weekly", count=2, reserve_resource_ids=[world.room.id]))
    async with app.database.reader() as session:
        reserved = (await session.exec(select(Booking).where(Booking.resource_id == world.room.id))).all()
    assert len(reserved) == 2 and sorted(b.id for b in reserved) == sorted(offer.reserved_booking_ids)
    # The same room at the same time again: refused as a conflict, nothing written.
    with pytest.raises(Conflict):
        await offer_publishing.create_offer(app, world["org_admin_a"], task(world, title="Zweite", reserve_resource_ids=[world.room.id]))
    async with app.database.reader() as session:
        assert (await session.exec(select(func.count()).select_from(Offer))).one() == 1


async def test_sign_up_by_email_double_opt_in_cancel_once_and_invite(mail_app, world, smtp_server):
    app = mail_app
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, places=2))
    await offer_signups.request_email_signup(app, offer.id, None, name="Erika Muster", email="Erika@Example.org")
    # Nothing held before the click, no account made.
    assert await holding(app, offer) == 0
    async with app.database.reader() as session:
        assert (await session.exec(select(User).where(User.email == "erika@example.org"))).first() is None
    await deliver(app)
    confirm_mail = smtp_server.messages[-1].message
    link = re.search(r"http://testserver.local(/mitmachen/bestaetigen/\S+)", confirm_mail.get_body(("plain",)).get_content()).group(1)
    token = link.rsplit("/", 1)[1]
    assert (await offer_signups.check_confirm_link(app, token)).name == "Erika Muster"
    result = await offer_signups.confirm_email_signup(app, token)
    assert len(result.confirmed) == 1 and await holding(app, offer) == 1
    with pytest.raises(NotFound):  # the link works once
        await offer_signups.confirm_email_signup(app, token)
    async with app.database.reader() as session:
        user = (await session.exec(select(User).where(User.email == "erika@example.org"))).one()
        assert user.password_hash is None and user.email_verified_at is not None
        signup = (await session.exec(select(OfferSignup).where(OfferSignup.user_id == user.id))).one()
        assert signup.email == "" and signup.status == "confirmed"
    await deliver(app)
    confirmed = smtp_server.messages[-1].message
    assert confirmed["To"] == "erika@example.org"
    alternative = confirmed.get_payload()[0]
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    part = calendar_part(confirmed)
    assert part.get_param("method") == "REQUEST"
    reading = parse_with_icaljs(part.get_payload(decode=True))
    event = reading["events"][0]
    assert reading["method"] == "REQUEST" and event["summary"] == offer.title
    assert "erika@example.org" in event["attendees"][0]["value"].lower()
    view = await offer_catalogue.get_offer(app, None, offer.id)
    assert event["start"]["utc"].startswith(view.dates[0].starts_at.strftime("%Y-%m-%dT%H:%M"))
    # Another participant and the organiser: the organiser sees the address, the page shows no one.
    await offer_signups.sign_up(app, world["member_a"], offer.id, None)
    _, per_date = await offer_organisers.participants(app, world["org_admin_a"], offer.id)
    assert {p.email for p in per_date[0].participants} == {"erika@example.org", world.emails["member_a"]}
    cancel = re.search(r"http://testserver.local(/mitmachen/absagen/\S+)", confirmed.get_body(("plain",)).get_content()).group(1)
    cancel_token = cancel.rsplit("/", 1)[1]
    await offer_signups.cancel_with_link(app, cancel_token)
    assert await holding(app, offer) == 1
    with pytest.raises(NotFound):
        await offer_signups.cancel_with_link(app, cancel_token)
    await deliver(app)
    cancelled = [m.message for m in smtp_server.messages if m.message["To"] == "erika@example.org"][-1]
    cancel_reading = parse_with_icaljs(calendar_part(cancelled).get_payload(decode=True))
    assert cancel_reading["method"] == "CANCEL"
    assert cancel_reading["events"][0]["uid"] == event["uid"]
    assert cancel_reading["events"][0]["sequence"] > event["sequence"]
    # No mail to member_a names Erika.
    for received in smtp_server.messages:
        if received.message["To"] != "erika@example.org":
            assert "erika@example.org" not in received.message.as_string().lower()


async def test_a_training_needs_an_account(app, world):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, kind="training", title="Erste Hilfe"))
    from booking.domain.errors import PolicyViolation

    with pytest.raises(PolicyViolation):
        await offer_signups.request_email_signup(app, offer.id, None, name="X", email="x@example.org")


async def test_certificate_counts_attended_dates_only(app, world, clock):
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world, repeat="weekly", count=3))
    member = world["member_a"]
    await offer_signups.sign_up(app, member, offer.id, None)
    view, per_date = await offer_organisers.participants(app, world["org_admin_a"], offer.id)
    # Before the date: attendance cannot be marked.
    from booking.domain.errors import PolicyViolation

    with pytest.raises(PolicyViolation):
        await offer_organisers.mark_attendance(app, world["org_admin_a"], view.dates[0].id, {per_date[0].participants[0].signup_id: "present"})
    clock.now = view.dates[2].ends_at + timedelta(hours=1)
    view, per_date = await offer_organisers.participants(app, world["org_admin_a"], offer.id)
    marks = ["present", "absent", "present"]
    for date_participants, mark in zip(per_date, marks, strict=True):
        await offer_organisers.mark_attendance(app, world["org_admin_a"], date_participants.date.id,
                                     {date_participants.participants[0].signup_id: mark})
    record = await offer_organisers.engagement_record(app, member)
    assert len(record.attended) == 2 and record.hours == 6.0
    assert {a.organisation_name for a in record.attended} == {"Org A"}
    with pytest.raises(NotFound):
        await offer_organisers.mark_attendance(app, world["member_a"], view.dates[0].id, {})


async def test_reminder_the_day_before(mail_app, world, clock):
    app = mail_app
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world))
    await offer_signups.sign_up(app, world["member_a"], offer.id, None)
    view = await offer_catalogue.get_offer(app, None, offer.id)
    clock.now = view.dates[0].starts_at - timedelta(hours=20)
    await enqueue_due_reminders(app)
    await enqueue_due_reminders(app)
    async with app.database.reader() as session:
        kinds = (await session.exec(select(OutboxMessage.kind).where(OutboxMessage.kind.in_(["offer_reminder", "reminder"])))).all()  # type: ignore[attr-defined]
    assert kinds == ["offer_reminder"]


async def test_offer_resources_stay_out_of_catalogue_calendars_maps_and_admin(app, world):
    from booking.domain.intervals import Interval
    from booking.services import calendar, catalogue, site_admin, site_map

    offer = await offer_publishing.create_offer(app, world["org_admin_a"], task(world))
    async with app.database.reader() as session:
        hidden = await session.get(Resource, offer.resource_id)
    assert hidden is not None and hidden.kind == "offer"
    for actor in (None, world["member_a"], world["manager_a"], world["city_admin"]):
        found = {r.id for r, _ in await catalogue.search_resources(app, actor, catalogue.ResourceQuery())}
        assert hidden.id not in found and world.room.id in found
        with pytest.raises(NotFound):
            await catalogue.get_resource(app, actor, hidden.id)
        page = await calendar.calendar_page(app, actor, calendar.CalendarQuery(site_id=world.site_a.id))
        shown = {plan.resource.id for site_plan in page.plans for plan in site_plan.resources}
        assert hidden.id not in shown and world.room.id in shown
    start = next_monday(app.now(), 2)
    with pytest.raises(NotFound):
        await catalogue.availability(app, None, hidden.id, Interval(start, start + timedelta(days=1)))
    overview = await site_admin.site_overview(app, world["manager_a"], world.site_a.id)
    assert hidden.id not in {r.id for r in overview.resources}
    map_page = await site_map.map_page(app, site_map.MapQuery())
    assert all("offer" not in summary.counts for summary in map_page.sites)
    page = await site_map.site_page(app, world.site_a.id)
    assert "offer" not in page.resources_by_kind
