"""E-mail and invites caused by booking changes, written into the outbox in the caller's
transaction. (Wired to booking.mail once the outbox lands — see the lead's plan.)"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.domain.lifecycle import Action
from booking.models import Booking
from booking.services.context import AppContext


async def booking_created(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    return None


async def booking_changed(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    return None


async def booking_transitioned(
    session: AsyncSession, app: AppContext, booking: Booking, action: Action, *, reason: str = ""
) -> None:
    return None
