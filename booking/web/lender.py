"""The lender inbox, called "Requests" ("Anfragen") everywhere: /lender (requests at my sites as a
compact list, one row per request, series or kit, filtered by site, kind and days with a GET
form; several approved at once with POST /lender/requests/approve) and /lender/requests/{id}
(one request or one date of a series, with approve and decline; the e-mails to lenders link here).

Hand-outs and returns of the day live at /lender/today (booking.web.loans); the inbox links there.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from booking.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from booking.i18n import get_translations
from booking.mail.series_text import describe_series
from booking.services import bookings, inbox, series
from booking.services.context import AppContext
from booking.web.admin_forms import RowId, form_value, small_id, translate
from booking.web.base import flash, page_language, page_lender, redirect, render_page
from booking.web.texts import translate_message

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


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def parse_inbox_filter(request: Request, values: dict[str, str]) -> tuple[inbox.InboxFilter, dict[str, str]]:
    """The filter form's values; a value that cannot be read is left out and named in the errors."""
    errors: dict[str, str] = {}
    site_id = _site_filter(values.get("site", ""))
    if values.get("site") and site_id is None:
        errors["site"] = translate(request, "Please choose a site from the list.")
    kind = values.get("kind", "").strip() or None
    if kind is not None and kind not in inbox.KINDS:
        errors["kind"] = translate(request, "Please choose a kind from the list.")
        kind = None
    first_day, last_day = _parse_day(values.get("from", "")), _parse_day(values.get("to", ""))
    for name, raw, parsed in (("from", values.get("from", ""), first_day), ("to", values.get("to", ""), last_day)):
        if raw.strip() and parsed is None:
            errors[name] = translate(request, "Please enter a date as YYYY-MM-DD.")
    if first_day and last_day and last_day < first_day:
        errors["to"] = translate(request, "The last day must not be before the first day.")
        last_day = None
    return inbox.InboxFilter(site_id=site_id, kind=kind, first_day=first_day, last_day=last_day), errors


def _filter_query(filters: inbox.InboxFilter) -> str:
    parts = [
        f"site={filters.site_id}" if filters.site_id else "",
        f"kind={filters.kind}" if filters.kind else "",
        f"from={filters.first_day.isoformat()}" if filters.first_day else "",
        f"to={filters.last_day.isoformat()}" if filters.last_day else "",
    ]
    query = "&".join(part for part in parts if part)
    return f"?{query}" if query else ""


async def _inbox_page(
    request: Request,
    app_context: AppContext,
    site_id: int | None,
    *,
    status_code: int = 200,
    errors: dict[int | str, dict[str, str]] | None = None,
    reasons: dict[int | str, str] | None = None,
    messages: list[tuple[str, str]] | None = None,
    filters: inbox.InboxFilter | None = None,
    filter_errors: dict[str, str] | None = None,
    filter_values: dict[str, str] | None = None,
    results: dict[str, str] | None = None,
) -> Template:
    filters = filters or inbox.InboxFilter(site_id=site_id)
    data = await inbox.lender_inbox(app_context, request.user, filters=filters)
    language = page_language(request)
    context: dict[str, Any] = {
        "filter_errors": filter_errors or {},
        "filter_values": filter_values or {
            "site": str(filters.site_id or ""), "kind": filters.kind or "",
            "from": filters.first_day.isoformat() if filters.first_day else "",
            "to": filters.last_day.isoformat() if filters.last_day else "",
        },
        "filter_query": _filter_query(filters),
        "results": results or {},
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
    async def inbox_page(
        self, request: Request, app_context: Ctx, site: FromQuery[str] = "", kind: FromQuery[str] = "", to: FromQuery[str] = "",
    ) -> Template:
        values = {"site": site, "kind": kind, "from": request.query_params.get("from", "") or "", "to": to}
        filters, filter_errors = parse_inbox_filter(request, values)
        return await _inbox_page(
            request, app_context, filters.site_id, filters=filters, filter_errors=filter_errors,
            filter_values=values, status_code=400 if filter_errors else 200,
        )

    @post("/requests/approve", name="lender:approve-selected")
    async def approve_selected(self, request: Request, app_context: Ctx) -> Template | Redirect:
        """Approve the ticked requests; each on its own, so one that cannot be approved any
        more is reported and the others are approved."""
        form = await request.form()
        values = {name: form_value(form, name) for name in ("site", "kind", "from", "to")}
        filters, _ = parse_inbox_filter(request, values)
        raw = [str(value) for value in form.getall("selected", [])][:inbox.MAX_SELECTED + 1]
        selection = [item for item in (inbox.Selected.parse(value) for value in raw) if item is not None]
        if not selection:
            return await _inbox_page(
                request, app_context, filters.site_id, filters=filters, status_code=400,
                messages=[("warning", translate(request, "Please tick at least one request to approve."))],
            )
        try:
            results = await inbox.approve_selected(app_context, request.user, selection)
        except InvalidInput as error:
            return await _inbox_page(
                request, app_context, filters.site_id, filters=filters, status_code=400,
                messages=[("danger", translate_message(request, error.message))],
            )
        approved = [result for result in results if result.approved]
        refused = [result for result in results if not result.approved]
        if approved:
            flash(request, "success", get_translations(page_language(request)).ngettext(
                "%(num)d request was approved; the booker gets an e-mail.",
                "%(num)d requests were approved; each booker gets an e-mail.", len(approved),
            ) % {"num": len(approved)})
        if not refused:
            return redirect("/lender" + _filter_query(filters))
        messages = [("warning", self._refusal_text(request, result.error)) for result in refused]
        return await _inbox_page(
            request, app_context, filters.site_id, filters=filters,
            status_code=409,  # partly done: the page says per request what was not approved
            messages=messages, results={result.selected.key: self._refusal_text(request, result.error) for result in refused},
        )

    @staticmethod
    def _refusal_text(request: Request, error: DomainError | None) -> str:
        if isinstance(error, TransitionNotAllowed):
            return translate(request, "One request could not be approved: it has been decided or cancelled already.")
        if isinstance(error, (NotFound, PermissionDenied)):
            return translate(request, "One request could not be approved: it does not exist or is not at your sites.")
        return translate(request, "One request could not be approved: %(reason)s") % {
            "reason": translate_message(request, error.message if error else "")
        }

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
