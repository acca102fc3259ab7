"""What a scanned resource code leads to, the label sheet of a site, and a room's door sign.

Codes are derived from resource ids (``booking.domain.short_codes``, which says why).
Scanning: anyone reaches the resource's public page; a lender of its site reaches the hand-out
of the thing's current or next booking, or its return when it is out. A room or desk whose
rules ask for check-in leads everyone to its check-in page (``services.checkin``), where the
booker checks in and anyone else sees the door sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.domain.offers import LISTED_RESOURCE_KINDS
from booking.auth.permissions import can_see_resource
from booking.auth.principal import Principal
from booking.domain.errors import NotFound, PermissionDenied
from booking.domain.lifecycle import BUSY_VALUES, Status
from booking.domain.short_codes import code_for, resource_id_for
from booking.models import Booking, Organisation, Policy, Resource, Site
from booking.services.context import AppContext

# What a door sign shows: busy time, as public feeds show it (held offers included).
DOOR_SIGN_STATUSES = BUSY_VALUES
DOOR_SIGN_KINDS = ("room", "desk")
MAX_LABELS = 2000
MAX_DOOR_ENTRIES = 200


@dataclass(frozen=True)
class ScanTarget:
    """Where a scan leads. ``kind``: "hand_out" or "take_back" (with the booking and the
    lender's day of it), "lender" (the lender's page of the thing), "check_in" (the room's
    check-in page) or "public"."""

    kind: str
    resource_id: int
    resource_kind: str
    site_id: int
    booking_id: int | None = None
    day: date | None = None
    is_today: bool = False


@dataclass(frozen=True)
class Label:
    code: str
    resource: Resource


@dataclass(frozen=True)
class LabelSheet:
    site: Site
    labels: list[Label]


@dataclass(frozen=True)
class DoorEntry:
    """One booking as a door sign shows it: time, and title and organisation only when the
    booking is marked public — never who booked."""

    starts_at: datetime
    ends_at: datetime
    status: str
    title: str
    organisation_name: str


@dataclass(frozen=True)
class DoorSign:
    code: str
    resource: Resource
    site: Site
    day: date
    entries: list[DoorEntry]
    now: datetime


async def _resource_of_code(app: AppContext, actor: Principal | None, code: str) -> tuple[Resource, Site]:
    """The resource of ``code`` if the actor may see it; NotFound otherwise (no oracle)."""
    resource_id = resource_id_for(code)
    if resource_id is None:
        raise NotFound("there is no resource with this code")
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None or not can_see_resource(actor, resource.visibility, resource.site_id):
            raise NotFound("there is no resource with this code")
        site = await session.get(Site, resource.site_id)
    assert site is not None
    return resource, site


async def scan_target(app: AppContext, actor: Principal | None, code: str) -> ScanTarget:
    """Where the code of a resource leads ``actor`` (see the module docstring)."""
    resource, site = await _resource_of_code(app, actor, code)
    assert resource.id is not None and site.id is not None
    public = ScanTarget("public", resource.id, resource.kind, site.id)
    if resource.kind in DOOR_SIGN_KINDS:
        async with app.database.reader() as session:
            asks_check_in = (await session.exec(
                select(Policy.checkin_required).where(Policy.resource_id == resource.id)
            )).first()
        if asks_check_in:
            return ScanTarget("check_in", resource.id, resource.kind, site.id)
    if actor is None or not actor.is_lender_at(site.id) or resource.kind != "item":
        return public
    now = app.now()
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    async with app.database.reader() as session:
        out = (await session.exec(
            select(Booking)
            .where(Booking.resource_id == resource.id, Booking.status == Status.CHECKED_OUT.value)
            .order_by(col(Booking.ends_at), col(Booking.id))
            .limit(1)
        )).first()
        upcoming = None if out is not None else (await session.exec(
            select(Booking)
            .where(Booking.resource_id == resource.id, Booking.status == Status.CONFIRMED.value, Booking.ends_at > now)
            .order_by(col(Booking.starts_at), col(Booking.id))
            .limit(1)
        )).first()
    if out is not None:
        # Due back some day: the lender's day of the return; overdue ones show on every day.
        due = (out.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
        day = today if due <= today else due
        return ScanTarget("take_back", resource.id, resource.kind, site.id, out.id, day, day == today)
    if upcoming is not None:
        # A missed pick-up shows among today's hand-outs as long as the booking lasts.
        day = max(upcoming.starts_at.astimezone(zone).date(), today)
        return ScanTarget("hand_out", resource.id, resource.kind, site.id, upcoming.id, day, day == today)
    return ScanTarget("lender", resource.id, resource.kind, site.id)


async def label_sheet(app: AppContext, actor: Principal, site_id: int) -> LabelSheet:
    """Every active resource of a site with its code, for lenders and managers of that site
    (and city admins). Others: PermissionDenied; an unknown site: NotFound."""
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound(f"site {site_id} does not exist")
        if not actor.is_lender_at(site_id):
            raise PermissionDenied("only lenders and managers of this site may print its labels")
        resources = (await session.exec(
            select(Resource)
            .where(Resource.site_id == site_id, col(Resource.is_active).is_(True), col(Resource.kind).in_(LISTED_RESOURCE_KINDS))
            .order_by(col(Resource.kind), col(Resource.name), col(Resource.id))
            .limit(MAX_LABELS)
        )).all()
    return LabelSheet(site, [Label(code_for(resource.id), resource) for resource in resources])  # type: ignore[arg-type]


async def door_sign(app: AppContext, actor: Principal | None, code: str) -> DoorSign:
    """Today's bookings (the site's local day) of a room or desk, as the public may see them."""
    resource, site = await _resource_of_code(app, actor, code)
    if resource.kind not in DOOR_SIGN_KINDS:
        raise NotFound("only rooms and desks have a door sign")
    now = app.now()
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    day_start = datetime.combine(today, time(0), zone).astimezone(UTC)
    day_end = datetime.combine(today + timedelta(days=1), time(0), zone).astimezone(UTC)
    async with app.database.reader() as session:
        rows = (await session.exec(
            select(Booking, Organisation)
            .outerjoin(Organisation, Organisation.id == Booking.organisation_id)  # type: ignore[arg-type]
            .where(
                Booking.resource_id == resource.id,
                col(Booking.status).in_(DOOR_SIGN_STATUSES),
                Booking.starts_at < day_end,
                Booking.ends_at > day_start,
            )
            .order_by(col(Booking.starts_at), col(Booking.id))
            .limit(MAX_DOOR_ENTRIES)
        )).all()
    entries = [
        DoorEntry(
            booking.starts_at, booking.ends_at, booking.status,
            booking.title if booking.is_public else "",
            organisation.name if booking.is_public and organisation is not None else "",
        )
        for booking, organisation in rows
    ]
    assert resource.id is not None
    return DoorSign(code_for(resource.id), resource, site, today, entries, now)
