"""The audit trail: one row per status change or lending step."""

from __future__ import annotations

from typing import Any

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
    event = BookingEvent(
        booking_id=booking.id,  # type: ignore[arg-type]
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        details=details or {},
    )
    session.add(event)
    return event
