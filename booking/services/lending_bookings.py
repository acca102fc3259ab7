"""Booking things to lend: spans of whole days (pick-up at opening time, return at closing
time) and kits (several things over one span, all or nothing).

Every writing use case is one transaction that locks the resources it touches (in id order,
``db.locking.lock_resources``) before it reads what it decides on, like ``services.bookings``:
a kit racing a single booking for its screen serialises on those locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import uuid4

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import can_see_resource
from booking.auth.principal import Principal
from booking.db.errors import is_overlap_violation
from booking.db.locking import lock_resources
from booking.domain import lending
from booking.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from booking.domain.intervals import Interval
from booking.domain.lifecycle import Status
from booking.models import Booking, Resource, Site
from booking.services import bookings as booking_service
from booking.services import notifications
from booking.services.alternatives import suggest_alternatives
from booking.services.audit import record_event
from booking.services.bookings import (
    BookingRequest,
    check_booker,
    check_placement,
    lock_for_booking,
    new_booking,
)
from booking.services.context import AppContext
from booking.services.lending_common import _kit_rows


MAX_KIT_PARTS = 20


def day_span(site: Site, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """(pick-up, return): opening time of ``first_day`` and closing time of ``last_day``, in UTC.

    Raises PolicyViolation naming the day when the site is closed on the first or last day.
    """
    interval = lending.day_span(site.opening_hours, site.timezone, first_day, last_day)
    return interval.starts_at, interval.ends_at


async def _visible_resource(session: AsyncSession, actor: Principal | None, resource_id: int) -> tuple[Resource, Site]:
    resource = await session.get(Resource, resource_id)
    if resource is None or not resource.is_active or not can_see_resource(actor, resource.visibility, resource.site_id):
        raise NotFound(f"resource {resource_id} does not exist", field="resource_id")
    site = await session.get(Site, resource.site_id)
    assert site is not None
    return resource, site


@dataclass(frozen=True)
class DaySpanRequest:
    resource_id: int
    first_day: date
    last_day: date
    quantity: int = 1
    organisation_id: int | None = None
    title: str = ""
    purpose: str = ""
    is_public: bool = False


async def book_days(app: AppContext, actor: Principal, request: DaySpanRequest) -> Booking:
    """Book ``quantity`` units from pick-up on ``first_day`` to return on ``last_day``.

    The span comes from the site's opening hours (``day_span``); the booking itself is made
    by ``bookings.create_booking`` (locked check, alternatives on conflict, notifications).
    """
    async with app.database.reader() as session:
        _, site = await _visible_resource(session, actor, request.resource_id)
    starts_at, ends_at = day_span(site, request.first_day, request.last_day)
    return await booking_service.create_booking(
        app,
        actor,
        BookingRequest(
            resource_id=request.resource_id, starts_at=starts_at, ends_at=ends_at, quantity=request.quantity,
            organisation_id=request.organisation_id, title=request.title, purpose=request.purpose,
            is_public=request.is_public,
        ),
    )


@dataclass(frozen=True)
class KitPart:
    resource_id: int
    quantity: int = 1


@dataclass(frozen=True)
class KitRequest:
    """Several things over one span, all or nothing: exact instants or whole days."""

    parts: tuple[KitPart, ...]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None
    organisation_id: int | None = None
    title: str = ""
    purpose: str = ""
    is_public: bool = False


def _kit_parts(parts: Sequence[KitPart]) -> list[KitPart]:
    if not parts:
        raise InvalidInput("a kit needs at least one part", field="parts")
    if len(parts) > MAX_KIT_PARTS:
        raise InvalidInput(f"a kit has at most {MAX_KIT_PARTS} parts", field="parts")
    ids = [part.resource_id for part in parts]
    if len(set(ids)) != len(ids):
        raise InvalidInput("name each resource once and give its quantity", field="parts")
    return sorted(parts, key=lambda part: part.resource_id)


def _kit_interval(request: KitRequest, site: Site) -> Interval:
    by_days = request.first_day is not None or request.last_day is not None
    by_instants = request.starts_at is not None or request.ends_at is not None
    if by_days == by_instants:
        raise InvalidInput("give either first_day and last_day or starts_at and ends_at", field="starts_at")
    if by_days:
        if request.first_day is None or request.last_day is None:
            raise InvalidInput("give both first_day and last_day", field="last_day")
        starts_at, ends_at = day_span(site, request.first_day, request.last_day)
        return Interval(starts_at, ends_at)
    if request.starts_at is None or request.ends_at is None:
        raise InvalidInput("give both starts_at and ends_at", field="ends_at")
    return Interval(request.starts_at, request.ends_at).in_utc()


async def book_kit(app: AppContext, actor: Principal, request: KitRequest) -> list[Booking]:
    """Book all parts of a kit in one transaction, or none.

    All resources are locked in id order first (no deadlock between two kits), then each part
    is checked like a single booking. A taken part fails the whole kit with a Conflict that
    names every taken part ("Leinwand 2 m is not available at that time") and carries
    alternatives for the first of them; a broken rule names its part too. The bookings share
    a ``group_key``; when one part needs approval, the whole kit is requested.
    """
    parts = _kit_parts(request.parts)
    now = app.now()
    async with app.database.reader() as session:
        found = [await _visible_resource(session, actor, part.resource_id) for part in parts]
    site_ids = {site.id for _, site in found}
    if len(site_ids) > 1:
        raise InvalidInput("all parts of a kit are picked up at one site", field="parts")
    interval = _kit_interval(request, found[0][1])
    group_key = uuid4().hex
    taken: list[tuple[KitPart, Conflict]] = []
    try:
        async with app.database.transaction() as session:
            await lock_resources(session, [part.resource_id for part in parts])
            made: list[Booking] = []
            for part in parts:
                placement = await lock_for_booking(session, actor, part.resource_id)
                try:
                    await check_booker(session, actor, placement, request.organisation_id)
                    await check_placement(session, placement, interval, part.quantity, now=now)
                except Conflict as conflict:
                    taken.append((part, conflict))
                    continue
                except DomainError as error:
                    raise type(error)(f"{placement.resource.name}: {error.message}", field=error.field) from None
                single = BookingRequest(
                    resource_id=part.resource_id, starts_at=interval.starts_at, ends_at=interval.ends_at,
                    quantity=part.quantity, organisation_id=request.organisation_id, title=request.title,
                    purpose=request.purpose, is_public=request.is_public,
                )
                made.append(new_booking(placement, actor, single, interval, group_key=group_key))
            if taken:
                raise Conflict(
                    "; ".join(conflict.message for _, conflict in taken),
                    conflicts=[c for _, conflict in taken for c in conflict.conflicts],
                    field="parts",
                )
            if any(booking.status == Status.REQUESTED for booking in made):
                for booking in made:
                    booking.status = Status.REQUESTED.value
            session.add_all(made)
            await session.flush()
            for booking in made:
                record_event(
                    session, booking, actor_id=actor.user_id, action="created", from_status=None,
                    to_status=booking.status, details={"kit": group_key, "parts": len(made)},
                )
            # One confirmation (or request) naming every part, not one per part.
            await notifications.kit_created(session, app, made)
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        raise Conflict("a part of the kit is not available at that time", field="parts") from None
    except Conflict as conflict:
        if taken:
            first = taken[0][0]
            conflict.alternatives = await suggest_alternatives(
                app, actor, first.resource_id, interval, first.quantity,
                organisation_id=request.organisation_id, now=now,
            )
        raise
    return made


async def kit_of(app: AppContext, booking: Booking) -> list[tuple[Booking, Resource]]:
    """The bookings made together with ``booking`` (itself included), by resource id."""
    if booking.group_key is None:
        async with app.database.reader() as session:
            resource = await session.get(Resource, booking.resource_id)
        assert resource is not None
        return [(booking, resource)]
    async with app.database.reader() as session:
        return await _kit_rows(session, booking.group_key)
