"""A resource's page (description, photo, accessibility, its next days) and its booking form.

POST /resources/{id}/book books once or as a series. A taken time answers 409 with the page
again: what is taken and the alternatives, each a one-click form that books it. Bad input
answers 400/422 with the form and the message next to its field; nothing is written then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.auth.guards import public
from booking.domain.alternatives import Alternative
from booking.auth.principal import Principal
from booking.domain.errors import Conflict, DomainError
from booking.domain.quotas import QuotaExceeded
from booking.services import bookings, catalogue, discovery, quotas, series
from booking.services.context import AppContext
from booking.web import booking_form
from booking.web.base import FormErrors, form_value, login_url_for, page_login, redirect, render_page
from booking.web.home import kind_names
from booking.web.rule_texts import decision_view, quota_sentence
from booking.web.texts import gettext, translate_message
from booking.web.waiting_list import join_form_fields

Ctx = NamedDependency[AppContext]


@dataclass(frozen=True)
class AlternativeOffer:
    """An alternative with the hidden fields of the form that books it."""

    resource_id: int
    resource_name: str
    starts_at: datetime
    ends_at: datetime
    same_resource: bool
    action: str
    fields: dict[str, str]


def offers(alternatives: list[Alternative], values: dict[str, str]) -> list[AlternativeOffer]:
    keep = {name: values.get(name, "") for name in ("quantity", "organisation_id", "title", "purpose")}
    result = []
    for alternative in alternatives:
        fields = {**keep, "starts_at": alternative.interval.starts_at.isoformat(), "ends_at": alternative.interval.ends_at.isoformat(),
                  "repeat": "none"}
        result.append(AlternativeOffer(
            alternative.resource_id, alternative.resource_name, alternative.interval.starts_at, alternative.interval.ends_at,
            alternative.kind == "same_resource", f"/resources/{alternative.resource_id}/book", fields,
        ))
    return result


async def _page(
    request: Request, app_context: AppContext, resource_id: int, form: dict[str, str], *, errors: FormErrors | None = None,
    status_code: int = 200, **extra: Any,
) -> Response:
    page = await discovery.resource_page(app_context, request.user, resource_id)
    timezone = page.details.site.timezone
    shown = dict(form)
    for name in ("starts_at", "ends_at"):
        shown[name] = booking_form.local_value(form.get(name, ""), timezone) or form.get(name, "")
    quota_lines: list[dict[str, Any]] = []
    if isinstance(request.user, Principal):
        now = app_context.now()
        for line in await quotas.quota_overview(app_context, request.user, page.details.resource, timezone):
            quota_lines.append({"organisation": line.organisation.name if line.organisation else None,
                                "text": quota_sentence(request, line.state, timezone, now)})
    context = {
        "quota_lines": quota_lines,
        "check": None,
        "page": page,
        "resource": page.details.resource,
        "site": page.details.site,
        "rules": page.details.rules,
        "timezone": timezone,
        "form": shown,
        "errors": errors or FormErrors(),
        "kinds": kind_names(request),
        "organisation_options": [(str(org.id), org.name) for org in page.organisations],
        "login_url": login_url_for(request.url.path + (f"?{request.url.query}" if request.url.query else "")),
        "calendar_url": "/calendar?" + urlencode({"resource": resource_id}),
        "conflict": None,
        "refused": [],
        "preview": None,
        **extra,
    }
    if request.method == "POST":
        # The language switch returns to the page, not to the form's action (GET there is a 405).
        context["next_url"] = f"/resources/{resource_id}"
    return render_page(request, "resources/resource.html", context, status_code=status_code)


@get("/resources/{resource_id:int}", guards=[public])
async def resource_page(request: Request, app_context: Ctx, resource_id: FromPath[int]) -> Response:
    params = request.query_params
    form = booking_form.empty_form(params.get("starts_at", ""), params.get("ends_at", ""))
    return await _page(request, app_context, resource_id, form)


@post("/resources/{resource_id:int}/book", guards=[page_login])
async def book(request: Request, app_context: Ctx, resource_id: FromPath[int]) -> Response:
    data = await request.form()
    values = booking_form.read_form(data)
    details = await catalogue.get_resource(app_context, request.user, resource_id)
    parsed, errors = booking_form.parse(request, values, resource_id, details.site.timezone, details.resource.capacity)
    if errors:
        return await _page(request, app_context, resource_id, values, errors=errors, status_code=400)
    action = form_value(data, "action")
    if action == "preview" or (action == "check" and parsed.series is not None):
        return await _preview(request, app_context, resource_id, values, parsed)
    if action == "check":
        return await _check(request, app_context, resource_id, values, parsed, details.site.timezone)
    mode = "all_or_nothing" if values["all_or_nothing"] else "book_free"
    try:
        if parsed.one_off is not None:
            made = await bookings.create_booking(app_context, request.user, parsed.one_off)
            return redirect(f"/bookings/{made.id}/confirmation")
        assert parsed.series is not None
        result = await series.create_series(app_context, request.user, parsed.series, mode=mode)
    except series.SeriesConflict as conflict:
        refused = [_refused_view(request, item, values) for item in conflict.refused]
        message = gettext(request, "None of the dates could be booked; nothing was booked.") if mode == "book_free" else gettext(
            request, "Some dates are not free, so nothing was booked (you asked for all dates or none).")
        return await _page(request, app_context, resource_id, values, status_code=409, refused=refused,
                           conflict={"message": message, "alternatives": []})
    except Conflict as conflict:
        assert parsed.one_off is not None
        context = {"message": translate_message(request, conflict.message), "taken": conflict.conflicts,
                   "alternatives": offers(conflict.alternatives, values),
                   # "Auf die Warteliste": the same time, offered when it frees (booking.web.waiting_list).
                   "waiting_list": {"action": f"/resources/{resource_id}/waiting-list", "fields": join_form_fields(
                       values, parsed.one_off.starts_at.isoformat(), parsed.one_off.ends_at.isoformat())}}
        return await _page(request, app_context, resource_id, values, status_code=409, conflict=context)
    except QuotaExceeded as error:
        return await _beyond_quota(request, app_context, resource_id, values, error, details.site.timezone)
    except DomainError as error:
        return await _refused_input(request, app_context, resource_id, values, error)
    # Post/Redirect/Get: the series page lists the booked dates and the refused ones with
    # their alternatives; a reload or a bookmark of it books nothing again.
    return redirect(f"/bookings/series/{result.series.id}?created=1")


async def _refused_input(request: Request, app_context: AppContext, resource_id: int, values: dict[str, str], error: DomainError) -> Response:
    """A rule or a bad value: the form again with the message at its field."""
    if error.status_code == 404 and error.field in (None, "resource_id"):
        raise error
    errors = FormErrors()
    field = error.field if error.field in booking_form.FIELDS else "general"
    errors[field] = translate_message(request, error.message)
    return await _page(request, app_context, resource_id, values, errors=errors, status_code=error.status_code)


async def _beyond_quota(
    request: Request, app_context: AppContext, resource_id: int, values: dict[str, str], error: QuotaExceeded, timezone: str
) -> Response:
    """Beyond a quota that refuses: the form again (409) saying what is left."""
    sentence = quota_sentence(request, error.state, timezone, app_context.now())
    errors = FormErrors()
    errors["starts_at"] = gettext(request, "Beyond the quota: %(quota)s", quota=sentence)
    return await _page(request, app_context, resource_id, values, errors=errors, status_code=409)


async def _check(
    request: Request, app_context: AppContext, resource_id: int, values: dict[str, str], parsed: booking_form.Parsed, timezone: str
) -> Response:
    """"Check first": the form again saying whether this booking would be confirmed at once or
    needs a lender, and why (the very decision the booking makes); nothing is booked."""
    assert parsed.one_off is not None
    try:
        preview = await bookings.preview_booking(app_context, request.user, parsed.one_off)
    except QuotaExceeded as error:
        return await _beyond_quota(request, app_context, resource_id, values, error, timezone)
    except Conflict as conflict:
        context = {"message": translate_message(request, conflict.message), "taken": conflict.conflicts, "alternatives": []}
        return await _page(request, app_context, resource_id, values, status_code=409, conflict=context)
    except DomainError as error:
        return await _refused_input(request, app_context, resource_id, values, error)
    view = decision_view(request, preview.decision, preview.quotas, timezone, app_context.now())
    return await _page(request, app_context, resource_id, values, check=view)


async def _preview(request: Request, app_context: AppContext, resource_id: int, values: dict[str, str], parsed: booking_form.Parsed) -> Response:
    """"Show the dates": the form again with the dates of the series, free or taken; nothing is booked."""
    if parsed.series is None:
        errors = FormErrors(repeat=gettext(request, "Choose how often the booking repeats to see its dates."))
        return await _page(request, app_context, resource_id, values, errors=errors, status_code=400)
    try:
        dates = await series.preview_series(app_context, request.user, parsed.series)
    except DomainError as error:
        return await _refused_input(request, app_context, resource_id, values, error)
    shown = [{"starts_at": item.starts_at, "ends_at": item.ends_at, "local_start": item.local_start, "free": item.free,
              "reason": translate_message(request, item.reason) if item.reason else "",
              "confirm_at_once": item.decision.confirm_at_once if item.decision else None} for item in dates]
    return await _page(request, app_context, resource_id, values, preview=shown)


def _refused_view(request: Request, item: series.RefusedOccurrence, values: dict[str, str]) -> dict[str, Any]:
    return {"local_start": item.local_start, "starts_at": item.starts_at, "ends_at": item.ends_at, "code": item.code,
            "reason": translate_message(request, item.reason), "alternatives": offers(item.alternatives, values)}


ROUTES = [resource_page, book]
