"""/api/v1/series: recurring bookings — create, read, cancel (all or following), change, and
approve or decline all requested dates at once (lenders of the site).

Times of a series are local wall times in the site's zone ("2026-02-03T18:00", no offset):
"every Tuesday 18:00" stays 18:00 across DST. Answers give each date both as an instant
(``starts_at``, with offset) and as its local wall time (``local_start``).

A refused series (``mode: all_or_nothing``) or a refused change answers 409 problem details
with ``refused``: every date that could not be booked or moved, with its reason and
alternatives.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from booking.api.errors import PROBLEM_JSON
from booking.auth.guards import requires_lender, requires_login
from booking.domain.alternatives import Alternative
from booking.domain.errors import InvalidInput
from booking.domain.recurrence import RecurrenceRule
from booking.models import Booking
from booking.services import series as series_service
from booking.services.context import AppContext
from booking.services.series import RefusedOccurrence, SeriesConflict, SeriesRequest

Ctx = NamedDependency[AppContext]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="an instant with offset, e.g. 2026-03-03T18:00:00+01:00")]
LocalDateTime = Annotated[
    str, msgspec.Meta(max_length=32, description="a local wall time in the site's zone without offset, e.g. 2026-02-03T18:00")
]
LocalTime = Annotated[str, msgspec.Meta(max_length=16, description="a local time of day, e.g. 19:00")]
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class SeriesCreate(msgspec.Struct, forbid_unknown_fields=True):
    resource_id: Id
    starts_at: LocalDateTime
    ends_at: LocalDateTime | None = None
    duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=31 * 24 * 60)] | None = None
    frequency: Literal["daily", "weekly", "monthly"] | None = None
    interval: Annotated[int, msgspec.Meta(ge=1, le=99)] = 1
    weekdays: Annotated[list[Weekday], msgspec.Meta(max_length=7)] = []
    weekday_position: Annotated[int, msgspec.Meta(ge=-5, le=5)] | None = None
    until: date | None = None
    count: Annotated[int, msgspec.Meta(ge=1, le=500)] | None = None
    excluded_dates: Annotated[list[date], msgspec.Meta(max_length=500)] = []
    rrule: Annotated[str, msgspec.Meta(max_length=500, description="instead of frequency…count: an RRULE value")] | None = None
    quantity: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1
    organisation_id: Id | None = None
    title: Annotated[str, msgspec.Meta(max_length=200)] = ""
    purpose: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    is_public: bool = False
    mode: Literal["all_or_nothing", "book_free"] = "all_or_nothing"


class SeriesCancel(msgspec.Struct, forbid_unknown_fields=True):
    scope: Literal["all", "following"] = "all"
    from_: Instant | None = msgspec.field(default=None, name="from")
    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class SeriesDecline(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=2000, description="for the booker; required")] = ""


class SeriesChange(msgspec.Struct, forbid_unknown_fields=True):
    from_: Instant | None = msgspec.field(default=None, name="from")
    start_time: LocalTime | None = None
    duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=31 * 24 * 60)] | None = None


class TakenOut(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    quantity: int


class AlternativeOut(msgspec.Struct):
    resource_id: int
    resource_name: str
    starts_at: datetime
    ends_at: datetime
    kind: str

    @classmethod
    def of(cls, alternative: Alternative) -> AlternativeOut:
        return cls(
            alternative.resource_id, alternative.resource_name, alternative.interval.starts_at,
            alternative.interval.ends_at, alternative.kind,
        )


class RefusedOut(msgspec.Struct):
    local_start: str
    starts_at: datetime | None
    ends_at: datetime | None
    code: str
    reason: str
    field: str | None
    booking_id: int | None
    conflicts: list[TakenOut]
    alternatives: list[AlternativeOut]

    @classmethod
    def of(cls, item: RefusedOccurrence) -> RefusedOut:
        return cls(
            local_start=item.local_start.isoformat(timespec="minutes"), starts_at=item.starts_at, ends_at=item.ends_at,
            code=item.code, reason=item.reason, field=item.field, booking_id=item.booking_id,
            conflicts=[TakenOut(c.starts_at, c.ends_at, c.quantity) for c in item.conflicts],
            alternatives=[AlternativeOut.of(a) for a in item.alternatives],
        )


class OccurrenceOut(msgspec.Struct):
    booking_id: int
    starts_at: datetime
    ends_at: datetime
    local_start: str
    local_end: str
    status: str
    sequence: int
    recurrence_id: datetime | None

    @classmethod
    def of(cls, booking: Booking, timezone: str) -> OccurrenceOut:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(timezone)
        return cls(
            booking_id=booking.id, starts_at=booking.starts_at, ends_at=booking.ends_at,  # type: ignore[arg-type]
            local_start=booking.starts_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes"),
            local_end=booking.ends_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes"),
            status=booking.status, sequence=booking.sequence, recurrence_id=booking.recurrence_id,
        )


class SeriesOut(msgspec.Struct):
    id: int
    resource_id: int
    resource_name: str
    site_id: int
    timezone: str
    rrule: str
    local_start: str
    duration_minutes: int
    excluded_dates: list[str]
    quantity: int
    organisation_id: int | None
    booker_id: int
    title: str
    purpose: str
    is_public: bool
    sequence: int
    created_at: datetime
    updated_at: datetime
    occurrences: list[OccurrenceOut]
    refused: list[RefusedOut]

    @classmethod
    def of(cls, view: Any, occurrences: list[Booking], refused: list[RefusedOccurrence] | None = None) -> SeriesOut:
        series, resource = view.series, view.resource
        return cls(
            id=series.id, resource_id=series.resource_id, resource_name=resource.name, site_id=resource.site_id,
            timezone=series.timezone, rrule=series.rrule, local_start=series.local_start,
            duration_minutes=series.duration_minutes, excluded_dates=list(series.exdates), quantity=series.quantity,
            organisation_id=series.organisation_id, booker_id=series.booker_id, title=series.title,
            purpose=series.purpose, is_public=series.is_public, sequence=series.sequence,
            created_at=series.created_at, updated_at=series.updated_at,
            occurrences=[OccurrenceOut.of(b, series.timezone) for b in occurrences],
            refused=[RefusedOut.of(r) for r in refused or []],
        )


def _local_datetime(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("a local date and time like 2026-02-03T18:00", field=field) from None
    if parsed.tzinfo is not None:
        raise InvalidInput("a series' times are local wall times in the site's zone, without offset", field=field)
    return parsed


def _local_time(value: str, field: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise InvalidInput("a local time of day like 19:00", field=field) from None
    if parsed.tzinfo is not None:
        raise InvalidInput("a local time of day without offset", field=field)
    return parsed


def _series_request(data: SeriesCreate) -> SeriesRequest:
    starts_at = _local_datetime(data.starts_at, "starts_at")
    if (data.ends_at is None) == (data.duration_minutes is None):
        raise InvalidInput("give either ends_at or duration_minutes", field="ends_at")
    if data.ends_at is not None:
        duration = _local_datetime(data.ends_at, "ends_at") - starts_at
    else:
        duration = timedelta(minutes=data.duration_minutes or 0)
    rule: RecurrenceRule | str
    if data.rrule is not None:
        if data.frequency is not None or data.until is not None or data.count is not None or data.weekdays:
            raise InvalidInput("give either rrule or frequency/weekdays/until/count, not both", field="rrule")
        rule = data.rrule
    else:
        if data.frequency is None:
            raise InvalidInput("give the frequency (daily, weekly, monthly) or an rrule", field="frequency")
        rule = RecurrenceRule(
            frequency=data.frequency, interval=data.interval, weekdays=tuple(data.weekdays),
            weekday_position=data.weekday_position, until=data.until, count=data.count,
            excluded_dates=tuple(data.excluded_dates),
        )
    return SeriesRequest(
        resource_id=data.resource_id, local_start=starts_at, duration=duration, rule=rule,
        quantity=data.quantity, organisation_id=data.organisation_id, title=data.title, purpose=data.purpose,
        is_public=data.is_public, excluded_dates=tuple(data.excluded_dates),
    )


def series_conflict_handler(request: Request, error: SeriesConflict) -> Response[Any]:
    body = {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": error.message,
        "code": error.code,
        "refused": [RefusedOut.of(item) for item in error.refused],
        "conflicts": [TakenOut(c.starts_at, c.ends_at, c.quantity) for c in error.conflicts],
        "alternatives": [AlternativeOut.of(a) for a in error.alternatives],
    }
    return Response(msgspec.json.encode(body), status_code=409, media_type=PROBLEM_JSON)


class SeriesController(Controller):
    path = "/api/v1/series"
    tags = ["series"]
    guards = [requires_login]
    exception_handlers = {SeriesConflict: series_conflict_handler}  # type: ignore[dict-item]

    @post("/", summary="Book a recurring series")
    async def create(self, request: Request, app_context: Ctx, data: JSONBody[SeriesCreate]) -> SeriesOut:
        result = await series_service.create_series(app_context, request.user, _series_request(data), mode=data.mode)
        return SeriesOut.of(result, result.booked, result.refused)

    @get("/{series_id:int}", summary="A series with all its dates")
    async def read(self, request: Request, app_context: Ctx, series_id: FromPath[int]) -> SeriesOut:
        view = await series_service.get_series(app_context, request.user, series_id)
        return SeriesOut.of(view, view.occurrences)

    @post("/{series_id:int}/cancel", status_code=200, summary="Cancel all dates, or this and the following ones")
    async def cancel(
        self, request: Request, app_context: Ctx, series_id: FromPath[int], data: JSONBody[SeriesCancel]
    ) -> SeriesOut:
        view = await series_service.cancel_series(
            app_context, request.user, series_id, scope=data.scope, from_=data.from_, reason=data.reason
        )
        return SeriesOut.of(view, view.occurrences)

    @post("/{series_id:int}/approve", status_code=200, guards=[requires_lender], summary="Approve every requested date (lenders of the site)")
    async def approve(self, request: Request, app_context: Ctx, series_id: FromPath[int]) -> SeriesOut:
        view = await series_service.approve_series(app_context, request.user, series_id)
        return SeriesOut.of(view, view.occurrences)

    @post("/{series_id:int}/decline", status_code=200, guards=[requires_lender], summary="Decline every requested date with a reason (lenders of the site)")
    async def decline(
        self, request: Request, app_context: Ctx, series_id: FromPath[int], data: JSONBody[SeriesDecline]
    ) -> SeriesOut:
        view = await series_service.decline_series(app_context, request.user, series_id, data.reason)
        return SeriesOut.of(view, view.occurrences)

    @patch("/{series_id:int}", summary="Move this and the following dates (time of day, length)")
    async def change(
        self, request: Request, app_context: Ctx, series_id: FromPath[int], data: JSONBody[SeriesChange]
    ) -> SeriesOut:
        view = await series_service.change_series(
            app_context, request.user, series_id, from_=data.from_,
            local_time=_local_time(data.start_time, "start_time") if data.start_time is not None else None,
            duration=timedelta(minutes=data.duration_minutes) if data.duration_minutes is not None else None,
        )
        return SeriesOut.of(view, view.occurrences)


ROUTES = [SeriesController]
