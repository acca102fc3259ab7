"""What can be booked: sites, resources, and when a resource is free."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.domain.offers import LISTED_RESOURCE_KINDS
from booking.auth.permissions import can_see_resource
from booking.auth.principal import Principal
from booking.domain.availability import Verdict, busy_intervals, conflicting, peak_usage, quick_verdict
from booking.domain.errors import InvalidInput, NotFound
from booking.domain.intervals import Interval
from booking.domain.opening_hours import open_intervals
from booking.domain.policies import Rules
from booking.models import Policy, Resource, Site
from booking.services.context import AppContext
from booking.services.loading import (
    load_blackouts,
    load_blackouts_for,
    load_buffers_for,
    load_holding_summaries,
    load_holdings,
    load_rules,
)

RESOURCE_KINDS = ("room", "desk", "item", "online")
MAX_AVAILABILITY_RANGE = timedelta(days=400)


async def list_sites(app: AppContext) -> list[Site]:
    async with app.database.reader() as session:
        return list((await session.exec(select(Site).order_by(col(Site.name)))).all())


async def get_site(app: AppContext, site_id: int) -> Site:
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
    if site is None:
        raise NotFound(f"site {site_id} does not exist")
    return site


@dataclass(frozen=True)
class ResourceQuery:
    kind: str | None = None
    site_id: int | None = None
    category: str | None = None
    text: str | None = None
    min_seats: int | None = None
    free_from: datetime | None = None
    free_until: datetime | None = None
    quantity: int = 1


async def search_resources(app: AppContext, actor: Principal | None, query: ResourceQuery) -> list[tuple[Resource, Site]]:
    """Active resources the actor may see, filtered; ``free_from/free_until`` keeps only those
    with ``quantity`` units free over that whole interval."""
    if query.kind is not None and query.kind not in RESOURCE_KINDS:
        raise InvalidInput(f"kind is one of {', '.join(RESOURCE_KINDS)}", field="kind")
    if (query.free_from is None) != (query.free_until is None):
        raise InvalidInput("give both free_from and free_until", field="free_until")
    window = Interval(query.free_from, query.free_until).in_utc() if query.free_from and query.free_until else None
    if window is not None and window.duration > MAX_AVAILABILITY_RANGE:
        # The free filter loads every booking in the window: bounded like the availability view.
        raise InvalidInput("ask for at most 400 days at once", field="free_until")
    statement = (
        select(Resource)
        .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
        .where(Resource.is_active == True, col(Resource.kind).in_(LISTED_RESOURCE_KINDS))  # noqa: E712 - SQL expression
        .order_by(col(Site.name), col(Resource.kind), col(Resource.name))
    )
    if query.kind:
        statement = statement.where(Resource.kind == query.kind)
    if query.site_id is not None:
        statement = statement.where(Resource.site_id == query.site_id)
    if query.category:
        statement = statement.where(Resource.category == query.category)
    if query.min_seats is not None:
        statement = statement.where(Resource.seats >= query.min_seats)  # type: ignore[operator]
    if query.text:
        # autoescape: % and _ typed by a visitor are letters to find, not wildcards.
        text = query.text.strip()
        statement = statement.where(
            col(Resource.name).icontains(text, autoescape=True) | col(Resource.description).icontains(text, autoescape=True)
        )
    async with app.database.reader() as session:
        # The sites apart (a few dozen): one Site per row of the join cost more than the query.
        sites = {site.id: site for site in (await session.exec(select(Site))).all()}
        if window is None:
            return [
                (resource, sites[resource.site_id])
                for resource in (await session.exec(statement)).all()
                if can_see_resource(actor, resource.visibility, resource.site_id)
            ]
        # Free over a window: decided from four columns of each candidate, and only the free
        # ones loaded in full (at 500 rooms with none free, building 500 Resource objects was
        # most of the request; issue 10's availability search).
        candidates = [
            candidate
            for candidate in (await (await session.connection()).execute(statement.with_only_columns(*_CANDIDATE_COLUMNS))).all()
            if can_see_resource(actor, candidate.visibility, candidate.site_id) and candidate.capacity >= query.quantity
        ]
        free_ids = await _free_over(app, session, candidates, window, query.quantity)
        if not free_ids:
            return []
        if len(free_ids) <= MAX_IDS_IN_A_LIST and len(free_ids) * 2 <= len(candidates):
            # Few of them free: by their ids (most free: the search's own statement, picked below).
            statement = statement.where(col(Resource.id).in_(free_ids))
        return [(resource, sites[resource.site_id]) for resource in (await session.exec(statement)).all() if resource.id in free_ids]


#: What ``_free_over`` needs of a resource (and the visibility check before it).
_CANDIDATE_COLUMNS = (col(Resource.id), col(Resource.site_id), col(Resource.capacity), col(Resource.visibility))
#: Free resources loaded by their ids up to this many; more are read with the search's own
#: conditions and picked here (a statement's bound parameters are limited: SQLite's 32,766).
MAX_IDS_IN_A_LIST = 2000


async def _free_over(app: AppContext, session: AsyncSession, resources: Sequence[Any], window: Interval, quantity: int) -> set[int]:
    """Ids of the ``resources`` (anything with a resource's ``id``, ``site_id`` and ``capacity``)
    with ``quantity`` units free over ``window`` and no blackout.

    The database counts each resource's holdings around the window (one grouped query); only
    where that summary cannot tell (pooled units, buffers) are the holdings loaded and checked
    exactly: at a million bookings, loading and checking every room's bookings was most of
    the request.
    """
    if not resources:
        return set()
    buffers = await load_buffers_for(session, resources)
    widest = max((b.total for b in buffers.values()), default=timedelta(0))
    now = app.now()
    summaries = await load_holding_summaries(session, [r.id for r in resources], window, widest, now=now)  # type: ignore[misc]
    free: set[int] = set()
    undecided: list[Resource] = []
    for resource in resources:
        verdict = quick_verdict(summaries[resource.id], resource.capacity, quantity, buffers[resource.id])  # type: ignore[index]
        if verdict is Verdict.FREE:
            free.add(resource.id)  # type: ignore[arg-type]
        elif verdict is Verdict.UNDECIDED:
            undecided.append(resource)
    if undecided:
        holdings = await load_holdings(session, [r.id for r in undecided], window.padded(widest, widest), now=now)  # type: ignore[misc]
        free.update(
            r.id for r in undecided  # type: ignore[misc]
            if not conflicting(holdings[r.id], window, quantity, r.capacity, buffers[r.id])  # type: ignore[index]
        )
    if free:
        # One query for the blackouts of all of them (not one per resource: 500 rooms, 500 queries).
        blackouts = await load_blackouts_for(session, [r for r in resources if r.id in free], window)
        free = {resource_id for resource_id in free if not blackouts[resource_id]}
    return free


@dataclass(frozen=True)
class ResourceDetails:
    resource: Resource
    site: Site
    rules: Rules
    policy: Policy | None


async def get_resource(app: AppContext, actor: Principal | None, resource_id: int) -> ResourceDetails:
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None or not can_see_resource(actor, resource.visibility, resource.site_id):
            raise NotFound(f"resource {resource_id} does not exist")
        site = await session.get(Site, resource.site_id)
        policy = (await session.exec(select(Policy).where(Policy.resource_id == resource.id))).first()
        rules = await load_rules(session, resource)
    assert site is not None
    return ResourceDetails(resource, site, rules, policy)


@dataclass(frozen=True)
class UsageSegment:
    starts_at: datetime
    ends_at: datetime
    units_used: int


@dataclass(frozen=True)
class Availability:
    resource: Resource
    site: Site
    window: Interval
    capacity: int
    # Stretches in which no unit is left.
    busy: list[Interval]
    # Units in use, per stretch where it changes (only where some are used).
    usage: list[UsageSegment]
    open: list[Interval]
    closed: list[tuple[Interval, str]]


async def availability(app: AppContext, actor: Principal | None, resource_id: int, window: Interval) -> Availability:
    """When a resource is taken, partly used, closed or open within ``window``."""
    window = window.in_utc()
    if window.duration > MAX_AVAILABILITY_RANGE:
        raise InvalidInput("ask for at most 400 days at once", field="ends_at")
    details = await get_resource(app, actor, resource_id)
    resource = details.resource
    async with app.database.reader() as session:
        holdings = (await load_holdings(session, [resource.id], window, now=app.now()))[resource.id]  # type: ignore[list-item,index]
        blackouts = await load_blackouts(session, resource, window)
    points = sorted(
        {window.starts_at, window.ends_at}
        | {t for h in holdings for t in (h.interval.starts_at, h.interval.ends_at) if window.starts_at < t < window.ends_at}
    )
    usage = []
    for start, end in zip(points, points[1:], strict=False):
        used = peak_usage(holdings, Interval(start, end))
        if used:
            usage.append(UsageSegment(start, end, used))
    opening = (
        open_intervals(details.site.opening_hours, details.site.timezone, window)
        if details.rules.opening_hours_mode != "ignore" and details.site.opening_hours
        else [window]
    )
    return Availability(
        resource=resource,
        site=details.site,
        window=window,
        capacity=resource.capacity,
        busy=busy_intervals(holdings, resource.capacity, window),
        usage=usage,
        open=[o for o in opening if o.overlaps(window)],
        closed=[(b.interval, b.reason) for b in blackouts],
    )
