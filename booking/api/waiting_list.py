"""/api/v1/waiting-list: join the waiting list of a taken slot, list and leave one's entries,
take or decline a hold offered from it (see ``services.waiting_list``, ``waiting_list_views``,
``waiting_list_holds``)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from booking.api.schemas import BookingOut, Id, Instant, PositiveInt, ShortText
from booking.auth.guards import requires_login
from booking.services import bookings, waiting_list, waiting_list_holds, waiting_list_views
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]


class WaitingListJoin(msgspec.Struct, forbid_unknown_fields=True):
    resource_id: Id
    starts_at: Instant
    ends_at: Instant
    quantity: PositiveInt = 1
    organisation_id: Id | None = None
    title: ShortText = ""


class WaitingListEntryOut(msgspec.Struct):
    id: int
    resource_id: int
    resource_name: str
    site_id: int
    starts_at: datetime
    ends_at: datetime
    quantity: int
    organisation_id: int | None
    title: str
    # waiting | offered | booked | expired | withdrawn | lapsed (its time began while still waiting)
    status: str
    # Place in the resource's line (1 = next to be offered) while waiting; null otherwise.
    place: int | None
    # The held booking while offered (then hold_expires_at says until when), the booking once taken.
    booking_id: int | None
    hold_expires_at: datetime | None
    created_at: datetime
    offered_at: datetime | None
    decided_at: datetime | None

    @classmethod
    def of(cls, view: waiting_list_views.EntryView) -> WaitingListEntryOut:
        entry = view.entry
        return cls(
            id=entry.id, resource_id=entry.resource_id, resource_name=view.resource.name,  # type: ignore[arg-type]
            site_id=view.resource.site_id, starts_at=entry.starts_at, ends_at=entry.ends_at, quantity=entry.quantity,
            organisation_id=entry.organisation_id, title=entry.title, status=entry.status, place=view.place,
            booking_id=entry.booking_id,
            hold_expires_at=view.hold.hold_expires_at if view.hold is not None and view.hold.status == "held" else None,
            created_at=entry.created_at, offered_at=entry.offered_at, decided_at=entry.decided_at,
        )


class WaitingListController(Controller):
    path = "/api/v1/waiting-list"
    tags = ["waiting list"]
    guards = [requires_login]

    @post("/")
    async def join(self, request: Request, app_context: Ctx, data: JSONBody[WaitingListJoin]) -> WaitingListEntryOut:
        """Join the waiting list of a slot that is taken now (409 ``slot_free`` when it can be booked)."""
        entry = await waiting_list.join(
            app_context, request.user,
            waiting_list.JoinRequest(
                resource_id=data.resource_id, starts_at=data.starts_at, ends_at=data.ends_at, quantity=data.quantity,
                organisation_id=data.organisation_id, title=data.title,
            ),
        )
        return WaitingListEntryOut.of(await waiting_list_views.get_entry(app_context, request.user, entry.id))  # type: ignore[arg-type]

    @get("/")
    async def mine(self, request: Request, app_context: Ctx) -> list[WaitingListEntryOut]:
        """The caller's open entries (waiting, or offered with a hold), soonest first."""
        return [WaitingListEntryOut.of(view) for view in await waiting_list_views.my_entries(app_context, request.user)]

    @delete("/{entry_id:int}", status_code=204)
    async def withdraw(self, request: Request, app_context: Ctx, entry_id: FromPath[int]) -> None:
        """Leave the waiting list (a hold offered from it is declined with it)."""
        await waiting_list_views.withdraw(app_context, request.user, entry_id)

    @post("/holds/{booking_id:int}/confirm", status_code=200)
    async def confirm(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> BookingOut:
        """Take the hold offered: confirmed, or requested where the site approves each booking."""
        await waiting_list_holds.confirm_hold(app_context, request.user, booking_id)
        booking, resource = await bookings.get_booking(app_context, request.user, booking_id)
        return BookingOut.of(booking, resource)

    @post("/holds/{booking_id:int}/decline", status_code=200)
    async def decline(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> BookingOut:
        """Decline the hold offered; the next person in line is offered it."""
        await waiting_list_holds.decline_hold(app_context, request.user, booking_id)
        booking, resource = await bookings.get_booking(app_context, request.user, booking_id)
        return BookingOut.of(booking, resource)


ROUTES = [WaitingListController]
