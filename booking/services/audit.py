"""The audit trail: one row per status change or lending step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.models import Booking, BookingEvent


def record_event(
    session: AsyncSession,
    booking: Booking,
    *,
    actor_id: int | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> BookingEvent:
    event = new_event(
        booking, actor_id=actor_id, action=action, from_status=from_status, to_status=to_status,
        reason=reason, details=details,
    )
    session.add(event)
    return event


async def record_events(session: AsyncSession, events: Sequence[BookingEvent]) -> None:
    """Insert many audit rows in one statement (an executemany), e.g. the dates of a new series.

    Nobody reads their ids, so unlike ``session.add`` nothing is returned per row.
    """
    if not events:
        return
    rows = [event.model_dump(exclude={"id"}) for event in events]
    await session.exec(insert(BookingEvent), params=rows)  # type: ignore[call-overload]


def new_event(
    booking: Booking,
    *,
    actor_id: int | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> BookingEvent:
    """An audit row for ``record_events`` (not added to any session)."""
    return BookingEvent(
        booking_id=booking.id,  # type: ignore[arg-type]
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        details=details or {},
    )
