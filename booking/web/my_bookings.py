"""My bookings: the list (waiting, coming up, past), one booking (change time, cancel with a
reason), the confirmation after booking, and a series with its dates."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from zoneinfo import ZoneInfo

from babel.dates import format_time

from booking.domain.errors import Conflict, DomainError, NotFound, PermissionDenied
from booking.domain.lifecycle import BUSY_VALUES
from booking.services import bookings, feeds, overviews, series
from booking.services.context import AppContext
from booking.web import booking_form
from booking.web.base import (
    FormErrors, flash, form_value, page_language, page_login, parse_int, parse_local_datetime, redirect, render_page, safe_next,
)
from booking.web.resources import offers
from booking.web.texts import gettext, translate_message

Ctx = NamedDependency[AppContext]


@get("/bookings", guards=[page_login])
async def my_bookings(request: Request, app_context: Ctx) -> Response:
    """The list; ``?page=N`` pages the past bookings (a page beyond the last shows the last)."""
    raw_page = (request.query_params.get("page") or "1").strip()
    errors = FormErrors()
    try:
        page = parse_int(raw_page, "page", minimum=1)
    except DomainError:
        page = 1
        errors["page"] = gettext(request, "The page number must be a whole number of at least 1; here is the first page.")
    return await list_page(request, app_context, page=page, errors=errors, status_code=400 if errors else 200)


async def list_page(request: Request, app_context: AppContext, *, page: int = 1, errors: FormErrors | None = None,
                    status_code: int = 200) -> Response:
    """My bookings with the waiting list's entries and holds (also the answer of a failed waiting-list button)."""
    from booking.services import waiting_list_views

    overview = await overviews.my_bookings(app_context, request.user, page=page)
    my_feeds = await feeds.list_feeds(app_context, request.user)
    waiting = await waiting_list_views.my_entries(app_context, request.user)
    waiting_ended = await waiting_list_views.my_ended_entries(app_context, request.user)
    return render_page(request, "bookings/list.html", {
        "overview": overview, "feeds": my_feeds, "waiting": waiting, "waiting_ended": waiting_ended,
        "errors": errors or FormErrors(), "active_nav": "bookings",
    }, status_code=status_code)


def feed_created(request: Request, app_context: AppContext, view: feeds.FeedView, back: str) -> Response:
    """To the new feed's page (booking.web.feed_pages), where its address can be shown again."""
    from booking.web.feed_pages import feed_page_redirect

    return feed_page_redirect(view)


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


def confirm_page(request: Request, *, heading: str, question: str, action: str, fields: dict[str, str], confirm_label: str,
                 back_href: str, facts_row: Any = None, note: str = "", **extra: Any) -> Response:
    """The confirmation step of an action (templates/confirm.html): nothing has changed yet."""
    context = {"heading": heading, "question": question, "action": action, "fields": fields, "confirm_label": confirm_label,
               "back_href": back_href, "back_label": gettext(request, "No, go back"), "facts_row": facts_row, "note": note, **extra}
    return render_page(request, "confirm.html", context)


def confirmed(data: Any) -> bool:
    return form_value(data, "confirm") == "yes"


