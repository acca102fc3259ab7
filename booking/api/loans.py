"""Lending things over the JSON API: day spans, kits, hand-out, take-back, overdue, repair, history.

Routes (all under /api/v1):
  POST /item-bookings                       book units of a thing from first_day to last_day
  GET  /sites/{site_id}/day-span            pick-up and return instants for a span of days
  POST /kits                                several things over one span, all or nothing
  POST /bookings/{booking_id}/hand-out      lender hands out a confirmed booking (and its kit)
  POST /bookings/{booking_id}/take-back     lender takes it back
  GET  /bookings/{booking_id}/loan          the loan record of a booking
  GET  /lender/today                        hand-outs and returns due today at my sites
  GET  /lender/overdue                      overdue loans at my sites
  POST /resources/{resource_id}/repair-blocks            block a thing for repair
  DELETE /resources/{resource_id}/repair-blocks/{block_id}  lift a repair block
  GET  /resources/{resource_id}/history     audit trail of a thing across its bookings
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from booking.api.schemas import BookingOut, Id, Instant, LongText, PositiveInt, ShortText
from booking.auth.guards import public, requires_lender, requires_login
from booking.domain.errors import InvalidInput
from booking.domain.intervals import Interval
from booking.models import Loan
from booking.services import (
    catalogue,
    handover,
    item_history,
    lender_lists,
    lending_bookings,
    lending_common,
    repairs,
)
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]
Note = Annotated[str, msgspec.Meta(max_length=2000)]
DepositNote = Annotated[str, msgspec.Meta(max_length=500)]
RepairReason = Annotated[str, msgspec.Meta(max_length=500)]


class DayBookingCreate(msgspec.Struct, forbid_unknown_fields=True):
    resource_id: Id
    first_day: date
    last_day: date
    quantity: PositiveInt = 1
    organisation_id: Id | None = None
    title: ShortText = ""
    purpose: LongText = ""
    is_public: bool = False


class KitPartIn(msgspec.Struct, forbid_unknown_fields=True):
    resource_id: Id
    quantity: PositiveInt = 1


class KitCreate(msgspec.Struct, forbid_unknown_fields=True):
    parts: Annotated[list[KitPartIn], msgspec.Meta(min_length=1, max_length=lending_bookings.MAX_KIT_PARTS)]
    first_day: date | None = None
    last_day: date | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    organisation_id: Id | None = None
    title: ShortText = ""
    purpose: LongText = ""
    is_public: bool = False


class KitOut(msgspec.Struct):
    group_key: str
    status: str
    bookings: list[BookingOut]


class DaySpanOut(msgspec.Struct):
    site_id: int
    first_day: date
    last_day: date
    pickup_at: datetime
    return_at: datetime


class HandOutData(msgspec.Struct, forbid_unknown_fields=True):
    condition: Note = ""
    deposit_note: DepositNote = ""
    whole_kit: bool = True


class TakeBackData(msgspec.Struct, forbid_unknown_fields=True):
    condition: Note = ""
    damage_notes: Note = ""
    missing_parts: Note = ""
    whole_kit: bool = True


class LoanRecordOut(msgspec.Struct):
    checked_out_at: datetime
    checked_out_by_id: int
    condition_out: str
    deposit_note: str
    returned_at: datetime | None
    returned_by_id: int | None
    condition_in: str
    damage_notes: str
    missing_parts: str

    @classmethod
    def of(cls, loan: Loan | None) -> LoanRecordOut | None:
        if loan is None:
            return None
        return cls(
            checked_out_at=loan.checked_out_at, checked_out_by_id=loan.checked_out_by_id,
            condition_out=loan.condition_out, deposit_note=loan.deposit_note, returned_at=loan.returned_at,
            returned_by_id=loan.returned_by_id, condition_in=loan.condition_in, damage_notes=loan.damage_notes,
            missing_parts=loan.missing_parts,
        )


class LoanOut(msgspec.Struct):
    booking: BookingOut
    loan: LoanRecordOut | None


class LoansOut(msgspec.Struct):
    """The bookings one hand-out or take-back covered (the asked one first, then its kit)."""

    loans: list[LoanOut]


class LenderRowOut(msgspec.Struct):
    booking: BookingOut
    site_name: str
    booker_name: str
    booker_email: str
    organisation_name: str | None
    is_overdue: bool
    overdue_since: datetime | None
    kit_booking_ids: list[int]
    loan: LoanRecordOut | None

    @classmethod
    def of(cls, row: lending_common.LoanRow) -> LenderRowOut:
        return cls(
            booking=BookingOut.of(row.booking, row.resource), site_name=row.site.name,
            booker_name=row.booker.display_name, booker_email=row.booker.email,
            organisation_name=row.organisation.name if row.organisation else None, is_overdue=row.is_overdue,
            overdue_since=row.overdue_since, kit_booking_ids=[b.id for b, _ in row.kit_others],  # type: ignore[misc]
            loan=LoanRecordOut.of(row.loan),
        )


class LenderDayOut(msgspec.Struct):
    day: date
    pickups: list[LenderRowOut]
    returns: list[LenderRowOut]
    overdue: list[LenderRowOut]


class RepairBlockCreate(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    first_day: date | None = None
    last_day: date | None = None
    reason: RepairReason = ""


class RepairBlockOut(msgspec.Struct):
    id: int
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    # Bookings in the blocked period: not cancelled, for the lender to handle.
    affected: list[LenderRowOut]


class HistoryEntryOut(msgspec.Struct):
    at: datetime
    action: str
    booking_id: int | None
    from_status: str | None
    to_status: str | None
    reason: str
    details: dict[str, Any]
    actor_name: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    organisation_name: str | None
    quantity: int | None


def _loans_out(pairs: list[tuple[Any, Loan]], resources: dict[int, Any]) -> LoansOut:
    return LoansOut(loans=[LoanOut(BookingOut.of(b, resources[b.resource_id]), LoanRecordOut.of(loan)) for b, loan in pairs])


class ItemBookingController(Controller):
    path = "/api/v1"
    tags = ["lending"]

    @post("/item-bookings", guards=[requires_login])
    async def book_days(self, request: Request, app_context: Ctx, data: JSONBody[DayBookingCreate]) -> BookingOut:
        booking = await lending_bookings.book_days(
            app_context, request.user,
            lending_bookings.DaySpanRequest(
                resource_id=data.resource_id, first_day=data.first_day, last_day=data.last_day,
                quantity=data.quantity, organisation_id=data.organisation_id, title=data.title,
                purpose=data.purpose, is_public=data.is_public,
            ),
        )
        details = await catalogue.get_resource(app_context, request.user, booking.resource_id)
        return BookingOut.of(booking, details.resource)

    @get("/sites/{site_id:int}/day-span", guards=[public])
    async def day_span(self, app_context: Ctx, site_id: FromPath[int], first_day: FromQuery[date], last_day: FromQuery[date]) -> DaySpanOut:
        site = await catalogue.get_site(app_context, site_id)
        pickup_at, return_at = lending_bookings.day_span(site, first_day, last_day)
        return DaySpanOut(site_id=site_id, first_day=first_day, last_day=last_day, pickup_at=pickup_at, return_at=return_at)

    @post("/kits", guards=[requires_login])
    async def book_kit(self, request: Request, app_context: Ctx, data: JSONBody[KitCreate]) -> KitOut:
        made = await lending_bookings.book_kit(
            app_context, request.user,
            lending_bookings.KitRequest(
                parts=tuple(lending_bookings.KitPart(p.resource_id, p.quantity) for p in data.parts),
                starts_at=data.starts_at, ends_at=data.ends_at, first_day=data.first_day, last_day=data.last_day,
                organisation_id=data.organisation_id, title=data.title, purpose=data.purpose, is_public=data.is_public,
            ),
        )
        rows = await lending_bookings.kit_of(app_context, made[0])
        return KitOut(
            group_key=made[0].group_key or "", status=made[0].status,
            bookings=[BookingOut.of(b, r) for b, r in rows],
        )


class LoanController(Controller):
    path = "/api/v1"
    tags = ["lending"]

    @post("/bookings/{booking_id:int}/hand-out", status_code=200, guards=[requires_lender])
    async def hand_out(self, request: Request, app_context: Ctx, booking_id: FromPath[int], data: JSONBody[HandOutData]) -> LoansOut:
        done = await handover.hand_out(
            app_context, request.user, booking_id,
            handover.HandOut(condition=data.condition, deposit_note=data.deposit_note), whole_kit=data.whole_kit,
        )
        return await _with_resources(app_context, request, done)

    @post("/bookings/{booking_id:int}/take-back", status_code=200, guards=[requires_lender])
    async def take_back(self, request: Request, app_context: Ctx, booking_id: FromPath[int], data: JSONBody[TakeBackData]) -> LoansOut:
        done = await handover.take_back(
            app_context, request.user, booking_id,
            handover.TakeBack(condition=data.condition, damage_notes=data.damage_notes, missing_parts=data.missing_parts),
            whole_kit=data.whole_kit,
        )
        return await _with_resources(app_context, request, done)

    @get("/bookings/{booking_id:int}/loan", guards=[requires_login])
    async def read_loan(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> LoanOut:
        booking, resource, loan = await handover.get_loan(app_context, request.user, booking_id)
        return LoanOut(BookingOut.of(booking, resource), LoanRecordOut.of(loan))

    @get("/lender/today", guards=[requires_lender])
    async def today(
        self,
        request: Request,
        app_context: Ctx,
        day: FromQuery[date | None] = None,
        site_id: Annotated[int | None, QueryParameter(ge=1)] = None,
    ) -> LenderDayOut:
        result = await lender_lists.lender_today(app_context, request.user, day, site_id)
        return LenderDayOut(
            day=result.day,
            pickups=[LenderRowOut.of(r) for r in result.pickups],
            returns=[LenderRowOut.of(r) for r in result.returns],
            overdue=[LenderRowOut.of(r) for r in result.overdue],
        )

    @get("/lender/overdue", guards=[requires_lender])
    async def overdue(
        self, request: Request, app_context: Ctx, site_id: Annotated[int | None, QueryParameter(ge=1)] = None
    ) -> list[LenderRowOut]:
        return [LenderRowOut.of(r) for r in await lender_lists.list_overdue(app_context, request.user, site_id)]

    @post("/resources/{resource_id:int}/repair-blocks", guards=[requires_lender])
    async def block_for_repair(
        self, request: Request, app_context: Ctx, resource_id: FromPath[int], data: JSONBody[RepairBlockCreate]
    ) -> RepairBlockOut:
        interval = await _repair_interval(app_context, request, resource_id, data)
        report = await repairs.block_for_repair(app_context, request.user, resource_id, interval, data.reason)
        block = report.blackout
        return RepairBlockOut(
            id=block.id, resource_id=resource_id, starts_at=block.starts_at, ends_at=block.ends_at,  # type: ignore[arg-type]
            reason=block.reason, affected=[LenderRowOut.of(r) for r in report.affected],
        )

    @delete("/resources/{resource_id:int}/repair-blocks/{block_id:int}", guards=[requires_lender])
    async def lift_repair_block(self, request: Request, app_context: Ctx, resource_id: FromPath[int], block_id: FromPath[int]) -> None:
        await repairs.remove_repair_block(app_context, request.user, resource_id, block_id)

    @get("/resources/{resource_id:int}/history", guards=[requires_lender])
    async def history(
        self,
        request: Request,
        app_context: Ctx,
        resource_id: FromPath[int],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> list[HistoryEntryOut]:
        result = await item_history.item_history(app_context, request.user, resource_id, limit=limit)
        return [
            HistoryEntryOut(
                at=e.at, action=e.action, booking_id=e.booking_id, from_status=e.from_status, to_status=e.to_status,
                reason=e.reason, details=e.details, actor_name=e.actor_name, starts_at=e.booking_starts_at,
                ends_at=e.booking_ends_at, organisation_name=e.organisation_name, quantity=e.quantity,
            )
            for e in result.entries
        ]


async def _with_resources(app_context: AppContext, request: Request, done: list[tuple[Any, Loan]]) -> LoansOut:
    resources = {}
    for booking, _ in done:
        if booking.resource_id not in resources:
            _, resources[booking.resource_id] = await _booking_and_resource(app_context, request, booking.id)
    return _loans_out(done, resources)


async def _booking_and_resource(app_context: AppContext, request: Request, booking_id: int) -> tuple[Any, Any]:
    from booking.services import bookings

    return await bookings.get_booking(app_context, request.user, booking_id)


async def _repair_interval(app_context: AppContext, request: Request, resource_id: int, data: RepairBlockCreate) -> Interval:
    # Who may, before what: a lender of another site learns nothing from a bad body.
    _, site = await repairs.lender_resource(app_context, request.user, resource_id)
    by_days = data.first_day is not None or data.last_day is not None
    by_instants = data.starts_at is not None or data.ends_at is not None
    if by_days == by_instants:
        raise InvalidInput("give either first_day and last_day or starts_at and ends_at", field="starts_at")
    if by_instants:
        if data.starts_at is None or data.ends_at is None:
            raise InvalidInput("give both starts_at and ends_at", field="ends_at")
        return Interval(data.starts_at, data.ends_at)
    if data.first_day is None or data.last_day is None:
        raise InvalidInput("give both first_day and last_day", field="last_day")
    return repairs.whole_days(site, data.first_day, data.last_day)


ROUTES = [ItemBookingController, LoanController]
