"""Administration: sites, closures, resources, their rules, staff, organisations, users, parked mail.

Who may do what (checked here, in every use case, before anything is read or written):

- city administrators: everything;
- site managers: the sites they manage — the site's details and opening hours, its closures,
  its resources and their rules, its lenders and managers;
- everybody else: nothing here.

Creating a site, organisations, users and the parked e-mails are city-wide, so only city
administrators handle them.

Bad input raises ``InvalidFields`` (an ``InvalidInput`` that names every bad field at once, so a
form can show each message next to its field); nothing is written then. The messages are
English source strings without inserted values, so the web layer can translate them.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import available_timezones

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.domain.offers import LISTED_RESOURCE_KINDS
from booking.auth.permissions import can_manage_site
from booking.auth.principal import Principal
from booking.db.locking import lock_resource
from booking.domain.availability import HOLDING_STATUSES, peak_usage
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied
from booking.domain.intervals import Interval
from booking.domain.opening_hours import WEEKDAYS, validate_opening_hours
from booking.mail.worker import NotParked, list_parked, retry_parked
from booking.models import (
    Blackout,
    Booking,
    Membership,
    Organisation,
    OutboxMessage,
    Policy,
    Resource,
    Site,
    SiteRole,
    User,
)
from booking.services import credentials
from booking.services.accounts import normalise_email
from booking.services.context import AppContext
from booking.services.loading import load_holdings

T = TypeVar("T")

RESOURCE_KINDS = ("room", "desk", "item")
VISIBILITIES = ("public", "members")
SITE_ROLES = ("lender", "manager")
ORGANISATION_ROLES = ("member", "admin")
BLACKOUT_KINDS = ("closed", "repair")
OPENING_HOURS_MODES = ("contain", "endpoints", "ignore")
AUDIENCES = ("public", "organisations")
DEFAULT_TIMEZONE = "Europe/Berlin"
MAX_CAPACITY = 10_000
MAX_SEATS = 100_000
MAX_MINUTES = 366 * 24 * 60
MAX_BUFFER_MINUTES = 7 * 24 * 60
MAX_HORIZON_DAYS = 10 * 366
USERS_PER_PAGE = 50


# --- errors and permissions --------------------------------------------------------------


class InvalidFields(InvalidInput):
    """Several fields are wrong; ``errors`` maps each field name to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors: dict[str, str] = dict(errors)


class _Checks:
    """Collects field errors so that a form can show all of them at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, message)

    def run(self, function: Callable[..., T], *args: Any, default_field: str = "general", **kwargs: Any) -> T | None:
        try:
            return function(*args, **kwargs)
        except InvalidFields as error:
            for name, message in error.errors.items():
                self.add(name, message)
        except InvalidInput as error:
            self.add(error.field or default_field, error.message)
        return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidFields(self.errors)


def require_city_admin(actor: Principal) -> None:
    if not actor.is_city_admin:
        raise PermissionDenied("only city administrators may do this")


def require_site_manager(actor: Principal, site_id: int) -> None:
    if not can_manage_site(actor, site_id):
        raise PermissionDenied("only managers of this site may do this")


# --- small validators --------------------------------------------------------------------


def _text(value: str | None, limit: int, field_name: str, *, required: bool = False, one_line: bool = False) -> str:
    """Trimmed text. ``one_line`` (names): no line break, TAB or other control character —
    a name goes into calendar names, e-mail headers and page titles, where it is one line."""
    value = (value or "").strip()
    if "\x00" in value:
        raise InvalidInput("This text contains characters that are not allowed.", field=field_name)
    if one_line and any(unicodedata.category(character) == "Cc" for character in value):
        raise InvalidInput("A name is one line, without line breaks or control characters.", field=field_name)
    if required and not value:
        raise InvalidInput("This field is required.", field=field_name)
    if len(value) > limit:
        raise InvalidInput("This text is too long.", field=field_name)
    return value


def _choice(value: str, choices: Sequence[str], field_name: str) -> str:
    if value not in choices:
        raise InvalidInput("Please choose one of the options.", field=field_name)
    return value


def _whole(value: int | None, field_name: str, *, minimum: int, maximum: int, optional: bool = False) -> int | None:
    if value is None:
        if optional:
            return None
        raise InvalidInput("This field is required.", field=field_name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("Please enter a whole number.", field=field_name)
    if value < minimum:
        raise InvalidInput("This number is too small.", field=field_name)
    if value > maximum:
        raise InvalidInput("This number is too large.", field=field_name)
    return value


def _email(value: str | None, field_name: str, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput("Please enter an e-mail address.", field=field_name)
        return None
    try:
        return normalise_email(value)
    except InvalidInput:
        raise InvalidInput("Please enter an e-mail address like name@example.org.", field=field_name) from None


@functools.cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: str | None, field_name: str = "timezone") -> str:
    """An IANA time zone name such as Europe/Berlin (exactly as the tz database spells it)."""
    value = (value or "").strip()
    if value not in known_timezones():
        raise InvalidInput("Please enter a time zone such as Europe/Berlin.", field=field_name)
    return value


def check_opening_hours(hours: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """Validates a week of opening hours; each weekday's problem is reported on ``opening_<day>``."""
    if not isinstance(hours, Mapping):
        raise InvalidInput("Opening hours map weekdays to lists of [opens, closes].", field="opening_hours")
    checks = _Checks()
    normalised: dict[str, list[list[str]]] = {}
    for day, windows in hours.items():
        if day not in WEEKDAYS:
            checks.add("opening_hours", "Unknown weekday; use mon, tue, wed, thu, fri, sat, sun.")
            continue
        try:
            normalised.update(validate_opening_hours({day: windows}))
        except InvalidInput as error:
            message = (
                "The closing time must be after the opening time."
                if "closes before it opens" in error.message
                else "Please enter times like 09:00–18:00."
            )
            checks.add(f"opening_{day}", message)
    checks.raise_if_any()
    # Closed days are simply left out, as the booking rules read them.
    return {day: normalised[day] for day in WEEKDAYS if normalised.get(day)}


