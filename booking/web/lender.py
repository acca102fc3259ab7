"""The lender inbox: /lender (requests at my sites, approve or decline in one step each: a
series' waiting dates and a kit's parts are one card and one decision) and
/lender/requests/{id} (one request or one date of a series; the e-mails to lenders link here).

Hand-outs and returns of the day live at /lender/today (booking.web.loans); the inbox links there.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from booking.domain.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from booking.mail.series_text import describe_series
from booking.services import bookings, inbox, series
from booking.services.context import AppContext
from booking.web.admin_forms import RowId, form_value, small_id, translate
from booking.web.base import flash, page_language, page_lender, redirect, render_page

Ctx = NamedDependency[AppContext]

INBOX_TEMPLATE = "lender/inbox.html"
REQUEST_TEMPLATE = "lender/request.html"


def _site_filter(value: str) -> int | None:
    return small_id(value)


def _valid_reason(reason: str) -> bool:
    """A reason the service will take: otherwise the form is shown again with the message."""
    return bool(reason.strip()) and len(reason.strip()) <= 2000


def _confirm_decline(request: Request, action: str, reason: str, back: str, fields: dict[str, str], *, what: str,
                     whole_series: bool = False) -> Template:
    """The confirmation step of a decline (nothing is declined yet)."""
    question = (translate(request, "Decline all waiting dates of this series: %(what)s?") if whole_series
                else translate(request, "Decline this request: %(what)s?")) % {"what": what}
    return render_page(request, "confirm.html", {
        "heading": translate(request, "Decline"), "question": question, "action": action,
        "fields": {**fields, "reason": reason}, "confirm_label": translate(request, "Yes, decline"),
        "back_href": back, "back_label": translate(request, "No, go back"), "facts_row": None,
        "note": translate(request, "The booker gets an e-mail with your reason."), "active_nav": "inbox",
    })


def _back_to(view: str, booking_id: int, site_id: int | None) -> str:
    if view == "detail":
        return f"/lender/requests/{booking_id}"
    return f"/lender?site={site_id}" if site_id else "/lender"


async def _inbox_page(
    request: Request,
    app_context: AppContext,
    site_id: int | None,
    *,
    status_code: int = 200,
    errors: dict[int | str, dict[str, str]] | None = None,
    reasons: dict[int | str, str] | None = None,
    messages: list[tuple[str, str]] | None = None,
) -> Template:
    data = await inbox.lender_inbox(app_context, request.user, site_id)
    language = page_language(request)
    context: dict[str, Any] = {
        "inbox": data,
        # "jeden Dienstag, 18:00–20:00 Uhr, 8 Termine" per series card, in the page's language.
        "rule_texts": {
            group.series.id: _rule_text(group, language) for group in data.groups if group.series is not None
        },
        "errors_by_booking": errors or {},
        "reasons": reasons or {},
        "active_nav": "inbox",
        "messages": messages or [],
    }
    return render_page(request, INBOX_TEMPLATE, context, status_code=status_code)


def _rule_text(group: inbox.RequestGroup, language: str) -> str:
    series, first = group.series, group.first
    assert series is not None
    zone = ZoneInfo(first.site.timezone)
    local_start = first.booking.starts_at.astimezone(zone).replace(tzinfo=None)
    duration = first.booking.ends_at - first.booking.starts_at
    return describe_series(series.rrule, local_start, duration, len(group.entries), first.site.timezone, language)


async def _request_page(
    request: Request,
    app_context: AppContext,
    booking_id: int,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    reason: str = "",
    messages: list[tuple[str, str]] | None = None,
) -> Template:
    details = await inbox.request_details(app_context, request.user, booking_id)
    context: dict[str, Any] = {
        "details": details,
        "entry": details.entry,
        "errors": errors or {},
        "reason": reason,
        "active_nav": "inbox",
        "messages": messages or [],
    }
    return render_page(request, REQUEST_TEMPLATE, context, status_code=status_code)


class LenderController(Controller):
    path = "/lender"
    guards = [page_lender]

    @get("/", name="lender:inbox")
    async def inbox_page(self, request: Request, app_context: Ctx, site: FromQuery[str] = "") -> Template:
        return await _inbox_page(request, app_context, _site_filter(site))

    @get("/requests/{booking_id:int}", name="lender:request")
    async def request_page(self, request: Request, app_context: Ctx, booking_id: RowId) -> Template:
        return await _request_page(request, app_context, booking_id)

    @post("/requests/{booking_id:int}/approve", name="lender:approve")
    async def approve(self, request: Request, app_context: Ctx, booking_id: RowId) -> Template | Redirect:
        form = await request.form()
        view, site_id = form_value(form, "view"), _site_filter(form_value(form, "site"))
        try:
            booking = await bookings.approve_booking(app_context, request.user, booking_id)
        except TransitionNotAllowed:
            return await self._refused(request, app_context, view, booking_id, site_id)
        flash(request, "success", translate(request, "The request was approved; the booker gets an e-mail."))
        return redirect(_back_to(view, booking.id, site_id))  # type: ignore[arg-type]

    @post("/requests/{booking_id:int}/decline", name="lender:decline")
    async def decline(self, request: Request, app_context: Ctx, booking_id: RowId) -> Template | Redirect:
        form = await request.form()
        view, site_id = form_value(form, "view"), _site_filter(form_value(form, "site"))
        reason = form_value(form, "reason")
        if form_value(form, "confirm") != "yes" and _valid_reason(reason):
            booking, resource = await bookings.get_booking(app_context, request.user, booking_id)
            if not bookings.may_decide(request.user, booking, resource):
                raise PermissionDenied("only lenders of this site may decline")
            return _confirm_decline(
                request, f"/lender/requests/{booking_id}/decline", reason, _back_to(view, booking_id, site_id),
                {"view": view, "site": str(site_id or "")}, what=f"{resource.name}, {booking.title}".rstrip(", "),
            )
        try:
            booking = await bookings.decline_booking(app_context, request.user, booking_id, reason)
        except TransitionNotAllowed:
            return await self._refused(request, app_context, view, booking_id, site_id)
        except InvalidInput as error:
            if reason:
                message = translate(request, "The reason is too long (at most 2000 characters).")
            else:
                message = translate(request, "Please give a reason for the booker.")
            if error.field not in (None, "reason"):
                raise
            if view == "detail":
                return await _request_page(
                    request, app_context, booking_id, status_code=400, errors={"reason": message}, reason=reason
                )
            return await _inbox_page(
                request, app_context, site_id, status_code=400,
                errors={booking_id: {"reason": message}}, reasons={booking_id: reason},
            )
        flash(request, "success", translate(request, "The request was declined; the booker gets an e-mail with your reason."))
        return redirect(_back_to(view, booking.id, site_id))  # type: ignore[arg-type]

    @post("/series/{series_id:int}/approve", name="lender:approve-series")
    async def approve_series(self, request: Request, app_context: Ctx, series_id: RowId) -> Template | Redirect:
        """All waiting dates of a series in one step; the booker gets one e-mail."""
        form = await request.form()
        site_id = _site_filter(form_value(form, "site"))
        try:
            await series.approve_series(app_context, request.user, series_id)
        except TransitionNotAllowed:
            return await self._refused(request, app_context, "inbox", 0, site_id)
        flash(request, "success", translate(request, "The dates of the series were approved; the booker gets one e-mail."))
        return redirect(_back_to("inbox", 0, site_id))

    @post("/series/{series_id:int}/decline", name="lender:decline-series")
    async def decline_series(self, request: Request, app_context: Ctx, series_id: RowId) -> Template | Redirect:
        form = await request.form()
        site_id = _site_filter(form_value(form, "site"))
        reason = form_value(form, "reason")
        if form_value(form, "confirm") != "yes" and _valid_reason(reason):
            try:
                view = await series.get_series(app_context, request.user, series_id)
            except NotFound:
                raise PermissionDenied("only lenders of this site may decline") from None
            if not series.may_decide_series(request.user, view):
                raise PermissionDenied("only lenders of this site may decline")
            return _confirm_decline(
                request, f"/lender/series/{series_id}/decline", reason, _back_to("inbox", 0, site_id),
                {"site": str(site_id or "")}, what=view.resource.name, whole_series=True,
            )
        try:
            await series.decline_series(app_context, request.user, series_id, reason)
        except TransitionNotAllowed:
            return await self._refused(request, app_context, "inbox", 0, site_id)
        except InvalidInput as error:
            if error.field not in (None, "reason"):
                raise
            if reason:
                message = translate(request, "The reason is too long (at most 2000 characters).")
            else:
                message = translate(request, "Please give a reason for the booker.")
            key = f"series-{series_id}"
            return await _inbox_page(
                request, app_context, site_id, status_code=400, errors={key: {"reason": message}}, reasons={key: reason}
            )
        flash(request, "success", translate(request, "The dates of the series were declined; the booker gets one e-mail with your reason."))
        return redirect(_back_to("inbox", 0, site_id))

    async def _refused(
        self, request: Request, app_context: AppContext, view: str, booking_id: int, site_id: int | None
    ) -> Template:
        """Someone else decided first (or the booker cancelled): say so, show the current state."""
        message = [("warning", translate(request, "This request has been decided or cancelled already."))]
        if view == "detail":
            return await _request_page(request, app_context, booking_id, status_code=409, messages=message)
        return await _inbox_page(request, app_context, site_id, status_code=409, messages=message)


ROUTES = [LenderController]
