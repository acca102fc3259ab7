"""Overdue loans and the bookings they block.

Overdue (checked out, past its end) is derived, never stored. ``load_holdings(..., now=)``
keeps an overdue thing holding its units until it is taken back, so new bookings cannot take
them; ``following_blocked`` finds the bookings already made that can no longer be served and
tells their bookers once; taking the thing back lifts the block. ``notify_overdue`` is the
scheduled job's entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db.locking import lock_resources
from booking.domain import lending
from booking.domain.availability import Holding
from booking.domain.errors import NotFound
from booking.domain.intervals import Interval
from booking.domain.lifecycle import Status, is_overdue
from booking.models import Booking, BookingEvent
from booking.services import notifications
from booking.services.audit import record_event
from booking.services.context import AppContext
from booking.services.lending_common import LoanRow, _loan_rows
from booking.services.loading import load_rules


# following_blocked looks this far ahead: a booking starting later may still be served when
# the thing comes back in time; the daily overdue job reaches it on a later day.
FOLLOWING_NOTICE_AHEAD = timedelta(days=3)


async def find_overdue(app: AppContext, now: datetime | None = None, *, site_ids: Sequence[int] | None = None) -> list[LoanRow]:
    """Every booking checked out and not back by its end (all sites, or ``site_ids``), oldest first.

    For the reminder job: each row carries the booking, resource, site, borrower, organisation
    and loan.
    """
    now = now or app.now()
    async with app.database.reader() as session:
        return await _loan_rows(
            session, [Booking.status == Status.CHECKED_OUT.value, Booking.ends_at <= now], now,
            list(site_ids) if site_ids is not None else None, order=col(Booking.ends_at),
        )


async def following_blocked(
    app: AppContext, overdue_booking: Booking | int, *, now: datetime | None = None, ahead: timedelta = FOLLOWING_NOTICE_AHEAD
) -> list[Booking]:
    """Later bookings of the overdue thing's resource that cannot be served while it is out.

    Considers requested and confirmed bookings that have not ended and start within ``ahead``;
    serves them first come first (by start) with the overdue units held indefinitely and
    keeps those that would be served if the thing were back — those are blocked by it. Their
    bookers are told once (outbox dedupe key per blocked/overdue pair) and the booking's
    history notes it once. Empty when the booking is not overdue (e.g. taken back).
    """
    now = now or app.now()
    async with app.database.transaction() as session:
        return await _following_blocked(session, app, overdue_booking, now, ahead)


async def _following_blocked(
    session: AsyncSession, app: AppContext, overdue_booking: Booking | int, now: datetime, ahead: timedelta
) -> list[Booking]:
    booking_id = overdue_booking if isinstance(overdue_booking, int) else overdue_booking.id
    overdue = await session.get(Booking, booking_id)
    if overdue is None:
        raise NotFound(f"booking {booking_id} does not exist")
    resource = (await lock_resources(session, [overdue.resource_id]))[overdue.resource_id]
    await session.refresh(overdue)
    if not is_overdue(overdue.status, overdue.ends_at, now):
        return []
    rules = await load_rules(session, resource)
    horizon = now + ahead
    statement = select(Booking).where(
        Booking.resource_id == resource.id,
        col(Booking.status).in_((Status.REQUESTED.value, Status.CONFIRMED.value, Status.CHECKED_OUT.value)),
        Booking.ends_at > now,
        Booking.starts_at < horizon,
        Booking.id != overdue.id,
    )
    others = list((await session.exec(statement)).all())
    longest_end = max([b.ends_at for b in others] + [horizon])
    before, after = rules.buffer_before, rules.buffer_after

    def held(booking: Booking, stretch_to: datetime | None = None) -> Holding:
        interval = Interval(booking.starts_at, max(booking.ends_at, stretch_to) if stretch_to else booking.ends_at)
        return Holding(interval.padded(before, after), booking.quantity, booking.status)

    out = [b for b in others if b.status == Status.CHECKED_OUT.value]
    fixed_without = [held(b, longest_end + timedelta(seconds=1) if is_overdue(b.status, b.ends_at, now) else None) for b in out]
    fixed_with = [*fixed_without, held(overdue, longest_end + timedelta(seconds=1))]
    candidates = sorted((b for b in others if b.status != Status.CHECKED_OUT.value), key=lambda b: (b.starts_at, b.id or 0))
    keyed = [(b.id, held(b)) for b in candidates]
    refused_anyway = set(lending.unserved(resource.capacity, fixed_without, keyed))
    refused = [key for key in lending.unserved(resource.capacity, fixed_with, keyed) if key not in refused_anyway]
    blocked = [b for b in candidates if b.id in refused]
    for booking in blocked:
        await notifications.blocked_by_overdue(session, app, booking, overdue)
        already = (
            await session.exec(
                select(BookingEvent.id).where(
                    BookingEvent.booking_id == booking.id, BookingEvent.action == "blocked_by_overdue"
                )
            )
        ).all()
        if not already:
            record_event(
                session, booking, actor_id=None, action="blocked_by_overdue", from_status=booking.status,
                to_status=booking.status, details={"overdue_booking_id": overdue.id},
            )
    return blocked


async def notify_overdue(app: AppContext, now: datetime | None = None) -> list[LoanRow]:
    """For the scheduled job: overdue notices (borrower and lenders, once a day each) and
    the bookers of following bookings that cannot be served (once). One transaction per loan."""
    now = now or app.now()
    overdue = await find_overdue(app, now)
    for row in overdue:
        async with app.database.transaction() as session:
            booking = await session.get(Booking, row.booking.id)
            if booking is None or not is_overdue(booking.status, booking.ends_at, now):
                continue
            await notifications.overdue_notice(session, app, booking)
            await _following_blocked(session, app, booking, now, FOLLOWING_NOTICE_AHEAD)
    return overdue
