"""The waiting lists' scheduled jobs, run by the worker: holds past their expiry end
(``expire_holds``, their time offered to the next in line), long holds about to run out get
one reminder (``remind_holds``), waiting entries whose time began lapse (``lapse_past_entries``).
Each run is bounded."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, literal, update
from sqlmodel import col, select

from booking.db.locking import lock_resource_with
from booking.domain.lifecycle import Action, Status
from booking.domain.waiting_list import EntryStatus
from booking.mail.outbox import enqueue
from booking.models import Booking, OutboxMessage, WaitingListEntry
from booking.services import notifications
from booking.services.context import AppContext
from booking.services.waiting_list import _aware, hold_mail
from booking.services.waiting_list_holds import _hold_open, _person

# Held bookings expired per run of the scheduled job.
MAX_EXPIRED_PER_RUN = 200
# Reminders of long holds queued per run of the scheduled job.
MAX_REMINDERS_PER_RUN = 200
# Waiting entries whose time began, marked lapsed per run of the scheduled job.
MAX_LAPSED_PER_RUN = 500


async def expire_holds(app: AppContext, now: datetime | None = None) -> int:
    """Holds past their expiry become ``expired`` (entry expired, a mail to the person) and
    their time is offered to the next in line. One transaction per hold, under its resource's
    lock; run by the worker's scheduled job. Returns how many expired."""
    from booking.services.bookings import transition

    now = now or app.now()
    async with app.database.reader() as session:
        due = list(
            (
                await session.exec(
                    select(Booking.id).where(
                        Booking.status == Status.HELD.value, col(Booking.hold_expires_at) <= now
                    ).order_by(col(Booking.hold_expires_at), col(Booking.id)).limit(MAX_EXPIRED_PER_RUN)
                )
            ).all()
        )
    expired = 0
    clocked = AppContext(app.database, app.settings, clock=lambda: now)
    for booking_id in due:
        async with app.database.transaction() as session:
            booking = await session.get(Booking, booking_id)
            if booking is None:
                continue
            await lock_resource_with(session, booking.resource_id)
            await session.refresh(booking)
            if booking.status != Status.HELD.value or _hold_open(booking, now):
                continue  # answered meanwhile
            person = await _person(session, booking.booker_id)
            await transition(session, clocked, person, booking, Action.EXPIRE, notify=False)
            facts = await notifications._facts(session, booking)  # noqa: SLF001
            await enqueue(
                session, settings=app.settings, kind="waiting_list_expired", recipient=facts.booker.email,
                language=facts.booker.language,
                context=notifications._context(facts, recipient_name=facts.booker.display_name),  # noqa: SLF001
                booking_id=booking.id, dedupe_key=f"waiting-list-expired:{booking.id}", now=now,
            )
            expired += 1
    return expired


HOLD_REMINDER_KEY = "waiting-list-hold-reminder:"


def _reminder_key(booking_id: int) -> str:
    return f"{HOLD_REMINDER_KEY}{booking_id}"


async def remind_holds(app: AppContext, now: datetime | None = None) -> int:
    """One reminder mail for each long hold (longer than ``remind_holds_longer_than_hours``)
    that runs out within ``reminder_hours_before`` and is still unanswered, with the offer's
    link. Idempotent (the outbox's dedupe key, also in the query, so a run never looks at a
    reminded hold again); at most ``MAX_REMINDERS_PER_RUN`` per run, soonest expiry first. Run by
    the worker's scheduled job. Returns how many reminders were queued."""
    settings = app.settings.waiting_list
    if not settings.reminder_hours_before:
        return 0
    now = now or app.now()
    before = timedelta(hours=float(settings.reminder_hours_before))
    longer_than = timedelta(hours=float(settings.remind_holds_longer_than_hours))
    reminded = select(OutboxMessage.id).where(
        OutboxMessage.dedupe_key == literal(HOLD_REMINDER_KEY) + cast(Booking.id, String)
    )
    async with app.database.reader() as session:
        due = list(
            (
                await session.exec(
                    select(Booking).where(
                        Booking.status == Status.HELD.value,
                        col(Booking.hold_expires_at) > now,
                        col(Booking.hold_expires_at) <= now + before,
                        # Necessary for a long hold (expiry - creation > longer_than) given the
                        # expiry window; the exact test is below.
                        Booking.created_at < now + before - longer_than,
                        ~reminded.exists(),
                    ).order_by(col(Booking.hold_expires_at), col(Booking.id)).limit(MAX_REMINDERS_PER_RUN)
                )
            ).all()
        )
    due_ids = [
        b.id for b in due
        if b.hold_expires_at is not None and _aware(b.hold_expires_at) - _aware(b.created_at) > longer_than
    ]
    queued = 0
    for booking_id in due_ids:
        async with app.database.transaction() as session:
            booking = await session.get(Booking, booking_id)
            if booking is None or booking.status != Status.HELD.value or not _hold_open(booking, now):
                continue  # answered meanwhile
            entry = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.booking_id == booking.id))).first()
            if entry is None or entry.status != EntryStatus.OFFERED.value:
                continue
            await hold_mail(session, app, booking, entry, kind="waiting_list_hold_reminder",
                            dedupe_key=_reminder_key(booking.id), now=now)  # type: ignore[arg-type]
            queued += 1
    return queued


async def lapse_past_entries(app: AppContext, now: datetime | None = None) -> int:
    """Waiting entries whose time has begun can never be offered: they become ``lapsed`` (and
    stop counting against the person's open entries). At most ``MAX_LAPSED_PER_RUN`` per run
    of the worker's scheduled job; returns how many lapsed."""
    now = now or app.now()
    async with app.database.transaction() as session:
        due = list(
            (
                await session.exec(
                    select(WaitingListEntry.id).where(
                        WaitingListEntry.status == EntryStatus.WAITING.value, WaitingListEntry.starts_at <= now
                    ).order_by(col(WaitingListEntry.starts_at), col(WaitingListEntry.id)).limit(MAX_LAPSED_PER_RUN)
                )
            ).all()
        )
        if not due:
            return 0
        result = await session.exec(  # type: ignore[call-overload]
            update(WaitingListEntry)
            .where(col(WaitingListEntry.id).in_(due), WaitingListEntry.status == EntryStatus.WAITING.value)
            .values(status=EntryStatus.LAPSED.value, decided_at=now)
        )
        return int(result.rowcount or 0)


__all__ = ["expire_holds", "lapse_past_entries", "remind_holds"]
