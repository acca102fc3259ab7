"""Closures (blackouts) of a whole site or one of its resources, set by the site's managers.

Bookings already in a closure's period stay: their number is reported so the staff can talk to
the bookers. Time a closure no longer covers (removed, shortened, moved) is offered to the
waiting lists in the same transaction (``waiting_list.capacity_appeared``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.domain.availability import HOLDING_STATUSES
from booking.domain.errors import NotFound
from booking.domain.intervals import Interval
from booking.models import (
    Blackout,
    Booking,
    Resource,
    Site,
)
from booking.services.admin_common import (
    InvalidFields,
    _Checks,
    _choice,
    _text,
    require_site_manager,
)
from booking.services import waiting_list
from booking.services.context import AppContext


BLACKOUT_KINDS = ("closed", "repair")


@dataclass(frozen=True)
class BlackoutInput:
    starts_at: datetime
    ends_at: datetime
    resource_id: int | None = None
    kind: str = "closed"
    reason: str = ""


@dataclass(frozen=True)
class BlackoutResult:
    blackout: Blackout
    # Bookings that hold time in the closure: they stay, the staff should talk to the bookers.
    overlapping_bookings: int


def _check_blackout(data: BlackoutInput) -> tuple[str, str]:
    """The kind and reason of a closure; bad input raises ``InvalidFields`` naming every bad field."""
    checks = _Checks()
    kind = checks.run(_choice, data.kind, BLACKOUT_KINDS, "kind")
    reason = checks.run(_text, data.reason, 500, "reason")
    if data.starts_at.tzinfo is None or data.ends_at.tzinfo is None:
        checks.add("starts_at", "Please enter a date and time.")
    elif data.ends_at <= data.starts_at:
        checks.add("ends_at", "The end must be after the start.")
    checks.raise_if_any()
    return kind or "closed", reason or ""


async def _check_blackout_resource(session: AsyncSession, site_id: int, resource_id: int | None) -> None:
    if resource_id is not None:
        resource = await session.get(Resource, resource_id)
        if resource is None or resource.site_id != site_id:
            raise InvalidFields({"resource_id": "Please choose a resource of this site."})


async def _overlapping_bookings(session: AsyncSession, blackout: Blackout) -> int:
    """How many bookings hold time in the closure's period (at its resource, or anywhere at the site)."""
    overlapping = select(func.count()).select_from(Booking).join(Resource, Resource.id == Booking.resource_id).where(  # type: ignore[arg-type]
        Resource.site_id == blackout.site_id,
        col(Booking.status).in_(HOLDING_STATUSES),
        Booking.starts_at < blackout.ends_at,
        Booking.ends_at > blackout.starts_at,
    )
    if blackout.resource_id is not None:
        overlapping = overlapping.where(Booking.resource_id == blackout.resource_id)
    return (await session.exec(overlapping)).one()


async def add_blackout(app: AppContext, actor: Principal, site_id: int, data: BlackoutInput) -> BlackoutResult:
    """Close a whole site or one of its resources for a period."""
    require_site_manager(actor, site_id)
    kind, reason = _check_blackout(data)
    async with app.database.transaction() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound("This site does not exist.")
        await _check_blackout_resource(session, site_id, data.resource_id)
        blackout = Blackout(
            site_id=site_id, resource_id=data.resource_id, starts_at=data.starts_at, ends_at=data.ends_at,
            kind=kind, reason=reason,
        )
        session.add(blackout)
        await session.flush()
        count = await _overlapping_bookings(session, blackout)
    return BlackoutResult(blackout, count)


async def get_blackout(app: AppContext, actor: Principal, blackout_id: int) -> tuple[Blackout, Site]:
    """A closure with its site, for the site's managers and city administrators."""
    async with app.database.reader() as session:
        blackout = await session.get(Blackout, blackout_id)
        if blackout is None:
            raise NotFound("This closure does not exist.")
        require_site_manager(actor, blackout.site_id)
        site = await session.get(Site, blackout.site_id)
    assert site is not None
    return blackout, site


async def update_blackout(app: AppContext, actor: Principal, blackout_id: int, data: BlackoutInput) -> BlackoutResult:
    """Change a closure's period, what it closes, its kind and reason. Bookings in the new
    period stay valid: their number is returned so the staff can talk to the bookers."""
    kind, reason = _check_blackout(data)
    async with app.database.transaction() as session:
        blackout = await session.get(Blackout, blackout_id)
        if blackout is None:
            raise NotFound("This closure does not exist.")
        require_site_manager(actor, blackout.site_id)
        await _check_blackout_resource(session, blackout.site_id, data.resource_id)
        was = closed_before(blackout)
        blackout.starts_at, blackout.ends_at = data.starts_at, data.ends_at
        blackout.resource_id, blackout.kind, blackout.reason = data.resource_id, kind, reason
        session.add(blackout)
        await session.flush()
        count = await _overlapping_bookings(session, blackout)
        await offer_reopened_time(session, app, was)
    return BlackoutResult(blackout, count)


async def delete_blackout(app: AppContext, actor: Principal, site_id: int, blackout_id: int) -> None:
    require_site_manager(actor, site_id)
    async with app.database.transaction() as session:
        blackout = await session.get(Blackout, blackout_id)
        if blackout is None or blackout.site_id != site_id:
            raise NotFound("This closure does not exist.")
        was = closed_before(blackout)
        await session.delete(blackout)
        await session.flush()
        await offer_reopened_time(session, app, was)


@dataclass(frozen=True)
class ClosedBefore:
    """What a closure covered before it was changed or removed."""

    site_id: int
    resource_id: int | None
    interval: Interval


def closed_before(blackout: Blackout) -> ClosedBefore:
    return ClosedBefore(blackout.site_id, blackout.resource_id, Interval(_aware(blackout.starts_at), _aware(blackout.ends_at)))


async def offer_reopened_time(session: AsyncSession, app: AppContext, was: ClosedBefore) -> None:
    """Offer what the closure covered to the waiting lists (after the change is flushed): the
    availability rule sees the closures as they are now, so only what is really open again
    is offered."""
    now = app.now()
    if was.resource_id is not None:
        await waiting_list.capacity_appeared(session, app, was.resource_id, was.interval, now=now)
    else:
        await waiting_list.capacity_appeared_at_site(session, app, was.site_id, was.interval, now=now)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
