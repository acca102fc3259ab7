"""The places of a volunteer offer in the one capacity engine.

One capacity engine (DESIGN.md): each offer owns a hidden resource (kind ``offer``, capacity =
places per date, at the offer's site) and each sign-up is a Booking of quantity 1 over the
date's ``[starts_at, ends_at)`` made under that resource's lock with the same checks as any
booking (``lock_places`` / ``services.bookings.check_placement``). So "never more sign-ups
than places" is the engine's guarantee on both databases, also under concurrent sign-ups.

The modules around it: ``offer_catalogue`` (reading), ``offer_publishing`` (create, edit,
cancel), ``offer_signups`` (sign-up, e-mail double opt-in, cancel), ``offer_waiting_list``,
``offer_mail``, ``offer_organisers`` (participants, attendance, messages, engagement record).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db.locking import lock_resource_with
from booking.domain.errors import InvalidInput, NotFound
from booking.domain.lifecycle import HOLDING
from booking.models import Booking, Offer, OfferDate
from booking.services.bookings import PlacementContext
from booking.services.loading import rules_from_policy


PENDING, CONFIRMED, CANCELLED, REFUSED = "pending", "confirmed", "cancelled", "refused"


async def lock_places(session: AsyncSession, offer: Offer) -> PlacementContext:
    """Lock the offer's hidden places resource for the rest of the transaction (the same lock as
    every booking of it). Its visibility is ``hidden`` (no listing shows it, nobody books it
    directly), so the visibility check of ``lock_for_booking`` is replaced by the offer's own."""
    found = await lock_resource_with(session, offer.resource_id)  # type: ignore[arg-type]
    if found is None:
        raise NotFound("this offer does not exist")
    resource, site, policy, _organisation, _quotas = found
    return PlacementContext(resource, site, rules_from_policy(policy, resource), is_staff=False)


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _taken_by_date(session: AsyncSession, resource_ids: Sequence[int], since: datetime) -> dict[tuple[int, datetime], int]:
    """Places held per (resource, start): the engine's holding bookings, summed."""
    if not resource_ids:
        return {}
    statement = (
        select(Booking.resource_id, Booking.starts_at, func.sum(Booking.quantity))
        .where(col(Booking.resource_id).in_(list(resource_ids)), col(Booking.status).in_([s.value for s in HOLDING]),
               Booking.ends_at > since)
        .group_by(Booking.resource_id, Booking.starts_at)
    )
    return {(rid, _utc(starts)): int(total) for rid, starts, total in (await session.exec(statement)).all()}


def _bookable_dates(dates: Sequence[OfferDate], date_id: int | None, now: datetime) -> list[OfferDate]:
    chosen = [d for d in dates if not d.is_cancelled and _utc(d.starts_at) > now and (date_id is None or d.id == date_id)]
    if not chosen:
        raise InvalidInput("this date cannot be signed up for (any more)", field="date_id")
    return chosen


async def _load_open_offer(session: AsyncSession, offer_id: int) -> tuple[Offer, list[OfferDate]]:
    offer = await session.get(Offer, offer_id)
    if offer is None or not offer.is_published or offer.cancelled_at is not None:
        raise NotFound("this offer does not exist")
    dates = list((await session.exec(select(OfferDate).where(OfferDate.offer_id == offer.id).order_by(col(OfferDate.starts_at)))).all())
    return offer, dates


async def most_taken_per_date(session: AsyncSession, offer: Offer, now: datetime) -> int:
    """The most places any date still ahead holds (a floor for the places per date)."""
    statement = (
        select(func.coalesce(func.sum(Booking.quantity), 0))
        .where(Booking.resource_id == offer.resource_id, col(Booking.status).in_([s.value for s in HOLDING]), Booking.ends_at > now)
        .group_by(Booking.starts_at)
    )
    values = (await session.exec(statement)).all()
    return max((int(v) for v in values), default=0)