# --- sites -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteInput:
    name: str
    contact_email: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    timezone: str = DEFAULT_TIMEZONE
    description: str = ""
    opening_hours: Mapping[str, Any] = field(default_factory=dict)
    # Accessibility for the public site page and the map; None: not known.
    step_free: bool | None = None
    accessible_toilet: bool | None = None
    hearing_loop: bool | None = None
    accessibility_notes: str = ""


def check_site(data: SiteInput) -> SiteInput:
    """The cleaned input, or InvalidFields naming every bad field."""
    checks = _Checks()
    name = checks.run(_text, data.name, 200, "name", required=True, one_line=True)
    contact_email = checks.run(_email, data.contact_email, "contact_email")
    address = checks.run(_text, data.address, 500, "address")
    description = checks.run(_text, data.description, 4000, "description")
    timezone = checks.run(check_timezone, data.timezone)
    latitude, longitude = data.latitude, data.longitude
    for value, limit, name_of_field in ((latitude, 90.0, "latitude"), (longitude, 180.0, "longitude")):
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or abs(value) > limit):
            checks.add(name_of_field, "Please enter a number between -90 and 90." if limit == 90.0 else "Please enter a number between -180 and 180.")
    if (latitude is None) != (longitude is None) and not ({"latitude", "longitude"} & checks.errors.keys()):
        checks.add("longitude" if longitude is None else "latitude", "Please give both coordinates, or neither.")
    opening_hours = checks.run(check_opening_hours, data.opening_hours, default_field="opening_hours")
    accessibility_notes = checks.run(_text, data.accessibility_notes, 4000, "accessibility_notes")
    checks.raise_if_any()
    return SiteInput(
        name=name or "", contact_email=contact_email or "", address=address or "",
        latitude=float(latitude) if latitude is not None else None,
        longitude=float(longitude) if longitude is not None else None,
        timezone=timezone or DEFAULT_TIMEZONE, description=description or "", opening_hours=opening_hours or {},
        step_free=data.step_free, accessible_toilet=data.accessible_toilet, hearing_loop=data.hearing_loop,
        accessibility_notes=accessibility_notes or "",
    )


async def _name_taken(session: AsyncSession, model: Any, name: str, exclude_id: int | None, **scope: Any) -> bool:
    statement = select(model.id).where(func.lower(model.name) == name.lower())
    for column, value in scope.items():
        statement = statement.where(getattr(model, column) == value)
    if exclude_id is not None:
        statement = statement.where(model.id != exclude_id)
    return (await session.exec(statement)).first() is not None


