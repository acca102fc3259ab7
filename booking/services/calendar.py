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

from sqlalchemy import or_
from sqlmodel import col, select

from booking.domain.offers import LISTED_RESOURCE_KINDS
from booking.auth.permissions import can_see_resource
from booking.db.types import posix_seconds, raw_instant
from booking.auth.principal import Principal
from booking.domain.availability import HOLDING_STATUSES, busy_intervals
from booking.domain.day_plan import DayFrame, DayPlan, Hold, PackedDay, frame_days, plan_resource
from booking.domain.errors import InvalidInput, NotFound
from booking.domain.intervals import Interval, merge
from booking.domain.opening_hours import open_intervals
from booking.domain.policies import Rules
from booking.models import Blackout, Booking, Policy, Resource, Site
from booking.services.catalogue import MAX_AVAILABILITY_RANGE, RESOURCE_KINDS
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_blackouts, load_holdings, rules_from_policy

VIEWS = ("agenda", "week", "month")
#: Resources per calendar page: a month of 30 resources stays well under 500 KB of HTML
#: (all sites of a city are 500 and more: they are paged, never shown at once).
RESOURCES_PER_PAGE = 30
#: The most resources one query may ask for (the JSON API's calendar, unpaged).
MAX_RESOURCES_PER_PAGE = 400
#: Days an agenda page lists, from its first day on.
AGENDA_DAYS = 7


@dataclass(frozen=True)
class CalendarQuery:
    view: str = "month"  # agenda | week | month
    day: date | None = None  # any day of the month or week to show; today when None
    site_id: int | None = None
    kind: str | None = None
    category: str | None = None
    resource_id: int | None = None  # one resource only
    # Keep every day's stretches (None: for the week and agenda views; a month keeps summaries).
    segments: bool | None = None
    page: int = 1  # of the resources, ``per_page`` each
    per_page: int = RESOURCES_PER_PAGE


@dataclass
class ResourcePlan:
    resource: ResourceRow
    rules: Rules
    packed_days: list[PackedDay]
    # Free time the actor may book (POSIX seconds): not before the lead time (site staff
    # skip it), not after the horizon. Free time outside is shown, but not offered.
    bookable_from: float = 0.0
    bookable_until: float | None = None

    @property
    def days(self) -> list[DayPlan]:
        """The resource's days (made on each access from the packed form: read it once)."""
        return [DayPlan.of(day) for day in self.packed_days]


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
    plans: list[SitePlan]  # the sites shown, each with its resources (month: day summaries only)
    page: int = 1
    page_count: int = 1
    resource_count: int = 0  # matching resources on all pages


def page_days(view: str, day: date) -> list[date]:
    """The days a month view (1st to last), a week view (Monday to Sunday) or an agenda
    (``AGENDA_DAYS`` from ``day`` on) shows."""
    if view == "agenda":
        return [day + timedelta(days=offset) for offset in range(AGENDA_DAYS)]
    if view == "month":
        first = day.replace(day=1)
        length = gregorian.monthrange(first.year, first.month)[1]
        return [first + timedelta(days=offset) for offset in range(length)]
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=offset) for offset in range(7)]


def neighbours(view: str, day: date) -> tuple[date, date]:
    """A day of the previous and of the next page."""
    if view == "agenda":
        return day - timedelta(days=AGENDA_DAYS), day + timedelta(days=AGENDA_DAYS)
    if view == "month":
        first = day.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return previous, following
    monday = day - timedelta(days=day.weekday())
    return monday - timedelta(days=7), monday + timedelta(days=7)


def _validate(query: CalendarQuery) -> None:
    if query.view not in VIEWS:
        raise InvalidInput("view is agenda, week or month", field="view")
    if query.page < 1:
        raise InvalidInput("The page number must be a whole number of at least 1; here is the first page.", field="page")
    if query.kind is not None and query.kind not in RESOURCE_KINDS:
        raise InvalidInput(f"kind is one of {', '.join(RESOURCE_KINDS)}", field="kind")
    if query.day is not None and not date(2000, 1, 1) <= query.day <= date(2100, 12, 31):
        raise InvalidInput("choose a date between 2000 and 2100", field="date")


@dataclass(frozen=True, slots=True)
class ResourceRow:
    """What a calendar page shows of a resource (plain values: no ORM rows for 200 of them)."""

    id: int
    site_id: int
    kind: str
    name: str
    category: str
    capacity: int
    seats: int | None
    visibility: str


