"""What the visitor pages show: "what can I borrow" search results and a resource's next days.

Built on ``services.catalogue`` (search, details, availability); this module only gathers
what one page needs in one call and turns availability into day-by-day stretches of time
that are free, partly taken (pooled items and desks), taken or closed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.intervals import Interval, subtract
from booking.models import Organisation, Policy, Resource, Site
from booking.services import catalogue
from booking.services.catalogue import Availability, ResourceDetails, ResourceQuery
from booking.services.context import AppContext

DEFAULT_DAYS = 7
ROUND_TO = timedelta(minutes=30)
# Search results per page: a phone shows them one under the other (about 300 px each).
RESULTS_PER_PAGE = 18


@dataclass(frozen=True)
class ResourceCard:
    resource: Resource
    site: Site
    needs_approval: bool


@dataclass(frozen=True)
class SearchPage:
    """One page of results. ``total``: matches over all pages; ``number`` is 1-based and never
    beyond ``page_count`` (a page past the end shows the last one)."""

    results: list[ResourceCard]
    sites: list[Site]
    categories: list[str]
    total: int = 0
    number: int = 1
    page_count: int = 1
    first_position: int = 0  # 1-based position of the first result shown (0: none)


def page_window(total: int, number: int, per_page: int) -> tuple[int, int, int]:
    """(page number clamped to 1..page_count, page_count, offset) for ``total`` items."""
    page_count = max(1, -(-total // per_page))
    number = min(max(1, number), page_count)
    return number, page_count, (number - 1) * per_page


async def search_page(
    app: AppContext, actor: Principal | None, query: ResourceQuery, *, page: int = 1, per_page: int = RESULTS_PER_PAGE
) -> SearchPage:
    """Page ``page`` of the resources matching ``query`` (free over ``free_from``–``free_until``
    when given), with the sites and categories the filter form offers."""
    matches = await catalogue.search_resources(app, actor, query)
    number, page_count, offset = page_window(len(matches), page, per_page)
    rows = matches[offset:offset + per_page]
    everything = matches if query == ResourceQuery() else await catalogue.search_resources(app, actor, ResourceQuery())
    sites = await catalogue.list_sites(app)
    approval: set[int] = set()
    if rows:
        async with app.database.reader() as session:
            statement = select(Policy.resource_id).where(
                col(Policy.resource_id).in_([resource.id for resource, _ in rows]), Policy.approval_mode == "ask"
            )
            approval = set((await session.exec(statement)).all())
    categories = sorted({resource.category for resource, _ in everything if resource.category}, key=str.casefold)
    visible_sites = {site.id for _, site in everything}
    return SearchPage(
        results=[ResourceCard(resource, site, resource.id in approval) for resource, site in rows],
        sites=[site for site in sites if site.id in visible_sites],
        categories=categories,
        total=len(matches),
        number=number,
        page_count=page_count,
        first_position=offset + 1 if rows else 0,
    )


# --------------------------------------------------------------------------- next days


@dataclass(frozen=True)
class Stretch:
    """A stretch of one local day. ``state``: free | partly | taken | closed."""

    starts_at: datetime
    ends_at: datetime
    state: str
    units_free: int
    reason: str = ""
    # Starts at the day's local midnight / runs until the next one (pages say "all day", "from 16:00").
    from_day_start: bool = False
    to_day_end: bool = False


@dataclass(frozen=True)
class Day:
    day: date
    stretches: list[Stretch] = field(default_factory=list)

    @property
    def is_closed(self) -> bool:
        return not any(stretch.state != "closed" for stretch in self.stretches)


@dataclass(frozen=True)
class ResourcePage:
    details: ResourceDetails
    days: list[Day]
    organisations: list[Organisation]


def _round_up(instant: datetime, step: timedelta = ROUND_TO) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=instant.tzinfo)
    steps = -((epoch - instant) // step)
    return epoch + steps * step


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def days_of(availability: Availability, timezone: str, first_day: date, count: int, now: datetime) -> list[Day]:
    """Availability cut into local days; past time of today is left out."""
    zone = ZoneInfo(timezone)
    capacity = availability.capacity
    closed = [interval for interval, _ in availability.closed]
    reasons = {interval: reason for interval, reason in availability.closed}
    days: list[Day] = []
    for offset in range(count):
        day = first_day + timedelta(days=offset)
        start = max(_local_midnight(day, zone), _round_up(now.astimezone(zone)))
        end = _local_midnight(day + timedelta(days=1), zone)
        stretches: list[Stretch] = []
        if start < end:
            window = Interval(start, end)
            for interval in closed:
                if interval.overlaps(window):
                    stretches.append(Stretch(max(interval.starts_at, start), min(interval.ends_at, end), "closed", 0, reasons[interval]))
            for opened in availability.open:
                if not opened.overlaps(window):
                    continue
                piece = Interval(max(opened.starts_at, start), min(opened.ends_at, end))
                for free_part in subtract(piece, closed):
                    stretches.extend(_by_usage(free_part, availability, capacity))
        day_start, day_end = _local_midnight(day, zone), end
        marked = [
            dataclasses.replace(stretch, from_day_start=stretch.starts_at == day_start, to_day_end=stretch.ends_at == day_end)
            for stretch in sorted(stretches, key=lambda s: s.starts_at)
        ]
        days.append(Day(day, marked))
    return days


def _by_usage(piece: Interval, availability: Availability, capacity: int) -> list[Stretch]:
    cuts = sorted(
        {piece.starts_at, piece.ends_at}
        | {t for u in availability.usage for t in (u.starts_at, u.ends_at) if piece.starts_at < t < piece.ends_at}
    )
    stretches: list[Stretch] = []
    for begin, finish in zip(cuts, cuts[1:], strict=False):
        used = max((u.units_used for u in availability.usage if u.starts_at < finish and begin < u.ends_at), default=0)
        free = max(0, capacity - used)
        state = "free" if used == 0 else "taken" if free == 0 else "partly"
        if stretches and stretches[-1].state == state and stretches[-1].units_free == free and stretches[-1].ends_at == begin:
            stretches[-1] = Stretch(stretches[-1].starts_at, finish, state, free)
        else:
            stretches.append(Stretch(begin, finish, state, free))
    return stretches


async def resource_page(app: AppContext, actor: Principal | None, resource_id: int, *, days: int = DEFAULT_DAYS) -> ResourcePage:
    """A resource with its rules, its next ``days`` local days, and the organisations the actor
    may book for."""
    details = await catalogue.get_resource(app, actor, resource_id)
    zone = ZoneInfo(details.site.timezone)
    now = app.now()
    today = now.astimezone(zone).date()
    window = Interval(_local_midnight(today, zone), _local_midnight(today + timedelta(days=days), zone))
    availability = await catalogue.availability(app, actor, resource_id, window)
    organisations: list[Organisation] = []
    if actor is not None and actor.organisation_roles:
        async with app.database.reader() as session:
            statement = select(Organisation).where(col(Organisation.id).in_(list(actor.organisation_roles))).order_by(col(Organisation.name))
            organisations = list((await session.exec(statement)).all())
    return ResourcePage(details, days_of(availability, details.site.timezone, today, days, now), organisations)
