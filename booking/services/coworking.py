"""Co-working desks: a day view of which desks are free, and booking a desk for a day or half-day.

Desks are resources of kind ``desk``: a named desk has capacity 1, a pool ("any of 8 desks")
capacity N. Morning and afternoon come from the site's opening hours (``domain.lending.day_parts``).
A desk booking is an ordinary booking (``bookings.create_booking``: locked check, rules,
alternatives, notifications) over the chosen part of the day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.auth.permissions import can_see_resource
from booking.domain.availability import Holding, peak_usage
from booking.domain.errors import InvalidInput, NotFound
from booking.domain.intervals import Interval
from booking.domain.lending import PARTS, DayParts, day_parts
from booking.domain.policies import check_day_in_range
from booking.domain.lifecycle import HOLDING_VALUES
from booking.models import Booking, Resource, Site
from booking.services import bookings as booking_service
from booking.services.bookings import BookingRequest
from booking.services.context import AppContext
from booking.services.loading import load_blackouts, load_holdings, load_rules_for


@dataclass(frozen=True)
class DeskState:
    """One desk (or pool of desks) on one day."""

    resource: Resource
    capacity: int
    # part -> units free over that whole part (0 when closed or blocked)
    free: dict[str, int]
    # part -> whether a booking of one unit could be made now (free, open, not begun)
    bookable: dict[str, bool]
    # the actor's own bookings of this desk that day
    mine: list[Booking] = field(default_factory=list)
    blocked_reason: str | None = None


@dataclass(frozen=True)
class DeskDay:
    site: Site
    day: date
    parts: DayParts
    desks: list[DeskState]

    @property
    def is_open(self) -> bool:
        return self.parts.is_open


async def desk_day(app: AppContext, site_id: int, day: date, actor: Principal | None = None) -> DeskDay:
    """Which desks of a site are free on ``day``: per desk and per part (full, morning, afternoon)."""
    now = app.now()
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound(f"site {site_id} does not exist", field="site_id")
        check_day_in_range(day, today=local_today(site, now))
        parts = day_parts(site.opening_hours, site.timezone, day)
        statement = (
            select(Resource)
            .where(Resource.site_id == site_id, Resource.kind == "desk", Resource.is_active == True)  # noqa: E712
            .order_by(col(Resource.capacity).desc(), col(Resource.name))
        )
        desks = [r for r in (await session.exec(statement)).all() if can_see_resource(actor, r.visibility, site_id)]
        states: list[DeskState] = []
        if parts.full is None or not desks:
            for desk in desks:
                states.append(DeskState(desk, desk.capacity, dict.fromkeys(PARTS, 0), dict.fromkeys(PARTS, False)))
            return DeskDay(site, day, parts, states)
        full: Interval = parts.full
        rules = await load_rules_for(session, desks)
        widest = max(r.buffer_before + r.buffer_after for r in rules.values())
        holdings = await load_holdings(session, [d.id for d in desks], full.padded(widest, widest), now=now)  # type: ignore[misc]
        mine_by_desk: dict[int, list[Booking]] = {d.id: [] for d in desks}  # type: ignore[misc]
        if actor is not None:
            own = await session.exec(
                select(Booking).where(
                    col(Booking.resource_id).in_(list(mine_by_desk)),
                    Booking.booker_id == actor.user_id,
                    col(Booking.status).in_(HOLDING_VALUES),
                    Booking.starts_at < full.ends_at,
                    Booking.ends_at > full.starts_at,
                ).order_by(col(Booking.starts_at))
            )
            for booking in own.all():
                mine_by_desk[booking.resource_id].append(booking)
        for desk in desks:
            desk_rules = rules[desk.id]  # type: ignore[index]
            blackouts = await load_blackouts(session, desk, full)
            free: dict[str, int] = {}
            bookable: dict[str, bool] = {}
            for name in PARTS:
                interval: Interval = getattr(parts, name)
                if any(b.interval.overlaps(interval) for b in blackouts):
                    free[name] = 0
                else:
                    occupied = [
                        Holding(h.interval.padded(desk_rules.buffer_before, desk_rules.buffer_after), h.quantity, h.status)
                        for h in holdings[desk.id]  # type: ignore[index]
                    ]
                    used = peak_usage(occupied, interval.padded(desk_rules.buffer_before, desk_rules.buffer_after))
                    free[name] = max(0, desk.capacity - used)
                bookable[name] = free[name] > 0 and interval.starts_at >= now
            reason = next((b.reason or b.kind for b in blackouts), None)
            states.append(DeskState(desk, desk.capacity, free, bookable, mine_by_desk[desk.id], reason))  # type: ignore[index]
    return DeskDay(site, day, parts, states)


@dataclass(frozen=True)
class DeskRequest:
    resource_id: int
    day: date
    part: str = "full"  # full | morning | afternoon
    quantity: int = 1
    organisation_id: int | None = None
    title: str = ""
    purpose: str = ""


async def desk_interval(
    app: AppContext, actor: Principal | None, resource_id: int, day: date, part: str, *, field: str = "day"
) -> tuple[Resource, Site, Interval]:
    """The instants of ``part`` of ``day`` for a desk, from its site's opening hours."""
    if part not in PARTS:
        raise InvalidInput(f"part is one of {', '.join(PARTS)}", field="part")
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None or not resource.is_active or not can_see_resource(actor, resource.visibility, resource.site_id):
            raise NotFound(f"resource {resource_id} does not exist", field="resource_id")
        if resource.kind != "desk":
            raise InvalidInput(f"{resource.name} is not a co-working desk", field="resource_id")
        site = await session.get(Site, resource.site_id)
    assert site is not None
    check_day_in_range(day, today=local_today(site, app.now()), field=field)
    return resource, site, day_parts(site.opening_hours, site.timezone, day).part(part)


