"""Long holds get one reminder mail before they run out (through the outbox and the worker),
short ones none; the job is idempotent and bounded per run (both databases)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from booking.models import OutboxMessage
from booking.services import bookings, waiting_list, waiting_list_jobs
from booking.services.bookings import BookingRequest
from booking.services.waiting_list import JoinRequest
from tests.integration.test_waiting_list import held, tuesday_evening
from tests.support.pages import mail_link, send_outbox


async def _hold_for_member_b(app, world, starts_at, ends_at):
    taken = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at, title="Probe"))
    await bookings.cancel_booking(app, world["member_a"], taken.id)


async def _reminders(app) -> list[OutboxMessage]:
    async with app.database.reader() as session:
        return list((await session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "waiting_list_hold_reminder").order_by(col(OutboxMessage.id))
        )).all())


async def test_a_long_hold_is_reminded_once_before_it_runs_out(app, world, clock, smtp_server):
    await _hold_for_member_b(app, world, *tuesday_evening(app))  # held 24 hours
    [hold] = await held(app, world.room.id)
    start = clock.now
    assert await waiting_list_jobs.remind_holds(app, now=start + timedelta(hours=20)) == 0  # not yet
    assert await waiting_list_jobs.remind_holds(app, now=start + timedelta(hours=21, minutes=1)) == 1
    assert await waiting_list_jobs.remind_holds(app, now=start + timedelta(hours=22)) == 0  # once only
    [reminder] = await _reminders(app)
    assert (reminder.recipient, reminder.booking_id) == (world.emails["member_b"], hold.id)
    clock.now = start + timedelta(hours=22)  # the worker sends what is due by its clock
    await send_outbox(app, smtp_server)
    offer_link = mail_link(smtp_server, world.emails["member_b"], "/waiting-list/offers/")
    reminded = [m for m in smtp_server.messages if "Erinnerung" in str(m.message["Subject"])]
    assert len(reminded) == 1
    assert offer_link in reminded[0].message.get_body(preferencelist=("plain",)).get_content()
    # Answered holds are not reminded.
    assert await waiting_list_jobs.remind_holds(app, now=start + timedelta(hours=30)) == 0


async def test_a_short_hold_gets_no_reminder_and_reminders_can_be_switched_off(app, world, clock):
    starts_at = clock.now + timedelta(hours=10)  # the hold ends at the start: 10 hours
    await _hold_for_member_b(app, world, starts_at, starts_at + timedelta(hours=1))
    assert await waiting_list_jobs.remind_holds(app, now=clock.now + timedelta(hours=8)) == 0
    assert await _reminders(app) == []
    await _hold_for_member_b(app, world, *tuesday_evening(app))
    app.settings = app.settings.replace(waiting_list=app.settings.waiting_list.__class__(reminder_hours_before=0))
    assert await waiting_list_jobs.remind_holds(app, now=clock.now + timedelta(hours=22)) == 0


async def test_reminders_are_bounded_per_run_without_starving_the_rest(app, world, clock, monkeypatch):
    first_start, first_end = tuesday_evening(app)
    await _hold_for_member_b(app, world, first_start, first_end)
    await _hold_for_member_b(app, world, first_start + timedelta(days=1), first_end + timedelta(days=1))
    monkeypatch.setattr(waiting_list_jobs, "MAX_REMINDERS_PER_RUN", 1)
    later = clock.now + timedelta(hours=22)
    assert [await waiting_list_jobs.remind_holds(app, now=later) for _ in range(3)] == [1, 1, 0]
    assert len({m.booking_id for m in await _reminders(app)}) == 2