def _apply_site(site: Site, data: SiteInput) -> None:
    site.name = data.name
    site.contact_email = data.contact_email
    site.address = data.address
    site.latitude = data.latitude
    site.longitude = data.longitude
    site.timezone = data.timezone
    site.description = data.description
    site.opening_hours = dict(data.opening_hours)
    site.step_free = data.step_free
    site.accessible_toilet = data.accessible_toilet
    site.hearing_loop = data.hearing_loop
    site.accessibility_notes = data.accessibility_notes


async def create_site(app: AppContext, actor: Principal, data: SiteInput) -> Site:
    """A new site (city administrators only)."""
    require_city_admin(actor)
    data = check_site(data)
    try:
        async with app.database.transaction() as session:
            if await _name_taken(session, Site, data.name, None):
                raise InvalidFields({"name": "A site with this name exists already."})
            site = Site(name=data.name, contact_email=data.contact_email)
            _apply_site(site, data)
            session.add(site)
            await session.flush()
    except IntegrityError:
        raise InvalidFields({"name": "A site with this name exists already."}) from None
    return site


async def update_site(app: AppContext, actor: Principal, site_id: int, data: SiteInput) -> Site:
    """Change a site's details and opening hours (its managers, city administrators)."""
    require_site_manager(actor, site_id)
    data = check_site(data)
    try:
        async with app.database.transaction() as session:
            site = await session.get(Site, site_id)
            if site is None:
                raise NotFound("This site does not exist.")
            if await _name_taken(session, Site, data.name, site_id):
                raise InvalidFields({"name": "A site with this name exists already."})
            _apply_site(site, data)
            session.add(site)
    except IntegrityError:
        raise InvalidFields({"name": "A site with this name exists already."}) from None
    return site


@dataclass(frozen=True)
class ManagedSite:
    site: Site
    resource_count: int
    staff_count: int


@dataclass(frozen=True)
class AdminOverview:
    sites: list[ManagedSite]
    is_city_admin: bool
    organisation_count: int = 0
    user_count: int = 0
    parked_count: int = 0


async def overview(app: AppContext, actor: Principal) -> AdminOverview:
    """The sites the actor manages (all for city administrators) and city-wide counts."""
    managed = [site_id for site_id, role in actor.site_roles.items() if role == "manager"]
    if not actor.is_city_admin and not managed:
        raise PermissionDenied("only site managers and city administrators may administer")
    async with app.database.reader() as session:
        statement = select(Site).order_by(col(Site.name))
        if not actor.is_city_admin:
            statement = statement.where(col(Site.id).in_(managed))
        sites = list((await session.exec(statement)).all())
        ids = [site.id for site in sites]
        resources = dict(
            (await session.exec(
                select(Resource.site_id, func.count())
                .where(col(Resource.site_id).in_(ids), col(Resource.kind).in_(LISTED_RESOURCE_KINDS)).group_by(col(Resource.site_id))
            )).all()
        )
        staff = dict(
            (await session.exec(
                select(SiteRole.site_id, func.count()).where(col(SiteRole.site_id).in_(ids)).group_by(col(SiteRole.site_id))
            )).all()
        )
        counts = {"organisation_count": 0, "user_count": 0, "parked_count": 0}
        if actor.is_city_admin:
            counts["organisation_count"] = (await session.exec(select(func.count()).select_from(Organisation))).one()
            counts["user_count"] = (await session.exec(select(func.count()).select_from(User))).one()
            counts["parked_count"] = (
                await session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "parked"))
            ).one()
    return AdminOverview(
        sites=[ManagedSite(site, resources.get(site.id, 0), staff.get(site.id, 0)) for site in sites],
        is_city_admin=actor.is_city_admin,
        **counts,
    )


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    display_name: str
    email: str
    role: str


@dataclass(frozen=True)
class SiteOverview:
    site: Site
    resources: list[Resource]
    blackouts: list[Blackout]
    staff: list[StaffMember]


async def get_site(app: AppContext, actor: Principal, site_id: int) -> Site:
    """One site, for its managers and city administrators."""
    require_site_manager(actor, site_id)
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("This site does not exist.")
    return site


