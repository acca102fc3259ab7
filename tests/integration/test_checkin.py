"""Check-in and the no-show release (services/checkin.py), on SQLite and PostgreSQL.

Acceptance 4 of issue 16: with the clock moved past the window (a FixedClock, no sleeping),
the job releases exactly the confirmed bookings without check-in, tells their bookers (a real
SMTP server; the mail and its CANCEL are read back), and the slot can be booked again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from booking.domain.errors import Conflict, NotFound, PermissionDenied
from booking.mail.sender import SmtpSender
from booking.mail.worker import OutboxWorker
from booking.models import Booking, BookingEvent, OutboxMessage, Policy, Resource
from booking.services import bookings, checkin, feeds
from booking.services.reporting import Period, build_report
from tests.integration.test_outbox import mail_settings
from tests.support.world import World, next_monday


async def ask_for_check_in(app, *resources: Resource, opens: int = 15, release: int = 15) -> None:  # type: ignore[no-untyped-def]
    async with app.database.transaction() as session:
        for resource in resources:
            policy = (await session.exec(select(Policy).where(Policy.resource_id == resource.id))).first()
            policy = policy or Policy(resource_id=resource.id)  # type: ignore[arg-type]
            policy.checkin_required, policy.checkin_opens_minutes, policy.checkin_release_minutes = True, opens, release
            session.add(policy)


async def status_of(app, booking_id: int) -> Booking:  # type: ignore[no-untyped-def]
    async with app.database.reader() as session:
        booking = await session.get(Booking, booking_id)
    assert booking is not None
    return booking


def book(app, world: World, role: str, resource: Resource, starts_at, hours: float = 2, **extra):  # type: ignore[no-untyped-def]
    return bookings.create_booking(app, world[role], bookings.BookingRequest(
        resource.id, starts_at, starts_at + timedelta(hours=hours), **extra))  # type: ignore[arg-type]


async def test_check_in_only_inside_the_window_and_only_by_the_booker(app, world: World, clock) -> None:  # type: ignore[no-untyped-def]
    await ask_for_check_in(app, world.room, opens=15, release=20)
    start = next_monday(clock.now) + timedelta(hours=9)
    mine = await book(app, world, "member_a", world.room, start, organisation_id=world.org_a.id)
    later = await book(app, world, "member_a", world.room, start + timedelta(hours=3))
    other = await book(app, world, "member_a", world.comparable_room, start)

    clock.now = start - timedelta(minutes=16)
    with pytest.raises(checkin.CheckinRefused, match="not open yet"):
        await checkin.check_in(app, world["member_a"], mine.id)
    clock.now = start - timedelta(minutes=15)  # the window opens (inclusive)
    # Others: staff of the site may see the booking but not check in for the booker; people
    # who may not see it are told it does not exist.
    with pytest.raises(PermissionDenied):
        await checkin.check_in(app, world["lender_a"], mine.id)
    with pytest.raises(NotFound):
        await checkin.check_in(app, world["member_b"], mine.id)
    done = await checkin.check_in(app, world["member_a"], mine.id)
    assert done.checked_in_at == clock.now and done.status == "confirmed"
    with pytest.raises(checkin.CheckinRefused, match="checked in already"):
        await checkin.check_in(app, world["member_a"], mine.id)

    clock.now = later.starts_at + timedelta(minutes=20)  # the release time: the window is closed
    with pytest.raises(checkin.CheckinRefused, match="time to check in is over"):
        await checkin.check_in(app, world["member_a"], later.id)
    clock.now = later.starts_at + timedelta(minutes=19, seconds=59)
    assert (await checkin.check_in(app, world["member_a"], later.id)).checked_in_at == clock.now

    # A resource that does not ask for check-in has none.
    clock.now = start
    with pytest.raises(checkin.CheckinRefused, match="does not ask for check-in"):
        await checkin.check_in(app, world["member_a"], other.id)


async def test_no_shows_are_released_the_bookers_told_and_the_time_free_again(  # type: ignore[no-untyped-def]
    app, world: World, clock, smtp_server, settings
) -> None:
    await ask_for_check_in(app, world.room, world.room_b, world.comparable_room, opens=15, release=15)
    start = next_monday(clock.now) + timedelta(hours=9)
    no_show_a = await book(app, world, "member_a", world.room, start, organisation_id=world.org_a.id, title="Chor")
    no_show_b = await book(app, world, "member_b", world.room_b, start, organisation_id=world.org_b.id)
    came = await book(app, world, "member_a", world.comparable_room, start, organisation_id=world.org_a.id)
    not_yet = await book(app, world, "member_b", world.room, start + timedelta(hours=3))  # later the same day
    # A room that does not ask for check-in is never released.
    async with app.database.transaction() as session:
        plain = Resource(site_id=world.site_a.id, kind="room", name="Room A3", category="Seminar")
        session.add(plain)
        await session.flush()
    without_rule = await book(app, world, "member_a", plain, start)

    clock.now = start - timedelta(minutes=5)
    await checkin.check_in(app, world["member_a"], came.id)
    assert await checkin.release_no_shows(app) == []  # nothing is due before the release time

    clock.now = start + timedelta(minutes=14, seconds=59)
    assert await checkin.release_no_shows(app) == []
    # While it holds, the rest of the slot is taken.
    with pytest.raises(Conflict):
        await book(app, world, "member_b", world.room, start + timedelta(minutes=30), hours=1)

    clock.now = start + timedelta(minutes=16)
    released = await checkin.release_no_shows(app)
    assert sorted(released) == sorted([no_show_a.id, no_show_b.id])
    assert await checkin.release_no_shows(app) == []  # again: nothing twice
    for booking_id, status in ((no_show_a.id, "no_show"), (no_show_b.id, "no_show"), (came.id, "confirmed"),
                               (not_yet.id, "confirmed"), (without_rule.id, "confirmed")):
        assert (await status_of(app, booking_id)).status == status
    released_a = await status_of(app, no_show_a.id)
    assert released_a.sequence == no_show_a.sequence + 1
    async with app.database.reader() as session:
        events = (await session.exec(select(BookingEvent).where(BookingEvent.booking_id == no_show_a.id, BookingEvent.action == "release_no_show"))).all()
    assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [("confirmed", "no_show", None)]

    # The freed time can be booked again (the availability engine sees it free).
    again = await book(app, world, "member_b", world.room, start + timedelta(minutes=30), hours=1)
    assert again.status == "confirmed"

    # Each booker is told once, with a CANCEL of the invite: a real SMTP server, mail read back.
    async with app.database.reader() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "no_show_released").order_by(col(OutboxMessage.id)))).all()
    assert sorted(row.recipient for row in rows) == ["member_a@example.org", "member_b@example.org"]
    sending = mail_settings(settings, smtp_server.port)
    worker = OutboxWorker(app.database, sending, SmtpSender(sending.mail), "w", clock=clock, lease_seconds=60)
    while await worker.run_once():
        pass
    released_mails = [m for m in smtp_server.messages if "member_a@example.org" in m.rcpt_tos and b"CANCEL" in m.data]
    assert len(released_mails) == 1
    message = released_mails[0].message
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Room A1" in text and ("eingecheckt" in text or "checked in" in text)
    calendar = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    ics = calendar.get_payload(decode=True)
    assert b"METHOD:CANCEL" in ics and f"UID:booking-{no_show_a.id}@".encode() in ics and b"STATUS:CANCELLED" in ics
    assert f"SEQUENCE:{released_a.sequence}".encode() in ics

    # Feeds: a public feed no longer shows the released booking as busy; the booker's own
    # private feed shows it cancelled.
    public_view = await feeds.create_feed(app, world["member_b"], "resource", world.room.id)
    public_ics = (await feeds.render_feed(app, public_view.token)).body  # type: ignore[arg-type]
    assert public_ics is not None
    assert f"booking-{no_show_a.id}@".encode() not in public_ics
    assert f"booking-{again.id}@".encode() in public_ics

    # Counted per organisation, in the yearly report.
    report = await build_report(app, Period.year(start.year))
    assert [(row.organisation, row.count) for row in report.no_shows] == [("Org A", 1), ("Org B", 1)]
    assert await checkin.organisation_no_shows(app, world.org_a.id, start - timedelta(days=1), start + timedelta(days=1)) == 1  # type: ignore[arg-type]


async def test_several_workers_release_each_no_show_once(app, world: World, clock) -> None:  # type: ignore[no-untyped-def]
    await ask_for_check_in(app, world.room, world.room_b, world.comparable_room, opens=15, release=10)
    start = next_monday(clock.now) + timedelta(hours=9)
    made = []
    for hours, resource in ((0, world.room), (0, world.room_b), (0, world.comparable_room), (-3, world.room), (-3, world.room_b)):
        made.append(await book(app, world, "member_a", resource, start + timedelta(hours=hours), hours=2))
    clock.now = start + timedelta(minutes=11)
    results = await asyncio.gather(*(checkin.release_no_shows(app) for _ in range(4)))
    released = [booking_id for result in results for booking_id in result]
    # The 06:00–08:00 bookings ended before now but within the look-back: released as well.
    assert sorted(released) == sorted(b.id for b in made)
    async with app.database.reader() as session:
        mails = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "no_show_released"))).all()
    assert len(mails) == len(made)


async def test_a_released_no_show_is_offered_to_the_waiting_list(app, world: World, clock) -> None:  # type: ignore[no-untyped-def]
    """The time a no-show frees goes to the first person waiting for a part of it that still
    lies ahead, as a hold (the waiting list's offer), in the release's transaction."""
    from booking.services import waiting_list

    await ask_for_check_in(app, world.room, opens=15, release=15)
    start = next_monday(clock.now) + timedelta(hours=9)
    absent = await book(app, world, "member_a", world.room, start, hours=4)
    later_hour = (start + timedelta(hours=2), start + timedelta(hours=3))
    entry = await waiting_list.join(app, world["member_b"], waiting_list.JoinRequest(world.room.id, *later_hour))

    clock.now = start + timedelta(minutes=16)
    assert await checkin.release_no_shows(app) == [absent.id]
    async with app.database.reader() as session:
        [hold] = (await session.exec(select(Booking).where(Booking.resource_id == world.room.id, Booking.status == "held"))).all()
        offered = await session.get(type(entry), entry.id)
    assert (hold.booker_id, hold.starts_at, hold.ends_at) == (world["member_b"].user_id, *later_hour)
    assert hold.hold_expires_at is not None and hold.hold_expires_at <= later_hour[0]
    assert offered is not None and (offered.status, offered.booking_id) == ("offered", hold.id)
    # Nobody else gets the held hour meanwhile; the rest of the released time is free.
    with pytest.raises(Conflict):
        await book(app, world, "org_admin_a", world.room, later_hour[0], hours=1)
    assert (await book(app, world, "org_admin_a", world.room, start + timedelta(hours=1), hours=1)).status == "confirmed"
