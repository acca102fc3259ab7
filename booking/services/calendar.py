"""Calendar views and free/busy: when resources are free or taken, for many at once.

Like pretix's quota calculator, a page is computed in a fixed number of batch queries
whatever its size: the resources (with their sites), their policies, every capacity-holding
booking of all of them over the page's days, and the closures — then ``domain.day_plan``
works per resource in memory. No per-resource or per-day query.
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.auth.permissions import can_see_resource
from booking.auth.principal import Principal
from booking.domain.availability import busy_intervals
from booking.domain.day_plan import DayPlan, plan_days
from booking.domain.errors import InvalidInput, NotFound
from booking.domain.intervals import Interval
from booking.domain.opening_hours import open_intervals
from booking.domain.policies import Rules
from booking.models import Blackout, Resource, Site
from booking.services.catalogue import MAX_AVAILABILITY_RANGE, RESOURCE_KINDS
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_holdings, load_rules_for

VIEWS = ("month", "week")
MAX_RESOURCES_PER_PAGE = 400


@dataclass(frozen=True)
class CalendarQuery:
    view: str = "month"  # month | week
    day: date | None = None  # any day of the month or week to show; today when None
    site_id: int | None = None
    kind: str | None = None
    category: str | None = None
    resource_id: int | None = None  # one resource only


@dataclass
class ResourcePlan:
    resource: Resource
    rules: Rules
    days: list[DayPlan]


@dataclass
class SitePlan:
    site: Site
    resources: list[ResourcePlan] = field(default_factory=list)


@dataclass
class CalendarPage:
    query: CalendarQuery
    view: str
    days: list[date]
    today: date
    previous_day: date
    next_day: date
    sites: list[Site]  # every site, for the filter
    categories: list[str]  # categories of the visible resources, for the filter
    plans: list[SitePlan]  # the sites shown, each with its resources
    truncated: bool = False


def page_days(view: str, day: date) -> list[date]:
    """The days a month view (1st to last) or a week view (Monday to Sunday) shows."""
    if view == "month":
        first = day.replace(day=1)
        length = gregorian.monthrange(first.year, first.month)[1]
        return [first + timedelta(days=offset) for offset in range(length)]
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=offset) for offset in range(7)]


def neighbours(view: str, day: date) -> tuple[date, date]:
    """A day of the previous and of the next page."""
    if view == "month":
        first = day.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return previous, following
    monday = day - timedelta(days=day.weekday())
    return monday - timedelta(days=7), monday + timedelta(days=7)


def _validate(query: CalendarQuery) -> None:
    if query.view not in VIEWS:
        raise InvalidInput("view is month or week", field="view")
    if query.kind is not None and query.kind not in RESOURCE_KINDS:
        raise InvalidInput(f"kind is one of {', '.join(RESOURCE_KINDS)}", field="kind")
    if query.day is not None and not date(2000, 1, 1) <= query.day <= date(2100, 12, 31):
        raise InvalidInput("choose a date between 2000 and 2100", field="date")


async def calendar_page(app: AppContext, actor: Principal | None, query: CalendarQuery) -> CalendarPage:
    """Free and taken time per resource and day for a month or week, over one or all sites."""
    _validate(query)
    now = app.now()
    default_zone = ZoneInfo(app.settings.default_timezone)
    today = now.astimezone(default_zone).date()
    day = query.day or today
    days = page_days(query.view, day)
    previous_day, next_day = neighbours(query.view, day)

    async with app.database.reader() as session:
        sites = list((await session.exec(select(Site).order_by(col(Site.name)))).all())
        if query.site_id is not None and all(site.id != query.site_id for site in sites):
            raise NotFound(f"site {query.site_id} does not exist", field="site")
        statement = select(Resource).where(Resource.is_active == True)  # noqa: E712 - SQL expression
        if query.site_id is not None:
            statement = statement.where(Resource.site_id == query.site_id)
        if query.kind:
            statement = statement.where(Resource.kind == query.kind)
        if query.resource_id is not None:
            statement = statement.where(Resource.id == query.resource_id)
        statement = statement.order_by(col(Resource.site_id), col(Resource.kind), col(Resource.name))
        site_by_id = {site.id: site for site in sites}
        visible = [
            resource for resource in (await session.exec(statement)).all()
            if can_see_resource(actor, resource.visibility, resource.site_id)
        ]
        # Rooms, then desks, then things; by name within each kind.
        visible.sort(key=lambda r: (r.site_id, RESOURCE_KINDS.index(r.kind) if r.kind in RESOURCE_KINDS else 9, r.name.casefold()))
        categories = sorted({r.category for r in visible if r.category})
        resources = [r for r in visible if not query.category or r.category == query.category]
        truncated = len(resources) > MAX_RESOURCES_PER_PAGE
        resources = resources[:MAX_RESOURCES_PER_PAGE]
        rules = await load_rules_for(session, resources) if resources else {}
        # One window around all the page's days in every site's zone, widened by a day and
        # the widest buffers so that bookings reaching into the page are seen.
        widest = max((r.buffer_before + r.buffer_after for r in rules.values()), default=timedelta(0))
        window = Interval(
            datetime.combine(days[0] - timedelta(days=1), time(0), tzinfo=default_zone),
            datetime.combine(days[-1] + timedelta(days=2), time(0), tzinfo=default_zone),
        ).in_utc().padded(widest, widest)
        resource_ids = [r.id for r in resources]
        holdings = await load_holdings(session, resource_ids, window, now=now) if resources else {}  # type: ignore[arg-type]
        closures = await _closures(session, {r.site_id for r in resources}, window) if resources else []

    plans: dict[int, SitePlan] = {}
    opening_cache: dict[int, list[Interval] | None] = {}
    for resource in resources:
        site = site_by_id[resource.site_id]
        resource_rules = rules[resource.id]  # type: ignore[index]
        use_hours = resource_rules.opening_hours_mode != "ignore" and bool(site.opening_hours)
        if use_hours:
            if site.id not in opening_cache:
                opening_cache[site.id] = open_intervals(site.opening_hours, site.timezone, window)  # type: ignore[index]
            open_time = opening_cache[site.id]  # type: ignore[index]
        else:
            open_time = None
        resource_closures = [
            interval for site_id, resource_id, interval in closures
            if site_id == resource.site_id and resource_id in (None, resource.id)
        ]
        day_plans = plan_days(
            days, timezone=site.timezone, capacity=resource.capacity, holdings=holdings[resource.id],  # type: ignore[index]
            buffers=buffers_of(resource_rules), open_time=open_time, closures=resource_closures,
            now=now, min_free=resource_rules.min_duration,
        )
        plans.setdefault(site.id, SitePlan(site)).resources.append(ResourcePlan(resource, resource_rules, day_plans))  # type: ignore[arg-type]
    ordered = [plans[site.id] for site in sites if site.id in plans]  # type: ignore[index]
    return CalendarPage(
        query=query, view=query.view, days=days, today=today, previous_day=previous_day, next_day=next_day,
        sites=sites, categories=categories, plans=ordered, truncated=truncated,
    )


async def _closures(session, site_ids: set[int], window: Interval) -> list[tuple[int, int | None, Interval]]:  # type: ignore[no-untyped-def]
    statement = select(Blackout.site_id, Blackout.resource_id, Blackout.starts_at, Blackout.ends_at).where(
        col(Blackout.site_id).in_(sorted(site_ids)),
        Blackout.starts_at < window.ends_at,
        Blackout.ends_at > window.starts_at,
    )
    return [
        (site_id, resource_id, Interval(starts_at, ends_at))
        for site_id, resource_id, starts_at, ends_at in (await session.exec(statement)).all()
    ]


# --------------------------------------------------------------------------- free/busy


@dataclass(frozen=True)
class FreeBusy:
    resource: Resource
    site: Site
    # Stretches in which no unit is left (requested bookings count: they hold capacity).
    busy: list[Interval]


def _free_busy_window(window: Interval) -> Interval:
    window = window.in_utc()
    if window.duration > MAX_AVAILABILITY_RANGE:
        raise InvalidInput("ask for at most 400 days at once", field="until")
    return window


async def resource_free_busy(app: AppContext, actor: Principal | None, resource_id: int, window: Interval) -> FreeBusy:
    """When one resource has no unit left within ``window`` (time only, never who)."""
    window = _free_busy_window(window)
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None or not resource.is_active or not can_see_resource(actor, resource.visibility, resource.site_id):
            raise NotFound(f"resource {resource_id} does not exist")
        site = await session.get(Site, resource.site_id)
        holdings = await load_holdings(session, [resource_id], window, now=app.now())
    assert site is not None
    return FreeBusy(resource, site, busy_intervals(holdings[resource_id], resource.capacity, window))


async def site_free_busy(app: AppContext, actor: Principal | None, site_id: int, window: Interval) -> tuple[Site, list[FreeBusy]]:
    """Free/busy of every active resource of a site the actor may see, in one query."""
    window = _free_busy_window(window)
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound(f"site {site_id} does not exist")
        statement = (
            select(Resource)
            .where(Resource.site_id == site_id, Resource.is_active == True)  # noqa: E712 - SQL expression
            .order_by(col(Resource.kind), col(Resource.name))
        )
        resources = [r for r in (await session.exec(statement)).all() if can_see_resource(actor, r.visibility, site_id)]
        holdings = await load_holdings(session, [r.id for r in resources], window, now=app.now()) if resources else {}  # type: ignore[misc]
    return site, [FreeBusy(r, site, busy_intervals(holdings[r.id], r.capacity, window)) for r in resources]  # type: ignore[index]