async def site_overview(app: AppContext, actor: Principal, site_id: int) -> SiteOverview:
    """A site with its resources, its current and coming closures and its staff."""
    require_site_manager(actor, site_id)
    now = app.now()
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound("This site does not exist.")
        resources = list(
            (await session.exec(
                select(Resource).where(Resource.site_id == site_id, col(Resource.kind).in_(LISTED_RESOURCE_KINDS))
                .order_by(col(Resource.kind), col(Resource.name))
            )).all()
        )
        blackouts = list(
            (await session.exec(
                select(Blackout)
                .where(Blackout.site_id == site_id, Blackout.ends_at > now)
                .order_by(col(Blackout.starts_at), col(Blackout.id))
            )).all()
        )
        staff_rows = (
            await session.exec(
                select(SiteRole, User)
                .join(User, User.id == SiteRole.user_id)  # type: ignore[arg-type]
                .where(SiteRole.site_id == site_id)
                .order_by(col(SiteRole.role).desc(), col(User.display_name))
            )
        ).all()
    staff = [StaffMember(user.id, user.display_name, user.email, role.role) for role, user in staff_rows]  # type: ignore[arg-type]
    return SiteOverview(site, resources, blackouts, staff)


# --- closures (blackouts) ----------------------------------------------------------------


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
        blackout.starts_at, blackout.ends_at = data.starts_at, data.ends_at
        blackout.resource_id, blackout.kind, blackout.reason = data.resource_id, kind, reason
        session.add(blackout)
        await session.flush()
        count = await _overlapping_bookings(session, blackout)
    return BlackoutResult(blackout, count)


async def delete_blackout(app: AppContext, actor: Principal, site_id: int, blackout_id: int) -> None:
    require_site_manager(actor, site_id)
    async with app.database.transaction() as session:
        blackout = await session.get(Blackout, blackout_id)
        if blackout is None or blackout.site_id != site_id:
            raise NotFound("This closure does not exist.")
        await session.delete(blackout)


# --- resources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceInput:
    kind: str
    name: str
    category: str = ""
    capacity: int | None = 1
    seats: int | None = None
    visibility: str = "public"
    description: str = ""
    accessibility_notes: str = ""


def check_resource(data: ResourceInput) -> ResourceInput:
    checks = _Checks()
    kind = checks.run(_choice, data.kind, RESOURCE_KINDS, "kind")
    name = checks.run(_text, data.name, 200, "name", required=True, one_line=True)
    category = checks.run(_text, data.category, 100, "category")
    capacity = checks.run(_whole, data.capacity, "capacity", minimum=1, maximum=MAX_CAPACITY)
    seats = checks.run(_whole, data.seats, "seats", minimum=0, maximum=MAX_SEATS, optional=True)
    visibility = checks.run(_choice, data.visibility, VISIBILITIES, "visibility")
    description = checks.run(_text, data.description, 8000, "description")
    notes = checks.run(_text, data.accessibility_notes, 4000, "accessibility_notes")
    checks.raise_if_any()
    return ResourceInput(
        kind=kind or "", name=name or "", category=category or "", capacity=capacity, seats=seats,
        visibility=visibility or "public", description=description or "", accessibility_notes=notes or "",
    )


def _apply_resource(resource: Resource, data: ResourceInput) -> None:
    resource.kind = data.kind
    resource.name = data.name
    resource.category = data.category
    resource.capacity = data.capacity or 1
    resource.seats = data.seats
    resource.visibility = data.visibility
    resource.description = data.description
    resource.accessibility_notes = data.accessibility_notes


async def get_resource(app: AppContext, actor: Principal, resource_id: int) -> tuple[Resource, Site, Policy | None]:
    """A resource with its site and rules, for the site's managers and city administrators."""
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None:
            raise NotFound("This resource does not exist.")
        require_site_manager(actor, resource.site_id)
        site = await session.get(Site, resource.site_id)
        policy = (await session.exec(select(Policy).where(Policy.resource_id == resource_id))).first()
    assert site is not None
    return resource, site, policy


async def create_resource(
    app: AppContext, actor: Principal, site_id: int, data: ResourceInput, *, rules_pending: bool = False
) -> Resource:
    """A new resource at a site. Things to lend are checked for pick-up and return times only.

    ``rules_pending`` (the admin pages): the resource is created without rules and inactive, so
    nobody books it before a manager has saved its rules (``update_policy`` activates it)."""
    require_site_manager(actor, site_id)
    data = check_resource(data)
    try:
        async with app.database.transaction() as session:
            if await session.get(Site, site_id) is None:
                raise NotFound("This site does not exist.")
            if await _name_taken(session, Resource, data.name, None, site_id=site_id):
                raise InvalidFields({"name": "This site has a resource with this name already."})
            resource = Resource(site_id=site_id, kind=data.kind, name=data.name)
            _apply_resource(resource, data)
            if rules_pending:
                resource.is_active = False
            session.add(resource)
            await session.flush()
            if not rules_pending:
                session.add(Policy(
                    resource_id=resource.id,  # type: ignore[arg-type]
                    opening_hours_mode="endpoints" if data.kind == "item" else "contain",
                ))
    except IntegrityError:
        raise InvalidFields({"name": "This site has a resource with this name already."}) from None
    return resource


