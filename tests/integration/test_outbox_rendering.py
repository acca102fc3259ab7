"""The outbox records what happened; the worker renders (DESIGN.md "Growing on the one engine").

On both databases, through a real SMTP server (aiosmtpd): a create writes no message text, a
message says what happened when it was written even if the booking changed again before the
worker ran, and a message that cannot be rendered is parked alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from booking.models import OutboxMessage
from booking.services import bookings
from booking.services.bookings import BookingRequest
from tests.integration.test_notifications import calendar_part, deliver, mail_app, slot  # noqa: F401 - fixture
from tests.support.icaljs import parse_with_icaljs


async def rows(app) -> list[OutboxMessage]:
    async with app.database.reader() as session:
        return list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_the_request_writes_what_happened_and_the_worker_renders_it(mail_app, world, smtp_server):
    app = mail_app
    starts_at, ends_at = slot(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at, title="Chor"))
    [row] = await rows(app)
    assert row.raw is None and row.payload and row.kind == "confirmed"
    assert "BEGIN:VCALENDAR" not in row.payload and "MIME-Version" not in row.payload
    await deliver(app)
    [row] = await rows(app)
    assert row.status == "sent" and row.payload is None and row.raw
    assert row.subject == smtp_server.messages[0].message["Subject"]
    assert smtp_server.messages[0].message_id == row.message_id


async def test_a_cancel_says_cancel_even_when_sent_after_a_later_change(mail_app, world, smtp_server):
    """The worker runs late: it still sends REQUEST, REQUEST, CANCEL with the sequences of then."""
    app = mail_app
    starts_at, ends_at = slot(app)
    member = world["member_a"]
    booking = await bookings.create_booking(app, member, BookingRequest(world.room.id, starts_at, ends_at))
    await bookings.change_booking(app, member, booking.id, ends_at=ends_at + timedelta(hours=1))
    await bookings.cancel_booking(app, member, booking.id, "Krankheit")
    # After the cancel, the booking is changed in the database once more (an admin fix).
    from booking.models import Booking

    async with app.database.transaction() as session:
        stored = await session.get(Booking, booking.id)
        stored.sequence += 5
        stored.ends_at = ends_at + timedelta(hours=3)
        session.add(stored)
    await deliver(app)
    readings = [parse_with_icaljs(calendar_part(m.message).get_payload(decode=True)) for m in smtp_server.messages]
    assert [r["method"] for r in readings] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [r["events"][0]["sequence"] for r in readings] == [0, 1, 2]
    assert readings[1]["events"][0]["end"]["utc"].startswith((ends_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))


async def test_a_message_that_cannot_be_rendered_is_parked_alone(mail_app, world, smtp_server):
    app = mail_app
    starts_at, ends_at = slot(app)
    first = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    second = await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.room.id, starts_at + timedelta(days=1), ends_at + timedelta(days=1))
    )
    assert first.status == second.status == "confirmed"  # the bookings stand
    async with app.database.transaction() as session:
        broken = (await session.exec(select(OutboxMessage).where(OutboxMessage.booking_id == first.id))).one()
        # A kind without templates: what a rendering bug looks like to the worker.
        broken.kind = "no_such_kind"
        session.add(broken)
    await deliver(app)
    by_booking = {row.booking_id: row for row in await rows(app)}
    assert by_booking[first.id].status == "parked"
    assert by_booking[first.id].last_error.startswith("rendering failed")
    assert by_booking[second.id].status == "sent"
    assert smtp_server.message_ids() == [by_booking[second.id].message_id]