async def book_desk(app: AppContext, actor: Principal, request: DeskRequest) -> Booking:
    """Book a desk (or ``quantity`` desks of a pool) for a whole day, a morning or an afternoon."""
    _, _, interval = await desk_interval(app, actor, request.resource_id, request.day, request.part)
    return await booking_service.create_booking(
        app,
        actor,
        BookingRequest(
            resource_id=request.resource_id, starts_at=interval.starts_at, ends_at=interval.ends_at,
            quantity=request.quantity, organisation_id=request.organisation_id, title=request.title,
            purpose=request.purpose,
        ),
    )


async def desk_sites(app: AppContext, actor: Principal | None) -> list[tuple[Site, int]]:
    """Sites that have desks the actor may see, with how many desk places each has."""
    async with app.database.reader() as session:
        statement = (
            select(Site, Resource)
            .join(Resource, Resource.site_id == Site.id)  # type: ignore[arg-type]
            .where(Resource.kind == "desk", Resource.is_active == True)  # noqa: E712
            .order_by(col(Site.name))
        )
        counts: dict[int, tuple[Site, int]] = {}
        for site, resource in (await session.exec(statement)).all():
            if not can_see_resource(actor, resource.visibility, site.id):  # type: ignore[arg-type]
                continue
            known = counts.get(site.id)  # type: ignore[arg-type]
            counts[site.id] = (site, (known[1] if known else 0) + resource.capacity)  # type: ignore[index]
    return list(counts.values())


def parse_day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("a day looks like 2026-03-03", field="day") from None


def local_today(site: Site, now: datetime) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(site.timezone)).date()


@dataclass(frozen=True)
class DeskSeriesRequest:
    """A desk every week on the weekday of ``first_day`` ("every Monday, mornings")."""

    resource_id: int
    first_day: date
    part: str = "full"
    until: date | None = None
    count: int | None = None
    quantity: int = 1
    organisation_id: int | None = None
    title: str = ""
    mode: str = "book_free"  # or all_or_nothing


async def book_desk_weekly(app: AppContext, actor: Principal, request: DeskSeriesRequest):  # type: ignore[no-untyped-def]
    """A weekly desk series through ``services.series`` (one lock, each date checked on its own).

    The wall-clock window of ``part`` on ``first_day`` repeats every week; dates that are
    taken or closed are reported (``book_free``) or refuse the whole series (``all_or_nothing``).
    Returns the series service's ``SeriesResult``.
    """
    from zoneinfo import ZoneInfo

    from booking.domain.recurrence import RecurrenceRule
    from booking.services import series as series_service

    _, site, interval = await desk_interval(
        app, actor, request.resource_id, request.first_day, request.part, field="first_day"
    )
    if (request.until is None) == (request.count is None):
        raise InvalidInput("give either until (a last day) or count (how many weeks)", field="until")
    zone = ZoneInfo(site.timezone)
    local_start = interval.starts_at.astimezone(zone).replace(tzinfo=None)
    local_end = interval.ends_at.astimezone(zone).replace(tzinfo=None)
    rule = RecurrenceRule(frequency="weekly", until=request.until, count=request.count)
    try:
        return await series_service.create_series(
            app,
            actor,
            series_service.SeriesRequest(
                resource_id=request.resource_id, local_start=local_start, duration=local_end - local_start, rule=rule,
                quantity=request.quantity, organisation_id=request.organisation_id, title=request.title,
            ),
            mode=request.mode,  # type: ignore[arg-type]
        )
    except InvalidInput as error:
        if error.field == "starts_at":
            error.field = "first_day"  # the desk form's name for the series' start
        raise