@post("/bookings/{booking_id:int}/cancel", guards=[page_login])
async def cancel(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    """First post: the confirmation page; with ``confirm=yes``: cancel, then the result page (undo)."""
    data = await request.form()
    reason = form_value(data, "reason")
    if not confirmed(data):
        details = await overviews.booking_details(app_context, request.user, booking_id)
        if not details.may_cancel:
            booking, resource = await bookings.get_booking(app_context, request.user, booking_id)
            if not bookings.may_change(request.user, booking, resource):
                raise PermissionDenied("you may not cancel this booking")
            errors = FormErrors(cancel=gettext(request, "This booking can no longer be cancelled."))
            return await _detail(request, app_context, booking_id, errors=errors, status_code=409)
        return confirm_page(
            request, heading=gettext(request, "Cancel the booking"), question=gettext(request, "Do you really want to cancel this booking?"),
            action=f"/bookings/{booking_id}/cancel", fields={"reason": reason}, confirm_label=gettext(request, "Yes, cancel the booking"),
            back_href=f"/bookings/{booking_id}", facts_row=details.row, active_nav="bookings",
            note=gettext(request, "You can undo it for a few minutes afterwards."),
        )
    try:
        await bookings.cancel_booking(app_context, request.user, booking_id, reason)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        field = "reason" if error.field == "reason" else "cancel"
        errors = FormErrors()
        errors[field] = translate_message(request, error.message)
        return await _detail(request, app_context, booking_id, errors=errors, status_code=error.status_code)
    return redirect(f"/bookings/{booking_id}/cancelled")


async def _cancelled_page(request: Request, app_context: AppContext, booking_id: int, *, errors: FormErrors | None = None,
                          status_code: int = 200) -> Response:
    details = await overviews.booking_details(app_context, request.user, booking_id)
    undo_until = await bookings.undo_cancel_deadline(app_context, request.user, booking_id)
    until_text = format_time(undo_until.astimezone(ZoneInfo(details.row.timezone)), "short", locale=page_language(request)) if undo_until else None
    context = {"details": details, "row": details.row, "undo_until": until_text, "errors": errors or FormErrors(), "active_nav": "bookings"}
    return render_page(request, "bookings/cancelled.html", context, status_code=status_code)


@get("/bookings/{booking_id:int}/cancelled", guards=[page_login])
async def cancelled(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    """The result of a cancel (Post/Redirect/Get: a reload changes nothing), with the undo."""
    return await _cancelled_page(request, app_context, booking_id)


@post("/bookings/{booking_id:int}/undo-cancel", guards=[page_login])
async def undo_cancel(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    try:
        await bookings.undo_cancel(app_context, request.user, booking_id)
    except DomainError as error:
        if error.status_code in (403, 404) and error.field is None:
            raise
        message = translate_message(request, error.message)
        if isinstance(error, Conflict):
            message = gettext(request, "Someone else has booked this time meanwhile; the booking stays cancelled.")
        return await _cancelled_page(request, app_context, booking_id, errors=FormErrors(general=message), status_code=error.status_code)
    flash(request, "success", gettext(request, "The cancellation is undone; the booking is valid again."))
    return redirect(f"/bookings/{booking_id}")


def _series_form(view: series.SeriesView, timezone: str, now: datetime) -> dict[str, str]:
    """The move form prefilled from the next date not yet started (else the series' first)."""
    upcoming = _upcoming(view, now)
    first = upcoming[0] if upcoming else (view.occurrences[0] if view.occurrences else None)
    if first is not None:
        local_start = series.occurrence_local_start(first, timezone)
        minutes = int((first.ends_at - first.starts_at).total_seconds() // 60)
    else:
        local_start, minutes = series.series_local_start(view.series), view.series.duration_minutes
    return {"start_time": local_start.strftime("%H:%M"), "duration": str(minutes), "from_date": ""}


def _upcoming(view: series.SeriesView, now: datetime) -> list[Any]:
    """The dates a move may touch: not started yet, still requested or confirmed."""
    return [booking for booking in view.occurrences if booking.starts_at > now and booking.status in ("requested", "confirmed")]


def _from_options(request: Request, view: series.SeriesView, timezone: str, now: datetime) -> list[tuple[str, str]]:
    options = [("", gettext(request, "All dates not started yet"))]
    for booking in _upcoming(view, now):
        original = booking.recurrence_id or booking.starts_at
        label = gettext(request, "From %(date)s on", date=series.occurrence_local_start(booking, timezone).strftime("%d.%m.%Y"))
        options.append((original.astimezone(UTC).isoformat(), label))
    return options


def _series_offers(series_id: int, item: series.RefusedOccurrence) -> list[Any]:
    """The alternatives of a refused date, each a form that books it into the series."""
    result = []
    for offer in offers(item.alternatives, {}):
        fields = {"refused_start": item.local_start.isoformat(timespec="minutes"), "resource_id": str(offer.resource_id),
                  "starts_at": offer.starts_at.isoformat(), "ends_at": offer.ends_at.isoformat()}
        result.append(dataclasses.replace(offer, action=f"/bookings/series/{series_id}/alternative", fields=fields))
    return result


async def _series_page(request: Request, app_context: AppContext, series_id: int, *, form: dict[str, str] | None = None,
                       errors: FormErrors | None = None, refused: list[Any] | None = None, status_code: int = 200,
                       created: bool = False) -> Response:
    view = await series.get_series(app_context, request.user, series_id)
    timezone, now = view.site.timezone, app_context.now()
    may_change = series.may_change_series(request.user, view)
    not_booked = await series.open_refused_dates(app_context, request.user, view) if may_change else []
    not_booked_views = [dataclasses.replace(item, reason=translate_message(request, item.reason),
                                            alternatives=_series_offers(series_id, item)) for item in not_booked]  # type: ignore[arg-type]
    holding = [b for b in view.occurrences if b.status in BUSY_VALUES]
    context = {"view": view, "created": created, "timezone": timezone, "errors": errors or FormErrors(),
               "form": form or _series_form(view, timezone, now), "from_options": _from_options(request, view, timezone, now),
               "refused": refused or [], "not_booked": not_booked_views, "booked_count": len(holding), "now": now,
               "may_move": bool(_upcoming(view, now)), "active_nav": "bookings",
               "next_url": f"/bookings/series/{series_id}"}
    return render_page(request, "bookings/series.html", context, status_code=status_code)


@get("/bookings/series/{series_id:int}", guards=[page_login])
async def series_page(request: Request, app_context: Ctx, series_id: FromPath[int]) -> Response:
    return await _series_page(request, app_context, series_id, created=request.query_params.get("created") == "1")


@post("/bookings/series/{series_id:int}/alternative", guards=[page_login])
async def series_alternative(request: Request, app_context: Ctx, series_id: FromPath[int]) -> Response:
    """Book an alternative for a date the series could not book: it joins the series. Then back
    to the series page (Post/Redirect/Get)."""
    data = await request.form()
    errors = FormErrors()
    unreadable = gettext(request, "This alternative cannot be read; please choose one from the list.")
    try:
        refused_start = datetime.fromisoformat(form_value(data, "refused_start"))
        resource_id = parse_int(form_value(data, "resource_id"), "resource_id", minimum=1)
        starts_at = datetime.fromisoformat(form_value(data, "starts_at"))
        ends_at = datetime.fromisoformat(form_value(data, "ends_at"))
        if resource_id >= 2**31:  # beyond any id the database can hold
            raise ValueError("resource_id")
    except (ValueError, DomainError):
        return await _series_page(request, app_context, series_id, errors=FormErrors(general=unreadable), status_code=400)
    try:
        await series.take_alternative(app_context, request.user, series_id, refused_start=refused_start, resource_id=resource_id,
                                      starts_at=starts_at, ends_at=ends_at)
    except OverflowError:  # an instant at the edge of the calendar (year 1 or 9999 with an offset)
        return await _series_page(request, app_context, series_id, errors=FormErrors(general=unreadable), status_code=400)
    except Conflict:
        errors["general"] = gettext(request, "This alternative has just been taken or is no longer open. Please choose another one.")
        return await _series_page(request, app_context, series_id, errors=errors, status_code=409)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        errors["general"] = translate_message(request, error.message)
        return await _series_page(request, app_context, series_id, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The alternative is booked and belongs to the series now."))
    return redirect(f"/bookings/series/{series_id}")


_SERIES_FIELDS = {"starts_at": "start_time", "local_time": "start_time", "ends_at": "duration", "duration": "duration",
                  "from": "from_date"}


@post("/bookings/series/{series_id:int}/change", guards=[page_login])
async def series_change(request: Request, app_context: Ctx, series_id: FromPath[int]) -> Response:
    """Move the dates not yet started (all, or from a chosen date on) to a new time of day and/or length."""
    data = await request.form()
    form = {"start_time": form_value(data, "start_time"), "duration": form_value(data, "duration"), "from_date": form_value(data, "from_date")}
    view = await series.get_series(app_context, request.user, series_id)  # 404 for those who may not see it
    errors = FormErrors()
    local_time: time | None = None
    try:
        local_time = time.fromisoformat(form["start_time"]) if form["start_time"] else None
    except ValueError:
        errors["start_time"] = gettext(request, "please enter a time like 18:00")
    if local_time is not None and (local_time.second or local_time.microsecond or local_time.tzinfo is not None):
        errors["start_time"] = gettext(request, "please enter a time like 18:00")
    duration: timedelta | None = None
    if form["duration"]:
        try:
            duration = timedelta(minutes=parse_int(form["duration"], "duration", minimum=1))
        except DomainError as error:
            errors["duration"] = translate_message(request, error.message)
    if not errors and local_time is None and duration is None:
        errors["start_time"] = gettext(request, "give a new start time or a new length")
    from_: datetime | None = None
    if form["from_date"]:
        allowed = {value for value, _ in _from_options(request, view, view.site.timezone, app_context.now())}
        if form["from_date"] not in allowed:
            errors["from_date"] = gettext(request, "please choose a date from the list")
        else:
            from_ = datetime.fromisoformat(form["from_date"])
    if errors:
        return await _series_page(request, app_context, series_id, form=form, errors=errors, status_code=400)
    try:
        await series.change_series(app_context, request.user, series_id, from_=from_, local_time=local_time, duration=duration)
    except series.SeriesConflict as conflict:
        refused = [dataclasses.replace(item, reason=translate_message(request, item.reason), alternatives=[]) for item in conflict.refused]
        errors["general"] = gettext(request, "%(refused)s of the dates cannot be moved; nothing was changed.", refused=len(refused))
        return await _series_page(request, app_context, series_id, form=form, errors=errors, refused=refused, status_code=409)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        errors[_SERIES_FIELDS.get(error.field or "", "general")] = translate_message(request, error.message)
        return await _series_page(request, app_context, series_id, form=form, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The dates of the series are moved."))
    return redirect(f"/bookings/series/{series_id}")


@post("/bookings/series/{series_id:int}/cancel", guards=[page_login])
async def series_cancel(request: Request, app_context: Ctx, series_id: FromPath[int]) -> Response:
    """First post: the confirmation page; with ``confirm=yes``: cancel the remaining dates."""
    data = await request.form()
    reason = form_value(data, "reason")
    if not confirmed(data):
        view = await series.get_series(app_context, request.user, series_id)
        if not series.may_change_series(request.user, view):
            raise NotFound(f"series {series_id} does not exist")  # as cancelling it would answer
        return confirm_page(
            request, heading=gettext(request, "Cancel all remaining dates"),
            question=gettext(request, "Do you really want to cancel all remaining dates of this series?"),
            action=f"/bookings/series/{series_id}/cancel", fields={"reason": reason},
            confirm_label=gettext(request, "Yes, cancel the series"), back_href=f"/bookings/series/{series_id}", active_nav="bookings",
        )
    try:
        await series.cancel_series(app_context, request.user, series_id, scope="all", reason=reason)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        errors = FormErrors(general=translate_message(request, error.message))
        return await _series_page(request, app_context, series_id, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The remaining dates of the series are cancelled."))
    return redirect("/bookings")


ROUTES = [my_bookings, create_personal_feed, revoke_feed, confirmation, booking_page, change, cancel, cancelled, undo_cancel,
          series_page, series_change, series_cancel, series_alternative]
