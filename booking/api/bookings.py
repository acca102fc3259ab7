"""/api/v1/bookings: create, read, list, change and the lifecycle actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from booking.api.options import UNCOMPRESSED
from booking.api.schemas import BookingChange, BookingCreate, BookingEventOut, BookingOut, BookingPreviewOut, ReasonData
from booking.auth.guards import requires_login
from booking.services import bookings
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]


class BookingController(Controller):
    path = "/api/v1/bookings"
    tags = ["bookings"]
    guards = [requires_login]

    @post("/", opt={UNCOMPRESSED: True})
    async def create(self, request: Request, app_context: Ctx, data: JSONBody[BookingCreate]) -> BookingOut:
        booking, resource = await bookings.place_booking(
            app_context,
            request.user,
            bookings.BookingRequest(
                resource_id=data.resource_id, starts_at=data.starts_at, ends_at=data.ends_at,
                quantity=data.quantity, organisation_id=data.organisation_id, title=data.title,
                purpose=data.purpose, is_public=data.is_public,
            ),
        )
        # What was just written is answered as is, without reading it back.
        return BookingOut.of(booking, resource)

    @post("/preview", status_code=200)
    async def preview(self, request: Request, app_context: Ctx, data: JSONBody[BookingCreate]) -> BookingPreviewOut:
        """What creating this booking would do now, without booking: confirmed at once or
        requested (a lender decides), why, and the quotas it counts against. Refused like a
        create would be (409 taken or beyond a quota, 422 a rule, 400 bad input)."""
        preview = await bookings.preview_booking(
            app_context,
            request.user,
            bookings.BookingRequest(
                resource_id=data.resource_id, starts_at=data.starts_at, ends_at=data.ends_at,
                quantity=data.quantity, organisation_id=data.organisation_id, title=data.title,
                purpose=data.purpose, is_public=data.is_public,
            ),
        )
        return BookingPreviewOut.of(preview)

    @get("/")
    async def list_bookings(
        self,
        request: Request,
        app_context: Ctx,
        # 'scope' is reserved for the ASGI scope: another Python name, the same query name
        scope_name: Annotated[str, QueryParameter(name="scope")] = "mine",
        status: FromQuery[list[str] | None] = None,
        starts_after: Annotated[datetime | None, QueryParameter(name="from")] = None,
        starts_before: Annotated[datetime | None, QueryParameter(name="until")] = None,
        organisation_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        site_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        resource_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[BookingOut]:
        query = bookings.BookingFilter(
            scope=scope_name, statuses=tuple(status or ()), starts_after=starts_after, starts_before=starts_before,
            organisation_id=organisation_id, site_id=site_id, resource_id=resource_id, limit=limit, offset=offset,
        )
        rows = await bookings.list_bookings(app_context, request.user, query)
        return [BookingOut.of(booking, resource) for booking, resource in rows]

    @get("/{booking_id:int}")
    async def read(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> BookingOut:
        return await _booking_out(app_context, request, booking_id)

    @get("/{booking_id:int}/history")
    async def history(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> list[BookingEventOut]:
        return [BookingEventOut.of(e) for e in await bookings.booking_history(app_context, request.user, booking_id)]

    @patch("/{booking_id:int}")
    async def change(
        self, request: Request, app_context: Ctx, booking_id: FromPath[int], data: JSONBody[BookingChange]
    ) -> BookingOut:
        await bookings.change_booking(
            app_context, request.user, booking_id, starts_at=data.starts_at, ends_at=data.ends_at, quantity=data.quantity
        )
        return await _booking_out(app_context, request, booking_id)

    @post("/{booking_id:int}/approve", status_code=200)
    async def approve(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> BookingOut:
        await bookings.approve_booking(app_context, request.user, booking_id)
        return await _booking_out(app_context, request, booking_id)

    @post("/{booking_id:int}/decline", status_code=200)
    async def decline(
        self, request: Request, app_context: Ctx, booking_id: FromPath[int], data: JSONBody[ReasonData]
    ) -> BookingOut:
        await bookings.decline_booking(app_context, request.user, booking_id, data.reason)
        return await _booking_out(app_context, request, booking_id)

    @post("/{booking_id:int}/cancel", status_code=200)
    async def cancel(
        self, request: Request, app_context: Ctx, booking_id: FromPath[int], data: JSONBody[ReasonData | None] = None
    ) -> BookingOut:
        await bookings.cancel_booking(app_context, request.user, booking_id, data.reason if data else "")
        return await _booking_out(app_context, request, booking_id)


async def _booking_out(app_context: AppContext, request: Request, booking_id: int) -> BookingOut:
    booking, resource = await bookings.get_booking(app_context, request.user, booking_id)
    return BookingOut.of(booking, resource)
