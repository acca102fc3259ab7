"""Co-working desks over the JSON API.

  GET  /api/v1/sites/{site_id}/desks?day=YYYY-MM-DD   which desks are free, per part of the day
  POST /api/v1/desk-bookings                          book a desk for a day, morning or afternoon
  POST /api/v1/desk-series                            the same every week (via services.series)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from booking.api.schemas import BookingOut, Id, PositiveInt, ShortText
from booking.auth.guards import public, requires_login
from booking.services import catalogue, coworking
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]
Part = Literal["full", "morning", "afternoon"]


class PartOut(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime


class DeskOut(msgspec.Struct):
    resource_id: int
    name: str
    category: str
    description: str
    capacity: int
    is_pool: bool
    free: dict[str, int]
    bookable: dict[str, bool]
    my_booking_ids: list[int]
    blocked_reason: str | None


class DeskDayOut(msgspec.Struct):
    site_id: int
    site_name: str
    day: date
    is_open: bool
    parts: dict[str, PartOut | None]
    desks: list[DeskOut]


class DeskBookingCreate(msgspec.Struct, forbid_unknown_fields=True):
    resource_id: Id
    day: date
    part: Part = "full"
    quantity: PositiveInt = 1
    organisation_id: Id | None = None
    title: ShortText = ""
    purpose: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class DeskSeriesCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Every week on the weekday of ``first_day``, until a last day or for ``count`` weeks."""

    resource_id: Id
    first_day: date
    part: Part = "full"
    until: date | None = None
    count: Annotated[int, msgspec.Meta(ge=1, le=366)] | None = None
    quantity: PositiveInt = 1
    organisation_id: Id | None = None
    title: ShortText = ""
    mode: Literal["book_free", "all_or_nothing"] = "book_free"


class RefusedDateOut(msgspec.Struct):
    local_start: datetime
    code: str
    reason: str


class DeskSeriesOut(msgspec.Struct):
    series_id: int
    booked: list[BookingOut]
    refused: list[RefusedDateOut]


def _part(interval) -> PartOut | None:  # type: ignore[no-untyped-def]
    return PartOut(interval.starts_at, interval.ends_at) if interval is not None else None


class CoworkingController(Controller):
    path = "/api/v1"
    tags = ["co-working"]

    @get("/sites/{site_id:int}/desks", guards=[public])
    async def desk_day(self, request: Request, app_context: Ctx, site_id: FromPath[int], day: FromQuery[date | None] = None) -> DeskDayOut:
        if day is None:
            site = await catalogue.get_site(app_context, site_id)
            day = coworking.local_today(site, app_context.now())
        result = await coworking.desk_day(app_context, site_id, day, request.user)
        parts = result.parts
        return DeskDayOut(
            site_id=site_id,
            site_name=result.site.name,
            day=result.day,
            is_open=result.is_open,
            parts={"full": _part(parts.full), "morning": _part(parts.morning), "afternoon": _part(parts.afternoon)},
            desks=[
                DeskOut(
                    resource_id=state.resource.id,  # type: ignore[arg-type]
                    name=state.resource.name,
                    category=state.resource.category,
                    description=state.resource.description,
                    capacity=state.capacity,
                    is_pool=state.capacity > 1,
                    free=state.free,
                    bookable=state.bookable,
                    my_booking_ids=[b.id for b in state.mine],  # type: ignore[misc]
                    blocked_reason=state.blocked_reason,
                )
                for state in result.desks
            ],
        )

    @post("/desk-bookings", guards=[requires_login])
    async def book_desk(self, request: Request, app_context: Ctx, data: JSONBody[DeskBookingCreate]) -> BookingOut:
        booking = await coworking.book_desk(
            app_context, request.user,
            coworking.DeskRequest(
                resource_id=data.resource_id, day=data.day, part=data.part, quantity=data.quantity,
                organisation_id=data.organisation_id, title=data.title, purpose=data.purpose,
            ),
        )
        details = await catalogue.get_resource(app_context, request.user, booking.resource_id)
        return BookingOut.of(booking, details.resource)


    @post("/desk-series", guards=[requires_login])
    async def book_desk_weekly(self, request: Request, app_context: Ctx, data: JSONBody[DeskSeriesCreate]) -> DeskSeriesOut:
        result = await coworking.book_desk_weekly(
            app_context, request.user,
            coworking.DeskSeriesRequest(
                resource_id=data.resource_id, first_day=data.first_day, part=data.part, until=data.until,
                count=data.count, quantity=data.quantity, organisation_id=data.organisation_id, title=data.title,
                mode=data.mode,
            ),
        )
        return DeskSeriesOut(
            series_id=result.series.id,
            booked=[BookingOut.of(b, result.resource) for b in result.booked],
            refused=[RefusedDateOut(r.local_start, r.code, r.reason) for r in result.refused],
        )


ROUTES = [CoworkingController]
