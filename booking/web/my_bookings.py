"""My bookings: the list (waiting, coming up, past), one booking (change time, cancel with a
reason), the confirmation after booking, and a series with its dates."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.domain.errors import Conflict, DomainError
from booking.services import bookings, feeds, overviews, series
from booking.services.context import AppContext
from booking.web import booking_form
from booking.web.base import FormErrors, flash, form_value, page_login, parse_local_datetime, redirect, render_page
from booking.web.resources import offers
from booking.web.texts import gettext, translate_message

Ctx = NamedDependency[AppContext]


@get("/bookings", guards=[page_login])
async def my_bookings(request: Request, app_context: Ctx) -> Response:
    overview = await overviews.my_bookings(app_context, request.user)
    my_feeds = [view for view in await feeds.list_feeds(app_context, request.user) if view.scope in ("person", "organisation")]
    return render_page(request, "bookings/list.html", {"overview": overview, "feeds": my_feeds, "active_nav": "bookings"})


def feed_created(request: Request, app_context: AppContext, view: feeds.FeedView, back: str) -> Response:
    """The new feed's address, shown once (only its hash is kept)."""
    url, webcal = feeds.feed_urls(app_context.settings.base_url, view.token or "")
    return render_page(request, "bookings/feed_created.html", {"view": view, "url": url, "webcal": webcal, "back": back,
                                                               "active_nav": "bookings", "next_url": back}, status_code=201)


@post("/bookings/feeds", guards=[page_login])
async def create_personal_feed(request: Request, app_context: Ctx) -> Response:
    view = await feeds.create_feed(app_context, request.user, "person", None)
    return feed_created(request, app_context, view, "/bookings")


@post("/bookings/feeds/{feed_id:int}/revoke", guards=[page_login])
async def revoke_feed(request: Request, app_context: Ctx, feed_id: FromPath[int]) -> Response:
    await feeds.revoke_feed(app_context, request.user, feed_id)
    flash(request, "success", gettext(request, "The calendar address is switched off."))
    return redirect("/bookings")


@get("/bookings/{booking_id:int}/confirmation", guards=[page_login])
async def confirmation(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    details = await overviews.booking_details(app_context, request.user, booking_id)
    return render_page(request, "bookings/confirmation.html", {"details": details, "row": details.row, "active_nav": "bookings"})


async def _detail(request: Request, app_context: AppContext, booking_id: int, *, form: dict[str, str] | None = None,
                  errors: FormErrors | None = None, status_code: int = 200, **extra: Any) -> Response:
    details = await overviews.booking_details(app_context, request.user, booking_id)
    row = details.row
    if form is None:
        form = {
            "starts_at": booking_form.local_value(row.booking.starts_at.isoformat(), row.timezone),
            "ends_at": booking_form.local_value(row.booking.ends_at.isoformat(), row.timezone),
            "reason": "",
        }
    context = {"details": details, "row": row, "form": form, "errors": errors or FormErrors(), "conflict": None,
               "active_nav": "bookings", "next_url": f"/bookings/{booking_id}", **extra}
    return render_page(request, "bookings/detail.html", context, status_code=status_code)


@get("/bookings/{booking_id:int}", guards=[page_login])
async def booking_page(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    return await _detail(request, app_context, booking_id)


@post("/bookings/{booking_id:int}/change", guards=[page_login])
async def change(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    data = await request.form()
    form = {"starts_at": form_value(data, "starts_at"), "ends_at": form_value(data, "ends_at"), "reason": ""}
    details = await overviews.booking_details(app_context, request.user, booking_id)
    timezone = details.row.timezone
    shown = {**form, "starts_at": booking_form.local_value(form["starts_at"], timezone) or form["starts_at"],
             "ends_at": booking_form.local_value(form["ends_at"], timezone) or form["ends_at"]}
    errors = FormErrors()
    moments = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = parse_local_datetime(form[name], timezone, name)
        except DomainError as error:
            errors[name] = translate_message(request, error.message)
    if not errors and moments["ends_at"] <= moments["starts_at"]:
        errors["ends_at"] = gettext(request, "the end must be after the start")
    if errors:
        return await _detail(request, app_context, booking_id, form=shown, errors=errors, status_code=400)
    try:
        await bookings.change_booking(app_context, request.user, booking_id, starts_at=moments["starts_at"], ends_at=moments["ends_at"])
    except Conflict as conflict:
        same_resource = [a for a in conflict.alternatives if a.resource_id == details.row.resource.id]
        moves = [dataclasses.replace(offer, action=f"/bookings/{booking_id}/change") for offer in offers(same_resource, {})]
        context = {"message": translate_message(request, conflict.message), "taken": conflict.conflicts, "alternatives": moves}
        return await _detail(request, app_context, booking_id, form=shown, status_code=409, conflict=context)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        field = error.field if error.field in ("starts_at", "ends_at") else "general"
        errors[field] = translate_message(request, error.message)
        return await _detail(request, app_context, booking_id, form=shown, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The booking is changed."))
    return redirect(f"/bookings/{booking_id}")


@post("/bookings/{booking_id:int}/cancel", guards=[page_login])
async def cancel(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    data = await request.form()
    reason = form_value(data, "reason")
    try:
        await bookings.cancel_booking(app_context, request.user, booking_id, reason)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        field = "reason" if error.field == "reason" else "cancel"
        errors = FormErrors()
        errors[field] = translate_message(request, error.message)
        return await _detail(request, app_context, booking_id, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The booking is cancelled."))
    return redirect("/bookings")


@get("/bookings/series/{series_id:int}", guards=[page_login])
async def series_page(request: Request, app_context: Ctx, series_id: FromPath[int]) -> Response:
    view = await series.get_series(app_context, request.user, series_id)
    created = request.query_params.get("created") == "1"
    return render_page(request, "bookings/series.html", {"view": view, "created": created, "timezone": view.site.timezone,
                                                         "errors": FormErrors(), "active_nav": "bookings"})


@post("/bookings/series/{series_id:int}/cancel", guards=[page_login])
async def series_cancel(request: Request, app_context: Ctx, series_id: FromPath[int]) -> Response:
    data = await request.form()
    reason = form_value(data, "reason")
    try:
        await series.cancel_series(app_context, request.user, series_id, scope="all", reason=reason)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        view = await series.get_series(app_context, request.user, series_id)
        errors = FormErrors(general=translate_message(request, error.message))
        return render_page(request, "bookings/series.html", {"view": view, "created": False, "timezone": view.site.timezone,
                                                             "errors": errors, "active_nav": "bookings",
                                                             "next_url": f"/bookings/series/{series_id}"}, status_code=error.status_code)
    flash(request, "success", gettext(request, "The remaining dates of the series are cancelled."))
    return redirect("/bookings")


ROUTES = [my_bookings, create_personal_feed, revoke_feed, confirmation, booking_page, change, cancel, series_page, series_cancel]