async def update_resource(app: AppContext, actor: Principal, resource_id: int, data: ResourceInput) -> Resource:
    """Change a resource. Its capacity cannot drop below what coming bookings already hold."""
    data = check_resource(data)
    try:
        async with app.database.transaction() as session:
            # The booking lock: no booking can slip in between the capacity check and the change.
            resource = await lock_resource(session, resource_id)
            if resource is None:
                raise NotFound("This resource does not exist.")
            require_site_manager(actor, resource.site_id)
            if await _name_taken(session, Resource, data.name, resource_id, site_id=resource.site_id):
                raise InvalidFields({"name": "This site has a resource with this name already."})
            new_capacity = data.capacity or 1
            if new_capacity != resource.capacity:
                await _check_capacity_change(session, resource, new_capacity, app.now())
            _apply_resource(resource, data)
            session.add(resource)
    except IntegrityError:
        raise InvalidFields({"name": "This site has a resource with this name already."}) from None
    return resource


async def _check_capacity_change(session: AsyncSession, resource: Resource, new_capacity: int, now: datetime) -> None:
    """Refuse a capacity below the peak of coming bookings; keep ``is_exclusive`` in step.

    ``is_exclusive`` marks the bookings the PostgreSQL exclusion constraint guards (those of
    single-unit resources), so it must follow the resource's capacity.
    """
    window = Interval(now, now + timedelta(days=MAX_HORIZON_DAYS))
    holdings = (await load_holdings(session, [resource.id], window, now=now))[resource.id]  # type: ignore[list-item,index]
    if holdings and peak_usage(holdings, window) > new_capacity:
        raise InvalidFields({"capacity": "Coming bookings hold more units than this; cancel or move them first."})
    coming = (
        await session.exec(
            select(Booking).where(
                Booking.resource_id == resource.id,
                col(Booking.status).in_(HOLDING_STATUSES),
                or_(Booking.ends_at > now, Booking.status == "checked_out"),
            )
        )
    ).all()
    for booking in coming:
        booking.is_exclusive = new_capacity == 1
        session.add(booking)


async def set_resource_active(app: AppContext, actor: Principal, resource_id: int, active: bool) -> Resource:
    """Deactivate (no new bookings, hidden from the catalogue; existing ones stay) or reactivate."""
    async with app.database.transaction() as session:
        resource = await lock_resource(session, resource_id)
        if resource is None:
            raise NotFound("This resource does not exist.")
        require_site_manager(actor, resource.site_id)
        resource.is_active = active
        session.add(resource)
    return resource


# --- rules (policy) ----------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    needs_approval: bool = False
    lead_time_minutes: int | None = 0
    min_duration_minutes: int | None = 15
    max_duration_minutes: int | None = None
    max_horizon_days: int | None = 365
    buffer_before_minutes: int | None = 0
    buffer_after_minutes: int | None = 0
    opening_hours_mode: str = "contain"
    audience: str = "public"
    allowed_organisation_ids: tuple[int, ...] = ()


