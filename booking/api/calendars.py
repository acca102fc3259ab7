"""Free/busy of a resource or a site, as JSON and as VFREEBUSY; calendar grids as JSON.

Free/busy says only *when* no unit is left (requested bookings hold capacity too), never who
booked. ``from`` and ``until`` are instants with offset; without them the next 30 days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from booking.auth.guards import public
from booking.domain.errors import InvalidInput
from booking.domain.intervals import Interval
from booking.ical import build_freebusy
from booking.ical.feeds import build_freebusy_calendar
from booking.services import calendar as calendar_service
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]
# Litestar appends "; charset=utf-8" to text/* media types.
CALENDAR_MEDIA_TYPE = "text/calendar"
DEFAULT_RANGE = timedelta(days=30)


class BusyOut(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime


class ResourceFreeBusyOut(msgspec.Struct):
    resource_id: int
    resource_name: str
    kind: str
    capacity: int
    starts_at: datetime
    ends_at: datetime
    busy: list[BusyOut]


class SiteFreeBusyOut(msgspec.Struct):
    site_id: int
    site_name: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    resources: list[ResourceFreeBusyOut]


class DayOut(msgspec.Struct):
    date: date
    state: str
    free_minutes: int
    free: list[BusyOut]


class ResourceDaysOut(msgspec.Struct):
    resource_id: int
    resource_name: str
    site_id: int
    kind: str
    category: str
    capacity: int
    days: list[DayOut]


class CalendarOut(msgspec.Struct):
    view: str
    first_day: date
    last_day: date
    resources: list[ResourceDaysOut]


def _window(app_context: AppContext, starts_at: datetime | None, ends_at: datetime | None) -> Interval:
    starts_at = starts_at or app_context.now()
    ends_at = ends_at or starts_at + DEFAULT_RANGE
    for name, value in (("from", starts_at), ("until", ends_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput(f"{name} needs an offset, e.g. 2026-03-03T18:00:00+01:00", field=name)
    return Interval(starts_at, ends_at)


def _resource_out(item: calendar_service.FreeBusy, window: Interval) -> ResourceFreeBusyOut:
    return ResourceFreeBusyOut(
        resource_id=item.resource.id, resource_name=item.resource.name, kind=item.resource.kind,  # type: ignore[arg-type]
        capacity=item.resource.capacity, starts_at=window.starts_at, ends_at=window.ends_at,
        busy=[BusyOut(i.starts_at, i.ends_at) for i in item.busy],
    )


FromParam = Annotated[datetime | None, QueryParameter(name="from", description="start, with offset (default: now)")]
UntilParam = Annotated[datetime | None, QueryParameter(name="until", description="end, with offset (default: 30 days on)")]


class CalendarsController(Controller):
    path = "/api/v1"
    tags = ["calendars"]
    guards = [public]

    @get("/resources/{resource_id:int}/freebusy", summary="When a resource has no unit left")
    async def resource_free_busy(
        self, request: Request, app_context: Ctx, resource_id: FromPath[int], starts_at: FromParam = None, ends_at: UntilParam = None
    ) -> ResourceFreeBusyOut:
        window = _window(app_context, starts_at, ends_at).in_utc()
        item = await calendar_service.resource_free_busy(app_context, request.user, resource_id, window)
        return _resource_out(item, window)

    @get("/resources/{resource_id:int}/freebusy.ics", summary="VFREEBUSY of a resource")
    async def resource_free_busy_ics(
        self, request: Request, app_context: Ctx, resource_id: FromPath[int], starts_at: FromParam = None, ends_at: UntilParam = None
    ) -> Response[bytes]:
        window = _window(app_context, starts_at, ends_at).in_utc()
        item = await calendar_service.resource_free_busy(app_context, request.user, resource_id, window)
        body = build_freebusy(
            [(i.starts_at, i.ends_at) for i in item.busy], starts_at=window.starts_at, ends_at=window.ends_at,
            dtstamp=app_context.now(), uid=f"freebusy-resource-{resource_id}@{app_context.settings.host_name}",
            name=item.resource.name,
        )
        return Response(body, media_type=CALENDAR_MEDIA_TYPE)

    @get("/sites/{site_id:int}/freebusy", summary="When each resource of a site has no unit left")
    async def site_free_busy(
        self, request: Request, app_context: Ctx, site_id: FromPath[int], starts_at: FromParam = None, ends_at: UntilParam = None
    ) -> SiteFreeBusyOut:
        window = _window(app_context, starts_at, ends_at).in_utc()
        site, items = await calendar_service.site_free_busy(app_context, request.user, site_id, window)
        return SiteFreeBusyOut(
            site_id=site.id, site_name=site.name, timezone=site.timezone,  # type: ignore[arg-type]
            starts_at=window.starts_at, ends_at=window.ends_at, resources=[_resource_out(item, window) for item in items],
        )

    @get("/sites/{site_id:int}/freebusy.ics", summary="VFREEBUSY per resource of a site")
    async def site_free_busy_ics(
        self, request: Request, app_context: Ctx, site_id: FromPath[int], starts_at: FromParam = None, ends_at: UntilParam = None
    ) -> Response[bytes]:
        window = _window(app_context, starts_at, ends_at).in_utc()
        site, items = await calendar_service.site_free_busy(app_context, request.user, site_id, window)
        host = app_context.settings.host_name
        body = build_freebusy_calendar(
            [
                (f"freebusy-resource-{item.resource.id}@{host}", item.resource.name, [(i.starts_at, i.ends_at) for i in item.busy])
                for item in items
            ],
            starts_at=window.starts_at, ends_at=window.ends_at, dtstamp=app_context.now(), name=site.name,
        )
        return Response(body, media_type=CALENDAR_MEDIA_TYPE)

    @get("/calendar", summary="Free and taken time per resource and day (month or week)")
    async def calendar(
        self,
        request: Request,
        app_context: Ctx,
        view: FromQuery[Literal["month", "week"]] = "month",
        day: Annotated[date | None, QueryParameter(name="date")] = None,
        site_id: Annotated[int | None, QueryParameter(name="site", ge=1)] = None,
        kind: FromQuery[Literal["room", "desk", "item"] | None] = None,
        category: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> CalendarOut:
        page = await calendar_service.calendar_page(
            app_context, request.user,
            calendar_service.CalendarQuery(
                view=view, day=day, site_id=site_id, kind=kind or None, category=category or None, segments=True,
                per_page=calendar_service.MAX_RESOURCES_PER_PAGE,
            ),
        )
        resources = [
            ResourceDaysOut(
                resource_id=plan.resource.id, resource_name=plan.resource.name, site_id=plan.resource.site_id,  # type: ignore[arg-type]
                kind=plan.resource.kind, category=plan.resource.category, capacity=plan.resource.capacity,
                days=[
                    DayOut(
                        date=d.day, state=d.state, free_minutes=int(d.free_time.total_seconds() // 60),
                        free=[BusyOut(s.interval.starts_at, s.interval.ends_at) for s in d.segments if s.state == "free"],
                    )
                    for d in plan.days
                ],
            )
            for site_plan in page.plans
            for plan in site_plan.resources
        ]
        return CalendarOut(view=page.view, first_day=page.days[0], last_day=page.days[-1], resources=resources)


ROUTES = [CalendarsController]
