"""/api/v1/offers for their organisers (issue 14), the people of a date: its participants with
their contact details, their attendance, and its waiting list in order (move an entry up or
down, take one off with a mail to the person).

Thin over ``offer_organisers`` and ``offer_waiting_list``. Only the offer's organisers; everyone
else is told it does not exist (404, no oracle) before their input is looked at. Taking someone
off a waiting list mails them: it counts against the same hourly limit as the pages
(``booking.auth.action_limits``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import TooManyRequestsException
from litestar.params import JSONBody, PathParameter

from booking.api.schemas import Id
from booking.auth.guards import requires_login
from booking.services import offer_dates, offer_organisers, offer_waiting_list
from booking.services.context import AppContext
from booking.auth.action_limits import waiting_list_removal_wait

Ctx = NamedDependency[AppContext]
RowId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class ParticipantOut(msgspec.Struct):
    signup_id: int
    name: str
    email: str
    phone: str
    status: str  # confirmed | cancelled
    attendance: str  # "" (not marked) | present | absent


class DateParticipantsOut(msgspec.Struct):
    offer_id: int
    date_id: int
    starts_at: datetime
    ends_at: datetime
    may_mark_attendance: bool  # the date has begun
    participants: list[ParticipantOut]

    @classmethod
    def of(cls, roster: offer_organisers.DateRoster) -> DateParticipantsOut:
        return cls(
            offer_id=roster.offer_id, date_id=roster.date_id, starts_at=roster.starts_at, ends_at=roster.ends_at,
            may_mark_attendance=roster.may_mark,
            participants=[ParticipantOut(p.signup_id, p.name, p.email, p.phone, p.status, p.attendance) for p in roster.participants],
        )


class AttendanceMark(msgspec.Struct, forbid_unknown_fields=True):
    signup_id: Id
    attendance: Literal["present", "absent"]


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    marks: Annotated[list[AttendanceMark], msgspec.Meta(max_length=2000)]


class AttendanceOut(msgspec.Struct):
    marked: int  # confirmed participants of the date among the marks


class WaitingEntryOut(msgspec.Struct):
    entry_id: int
    place: int  # 1 = first in line
    name: str
    status: str  # waiting | offered (a place is held for them until hold_expires_at)
    hold_expires_at: datetime | None


class WaitingMoveIn(msgspec.Struct, forbid_unknown_fields=True):
    direction: Literal["up", "down"]


def _line(waiters: list[offer_waiting_list.Waiter]) -> list[WaitingEntryOut]:
    return [WaitingEntryOut(w.entry_id, place, w.name, w.status, w.hold_expires_at) for place, w in enumerate(waiters, start=1)]


class OfferParticipantsController(Controller):
    path = "/api/v1/offers"
    tags = ["offers: organisers"]
    guards = [requires_login]

    @get("/dates/{date_id:int}/participants", summary="A date's participants",
         description="Confirmed and cancelled places with name, e-mail, phone and attendance, by name (at most 2000). "
                     "Only for the offer's organisers; everyone else: 404.")
    async def participants(self, request: Request, app_context: Ctx, date_id: RowId) -> DateParticipantsOut:
        return DateParticipantsOut.of(await offer_organisers.date_participants(app_context, request.user, date_id))

    @put("/dates/{date_id:int}/attendance", summary="Mark attendance of a date",
         description="`present` or `absent` per sign-up, once the date has begun (before: 422). Marks of sign-ups "
                     "that are not confirmed participants of the date are left out (`marked` counts the others).")
    async def attendance(self, request: Request, app_context: Ctx, date_id: RowId, data: JSONBody[AttendanceIn]) -> AttendanceOut:
        marks = {mark.signup_id: mark.attendance for mark in data.marks}
        return AttendanceOut(await offer_organisers.mark_attendance(app_context, request.user, date_id, marks))

    @get("/dates/{date_id:int}/waiting-list", summary="A date's waiting list in order",
         description="Names only, first in line first (at most 500); an entry offered a place says until when it is "
                     "held. Only for the offer's organisers; everyone else: 404.")
    async def waiting_list(self, request: Request, app_context: Ctx, date_id: RowId) -> list[WaitingEntryOut]:
        return _line(await offer_organisers.waiting_line(app_context, request.user, date_id))

    @post("/{offer_id:int}/waiting-list/{entry_id:int}/move", status_code=200, summary="Move a waiting-list entry up or down",
          description="One place within its date's line; at either end: 400 at `direction`. Answers the date's line.")
    async def move_entry(
        self, request: Request, app_context: Ctx, offer_id: RowId, entry_id: RowId, data: JSONBody[WaitingMoveIn]
    ) -> list[WaitingEntryOut]:
        await offer_dates.check_may_manage_offer(app_context, request.user, offer_id)  # others: 404 first
        date_id = await offer_waiting_list.move_entry(app_context, request.user, offer_id, entry_id, data.direction)
        return _line(await offer_organisers.waiting_line(app_context, request.user, date_id))

    @delete("/{offer_id:int}/waiting-list/{entry_id:int}", status_code=204, summary="Take someone off a waiting list",
            description="The person is told by mail; a place offered to them goes to the next in line. Rate-limited "
                        "per organiser together with the pages (429).")
    async def remove_entry(self, request: Request, app_context: Ctx, offer_id: RowId, entry_id: RowId) -> None:
        await offer_dates.check_may_manage_offer(app_context, request.user, offer_id)  # others: 404 first
        wait = waiting_list_removal_wait(request)
        if wait:
            raise TooManyRequestsException(f"too many removals; try again in {wait} seconds", headers={"Retry-After": str(wait)})
        await offer_waiting_list.remove_entry(app_context, request.user, offer_id, entry_id)


ROUTES: list[Any] = [OfferParticipantsController]
