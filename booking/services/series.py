"""Recurring bookings (series): create, read, cancel and change this-and-following.

A series is one ``Series`` row (the rule, in the site's local wall time, as agreed) and one
``Booking`` row per occurrence (``series_id``, ``recurrence_id`` = the start the rule gave
it), each with its own status (indico's shape, see DESIGN.md). So one date can be cancelled,
moved or declined with the ordinary booking functions, and overlap checks work on plain rows.

Creating a series runs in ONE write transaction that holds the resource's lock
(``lock_for_booking``): every occurrence is checked on its own with ``check_placement``,
exactly like a single booking, and inserted (and flushed) before the next one is checked, so
the occurrences of one request cannot collide with each other either. Local times that do not
exist (the spring-forward gap) are reported, never shifted. ``mode="all_or_nothing"`` writes
nothing when any date is refused (``SeriesConflict``, HTTP 409 listing them);
``mode="book_free"`` books the free dates and reports the others, each with its reason and
alternatives (computed after the transaction, like ``create_booking`` does).

Changes to "this and following" (or all) dates are applied to the occurrence rows: each moved
date is re-checked under the lock, all or nothing, SEQUENCE + 1 per booking; cancellations go
through the ordinary lifecycle transition per occurrence. The series row keeps the rule as
first agreed (so RECURRENCE-IDs already in people's calendars stay valid: every changed date
is an override of its original instance) and raises its own ``sequence``. Dates that have
already started are history and are never changed or cancelled by a series operation.

Lenders decide a requested series as a whole (``approve_series``, ``decline_series``) or date by
date with the booking functions. Every series-level operation sends ONE message for all the
dates it touched (``notifications.series_message``), never one per date.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import BookingFacts, can_change_booking, can_decide, can_view_booking
from booking.auth.principal import Principal
from booking.db.errors import is_overlap_violation
from booking.domain.alternatives import Alternative
from booking.domain.approval import Decision
from booking.db.locking import lock_resource
from booking.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from booking.domain.intervals import Interval
from booking.domain.lifecycle import BUSY_VALUES, CHANGEABLE, HOLDING_VALUES, Action, Status
from booking.domain.policies import check_day_in_range, check_quantity, check_start_in_window
from booking.domain.recurrence import (
    MAX_OCCURRENCES,
    NonexistentLocalTime,
    Occurrence,
    RecurrenceRule,
    expand,
    local_time_problem,
    local_to_utc,
    parse_rrule,
)
from booking.models import Booking, Resource, Series, Site
from booking.services import notifications, reporting, waiting_list
from booking.domain.availability import Holding
from booking.services.alternatives import suggest_alternatives_for_dates
from booking.services.audit import new_event, record_event, record_events
from booking.services.bookings import (
    MAX_PURPOSE,
    MAX_TITLE,
    BookingRequest,
    PlacementContext,
    TakenInterval,
    check_booker,
    check_loaded_placement,
    check_placement,
    load_placement_data,
    lock_for_booking,
    new_booking,
    transition,
)
from booking.services.context import AppContext

Mode = Literal["all_or_nothing", "book_free"]
MODES: tuple[str, ...] = ("all_or_nothing", "book_free")
CancelScope = Literal["all", "following"]
CANCEL_SCOPES: tuple[str, ...] = ("all", "following")
MAX_SERIES_DURATION = timedelta(days=31)
# Alternatives are a search each; beyond this many refused dates the list gets none.
MAX_DATES_WITH_ALTERNATIVES = 25
ALTERNATIVES_PER_DATE = 3
# How far the search for another time of one refused date goes, in steps either way: two days
# of half hours (or 96 days for day-long dates). A weekly date's neighbours are near it.
ALTERNATIVE_STEPS_PER_DATE = 2 * 48


@dataclass(frozen=True)
class SeriesRequest:
    """A recurring booking: ``local_start`` is a naive wall time in the site's zone.

    ``rule`` may also be an RRULE text (``parse_rrule``, read in the site's zone);
    ``excluded_dates`` are then its EXDATEs (a ``RecurrenceRule`` carries its own).
    """

    resource_id: int
    local_start: datetime
    duration: timedelta
    rule: RecurrenceRule | str
    quantity: int = 1
    organisation_id: int | None = None
    title: str = ""
    purpose: str = ""
    is_public: bool = False
    excluded_dates: tuple[date, ...] = ()


@dataclass
class RefusedOccurrence:
    """A date of the series that was not booked, with why and what would be free instead.

    ``code``: ``nonexistent_local_time`` (skipped by a DST switch; ``starts_at`` is None),
    ``conflict`` (taken), ``policy_violation`` (a rule of the resource) or ``invalid_input``.
    """

    local_start: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    code: str
    reason: str
    field: str | None = None
    conflicts: list[TakenInterval] = dataclasses.field(default_factory=list)
    alternatives: list[Alternative] = dataclasses.field(default_factory=list)
    booking_id: int | None = None  # for changes of existing dates


@dataclass
class SeriesResult:
    series: Series
    resource: Resource
    site: Site
    booked: list[Booking]
    refused: list[RefusedOccurrence]


@dataclass
class SeriesView:
    series: Series
    resource: Resource
    site: Site
    occurrences: list[Booking]
    # Names of other resources where alternatives joined the series (id -> name).
    other_resources: dict[int, str] = dataclasses.field(default_factory=dict)


class SeriesConflict(Conflict):
    """Dates of a series could not be booked or moved; nothing was written."""

    code = "series_conflict"

    def __init__(self, message: str, refused: Sequence[RefusedOccurrence]) -> None:
        super().__init__(
            message,
            conflicts=[taken for item in refused for taken in item.conflicts],
            alternatives=[alternative for item in refused for alternative in item.alternatives][:10],
        )
        self.refused = list(refused)


class _Refused(Exception):
    """Internal: leave the transaction (rolling it back) with the refused dates."""

    def __init__(self, refused: list[RefusedOccurrence], total: int) -> None:
        self.refused = refused
        self.total = total


def _code_of(error: DomainError) -> str:
    return "conflict" if isinstance(error, Conflict) else error.code


def _refusal(local_start: datetime, interval: Interval | None, error: DomainError, booking_id: int | None = None) -> RefusedOccurrence:
    return RefusedOccurrence(
        local_start=local_start,
        starts_at=interval.starts_at if interval else None,
        ends_at=interval.ends_at if interval else None,
        code="nonexistent_local_time" if isinstance(error, NonexistentLocalTime) else _code_of(error),
        reason=error.message,
        field=error.field,
        conflicts=list(getattr(error, "conflicts", []) or []),
        booking_id=booking_id,
    )


def _nonexistent(local_start: datetime, timezone: str) -> NonexistentLocalTime:
    return NonexistentLocalTime(
        f"{local_start:%Y-%m-%d %H:%M} does not exist in {timezone}: the clocks skip that hour "
        "when summer time starts. This date was not booked; choose another time for it.",
        field="starts_at",
    )


def _clean_text(value: str, limit: int, field_name: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field_name)
    return value


def _check_duration(duration: timedelta) -> int:
    if duration <= timedelta(0):
        raise InvalidInput("the end must be after the start", field="ends_at")
    if duration > MAX_SERIES_DURATION:
        raise InvalidInput("one date of a series lasts at most 31 days", field="ends_at")
    if duration % timedelta(minutes=1):
        raise InvalidInput("the length must be whole minutes", field="ends_at")
    return int(duration / timedelta(minutes=1))


async def create_series(
    app: AppContext, actor: Principal, request: SeriesRequest, mode: Mode = "all_or_nothing"
) -> SeriesResult:
    """Book every date of ``request.rule`` from ``request.local_start`` in the site's zone.

    One transaction under the resource's lock; each date is checked like a single booking.
    ``all_or_nothing``: any refused date refuses the whole series (``SeriesConflict``, nothing
    written). ``book_free``: the free dates are booked and the others reported in
    ``SeriesResult.refused`` (a series where no date is free raises ``SeriesConflict``).
    Refused dates carry alternatives. The refused dates become EXDATEs of the series row, so
    its rule describes exactly the booked dates.
    """
    if mode not in MODES:
        raise InvalidInput("mode is all_or_nothing or book_free", field="mode")
    if not isinstance(request.local_start, datetime) or request.local_start.tzinfo is not None:
        raise InvalidInput("the start of a series is a local wall time without offset, e.g. 2026-02-03T18:00", field="starts_at")
    duration_minutes = _check_duration(request.duration)
    title = _clean_text(request.title, MAX_TITLE, "title")
    purpose = _clean_text(request.purpose, MAX_PURPOSE, "purpose")
    now = app.now()
    try:
        async with app.database.transaction() as session:
            placement = await lock_for_booking(
                session, actor, request.resource_id, organisation_id=request.organisation_id
            )
            await check_booker(session, actor, placement, request.organisation_id)
            check_quantity(request.quantity, placement.resource.capacity)
            timezone = placement.site.timezone
            rule = (
                parse_rrule(request.rule, timezone, request.excluded_dates) if isinstance(request.rule, str) else request.rule
            )
            _check_series_window(placement, rule, request.local_start, now)
            occurrences = expand(rule, request.local_start, request.duration, timezone)
            _check_last_date(placement, rule, occurrences, now)
            series = Series(
                resource_id=placement.resource.id,  # type: ignore[arg-type]
                organisation_id=request.organisation_id,
                booker_id=actor.user_id,
                rrule=rule.to_rrule_string(timezone),
                timezone=timezone,
                local_start=request.local_start.isoformat(timespec="minutes"),
                duration_minutes=duration_minutes,
                exdates=[day.isoformat() for day in rule.excluded_dates],
                quantity=request.quantity,
                title=title,
                purpose=purpose,
                is_public=request.is_public,
            )
            template = BookingRequest(
                resource_id=request.resource_id, starts_at=now, ends_at=now + request.duration,
                quantity=request.quantity, organisation_id=request.organisation_id,
                title=title, purpose=purpose, is_public=request.is_public,
            )
            session.add(series)
            await session.flush()

            booked: list[Booking] = []
            refused: list[RefusedOccurrence] = []
            bookable = [o for o in occurrences if o.bookable]
            # Blackouts and holdings of the whole span in one query, under the lock; every
            # date is checked against them and against the dates booked before it (dates of
            # one series must not collide with each other, buffers included).
            data = None
            if bookable:
                span = Interval(min(o.starts_at for o in bookable), max(o.ends_at for o in bookable))  # type: ignore[type-var]
                data = await load_placement_data(session, placement, span, now=now)
            for occurrence in occurrences:
                if not occurrence.bookable or data is None:
                    refused.append(_refusal(occurrence.local_start, None, _nonexistent(occurrence.local_start, timezone)))
                    continue
                interval = Interval(occurrence.starts_at, occurrence.ends_at)  # type: ignore[arg-type]
                try:
                    decision = check_loaded_placement(placement, data, interval, request.quantity, now=now)
                except DomainError as error:
                    refused.append(_refusal(occurrence.local_start, interval, error))
                    continue
                booking = new_booking(
                    placement, actor, template, interval, decision=decision, series_id=series.id, recurrence_id=interval.starts_at
                )
                session.add(booking)
                data.take(placement, interval, booking.quantity, booking.status)
                booked.append(booking)
            # One batched INSERT for the dates, then one for their audit events.
            await session.flush()
            await record_events(session, [
                new_event(
                    booking, actor_id=actor.user_id, action="created", from_status=None,
                    to_status=booking.status, details={"series_id": series.id},
                )
                for booking in booked
            ])
            if refused and (mode == "all_or_nothing" or not booked):
                raise _Refused(refused, len(occurrences))
            if refused:
                # Dates refused because taken are unmet demand, as a 409 of a single booking is.
                session.add_all(reporting.unmet_demand_of_refused_dates(request.resource_id, refused, request.quantity))
                series.exdates = sorted(
                    set(series.exdates) | {item.local_start.date().isoformat() for item in refused}
                )
                series.refused_dates = [_stored_refusal(item) for item in refused]
                session.add(series)
                await session.flush()
            await notifications.series_created(session, app, series, booked)
            resource, site = placement.resource, placement.site
    except _Refused as refusal:
        # Nothing was booked (rolled back): the dates refused because taken still count as unmet demand.
        await reporting.record_unmet_demand_rows(
            app, reporting.unmet_demand_of_refused_dates(request.resource_id, refusal.refused, request.quantity)
        )
        await _add_alternatives(app, actor, request.resource_id, request.quantity, request.organisation_id, refusal.refused, now)
        raise SeriesConflict(
            f"{len(refusal.refused)} of {refusal.total} dates cannot be booked; nothing was booked",
            refusal.refused,
        ) from None
    except IntegrityError as error:
        # The PostgreSQL exclusion constraint: only a race the lock did not cover can get here.
        if not is_overlap_violation(error):
            raise
        raise Conflict("the resource is not available at one of the dates; nothing was booked") from None
    await _add_alternatives(app, actor, request.resource_id, request.quantity, request.organisation_id, refused, now)
    return SeriesResult(series, resource, site, booked, refused)


@dataclass(frozen=True)
class PreviewDate:
    """One date of a series not booked yet: free, or why not (English, like error messages)."""

    local_start: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    free: bool
    reason: str = ""
    # For a free date: confirmed at once or requested, and why (the booking's own decision).
    decision: Decision | None = None


async def preview_series(app: AppContext, actor: Principal, request: SeriesRequest) -> list[PreviewDate]:
    """The dates ``create_series`` would book and which of them are free now, writing nothing.

    The same checks as booking (rules, limits of a series, who may book) and the same bounded
    work: at most ``MAX_OCCURRENCES`` dates, one load of what holds over their span. The dates
    are checked against each other too. It takes the resource's lock like a booking would, so
    the answer is consistent; it can of course change before the booking is sent.
    """
    if not isinstance(request.local_start, datetime) or request.local_start.tzinfo is not None:
        raise InvalidInput("the start of a series is a local wall time without offset, e.g. 2026-02-03T18:00", field="starts_at")
    _check_duration(request.duration)
    now = app.now()
    async with app.database.transaction() as session:
        placement = await lock_for_booking(session, actor, request.resource_id, organisation_id=request.organisation_id)
        await check_booker(session, actor, placement, request.organisation_id)
        check_quantity(request.quantity, placement.resource.capacity)
        timezone = placement.site.timezone
        rule = parse_rrule(request.rule, timezone, request.excluded_dates) if isinstance(request.rule, str) else request.rule
        _check_series_window(placement, rule, request.local_start, now)
        occurrences = expand(rule, request.local_start, request.duration, timezone)
        _check_last_date(placement, rule, occurrences, now)
        bookable = [o for o in occurrences if o.bookable]
        data = None
        if bookable:
            span = Interval(min(o.starts_at for o in bookable), max(o.ends_at for o in bookable))  # type: ignore[type-var]
            data = await load_placement_data(session, placement, span, now=now)
        dates: list[PreviewDate] = []
        for occurrence in occurrences:
            if not occurrence.bookable or data is None:
                dates.append(PreviewDate(occurrence.local_start, None, None, False, _nonexistent(occurrence.local_start, timezone).message))
                continue
            interval = Interval(occurrence.starts_at, occurrence.ends_at)  # type: ignore[arg-type]
            try:
                decision = check_loaded_placement(placement, data, interval, request.quantity, now=now)
            except DomainError as error:
                dates.append(PreviewDate(occurrence.local_start, interval.starts_at, interval.ends_at, False, error.message))
                continue
            status = Status.CONFIRMED if decision.confirm_at_once else Status.REQUESTED
            data.take(placement, interval, request.quantity, status.value)
            dates.append(PreviewDate(occurrence.local_start, interval.starts_at, interval.ends_at, True, decision=decision))
    return dates


def _check_series_window(placement: PlacementContext, rule: RecurrenceRule, local_start: datetime, now: datetime) -> None:
    """Refuse a series that starts in the past or beyond the horizon, or ends absurdly far away,
    before anything is expanded or searched (a start in 1900 would otherwise cost a refused
    date and a search for alternatives per week up to today)."""
    zone = ZoneInfo(placement.site.timezone)
    today = now.astimezone(zone).date()
    # Plain date arithmetic first: a wall time near year 1 or 9999 cannot be converted to UTC.
    check_day_in_range(local_start.date(), today=today, field="starts_at")
    if rule.until is not None:
        check_day_in_range(rule.until, today=today, field="until")
    first = local_start.replace(tzinfo=zone, fold=0).astimezone(UTC)
    check_start_in_window(placement.rules, first, now=now, field="starts_at")


def _check_last_date(placement: PlacementContext, rule: RecurrenceRule, occurrences: Sequence[Occurrence], now: datetime) -> None:
    """Every date must lie within the resource's horizon: choose an earlier end otherwise."""
    last = max((occurrence.starts_at for occurrence in occurrences if occurrence.starts_at is not None), default=None)
    if last is not None:
        check_start_in_window(placement.rules, last, now=now, field="until" if rule.until is not None else "count")


async def _add_alternatives(
    app: AppContext,
    actor: Principal,
    resource_id: int,
    quantity: int,
    organisation_id: int | None,
    refused: list[RefusedOccurrence],
    now: datetime,
) -> None:
    """Alternatives for refused dates, after the transaction (a search needs no lock).

    One search for all of them (a fixed number of queries), for at most
    ``MAX_DATES_WITH_ALTERNATIVES`` dates, each a short way either side. The moved dates of a
    change are excluded from what holds: they all leave their old times together.
    """
    searched = [
        item for item in refused
        if item.starts_at is not None and item.ends_at is not None and item.code != "invalid_input"
    ][:MAX_DATES_WITH_ALTERNATIVES]
    found = await suggest_alternatives_for_dates(
        app, actor, resource_id, [Interval(item.starts_at, item.ends_at) for item in searched], quantity,  # type: ignore[arg-type]
        organisation_id=organisation_id, now=now, limit=ALTERNATIVES_PER_DATE,
        exclude_booking_ids=tuple(item.booking_id for item in refused if item.booking_id),
        max_steps=ALTERNATIVE_STEPS_PER_DATE,
    )
    for item, alternatives in zip(searched, found, strict=True):
        item.alternatives = alternatives


def _stored_refusal(item: RefusedOccurrence) -> dict[str, str | None]:
    """What the series row keeps of a refused date (its page offers alternatives from it)."""
    return {
        "local_start": item.local_start.isoformat(timespec="minutes"),
        "starts_at": item.starts_at.isoformat() if item.starts_at else None,
        "ends_at": item.ends_at.isoformat() if item.ends_at else None,
        "code": item.code,
        "reason": item.reason,
    }


def _loaded_refusal(stored: dict[str, str | None]) -> RefusedOccurrence:
    def instant(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return RefusedOccurrence(
        local_start=datetime.fromisoformat(str(stored["local_start"])), starts_at=instant(stored.get("starts_at")),
        ends_at=instant(stored.get("ends_at")), code=str(stored.get("code") or "conflict"), reason=str(stored.get("reason") or ""),
    )


HOLDING_OR_DONE = frozenset(BUSY_VALUES)


def _taken_for(series: Series, occurrences: Sequence[Booking], item: RefusedOccurrence) -> Booking | None:
    """The alternative booked for a refused date: a date of the series that holds with the
    refused date's original start as its RECURRENCE-ID."""
    if item.local_start is None:
        return None
    try:
        original = local_to_utc(item.local_start, series.timezone)
    except DomainError:
        return None
    return next(
        (b for b in occurrences if b.recurrence_id == original and b.status in HOLDING_OR_DONE), None
    )


async def open_refused_dates(app: AppContext, actor: Principal, view: SeriesView) -> list[RefusedOccurrence]:
    """The dates the series could not book and that have no alternative booked yet, each with
    its alternatives now (searched again on every call: what was free may be taken meanwhile).
    Dates already begun get no alternatives."""
    now = app.now()
    items = [
        item for item in (_loaded_refusal(stored) for stored in view.series.refused_dates)
        if _taken_for(view.series, view.occurrences, item) is None
    ]
    future = [item for item in items if item.starts_at is not None and item.starts_at > now]
    await _add_alternatives(
        app, actor, view.series.resource_id, view.series.quantity, view.series.organisation_id, future, now
    )
    return items


async def take_alternative(
    app: AppContext,
    actor: Principal,
    series_id: int,
    *,
    refused_start: datetime,
    resource_id: int,
    starts_at: datetime,
    ends_at: datetime,
) -> Booking:
    """Book an alternative for a date the series could not book; it JOINS the series.

    The new booking carries the series' id and, as RECURRENCE-ID, the refused date's original
    start: it is cancelled with the series and appears in the series' invite as an override
    of that date (the date leaves the EXDATEs). ``refused_start`` is the refused date's local
    wall time as stored; ``resource_id`` may be the series' resource or a comparable one.
    Checked like any booking under the resource's lock; a taken time raises ``Conflict``.
    """
    for value, name in ((starts_at, "starts_at"), (ends_at, "ends_at")):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput("a time zone is needed (e.g. 2026-03-03T18:00:00+01:00)", field=name)
    if ends_at <= starts_at:
        raise InvalidInput("the end must be after the start", field="ends_at")
    if refused_start.tzinfo is not None:
        raise InvalidInput("the refused date is a local wall time without offset", field="refused_start")
    now = app.now()
    async with app.database.reader() as session:
        series, resource, _ = await _load_series(session, series_id)
        if not can_view_booking(actor, _series_facts(series, resource)):
            raise NotFound(f"series {series_id} does not exist")
        organisation_id = series.organisation_id
    try:
        async with app.database.transaction() as session:
            placement = await lock_for_booking(session, actor, resource_id, organisation_id=organisation_id)
            series, resource, site = await _load_series(session, series_id)
            facts = _series_facts(series, resource)
            if not can_view_booking(actor, facts):
                raise NotFound(f"series {series_id} does not exist")
            if not can_change_booking(actor, facts):
                raise PermissionDenied("you may not change this series")
            if placement.site.id != site.id:
                raise InvalidInput("an alternative is at the site of the series", field="resource_id")
            await check_booker(session, actor, placement, organisation_id)
            wanted = refused_start.isoformat(timespec="minutes")
            stored = next((item for item in series.refused_dates if item.get("local_start") == wanted), None)
            if stored is None:
                raise InvalidInput("this date is not one the series could not book", field="refused_start")
            item = _loaded_refusal(stored)
            occurrences = await _occurrences(session, series_id)
            if _taken_for(series, occurrences, item) is not None:
                raise Conflict("an alternative for this date is booked already")
            try:
                original = local_to_utc(item.local_start, series.timezone)
            except DomainError:
                raise InvalidInput("this date does not exist in the site's time zone", field="refused_start") from None
            interval = Interval(starts_at.astimezone(UTC), ends_at.astimezone(UTC))
            placement.booker_id = series.booker_id
            decision = await check_placement(session, placement, interval, series.quantity, now=now)
            template = BookingRequest(
                resource_id=resource_id, starts_at=interval.starts_at, ends_at=interval.ends_at, quantity=series.quantity,
                organisation_id=organisation_id, title=series.title, purpose=series.purpose, is_public=series.is_public,
            )
            booking = new_booking(placement, actor, template, interval, decision=decision, series_id=series.id, recurrence_id=original)
            # Every date of a series is its booker's, also when an admin of the organisation
            # or the site's staff took the alternative for them.
            booking.booker_id = series.booker_id
            session.add(booking)
            await session.flush()
            record_event(
                session, booking, actor_id=actor.user_id, action="created", from_status=None, to_status=booking.status,
                details={"series_id": series.id, "alternative_for": original.isoformat()},
            )
            series.exdates = [day for day in series.exdates if day != item.local_start.date().isoformat()]
            series.sequence += 1
            series.updated_at = now
            session.add(series)
            await session.flush()
            requested = booking.status == Status.REQUESTED.value
            await notifications.series_message(
                session, app, series, "request_received" if requested else "confirmed", [booking], to_staff=requested,
            )
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        raise Conflict("the resource is not available at this time") from None
    return booking


# --------------------------------------------------------------------------- reading


async def _load_series(session: AsyncSession, series_id: int) -> tuple[Series, Resource, Site]:
    series = await session.get(Series, series_id)
    if series is None:
        raise NotFound(f"series {series_id} does not exist")
    resource = await session.get(Resource, series.resource_id)
    assert resource is not None
    site = await session.get(Site, resource.site_id)
    assert site is not None
    return series, resource, site


def _series_facts(series: Series, resource: Resource) -> BookingFacts:
    return BookingFacts(booker_id=series.booker_id, organisation_id=series.organisation_id, site_id=resource.site_id)


async def _occurrences(session: AsyncSession, series_id: int) -> list[Booking]:
    statement = select(Booking).where(Booking.series_id == series_id).order_by(col(Booking.starts_at), col(Booking.id))
    return list((await session.exec(statement)).all())


async def get_series(app: AppContext, actor: Principal, series_id: int) -> SeriesView:
    """The series with all its dates (every status), for those who may see its bookings."""
    async with app.database.reader() as session:
        series, resource, site = await _load_series(session, series_id)
        if not can_view_booking(actor, _series_facts(series, resource)):
            # Like a booking one may not see: say so only to those who could know it exists.
            raise NotFound(f"series {series_id} does not exist")
        occurrences = await _occurrences(session, series_id)
        other_ids = {b.resource_id for b in occurrences if b.resource_id != series.resource_id}
        others = (await session.exec(select(Resource).where(col(Resource.id).in_(other_ids)))).all() if other_ids else []
    return SeriesView(series, resource, site, occurrences, {other.id: other.name for other in others})  # type: ignore[misc]


def may_change_series(actor: Principal, view: SeriesView) -> bool:
    """Whether ``actor`` may change or cancel the series (its booker, their organisation's admins, site staff)."""
    return can_change_booking(actor, _series_facts(view.series, view.resource))


def may_decide_series(actor: Principal, view: SeriesView) -> bool:
    """Whether ``actor`` may approve or decline the series' dates (staff of its site)."""
    return can_decide(actor, _series_facts(view.series, view.resource))


# --------------------------------------------------------------------------- changing


def _selected(occurrences: list[Booking], *, now: datetime, from_: datetime | None, statuses: frozenset[Status]) -> list[Booking]:
    """Dates not yet started, in ``statuses``, whose original start is at or after ``from_``."""
    chosen = []
    for booking in occurrences:
        original = booking.recurrence_id or booking.starts_at
        if booking.status not in statuses or booking.starts_at <= now:
            continue
        if from_ is not None and original < from_:
            continue
        chosen.append(booking)
    return chosen


async def cancel_series(
    app: AppContext,
    actor: Principal,
    series_id: int,
    *,
    scope: CancelScope = "all",
    from_: datetime | None = None,
    reason: str = "",
) -> SeriesView:
    """Cancel the dates of a series that have not started yet: ``all`` of them, or the
    ``following`` ones from ``from_`` on (by their original start, ``recurrence_id``).

    Each date goes through the ordinary lifecycle (audit, SEQUENCE + 1, notification).
    """
    if scope not in CANCEL_SCOPES:
        raise InvalidInput("scope is all or following", field="scope")
    if scope == "following" and from_ is None:
        raise InvalidInput("give the first date to cancel (from)", field="from")
    if from_ is not None and (from_.tzinfo is None or from_.utcoffset() is None):
        raise InvalidInput("from needs a time zone (e.g. 2026-03-03T18:00:00+01:00)", field="from")
    reason = reason.strip()
    if len(reason) > 2000:
        raise InvalidInput("at most 2000 characters", field="reason")
    now = app.now()
    async with app.database.transaction() as session:
        series, resource, site = await _load_series(session, series_id)
        series_facts = _series_facts(series, resource)
        if not can_view_booking(actor, series_facts):
            raise NotFound(f"series {series_id} does not exist")
        if not can_change_booking(actor, series_facts):
            raise PermissionDenied("you may not cancel this series")
        occurrences = await _occurrences(session, series_id)
        chosen = _selected(
            occurrences, now=now, from_=from_ if scope == "following" else None,
            statuses=frozenset({Status.REQUESTED, Status.CONFIRMED}),
        )
        if not chosen:
            raise InvalidInput("no date of this series is left to cancel", field="from" if scope == "following" else "scope")
        for booking in chosen:
            await transition(
                session, app, actor, booking, Action.CANCEL, reason=reason,
                details={"series_id": series_id, "scope": scope}, notify=False,
            )
        series.sequence += 1
        series.updated_at = now
        session.add(series)
        await session.flush()
        # One message for all the dates: CANCEL of the series, or its invite without them.
        await notifications.series_message(session, app, series, "cancelled", chosen, reason=reason)
        occurrences = await _occurrences(session, series_id)
    return SeriesView(series, resource, site, occurrences)


async def change_series(
    app: AppContext,
    actor: Principal,
    series_id: int,
    *,
    from_: datetime | None = None,
    local_time: time | None = None,
    duration: timedelta | None = None,
) -> SeriesView:
    """Move the dates of a series from ``from_`` on (all not yet started when None) to a new
    local time of day and/or length; each date keeps its day.

    All moved dates are re-checked in one transaction under the resource's lock (against
    other bookings and against each other); any refusal changes nothing and raises
    ``SeriesConflict`` listing the dates with reasons and alternatives. A booker's change of a
    resource that needs approval sends the dates back to ``requested``, as for one booking.
    """
    if local_time is None and duration is None:
        raise InvalidInput("give a new start time or a new length", field="starts_at")
    if local_time is not None and (local_time.tzinfo is not None):
        raise InvalidInput("the start time is a local wall time without offset", field="starts_at")
    if duration is not None:
        _check_duration(duration)
    if from_ is not None and (from_.tzinfo is None or from_.utcoffset() is None):
        raise InvalidInput("from needs a time zone (e.g. 2026-03-03T18:00:00+01:00)", field="from")
    now = app.now()
    async with app.database.reader() as session:
        series, resource, _ = await _load_series(session, series_id)
    # Plain values: a rollback expires the rows loaded inside the transaction.
    resource_id, quantity, organisation_id = series.resource_id, series.quantity, series.organisation_id
    refused: list[RefusedOccurrence] = []
    try:
        async with app.database.transaction() as session:
            placement = await lock_for_booking(session, actor, resource_id)
            series, resource, site = await _load_series(session, series_id)
            series_facts = _series_facts(series, resource)
            if not can_view_booking(actor, series_facts):
                raise NotFound(f"series {series_id} does not exist")
            if not can_change_booking(actor, series_facts):
                raise PermissionDenied("you may not change this series")
            zone = ZoneInfo(site.timezone)
            # An alternative booked at another resource (for a date the series could not book)
            # keeps its time: a move is checked against the series' resource only.
            chosen = [
                booking for booking in _selected(await _occurrences(session, series_id), now=now, from_=from_, statuses=CHANGEABLE)
                if booking.resource_id == series.resource_id
            ]
            if not chosen:
                raise InvalidInput("no date of this series is left to change", field="from")
            # Park the dates to move (not holding, inside this transaction only): a date not
            # moved yet must not block the move of another, neither in the locked check nor in
            # PostgreSQL's exclusion constraint, which is not deferrable; a moved date holds
            # again at once, so the dates are checked against each other as well.
            old_statuses = {booking.id: booking.status for booking in chosen}
            old_intervals = [Interval(booking.starts_at.astimezone(UTC), booking.ends_at.astimezone(UTC)) for booking in chosen]
            for booking in chosen:
                booking.status = Status.CANCELLED.value
                session.add(booking)
            await session.flush()
            for booking in chosen:
                current_local = booking.starts_at.astimezone(zone)
                wall = datetime.combine(current_local.date(), local_time or current_local.time().replace(tzinfo=None))
                length = duration or (booking.ends_at - booking.starts_at)
                if local_time_problem(wall, site.timezone) == "nonexistent":
                    refused.append(_refusal(wall, None, _nonexistent(wall, site.timezone), booking.id))
                    continue
                starts_at = local_to_utc(wall, site.timezone)
                interval = Interval(starts_at, starts_at + length)
                placement.organisation_id, placement.booker_id = booking.organisation_id, booking.booker_id
                try:
                    decision = await check_placement(session, placement, interval, booking.quantity, now=now)
                except DomainError as error:
                    refused.append(_refusal(wall, interval, error, booking.id))
                    continue
                before = {"starts_at": booking.starts_at.isoformat(), "ends_at": booking.ends_at.isoformat(), "quantity": booking.quantity}
                old_status = old_statuses[booking.id]
                booking.starts_at, booking.ends_at = interval.starts_at, interval.ends_at
                needs_request = not decision.confirm_at_once
                booking.status = Status.REQUESTED.value if needs_request else old_status
                booking.sequence += 1
                booking.updated_at = now
                session.add(booking)
                await session.flush()
                record_event(
                    session, booking, actor_id=actor.user_id, action="changed", from_status=old_status,
                    to_status=booking.status, details={"before": before, "series_id": series_id},
                )
            if refused:
                raise _Refused(refused, len(chosen))
            series.sequence += 1
            series.updated_at = now
            session.add(series)
            await session.flush()
            # The time the dates left may fit someone waiting: one round over all of it.
            left = [interval for interval in old_intervals if not any(
                Interval(b.starts_at.astimezone(UTC), b.ends_at.astimezone(UTC)).contains(interval) for b in chosen)]
            if left:
                await waiting_list.capacity_appeared(
                    session, app, resource_id, Interval(min(i.starts_at for i in left), max(i.ends_at for i in left)), now=now
                )
            # One message for all moved dates (the series' invite with them as overrides);
            # dates sent back to "requested" ask the lenders once.
            await notifications.series_message(
                session, app, series, "changed", chosen,
                to_staff=any(booking.status == Status.REQUESTED for booking in chosen),
            )
            occurrences = await _occurrences(session, series_id)
    except _Refused as refusal:
        await _add_alternatives(app, actor, resource_id, quantity, organisation_id, refusal.refused, now)
        raise SeriesConflict(
            f"{len(refusal.refused)} of {refusal.total} dates cannot be moved; nothing was changed", refusal.refused
        ) from None
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        raise Conflict("the resource is not available at one of the new times; nothing was changed") from None
    return SeriesView(series, resource, site, occurrences)


# --------------------------------------------------------------------------- deciding


async def _decide_series(
    app: AppContext, actor: Principal, series_id: int, action: Action, reason: str
) -> SeriesView:
    async with app.database.transaction() as session:
        series, resource, site = await _load_series(session, series_id)
        if not can_decide(actor, _series_facts(series, resource)):
            verb = "approve" if action == Action.APPROVE else "decline"
            raise PermissionDenied(f"only lenders of this site may {verb}")
        # Serialise with other decisions and bookings of the resource: two lenders deciding
        # the same series at once decide it once.
        await lock_resource(session, series.resource_id)
        occurrences = await _occurrences(session, series_id)
        waiting = [booking for booking in occurrences if booking.status == Status.REQUESTED]
        if not waiting:
            raise TransitionNotAllowed("no date of this series is waiting for a decision")
        for booking in waiting:
            await transition(
                session, app, actor, booking, action, reason=reason,
                details={"series_id": series_id, "scope": "series"}, notify=False,
            )
        series.sequence += 1
        series.updated_at = app.now()
        session.add(series)
        await session.flush()
        kind = "confirmed" if action == Action.APPROVE else "declined"
        await notifications.series_message(session, app, series, kind, waiting, reason=reason)
        occurrences = await _occurrences(session, series_id)
    return SeriesView(series, resource, site, occurrences)


async def approve_series(app: AppContext, actor: Principal, series_id: int) -> SeriesView:
    """A lender of the site confirms every requested date of a series in one step.

    One transaction: each date goes through the lifecycle (audit entry per date), the series'
    SEQUENCE rises, and the booker gets ONE mail with the series' invite. Dates decided
    before (or cancelled) are left as they are; none waiting → TransitionNotAllowed (409).
    """
    return await _decide_series(app, actor, series_id, Action.APPROVE, "")


async def decline_series(app: AppContext, actor: Principal, series_id: int, reason: str) -> SeriesView:
    """A lender of the site declines every requested date of a series, with one reason.

    Like ``approve_series``; the booker gets ONE mail (CANCEL of the series when no date
    holds any more, else the series' invite without the declined dates).
    """
    reason = _clean_text(reason, MAX_PURPOSE, "reason")
    if not reason:
        raise InvalidInput("please give a reason for the booker", field="reason")
    return await _decide_series(app, actor, series_id, Action.DECLINE, reason)


def occurrence_local_start(booking: Booking, timezone: str) -> datetime:
    """The wall time of a date in the site's zone (naive), for answers and pages."""
    return booking.starts_at.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def series_local_start(series: Series) -> datetime:
    return datetime.fromisoformat(series.local_start)


def excluded_dates(series: Series) -> list[date]:
    return [date.fromisoformat(value) for value in series.exdates]


__all__ = [
    "CANCEL_SCOPES",
    "MAX_OCCURRENCES",
    "MODES",
    "RefusedOccurrence",
    "SeriesConflict",
    "SeriesRequest",
    "SeriesResult",
    "SeriesView",
    "approve_series",
    "cancel_series",
    "change_series",
    "create_series",
    "decline_series",
    "excluded_dates",
    "get_series",
    "open_refused_dates",
    "preview_series",
    "take_alternative",
    "occurrence_local_start",
    "series_local_start",
]
