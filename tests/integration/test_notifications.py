"""Bookings cause e-mail with real invites: delivered through a real SMTP server (aiosmtpd),
read back with an independent parser (ical.js), on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from booking.mail.runner import make_worker
from booking.models import OutboxMessage
from booking.services import bookings
from booking.services.bookings import BookingRequest
from booking.services.reminders import enqueue_due_reminders
from tests.support.icaljs import parse_with_icaljs
from tests.support.world import next_monday


@pytest.fixture
def mail_app(app, smtp_server):
    """The test app with its mail settings pointed at the recording SMTP server."""
    from dataclasses import replace

    app.settings = replace(app.settings, mail=replace(app.settings.mail, smtp_port=smtp_server.port, retry_base_seconds=1))
    return app


async def deliver(app) -> None:
    worker = make_worker(app)
    while await worker.run_once():
        pass


def calendar_part(message):
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part
    return None


def slot(app, weeks=1, hour=17):
    start = next_monday(app.now(), weeks) + timedelta(hours=hour)
    return start, start + timedelta(hours=2)


async def test_confirm_change_cancel_keep_uid_and_raise_sequence(mail_app, world, smtp_server):
    app = mail_app
    starts_at, ends_at = slot(app)
    member = world["member_a"]
    booking = await bookings.create_booking(app, member, BookingRequest(world.room.id, starts_at, ends_at, title="Chorprobe; Sopran, Alt\nRaum 1 – Übung"))
    await bookings.change_booking(app, member, booking.id, ends_at=ends_at + timedelta(hours=1))
    await bookings.cancel_booking(app, member, booking.id, "Krankheit")
    await deliver(app)
    messages = [m.message for m in smtp_server.messages]
    assert [m["To"] for m in messages] == [world.emails["member_a"]] * 3
    readings = []
    for message, method in zip(messages, ["REQUEST", "REQUEST", "CANCEL"], strict=True):
        assert message["From"] and message["Date"] and message["Message-ID"]
        assert message.get_content_type() == "multipart/mixed"
        alternative = message.get_payload()[0]
        assert alternative.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
        part = calendar_part(message)
        assert part.get_param("method") == method
        reading = parse_with_icaljs(part.get_payload(decode=True))
        assert reading["method"] == method
        readings.append(reading)
    uids = {r["events"][0]["uid"] for r in readings}
    assert uids == {f"booking-{booking.id}@{app.settings.host_name}"}
    sequences = [r["events"][0]["sequence"] for r in readings]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    first = readings[0]["events"][0]
    assert first["summary"].startswith("Chorprobe; Sopran, Alt\nRaum 1 – Übung")
    assert first["start"]["utc"].startswith(starts_at.strftime("%Y-%m-%dT%H:%M"))
    attendee = first["attendees"][0]
    assert world.emails["member_a"] in attendee["value"].lower()
    assert readings[2]["events"][0]["status"] == "CANCELLED"
    # German by default: the user's language.
    assert messages[0]["Content-Language"] == "de"


async def test_request_goes_to_booker_and_lenders_without_personal_data(mail_app, world, smtp_server):
    app = mail_app
    starts_at, ends_at = slot(app)
    booking = await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.room_approval.id, starts_at, ends_at, organisation_id=world.org_a.id, purpose="Geheimer Zweck")
    )
    await deliver(app)
    recipients = sorted(m.rcpt_tos[0] for m in smtp_server.messages)
    assert recipients == sorted([world.emails["member_a"], world.emails["lender_a"], world.emails["manager_a"]])
    for received in smtp_server.messages:
        if received.rcpt_tos[0] != world.emails["member_a"]:
            text = received.message.get_body(("plain",)).get_content()
            assert world.emails["member_a"] not in text and "Member A" not in text
            assert f"/lender/requests/{booking.id}" in text
            assert "Org A" in text
    await bookings.decline_booking(app, world["lender_a"], booking.id, "Saal belegt")
    await deliver(app)
    declined = smtp_server.messages[-1].message
    assert "Saal belegt" in declined.get_body(("plain",)).get_content()
    # The request was never sent as an invite: a plain notice, no CANCEL of an unknown event.
    assert calendar_part(declined) is None and declined.get_content_type() == "multipart/alternative"


async def fresh_principal(app, user_id: int):  # type: ignore[no-untyped-def]
    from booking.models import User
    from booking.services import accounts

    async with app.database.reader() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return await accounts.load_principal(session, user)


async def test_english_recipient_gets_english_mail(mail_app, world, smtp_server):
    app = mail_app
    from booking.models import User

    async with app.database.transaction() as session:
        user = await session.get(User, world["member_b"].user_id)
        user.language = "en"
        session.add(user)
    starts_at, ends_at = slot(app)
    # The principal of the next request carries the language just chosen (it is loaded per request).
    await bookings.create_booking(app, await fresh_principal(app, world["member_b"].user_id), BookingRequest(world.room_b.id, starts_at, ends_at))
    await deliver(app)
    message = smtp_server.messages[0].message
    assert message["Content-Language"] == "en"
    subject = message["Subject"]
    assert "booking" in subject.lower() and "Buchung" not in subject


async def test_hundred_bookings_while_smtp_is_down_arrive_exactly_once(mail_app, world, smtp_server, clock):
    app = mail_app
    smtp_server.stop()
    base = next_monday(app.now(), 2)
    for index in range(100):
        starts_at = base + timedelta(hours=index * 3)
        await bookings.create_booking(app, world["member_a"], BookingRequest(world.benches.id, starts_at, starts_at + timedelta(hours=1)))
    worker = make_worker(app)
    await worker.run_once()  # fails: nobody listens
    async with app.database.reader() as session:
        pending = (await session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))).one()
        attempted = (await session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.attempts > 0))).one()
    assert pending == 100 and attempted >= 1
    smtp_server.start()
    clock.now += timedelta(hours=2)  # past every backoff
    await deliver(app)
    ids = smtp_server.message_ids()
    assert len(ids) == 100 and len(set(ids)) == 100


async def test_reminders_are_queued_once(mail_app, world, clock):
    app = mail_app
    starts_at = app.now() + timedelta(hours=30)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, starts_at + timedelta(hours=1)))
    assert await enqueue_due_reminders(app) == 0
    clock.now += timedelta(hours=7)
    assert await enqueue_due_reminders(app) == 1
    await enqueue_due_reminders(app)
    async with app.database.reader() as session:
        kinds = (await session.exec(select(OutboxMessage.kind))).all()
    assert sorted(kinds) == ["confirmed", "reminder"]


async def test_invite_sender_reply_to_and_sent_by_agree(mail_app, world, smtp_server):
    """From is the service's address (DMARC), named after the site; Reply-To the site's mailbox;
    ORGANIZER the site's mailbox with SENT-BY = the From address (RFC 5545 3.2.18, RFC 6047)."""
    from email.utils import parseaddr

    app = mail_app
    starts_at, ends_at = slot(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    await deliver(app)
    [received] = smtp_server.messages
    message = received.message
    service = parseaddr(app.settings.mail.sender)[1]
    from_name, from_address = parseaddr(str(message["From"]))
    assert from_address == service == received.mail_from
    assert "Site A" in from_name and from_name != "Site A"
    assert parseaddr(str(message["Reply-To"]))[1] == world.site_a.contact_email
    assert message["Sender"] is None  # the From address transmits the message itself
    organizer = parse_with_icaljs(calendar_part(message).get_payload(decode=True))["events"][0]["organizer"]
    assert organizer["value"] == f"mailto:{world.site_a.contact_email}"
    assert organizer["parameters"]["SENT-BY"] == f"mailto:{from_address}"
    assert organizer["parameters"]["CN"] == "Site A"


async def test_only_bookings_that_had_an_invite_get_a_cancel(mail_app, world, smtp_server):
    """A request gets a receipt without a calendar, so changing, declining or withdrawing it
    sends plain notices; cancelling a confirmed booking sends METHOD:CANCEL."""
    app = mail_app
    member = world["member_a"]
    starts_at, ends_at = slot(app)
    withdrawn = await bookings.create_booking(app, member, BookingRequest(world.room_approval.id, starts_at, ends_at))
    await bookings.change_booking(app, member, withdrawn.id, ends_at=ends_at + timedelta(hours=1))
    await bookings.cancel_booking(app, member, withdrawn.id, "")
    starts_at, ends_at = slot(app, weeks=2)
    approved = await bookings.create_booking(app, member, BookingRequest(world.room_approval.id, starts_at, ends_at))
    await bookings.approve_booking(app, world["lender_a"], approved.id)
    await bookings.cancel_booking(app, member, approved.id, "")
    await deliver(app)
    to_booker = [m.message for m in smtp_server.messages if m.rcpt_tos == [world.emails["member_a"]]]
    methods = [calendar_part(m).get_param("method") if calendar_part(m) else None for m in to_booker]
    # receipt, change, withdrawal: no calendar; receipt; approval: REQUEST; cancel: CANCEL
    assert methods == [None, None, None, None, "REQUEST", "CANCEL"]
    cancel = parse_with_icaljs(calendar_part(to_booker[-1]).get_payload(decode=True))
    assert cancel["method"] == "CANCEL" and cancel["events"][0]["uid"] == f"booking-{approved.id}@{app.settings.host_name}"


async def test_invite_with_hostile_names_is_delivered_and_reads_back(mail_app, world, smtp_server, settings):
    """Line breaks, iCalendar structure and control characters in every name (stored before the
    input checks) reach neither the headers nor the calendar raw."""
    from booking.models import Resource, Site, User

    app = mail_app
    nul = ""  # db/engine.py refuses NUL on both databases now; the builder test covers NUL in text
    hostile = "\r\nBEGIN:VEVENT\nEND:VCALENDAR\rX; y, z" + nul + "\x07"
    async with app.database.transaction() as session:
        for model, row_id, field in (
            (Site, world.site_a.id, "name"), (Resource, world.room.id, "name"), (User, world["member_a"].user_id, "display_name"),
        ):
            row = await session.get(model, row_id)
            setattr(row, field, field + hostile)
            session.add(row)
    starts_at, ends_at = slot(app)
    # The principal of the next request carries the name just stored (it is loaded per request).
    booking = await bookings.create_booking(
        app, await fresh_principal(app, world["member_a"].user_id),
        BookingRequest(world.room.id, starts_at, ends_at, title="title" + hostile, purpose="purpose" + hostile)
    )
    await bookings.cancel_booking(app, world["member_a"], booking.id, "")
    await deliver(app)
    assert len(smtp_server.messages) == 2
    for received in smtp_server.messages:
        assert b"\x00" not in received.data and b"\x07" not in received.data
        message = received.message
        assert "BEGIN:VEVENT" in str(message["From"]) and "\n" not in str(message["From"])
        reading = parse_with_icaljs(calendar_part(message).get_payload(decode=True))
        [event] = reading["events"]
        assert event["summary"].startswith("title\nBEGIN:VEVENT\nEND:VCALENDAR\nX; y, z")
        assert event["description"] == "purpose\nBEGIN:VEVENT\nEND:VCALENDAR\nX; y, z"
        assert event["location"].startswith("name\nBEGIN:VEVENT\nEND:VCALENDAR\nX; y, z")
        assert event["organizer"]["parameters"]["CN"] == "name BEGIN:VEVENT END:VCALENDAR X; y, z"
        assert event["attendees"][0]["parameters"]["CN"] == "display_name BEGIN:VEVENT END:VCALENDAR X; y, z"
    assert [r["method"] for r in (parse_with_icaljs(calendar_part(m.message).get_payload(decode=True)) for m in smtp_server.messages)] == ["REQUEST", "CANCEL"]