def check_policy(data: PolicyInput) -> PolicyInput:
    checks = _Checks()
    lead = checks.run(_whole, data.lead_time_minutes, "lead_time_minutes", minimum=0, maximum=MAX_MINUTES)
    minimum = checks.run(_whole, data.min_duration_minutes, "min_duration_minutes", minimum=1, maximum=MAX_MINUTES)
    maximum = checks.run(_whole, data.max_duration_minutes, "max_duration_minutes", minimum=1, maximum=MAX_MINUTES, optional=True)
    if minimum is not None and maximum is not None and maximum < minimum:
        checks.add("max_duration_minutes", "The longest booking cannot be shorter than the shortest one.")
    horizon = checks.run(_whole, data.max_horizon_days, "max_horizon_days", minimum=1, maximum=MAX_HORIZON_DAYS, optional=True)
    before = checks.run(_whole, data.buffer_before_minutes, "buffer_before_minutes", minimum=0, maximum=MAX_BUFFER_MINUTES)
    after = checks.run(_whole, data.buffer_after_minutes, "buffer_after_minutes", minimum=0, maximum=MAX_BUFFER_MINUTES)
    mode = checks.run(_choice, data.opening_hours_mode, OPENING_HOURS_MODES, "opening_hours_mode")
    audience = checks.run(_choice, data.audience, AUDIENCES, "audience")
    organisations = tuple(dict.fromkeys(data.allowed_organisation_ids))
    if audience == "organisations" and not organisations:
        checks.add("allowed_organisation_ids", "Please choose at least one organisation.")
    checks.raise_if_any()
    return PolicyInput(
        needs_approval=bool(data.needs_approval), lead_time_minutes=lead, min_duration_minutes=minimum,
        max_duration_minutes=maximum, max_horizon_days=horizon, buffer_before_minutes=before,
        buffer_after_minutes=after, opening_hours_mode=mode or "contain", audience=audience or "public",
        allowed_organisation_ids=organisations if audience == "organisations" else (),
    )


async def update_policy(app: AppContext, actor: Principal, resource_id: int, data: PolicyInput) -> Policy:
    """Set the booking rules of a resource (created when it has none yet)."""
    data = check_policy(data)
    async with app.database.transaction() as session:
        resource = await lock_resource(session, resource_id)
        if resource is None:
            raise NotFound("This resource does not exist.")
        require_site_manager(actor, resource.site_id)
        if data.allowed_organisation_ids:
            known = set(
                (await session.exec(select(Organisation.id).where(col(Organisation.id).in_(data.allowed_organisation_ids)))).all()
            )
            if known != set(data.allowed_organisation_ids):
                raise InvalidFields({"allowed_organisation_ids": "Please choose organisations from the list."})
        policy = (await session.exec(select(Policy).where(Policy.resource_id == resource_id))).first()
        if policy is None:
            policy = Policy(resource_id=resource_id)
            if not resource.is_active:
                # Created on the admin pages with its rules pending: the first rules make it bookable.
                resource.is_active = True
                session.add(resource)
        policy.needs_approval = data.needs_approval
        policy.lead_time_minutes = data.lead_time_minutes or 0
        policy.min_duration_minutes = data.min_duration_minutes or 1
        policy.max_duration_minutes = data.max_duration_minutes
        policy.max_horizon_days = data.max_horizon_days
        policy.buffer_before_minutes = data.buffer_before_minutes or 0
        policy.buffer_after_minutes = data.buffer_after_minutes or 0
        policy.opening_hours_mode = data.opening_hours_mode
        policy.audience = data.audience
        policy.allowed_organisation_ids = list(data.allowed_organisation_ids)
        session.add(policy)
        await session.flush()
    return policy


# --- staff of a site ---------------------------------------------------------------------


async def _user_by_email(session: AsyncSession, email: str | None, field_name: str = "email") -> User:
    checked = _email(email, field_name)
    user = (await session.exec(select(User).where(User.email == checked))).first()
    if user is None:
        raise InvalidFields({field_name: "There is no account with this e-mail address; the person needs to register first."})
    return user


async def assign_site_role(app: AppContext, actor: Principal, site_id: int, email: str, role: str) -> StaffMember:
    """Make the person with this e-mail address a lender or manager of the site (or change their role)."""
    require_site_manager(actor, site_id)
    checks = _Checks()
    checks.run(_email, email, "email")
    checks.run(_choice, role, SITE_ROLES, "role")
    checks.raise_if_any()
    async with app.database.transaction() as session:
        if await session.get(Site, site_id) is None:
            raise NotFound("This site does not exist.")
        user = await _user_by_email(session, email)
        if not user.is_active:
            raise InvalidFields({"email": "This account is deactivated."})
        if user.id == actor.user_id and role != "manager" and not actor.is_city_admin:
            raise InvalidFields({"role": "You cannot take away your own manager role; ask another manager or a city administrator."})
        existing = (
            await session.exec(select(SiteRole).where(SiteRole.site_id == site_id, SiteRole.user_id == user.id))
        ).first()
        if existing is None:
            existing = SiteRole(user_id=user.id, site_id=site_id, role=role)  # type: ignore[arg-type]
        existing.role = role
        session.add(existing)
    return StaffMember(user.id, user.display_name, user.email, role)  # type: ignore[arg-type]