async def calendar_page(app: AppContext, actor: Principal | None, query: CalendarQuery) -> CalendarPage:
    """Free and taken time per resource and day for an agenda, a week or a month, over one or
    all sites, ``query.per_page`` resources a page (``query.page``; a page past the last
    shows the last).

    Queries, whatever the size of the page: sites, resources, policies, holding bookings of
    all shown resources over the page, closures.
    """
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
        statement = select(
            Resource.id, Resource.site_id, Resource.kind, Resource.name, Resource.category,
            Resource.capacity, Resource.seats, Resource.visibility,
        ).where(Resource.is_active == True, col(Resource.kind).in_(LISTED_RESOURCE_KINDS))  # noqa: E712 - SQL expression
        if query.site_id is not None:
            statement = statement.where(Resource.site_id == query.site_id)
        if query.kind:
            statement = statement.where(Resource.kind == query.kind)
        if query.resource_id is not None:
            statement = statement.where(Resource.id == query.resource_id)
        visible = [
            ResourceRow(*row) for row in (await session.exec(statement)).all()  # type: ignore[call-overload]
            if can_see_resource(actor, row[7], row[1])
        ]
        # Rooms, then desks, then things; by name within each kind.
        visible.sort(key=lambda r: (r.site_id, RESOURCE_KINDS.index(r.kind) if r.kind in RESOURCE_KINDS else 9, r.name.casefold()))
        categories = sorted({r.category for r in visible if r.category})
        resources = [r for r in visible if not query.category or r.category == query.category]
        resource_count = len(resources)
        per_page = min(query.per_page, MAX_RESOURCES_PER_PAGE)
        page_count = max(1, -(-resource_count // per_page))
        page = min(query.page, page_count)
        resources = resources[(page - 1) * per_page : page * per_page]
        ids = [r.id for r in resources]
        policies = (
            {p.resource_id: p for p in (await session.exec(select(Policy).where(col(Policy.resource_id).in_(ids)))).all()}
            if ids else {}
        )
        rules = {r.id: rules_from_policy(policies.get(r.id), r) for r in resources}  # type: ignore[arg-type]
        # One window around all the page's days in every site's zone, widened by a day and
        # the widest buffers so that bookings reaching into the page are seen.
        widest = max((r.buffer_before + r.buffer_after for r in rules.values()), default=timedelta(0))
        window = Interval(
            datetime.combine(days[0] - timedelta(days=1), time(0), tzinfo=default_zone),
            datetime.combine(days[-1] + timedelta(days=2), time(0), tzinfo=default_zone),
        ).in_utc().padded(widest, widest)
        holds = await _holds(session, ids, window, now) if ids else {}
        closures = await _closures(session, {r.site_id for r in resources}, window) if ids else []

    site_by_id = {site.id: site for site in sites}
    frames: dict[tuple[int, bool], DayFrame] = {}
    plans: dict[int, SitePlan] = {}
    for resource in resources:
        site = site_by_id[resource.site_id]
        resource_rules = rules[resource.id]
        use_hours = resource_rules.opening_hours_mode != "ignore" and bool(site.opening_hours)
        frame = frames.get((resource.site_id, use_hours))
        if frame is None:
            open_time = open_intervals(site.opening_hours, site.timezone, window) if use_hours else None
            frame = frames[(resource.site_id, use_hours)] = frame_days(days, timezone=site.timezone, now=now, open_time=open_time)
        day_plans = plan_resource(
            frame, capacity=resource.capacity, holds=holds.get(resource.id, ()), buffers=buffers_of(resource_rules),
            closures=[span for site_id, resource_id, span in closures if site_id == resource.site_id and resource_id in (None, resource.id)],
            min_free=resource_rules.min_duration,
            keep_segments=query.view != "month" if query.segments is None else query.segments,
            packed=True, booked_times=True,
        )
        staff = actor is not None and actor.is_lender_at(resource.site_id)
        bookable_from = (now + (timedelta(0) if staff else resource_rules.lead_time)).timestamp()
        bookable_until = (now + resource_rules.max_horizon).timestamp() if resource_rules.max_horizon else None
        plans.setdefault(resource.site_id, SitePlan(site)).resources.append(  # type: ignore[arg-type]
            ResourcePlan(resource, resource_rules, day_plans, bookable_from, bookable_until)
        )
    ordered = [plans[site.id] for site in sites if site.id in plans]  # type: ignore[index]
    return CalendarPage(
        query=query, view=query.view, days=days, today=today, previous_day=previous_day, next_day=next_day,
        sites=sites, categories=categories, plans=ordered, page=page, page_count=page_count, resource_count=resource_count,
    )


async def _holds(session, resource_ids: list[int], window: Interval, now: datetime) -> dict[int, list[Hold]]:  # type: ignore[no-untyped-def]
    """Every capacity-holding booking of the resources around ``window``, as plain numbers.

    The same rows as ``loading.load_holdings`` (an item handed out and not back by its end
    keeps its units until it returns), without building a domain object per booking.
    """
    statement = select(
        Booking.resource_id, raw_instant(Booking.starts_at), raw_instant(Booking.ends_at), Booking.quantity, Booking.status
    ).where(
        col(Booking.resource_id).in_(resource_ids),
        col(Booking.status).in_(HOLDING_STATUSES),
        Booking.starts_at < window.ends_at,
        or_(Booking.ends_at > window.starts_at, Booking.status == "checked_out"),
    )
    now_s = now.timestamp()
    overdue_until = max(now, window.ends_at).timestamp() + 1
    holds: dict[int, list[Hold]] = {}
    connection = await session.connection()  # Core rows: none of the ORM's per-row bookkeeping
    for resource_id, starts_at, ends_at, quantity, status in (await connection.execute(statement)).all():
        end = posix_seconds(ends_at)
        if status == "checked_out" and end <= now_s:
            end = overdue_until
        holds.setdefault(resource_id, []).append((posix_seconds(starts_at), end, quantity, status == "requested"))
    return holds


async def _closures(session, site_ids: set[int], window: Interval) -> list[tuple[int, int | None, tuple[float, float]]]:  # type: ignore[no-untyped-def]
    statement = select(Blackout.site_id, Blackout.resource_id, Blackout.starts_at, Blackout.ends_at).where(
        col(Blackout.site_id).in_(sorted(site_ids)),
        Blackout.starts_at < window.ends_at,
        Blackout.ends_at > window.starts_at,
    )
    return [
        (site_id, resource_id, (starts_at.timestamp(), ends_at.timestamp()))
        for site_id, resource_id, starts_at, ends_at in (await session.exec(statement)).all()
    ]


# --------------------------------------------------------------------------- free/busy


@dataclass(frozen=True)
class FreeBusy:
    resource: Resource
    site: Site
    # Stretches in which no unit is left (requested bookings count: they hold capacity), or
    # the resource cannot be booked at all (site closed, blocked for repair).
    busy: list[Interval]


def _busy_and_closed(holdings, capacity: int, closures, window: Interval) -> list[Interval]:  # type: ignore[no-untyped-def]
    closed = [
        Interval(max(c.interval.starts_at, window.starts_at), min(c.interval.ends_at, window.ends_at))
        for c in closures
        if c.interval.overlaps(window)
    ]
    return merge([*busy_intervals(holdings, capacity, window), *closed])


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
        closures = await load_blackouts(session, resource, window)
    assert site is not None
    return FreeBusy(resource, site, _busy_and_closed(holdings[resource_id], resource.capacity, closures, window))


async def site_free_busy(app: AppContext, actor: Principal | None, site_id: int, window: Interval) -> tuple[Site, list[FreeBusy]]:
    """Free/busy of every active resource of a site the actor may see, in one query."""
    window = _free_busy_window(window)
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound(f"site {site_id} does not exist")
        statement = (
            select(Resource)
            .where(Resource.site_id == site_id, Resource.is_active == True, col(Resource.kind).in_(LISTED_RESOURCE_KINDS))  # noqa: E712
            .order_by(col(Resource.kind), col(Resource.name))
        )
        resources = [r for r in (await session.exec(statement)).all() if can_see_resource(actor, r.visibility, site_id)]
        holdings = await load_holdings(session, [r.id for r in resources], window, now=app.now()) if resources else {}  # type: ignore[misc]
        closures = {r.id: await load_blackouts(session, r, window) for r in resources}
    return site, [
        FreeBusy(r, site, _busy_and_closed(holdings[r.id], r.capacity, closures[r.id], window))  # type: ignore[index]
        for r in resources
    ]

