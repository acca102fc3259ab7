"""Administration of sites: their details, opening hours and accessibility, the overview
of the sites an actor manages, and one site with its resources, closures and staff.

Permissions and input errors as described in ``booking.services.admin_common``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied
from booking.domain.opening_hours import WEEKDAYS, validate_opening_hours
from booking.models import (
    Blackout,
    Organisation,
    OutboxMessage,
    Resource,
    Site,
    SiteRole,
    User,
)
from booking.services.admin_common import (
    InvalidFields,
    _Checks,
    _email,
    _name_taken,
    _text,
    require_city_admin,
    require_site_manager,
)
from booking.services.context import AppContext
from booking.services.site_staff import StaffMember


DEFAULT_TIMEZONE = "Europe/Berlin"


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
                select(Resource.site_id, func.count()).where(col(Resource.site_id).in_(ids)).group_by(col(Resource.site_id))
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
                select(Resource).where(Resource.site_id == site_id).order_by(col(Resource.kind), col(Resource.name))
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
