"""Administration of resources and their booking rules (policy): create, change, deactivate
a resource; set lead time, durations, horizon, buffers, opening-hours mode and audience.

For the site's managers and city administrators; input errors as ``InvalidFields``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.db.locking import lock_resource
from booking.domain.availability import HOLDING_STATUSES, peak_usage
from booking.domain.checkin import MAX_CHECKIN_MINUTES
from booking.domain.errors import NotFound
from booking.domain.intervals import Interval
from booking.domain.online_rooms import check_join_url
from booking.models import (
    Booking,
    Organisation,
    Policy,
    Resource,
    Site,
)
from booking.services.admin_common import (
    InvalidFields,
    _Checks,
    _choice,
    _name_taken,
    _text,
    _whole,
    require_site_manager,
)
from booking.services import waiting_list
from booking.services.context import AppContext
from booking.services.loading import load_holdings

RESOURCE_KINDS = ("room", "desk", "item", "online")
VISIBILITIES = ("public", "members")
OPENING_HOURS_MODES = ("contain", "endpoints", "ignore")
AUDIENCES = ("public", "organisations")
APPROVAL_MODES = ("confirm", "ask", "rules")
MAX_CAPACITY = 10_000
MAX_SEATS = 100_000
MAX_MINUTES = 366 * 24 * 60
MAX_BUFFER_MINUTES = 7 * 24 * 60
MAX_HORIZON_DAYS = 10 * 366


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
    # Online rooms only: the https link of the video room (shown only to bookers).
    join_url: str = ""


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
    join_url = checks.run(check_join_url, data.join_url, "join_url") if kind == "online" else ""
    checks.raise_if_any()
    return ResourceInput(
        kind=kind or "", name=name or "", category=category or "", capacity=capacity, seats=seats,
        visibility=visibility or "public", description=description or "", accessibility_notes=notes or "",
        join_url=join_url or "",
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
    resource.join_url = (data.join_url or None) if data.kind == "online" else None


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
                    opening_hours_mode=default_opening_hours_mode(data.kind),
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
            raised = new_capacity > resource.capacity
            if new_capacity != resource.capacity:
                await _check_capacity_change(session, resource, new_capacity, app.now())
            _apply_resource(resource, data)
            session.add(resource)
            if raised:
                # More units: who waits may fit now.
                await waiting_list.capacity_appeared(session, app, resource_id, now=app.now())
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
        reactivated = active and not resource.is_active
        resource.is_active = active
        session.add(resource)
        if reactivated:
            await waiting_list.capacity_appeared(session, app, resource_id, now=app.now())
    return resource


def default_opening_hours_mode(kind: str) -> str:
    """Things: pick-up and return in opening hours; online rooms: around the clock (nobody
    comes to the site); rooms and desks: the whole booking in opening hours."""
    return {"item": "endpoints", "online": "ignore"}.get(kind, "contain")


@dataclass(frozen=True)
class PolicyInput:
    # The approval rule (domain/approval.py): confirm | ask | rules, and the conditions of "rules".
    approval_mode: str = "confirm"
    trusted_organisation_ids: tuple[int, ...] = ()
    approve_within_opening_hours: bool = False
    approve_max_hours: int | None = None
    approve_max_days_ahead: int | None = None
    approve_max_no_shows: int | None = None
    approve_no_show_days: int | None = 365
    lead_time_minutes: int | None = 0
    min_duration_minutes: int | None = 15
    max_duration_minutes: int | None = None
    max_horizon_days: int | None = 365
    buffer_before_minutes: int | None = 0
    buffer_after_minutes: int | None = 0
    opening_hours_mode: str = "contain"
    audience: str = "public"
    allowed_organisation_ids: tuple[int, ...] = ()
    checkin_required: bool = False
    checkin_opens_minutes: int | None = 15
    checkin_release_minutes: int | None = 15


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
    opens = checks.run(_whole, data.checkin_opens_minutes, "checkin_opens_minutes", minimum=0, maximum=MAX_CHECKIN_MINUTES)
    release = checks.run(_whole, data.checkin_release_minutes, "checkin_release_minutes", minimum=1, maximum=MAX_CHECKIN_MINUTES)
    approval_mode = checks.run(_choice, data.approval_mode, APPROVAL_MODES, "approval_mode")
    max_hours = checks.run(_whole, data.approve_max_hours, "approve_max_hours", minimum=1, maximum=MAX_MINUTES // 60, optional=True)
    max_days = checks.run(_whole, data.approve_max_days_ahead, "approve_max_days_ahead", minimum=0, maximum=MAX_HORIZON_DAYS, optional=True)
    max_no_shows = checks.run(_whole, data.approve_max_no_shows, "approve_max_no_shows", minimum=1, maximum=1000, optional=True)
    no_show_days = checks.run(_whole, data.approve_no_show_days, "approve_no_show_days", minimum=1, maximum=MAX_HORIZON_DAYS, optional=True)
    trusted = tuple(dict.fromkeys(data.trusted_organisation_ids))
    if approval_mode == "rules" and not (
        trusted or data.approve_within_opening_hours or max_hours or max_days is not None or max_no_shows
    ):
        checks.add("approval_mode", "Please set at least one condition, or choose to confirm every booking at once.")
    checks.raise_if_any()
    return PolicyInput(
        approval_mode=approval_mode or "confirm", trusted_organisation_ids=trusted,
        approve_within_opening_hours=bool(data.approve_within_opening_hours), approve_max_hours=max_hours,
        approve_max_days_ahead=max_days, approve_max_no_shows=max_no_shows, approve_no_show_days=no_show_days or 365,
        lead_time_minutes=lead, min_duration_minutes=minimum,
        max_duration_minutes=maximum, max_horizon_days=horizon, buffer_before_minutes=before,
        buffer_after_minutes=after, opening_hours_mode=mode or "contain", audience=audience or "public",
        allowed_organisation_ids=organisations if audience == "organisations" else (),
        checkin_required=bool(data.checkin_required), checkin_opens_minutes=opens, checkin_release_minutes=release,
    )


async def update_policy(app: AppContext, actor: Principal, resource_id: int, data: PolicyInput) -> Policy:
    """Set the booking rules of a resource (created when it has none yet)."""
    data = check_policy(data)
    async with app.database.transaction() as session:
        resource = await lock_resource(session, resource_id)
        if resource is None:
            raise NotFound("This resource does not exist.")
        require_site_manager(actor, resource.site_id)
        for name in ("allowed_organisation_ids", "trusted_organisation_ids"):
            wanted = getattr(data, name)
            if wanted:
                known = set((await session.exec(select(Organisation.id).where(col(Organisation.id).in_(wanted)))).all())
                if known != set(wanted):
                    raise InvalidFields({name: "Please choose organisations from the list."})
        policy = (await session.exec(select(Policy).where(Policy.resource_id == resource_id))).first()
        buffers_before_change = (policy.buffer_before_minutes, policy.buffer_after_minutes) if policy else (0, 0)
        was_active = resource.is_active
        if policy is None:
            policy = Policy(resource_id=resource_id)
            if not resource.is_active:
                # Created on the admin pages with its rules pending: the first rules make it bookable.
                resource.is_active = True
                session.add(resource)
        policy.approval_mode = data.approval_mode
        policy.trusted_organisation_ids = list(data.trusted_organisation_ids)
        policy.approve_within_opening_hours = data.approve_within_opening_hours
        policy.approve_max_hours = data.approve_max_hours
        policy.approve_max_days_ahead = data.approve_max_days_ahead
        policy.approve_max_no_shows = data.approve_max_no_shows
        policy.approve_no_show_days = data.approve_no_show_days or 365
        policy.lead_time_minutes = data.lead_time_minutes or 0
        policy.min_duration_minutes = data.min_duration_minutes or 1
        policy.max_duration_minutes = data.max_duration_minutes
        policy.max_horizon_days = data.max_horizon_days
        policy.buffer_before_minutes = data.buffer_before_minutes or 0
        policy.buffer_after_minutes = data.buffer_after_minutes or 0
        policy.opening_hours_mode = data.opening_hours_mode
        policy.audience = data.audience
        policy.allowed_organisation_ids = list(data.allowed_organisation_ids)
        policy.checkin_required = data.checkin_required
        policy.checkin_opens_minutes = data.checkin_opens_minutes if data.checkin_opens_minutes is not None else 15
        policy.checkin_release_minutes = data.checkin_release_minutes or 15
        session.add(policy)
        await session.flush()
        shrunk = policy.buffer_before_minutes < buffers_before_change[0] or policy.buffer_after_minutes < buffers_before_change[1]
        if shrunk or (resource.is_active and not was_active):
            # Smaller buffers leave room between bookings; a resource bookable again has room at all.
            await waiting_list.capacity_appeared(session, app, resource_id, now=app.now())
    return policy
