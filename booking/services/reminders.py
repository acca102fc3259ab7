"""Scheduled jobs: reminders before a start, pick-up reminders, overdue notices, expired
waiting-list holds and reminders of long ones (``services.waiting_list_jobs.expire_holds``,
``remind_holds``), the release of no-shows
(``services.checkin``), the retention purge of personal data (``services.privacy.retention``)
and the refresh of the report's monthly summary (``services.report_summary``).

Run every minute by the mail runner. Every message carries a dedupe key, so running this
in several processes at once, or again after a crash, sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from booking.models import Booking
from booking.services import notifications
from booking.services.context import AppContext


async def enqueue_due_reminders(app: AppContext, now: datetime | None = None) -> int:
    """Queue reminders for confirmed bookings starting within the reminder window."""
    now = now or app.now()
    window_end = now + timedelta(hours=app.settings.mail.reminder_hours_before)
    queued = 0
    async with app.database.transaction() as session:
        statement = select(Booking).where(
            Booking.status == "confirmed", Booking.starts_at > now, Booking.starts_at <= window_end
        ).order_by(col(Booking.starts_at)).limit(500)
        for booking in (await session.exec(statement)).all():
            await notifications.reminder(session, app, booking)
            queued += 1
    return queued


async def enqueue_overdue_notices(app: AppContext, now: datetime | None = None) -> int:
    """Queue the daily overdue notices and tell bookers whose booking a missing thing blocks."""
    from booking.services.overdue_loans import notify_overdue

    return len(await notify_overdue(app, now or app.now()))


async def run_scheduled_jobs(app: AppContext) -> None:
    from booking.services import report_summary
    from booking.services.checkin import release_no_shows
    from booking.services.privacy.retention import purge
    from booking.services.waiting_list_jobs import expire_holds, lapse_past_entries, remind_holds

    await enqueue_due_reminders(app)
    await enqueue_overdue_notices(app)
    # Waiting lists: holds past their expiry end, and their time goes to the next in line.
    await expire_holds(app)
    # Long holds not answered yet: one reminder some hours before they run out.
    await remind_holds(app)
    # Entries still waiting when their time began can never be offered: they lapse.
    await lapse_past_entries(app)
    # Check-in: bookings nobody checked in to in time are released (no_show).
    await release_no_shows(app)
    # Retention: each step selects only what is not done yet, so a run every minute is cheap.
    await purge(app)
    # The report's monthly summary takes in the months changed since the last run.
    await report_summary.refresh(app)