async def remove_site_role(app: AppContext, actor: Principal, site_id: int, user_id: int) -> None:
    """Take a person's role at the site away. Managers cannot remove themselves (ask another)."""
    require_site_manager(actor, site_id)
    if user_id == actor.user_id and not actor.is_city_admin:
        raise PermissionDenied("You cannot remove yourself; ask another manager or a city administrator.")
    async with app.database.transaction() as session:
        role = (await session.exec(select(SiteRole).where(SiteRole.site_id == site_id, SiteRole.user_id == user_id))).first()
        if role is None:
            raise NotFound("This person has no role at this site.")
        await session.delete(role)


# --- organisations -----------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationInput:
    name: str
    contact_email: str = ""
    description: str = ""


def check_organisation(data: OrganisationInput) -> OrganisationInput:
    checks = _Checks()
    name = checks.run(_text, data.name, 200, "name", required=True, one_line=True)
    contact = checks.run(_email, data.contact_email, "contact_email", required=False)
    description = checks.run(_text, data.description, 4000, "description")
    checks.raise_if_any()
    return OrganisationInput(name=name or "", contact_email=contact or "", description=description or "")


@dataclass(frozen=True)
class OrganisationSummary:
    organisation: Organisation
    member_count: int


async def list_organisations(app: AppContext, actor: Principal) -> list[OrganisationSummary]:
    require_city_admin(actor)
    async with app.database.reader() as session:
        organisations = (await session.exec(select(Organisation).order_by(func.lower(Organisation.name)))).all()
        counts = dict(
            (await session.exec(select(Membership.organisation_id, func.count()).group_by(col(Membership.organisation_id)))).all()
        )
    return [OrganisationSummary(o, counts.get(o.id, 0)) for o in organisations]


async def organisation_choices(app: AppContext, actor: Principal) -> list[tuple[int, str]]:
    """(id, name) of every organisation, for the rules of a resource (managers pick from them)."""
    if not actor.is_manager_anywhere:
        raise PermissionDenied("only site managers and city administrators may do this")
    async with app.database.reader() as session:
        rows = (await session.exec(select(Organisation.id, Organisation.name).order_by(func.lower(Organisation.name)))).all()
    return [(organisation_id, name) for organisation_id, name in rows]  # type: ignore[misc]


@dataclass(frozen=True)
class OrganisationMember:
    user_id: int
    display_name: str
    email: str
    role: str


@dataclass(frozen=True)
class OrganisationDetails:
    organisation: Organisation
    members: list[OrganisationMember]


async def get_organisation(app: AppContext, actor: Principal, organisation_id: int) -> OrganisationDetails:
    require_city_admin(actor)
    async with app.database.reader() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound("This organisation does not exist.")
        rows = (
            await session.exec(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)  # type: ignore[arg-type]
                .where(Membership.organisation_id == organisation_id)
                .order_by(col(Membership.role), func.lower(User.display_name))
            )
        ).all()
    return OrganisationDetails(
        organisation, [OrganisationMember(u.id, u.display_name, u.email, m.role) for m, u in rows]  # type: ignore[arg-type]
    )


async def create_organisation(app: AppContext, actor: Principal, data: OrganisationInput) -> Organisation:
    require_city_admin(actor)
    data = check_organisation(data)
    try:
        async with app.database.transaction() as session:
            if await _name_taken(session, Organisation, data.name, None):
                raise InvalidFields({"name": "An organisation with this name exists already."})
            organisation = Organisation(name=data.name, contact_email=data.contact_email or None, description=data.description)
            session.add(organisation)
            await session.flush()
    except IntegrityError:
        raise InvalidFields({"name": "An organisation with this name exists already."}) from None
    return organisation


async def update_organisation(app: AppContext, actor: Principal, organisation_id: int, data: OrganisationInput) -> Organisation:
    require_city_admin(actor)
    data = check_organisation(data)
    try:
        async with app.database.transaction() as session:
            organisation = await session.get(Organisation, organisation_id)
            if organisation is None:
                raise NotFound("This organisation does not exist.")
            if await _name_taken(session, Organisation, data.name, organisation_id):
                raise InvalidFields({"name": "An organisation with this name exists already."})
            organisation.name = data.name
            organisation.contact_email = data.contact_email or None
            organisation.description = data.description
            session.add(organisation)
    except IntegrityError:
        raise InvalidFields({"name": "An organisation with this name exists already."}) from None
    return organisation


