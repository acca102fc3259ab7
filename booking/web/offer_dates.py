"""The dates of an offer for its organisers (/mitmachen/<id>/termine): add a date, move or remove
one, change the places per date (issue 14).

Who may: those who manage the offer (its organisation's admins, its site's staff, city admins);
everyone else meets "does not exist" (404, no oracle) before any input is looked at. Every form:
CSRF, Post/Redirect/Get on success, the page again with the message at the field on error.
Moving, removing and more places send mail to participants or waiting people: those actions
are rate-limited per organiser.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from booking.domain.errors import Conflict, DomainError, InvalidInput
from booking.i18n import format_interval
from booking.services import offer_dates
from booking.services.context import AppContext
from booking.web.admin_forms import RowId
from booking.auth.action_limits import offer_date_change_wait
from booking.web.base import FormErrors, flash, form_value, page_language, page_login, parse_local_datetime, redirect, render_page
from booking.web.filters import datetime_local_value
from booking.web.texts import error_fields, gettext, ngettext

Ctx = NamedDependency[AppContext]
DATE_FIELDS = ("starts_at", "ends_at")


def _date_form(view: offer_dates.OfferDates, date: offer_dates.ManagedDate) -> dict[str, str]:
    timezone = view.site.timezone
    return {"starts_at": datetime_local_value(date.starts_at, timezone), "ends_at": datetime_local_value(date.ends_at, timezone)}


async def _dates_page(request: Request, app_context: AppContext, offer_id: int, *, errors: FormErrors | None = None,
                      forms: dict[str, dict[str, str]] | None = None, status_code: int = 200) -> Response:
    view = await offer_dates.offer_dates(app_context, request.user, offer_id)
    given = forms or {}
    return render_page(request, "offers/dates.html", {
        "view": view, "offer": view.offer, "errors": errors or FormErrors(), "active_nav": "offers",
        "add_form": given.get("add", {"starts_at": "", "ends_at": ""}),
        "places_form": given.get("places", {"places": str(view.offer.places)}),
        "date_forms": {d.id: given.get(f"date-{d.id}", _date_form(view, d)) for d in view.dates},
        "max_dates": offer_dates.rules.MAX_DATES_PER_OFFER,
    }, status_code=status_code)


def _errors_of(request: Request, error: DomainError, timezone: str, suffix: str = "") -> FormErrors:
    """The error at its field (``starts_at``/``ends_at``, else ``general``), keyed for the form
    it came from; a conflict names the times that are taken (no one's data)."""
    errors = error_fields(request, error, "starts_at", known=DATE_FIELDS)
    if isinstance(error, Conflict) and error.conflicts:
        language = page_language(request)
        taken = ", ".join(format_interval(c.starts_at, c.ends_at, timezone, language) for c in error.conflicts[:5]
                          if hasattr(c, "starts_at"))
        if taken:
            for name in errors:
                errors[name] = f"{errors[name]} ({gettext(request, 'taken')}: {taken})"
    if suffix:
        return FormErrors({(f"date{suffix}" if name == "general" else f"{name}{suffix}"): message for name, message in errors.items()})
    return errors


def _parse_times(values: dict[str, str], timezone: str):  # type: ignore[no-untyped-def]
    return (parse_local_datetime(values["starts_at"], timezone, "starts_at"),
            parse_local_datetime(values["ends_at"], timezone, "ends_at"))


def _rate_limited(response: Response, wait: int) -> Response:
    response.headers["Retry-After"] = str(wait)
    return response


@get("/mitmachen/{offer_id:int}/termine", guards=[page_login], name="offers:dates")
async def dates(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    return await _dates_page(request, app_context, offer_id)


@post("/mitmachen/{offer_id:int}/termine", guards=[page_login], name="offers:add-date")
async def add_date(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    view = await offer_dates.offer_dates(app_context, request.user, offer_id)  # 404 for everyone else, first
    data = await request.form()
    values = {name: form_value(data, name)[:40] for name in DATE_FIELDS}
    try:
        starts_at, ends_at = _parse_times(values, view.site.timezone)
        await offer_dates.add_date(app_context, request.user, offer_id, starts_at, ends_at)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _dates_page(request, app_context, offer_id, forms={"add": values}, status_code=error.status_code,
                                 errors=_errors_of(request, error, view.site.timezone))
    flash(request, "success", gettext(request, "The date has been added."))
    return redirect(f"/mitmachen/{offer_id}/termine")


@post("/mitmachen/termine/{date_id:int}/verschieben", guards=[page_login], name="offers:move-date")
async def move_date(request: Request, app_context: Ctx, date_id: RowId) -> Response:
    offer_id = await offer_dates.check_may_manage_date(app_context, request.user, date_id)
    view = await offer_dates.offer_dates(app_context, request.user, offer_id)
    data = await request.form()
    values = {name: form_value(data, name)[:40] for name in DATE_FIELDS}
    forms = {f"date-{date_id}": values}
    wait = offer_date_change_wait(request)
    if wait:
        return _rate_limited(await _dates_page(request, app_context, offer_id, forms=forms, status_code=429, errors=FormErrors({
            f"date-{date_id}": gettext(request, "Too many requests. Please wait %(seconds)s seconds and try again.", seconds=wait)})), wait)
    try:
        starts_at, ends_at = _parse_times(values, view.site.timezone)
        await offer_dates.move_date(app_context, request.user, date_id, starts_at, ends_at)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _dates_page(request, app_context, offer_id, forms=forms, status_code=error.status_code,
                                 errors=_errors_of(request, error, view.site.timezone, f"-{date_id}"))
    flash(request, "success", gettext(request, "The date has been moved. Its participants get the new time by e-mail."))
    return redirect(f"/mitmachen/{offer_id}/termine#date-{date_id}")


@post("/mitmachen/termine/{date_id:int}/entfernen", guards=[page_login], name="offers:remove-date")
async def remove_date(request: Request, app_context: Ctx, date_id: RowId) -> Response:
    offer_id = await offer_dates.check_may_manage_date(app_context, request.user, date_id)
    data = await request.form()
    if form_value(data, "confirm") != "1":
        return await _dates_page(request, app_context, offer_id, status_code=400, errors=FormErrors({
            f"confirm-{date_id}": gettext(request, "Please confirm that this date is to be removed.")}))
    wait = offer_date_change_wait(request)
    if wait:
        return _rate_limited(await _dates_page(request, app_context, offer_id, status_code=429, errors=FormErrors({
            f"date-{date_id}": gettext(request, "Too many requests. Please wait %(seconds)s seconds and try again.", seconds=wait)})), wait)
    try:
        told = await offer_dates.remove_date(app_context, request.user, date_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _dates_page(request, app_context, offer_id, status_code=error.status_code,
                                 errors=_errors_of(request, error, "UTC", f"-{date_id}"))
    flash(request, "success", ngettext(request, "The date has been removed; %(num)d participant is told by e-mail.",
                                       "The date has been removed; %(num)d participants are told by e-mail.", told, num=told))
    return redirect(f"/mitmachen/{offer_id}/termine")


@post("/mitmachen/{offer_id:int}/plaetze", guards=[page_login], name="offers:places")
async def change_places(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    await offer_dates.offer_dates(app_context, request.user, offer_id)  # 404 for everyone else, first
    data = await request.form()
    values = {"places": form_value(data, "places")[:10]}
    forms = {"places": values}
    wait = offer_date_change_wait(request)
    if wait:
        return _rate_limited(await _dates_page(request, app_context, offer_id, forms=forms, status_code=429, errors=FormErrors(
            places=gettext(request, "Too many requests. Please wait %(seconds)s seconds and try again.", seconds=wait))), wait)
    try:
        try:
            places = int(values["places"])
        except ValueError:
            raise InvalidInput("please enter a whole number", field="places") from None
        offered = await offer_dates.change_places(app_context, request.user, offer_id, places)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _dates_page(request, app_context, offer_id, forms=forms, status_code=error.status_code,
                                 errors=error_fields(request, error, "places", known=("places",)))
    flash(request, "success", gettext(request, "The places have been saved."))
    if offered:
        flash(request, "info", ngettext(request, "%(num)d person on a waiting list has been offered a place.",
                                        "%(num)d people on waiting lists have been offered a place.", offered, num=offered))
    return redirect(f"/mitmachen/{offer_id}/termine")


ROUTES: list[Any] = [dates, add_date, move_date, remove_date, change_places]