async def add_member(app: AppContext, actor: Principal, organisation_id: int, email: str, role: str) -> OrganisationMember:
    """Add the person with this e-mail address to the organisation (or change their role)."""
    require_city_admin(actor)
    checks = _Checks()
    checks.run(_email, email, "email")
    checks.run(_choice, role, ORGANISATION_ROLES, "role")
    checks.raise_if_any()
    async with app.database.transaction() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise NotFound("This organisation does not exist.")
        user = await _user_by_email(session, email)
        membership = (
            await session.exec(
                select(Membership).where(Membership.organisation_id == organisation_id, Membership.user_id == user.id)
            )
        ).first()
        if membership is None:
            membership = Membership(user_id=user.id, organisation_id=organisation_id, role=role)  # type: ignore[arg-type]
        membership.role = role
        session.add(membership)
    return OrganisationMember(user.id, user.display_name, user.email, role)  # type: ignore[arg-type]


async def remove_member(app: AppContext, actor: Principal, organisation_id: int, user_id: int) -> None:
    require_city_admin(actor)
    async with app.database.transaction() as session:
        membership = (
            await session.exec(
                select(Membership).where(Membership.organisation_id == organisation_id, Membership.user_id == user_id)
            )
        ).first()
        if membership is None:
            raise NotFound("This person is not a member of this organisation.")
        await session.delete(membership)


# --- users -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    total: int
    page: int
    page_count: int


async def list_users(app: AppContext, actor: Principal, *, text: str = "", page: int = 1) -> UserPage:
    """Accounts, searched by name or e-mail, ``USERS_PER_PAGE`` per page."""
    require_city_admin(actor)
    text = text.strip()[:100]
    statement = select(User)
    if text:
        # autoescape: % and _ in the search are letters to find, not wildcards.
        needle = text.lower()
        statement = statement.where(
            or_(
                func.lower(User.display_name).contains(needle, autoescape=True),
                func.lower(User.email).contains(needle, autoescape=True),
            )
        )
    async with app.database.reader() as session:
        total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
        page_count = max(1, -(-total // USERS_PER_PAGE))
        page = min(max(page, 1), page_count)
        users = list(
            (await session.exec(
                statement.order_by(func.lower(User.display_name), col(User.id))
                .offset((page - 1) * USERS_PER_PAGE).limit(USERS_PER_PAGE)
            )).all()
        )
    return UserPage(users, total, page, page_count)


async def set_city_admin(app: AppContext, actor: Principal, user_id: int, value: bool) -> User:
    """Make someone a city administrator, or take it back (never from oneself: no lock-out)."""
    require_city_admin(actor)
    if user_id == actor.user_id and not value:
        raise PermissionDenied("You cannot take away your own city administration rights.")
    async with app.database.transaction() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("This account does not exist.")
        user.is_city_admin = value
        session.add(user)
    return user


async def set_user_active(app: AppContext, actor: Principal, user_id: int, value: bool) -> User:
    """Deactivate an account (its sessions and API tokens stop working at once) or reactivate it."""
    require_city_admin(actor)
    if user_id == actor.user_id and not value:
        raise PermissionDenied("You cannot deactivate your own account.")
    async with app.database.transaction() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("This account does not exist.")
        user.is_active = value
        if not value:
            user.session_epoch += 1
            # Reactivating later must not bring old sessions and tokens back.
            await credentials.end_all(session, user_id, app.now())
        session.add(user)
    return user


# --- parked e-mails ----------------------------------------------------------------------


async def parked_messages(app: AppContext, actor: Principal) -> list[OutboxMessage]:
    """E-mails the worker gave up on, newest first."""
    require_city_admin(actor)
    async with app.database.reader() as session:
        return await list_parked(session)


async def retry_parked_message(app: AppContext, actor: Principal, message_id: int) -> OutboxMessage:
    """Put a parked e-mail back into the queue; the worker sends it on its next round."""
    require_city_admin(actor)
    async with app.database.transaction() as session:
        try:
            return await retry_parked(session, message_id, now=app.now())
        except NotParked:
            raise NotFound("There is no parked e-mail with this number.") from None
