"""The lender's lending pages: today's hand-outs and returns, overdue loans, things and their history.

  GET  /lender/today?day=&site=                    hand-outs and returns due that day, overdue ones
  POST /lender/loans/{booking_id}/hand-out         hand a thing out (condition, deposit note)
  POST /lender/loans/{booking_id}/take-back        take it back (condition, damage, missing parts)
  GET  /lender/overdue                             everything not back in time, with contacts
  GET  /lender/lent-out                            everything out now, overdue first, with due dates
  GET  /lender/items                               the things at my sites
  GET  /lender/items/{resource_id}                 a thing's history, loans and repair blocks
  POST /lender/items/{resource_id}/repair-blocks   block it for repair (whole days)
  POST /lender/items/{resource_id}/repair-blocks/{block_id}/lift

Thin: parse the form, call one service function, render or redirect (303 after success).
A refused form comes back with the message next to it and a 4xx status.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from booking.domain.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from booking.i18n import get_translations
from booking.services import handover, item_history, lender_lists, repairs
from booking.services.context import AppContext
from booking.web.base import FormErrors, flash, form_value, page_language, page_lender, redirect, render_page
from booking.web.texts import translate_message

Ctx = NamedDependency[AppContext]
TODAY_TEMPLATE = "lending/today.html"
OVERDUE_TEMPLATE = "lending/overdue.html"
LENT_OUT_TEMPLATE = "lending/lent_out.html"
ITEMS_TEMPLATE = "lending/items.html"
HISTORY_TEMPLATE = "lending/history.html"
HAND_OUT_FIELDS = ("condition", "deposit_note")
TAKE_BACK_FIELDS = ("condition", "damage_notes", "missing_parts")

# Messages of the lending services with a name or a day in them: pattern -> msgid.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (r"^(?P<name>.+) cannot be handed out: not enough units are back from an earlier loan$",
         "%(name)s cannot be handed out: not enough units are back from an earlier loan"),
        (r"^(?P<name>.+) cannot be handed out before its pick-up time: it is booked until then$",
         "%(name)s cannot be handed out before its pick-up time: it is booked until then"),
        (r"^(?P<name>.+): the booking has ended, it can no longer be handed out$",
         "%(name)s: the booking has ended, it can no longer be handed out"),
        (r"^a booking that is (?P<status>\w+) cannot be handed out$", "a booking that is %(status)s cannot be handed out"),
        (r"^a booking that is (?P<status>\w+) cannot be taken back$", "a booking that is %(status)s cannot be taken back"),
        (r"^the resource is blocked for repair in that period(?P<reason>.*)$",
         "the resource is blocked for repair in that period%(reason)s"),
        (r"^the site is closed on \w+, (?P<day>\d{4}-\d{2}-\d{2})$", "the site is closed on %(day)s"),
        (r"^the site is closed on \w+, (?P<day>\d{4}-\d{2}-\d{2}): choose another day for pick-up$",
         "the site is closed on %(day)s: choose another day for pick-up"),
        (r"^the site is closed on \w+, (?P<day>\d{4}-\d{2}-\d{2}): choose another day for the return$",
         "the site is closed on %(day)s: choose another day for the return"),
    )
)


def lending_message(request: Request, message: str) -> str:
    """A lending or desk service message in the page's language (English when unknown)."""
    language = page_language(request)
    translations = get_translations(language)
    for pattern, msgid in _PATTERNS:
        match = pattern.match(message)
        if match is None:
            continue
        values = dict(match.groupdict())
        if "day" in values:
            values["day"] = format_date(date.fromisoformat(values["day"]), "full", locale=language)
        if "status" in values:
            values["status"] = translations.pgettext("status", values["status"])
        return translations.gettext(msgid) % values
    return translate_message(request, message)


def _text(request: Request, message: str, **values: Any) -> str:
    text = get_translations(page_language(request)).gettext(message)
    return text % values if values else text


def _counted(request: Request, singular: str, plural: str, number: int) -> str:
    return get_translations(page_language(request)).ngettext(singular, plural, number) % {"num": number}


def _site(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _today_url(day: date | None, site_id: int | None) -> str:
    query = "&".join(part for part in (f"day={day.isoformat()}" if day else "", f"site={site_id}" if site_id else "") if part)
    return "/lender/today" + (f"?{query}" if query else "")


def _back(view: str, day: date | None, site_id: int | None, resource_id: int | None = None) -> str:
    if view == "overdue":
        return "/lender/overdue"
    if view == "history" and resource_id:
        return f"/lender/items/{resource_id}"
    return _today_url(day, site_id)


async def _today_page(
    request: Request,
    app_context: AppContext,
    day: date | None,
    site_id: int | None,
    *,
    status_code: int = 200,
    errors: dict[int, FormErrors] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    messages: list[tuple[str, str]] | None = None,
) -> Template:
    data = await lender_lists.lender_today(app_context, request.user, day, site_id)
    context: dict[str, Any] = {
        "data": data,
        "day": data.day,
        "previous_day": data.day - timedelta(days=1),
        "next_day": data.day + timedelta(days=1),
        "site_id": site_id,
        "errors_by_booking": errors or {},
        "values_by_booking": values or {},
        "active_nav": "lending",
        "messages": messages or [],
    }
    return render_page(request, TODAY_TEMPLATE, context, status_code=status_code)


async def _overdue_page(
    request: Request,
    app_context: AppContext,
    *,
    status_code: int = 200,
    errors: dict[int, FormErrors] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    messages: list[tuple[str, str]] | None = None,
) -> Template:
    rows = await lender_lists.list_overdue(app_context, request.user)
    context: dict[str, Any] = {
        "rows": rows,
        "errors_by_booking": errors or {},
        "values_by_booking": values or {},
        "active_nav": "lending",
        "messages": messages or [],
    }
    return render_page(request, OVERDUE_TEMPLATE, context, status_code=status_code)


async def _history_page(
    request: Request,
    app_context: AppContext,
    resource_id: int,
    *,
    status_code: int = 200,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    messages: list[tuple[str, str]] | None = None,
) -> Template:
    history = await item_history.item_history(app_context, request.user, resource_id)
    today = app_context.now().date()
    context: dict[str, Any] = {
        "history": history,
        "errors": errors or FormErrors(),
        "values": values or {"first_day": today.isoformat(), "last_day": today.isoformat(), "reason": ""},
        "now": app_context.now(),
        "active_nav": "lending",
        "messages": messages or [],
    }
    return render_page(request, HISTORY_TEMPLATE, context, status_code=status_code)


def _clean_values(values: dict[str, str]) -> None:
    """The notes' limits, checked before the confirmation step (so it does not ask in vain)."""
    for name, limit in (("condition", handover.MAX_NOTE), ("deposit_note", handover.MAX_DEPOSIT_NOTE)):
        if len(values[name].strip()) > limit:
            raise InvalidInput(f"at most {limit} characters", field=name)


def _confirm_early(request: Request, booking_id: int, form: Any, values: dict[str, str], early: handover.EarlyStart) -> Template:
    """The confirmation step of an early hand-out: the loan starts now, not at the booked start."""
    from booking.web.my_bookings import confirm_page

    language = page_language(request)
    zone = ZoneInfo(early.timezone)
    booked = format_datetime(early.booked_start.astimezone(zone), "EEEE, d. MMMM, HH:mm" if language == "de" else "EEEE, d MMMM, HH:mm",
                             locale=language)
    now = format_datetime(early.now.astimezone(zone), "HH:mm", locale=language)
    fields = {name: form_value(form, name) for name in ("condition", "deposit_note", "view", "day", "site", "whole_kit", "kit_form")}
    back = _back(form_value(form, "view"), _day(form_value(form, "day")), _site(form_value(form, "site")))
    return confirm_page(
        request, heading=_text(request, "Hand out before the booked start?"),
        question=_text(request, "The loan will start now (%(now)s) instead of %(start)s.", now=now, start=booked),
        action=f"/lender/loans/{booking_id}/hand-out", fields={k: v for k, v in fields.items() if v},
        confirm_label=_text(request, "Yes, hand out now"), back_href=back, active_nav="inbox",
        note=_text(request, "%(names)s is free until then; from now on it counts as lent out.", names=", ".join(early.names)),
    )


class LendingController(Controller):
    path = "/lender"
    guards = [page_lender]

    @get("/today", name="lending:today")
    async def today(self, request: Request, app_context: Ctx, day: FromQuery[str] = "", site: FromQuery[str] = "") -> Template:
        return await _today_page(request, app_context, _day(day), _site(site))

    @get("/overdue", name="lending:overdue")
    async def overdue(self, request: Request, app_context: Ctx) -> Template:
        return await _overdue_page(request, app_context)

    @get("/lent-out", name="lending:lent-out")
    async def lent_out(self, request: Request, app_context: Ctx) -> Template:
        rows = await lender_lists.list_lent_out(app_context, request.user)
        return render_page(request, LENT_OUT_TEMPLATE, {"rows": rows, "active_nav": "lending"})

    @get("/items", name="lending:items")
    async def items(self, request: Request, app_context: Ctx) -> Template:
        grouped = await item_history.lender_items(app_context, request.user)
        return render_page(request, ITEMS_TEMPLATE, {"grouped": grouped, "active_nav": "lending"})

    @get("/items/{resource_id:int}", name="lending:history")
    async def history(self, request: Request, app_context: Ctx, resource_id: FromPath[int]) -> Template:
        return await _history_page(request, app_context, resource_id)

    @post("/loans/{booking_id:int}/hand-out", name="lending:hand-out")
    async def hand_out(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Template | Redirect:
        form = await request.form()
        values = {name: form_value(form, name) for name in HAND_OUT_FIELDS}
        whole_kit = form_value(form, "whole_kit") == "1" or not form_value(form, "kit_form")
        if form_value(form, "confirm") != "yes":
            # Handed out well before its start, the booking starts now: ask first, and say so
            # when the thing is booked by someone else in between.
            try:
                _clean_values(values)
                early = await handover.early_start(app_context, request.user, booking_id, whole_kit=whole_kit)
            except PermissionDenied:
                raise
            except DomainError as error:
                return await self._refused(request, app_context, form, booking_id, error, values, HAND_OUT_FIELDS)
            if early is not None:
                return _confirm_early(request, booking_id, form, values, early)
        try:
            done = await handover.hand_out(
                app_context, request.user, booking_id,
                handover.HandOut(condition=values["condition"], deposit_note=values["deposit_note"]), whole_kit=whole_kit,
            )
        except PermissionDenied:
            raise
        except DomainError as error:
            return await self._refused(request, app_context, form, booking_id, error, values, HAND_OUT_FIELDS)
        flash(request, "success", _counted(request, "Handed out: %(num)d thing.", "Handed out: %(num)d things.", len(done)))
        return redirect(_back(form_value(form, "view"), _day(form_value(form, "day")), _site(form_value(form, "site"))))

    @post("/loans/{booking_id:int}/take-back", name="lending:take-back")
    async def take_back(self, request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Template | Redirect:
        form = await request.form()
        values = {name: form_value(form, name) for name in TAKE_BACK_FIELDS}
        whole_kit = form_value(form, "whole_kit") == "1" or not form_value(form, "kit_form")
        try:
            done = await handover.take_back(
                app_context, request.user, booking_id,
                handover.TakeBack(condition=values["condition"], damage_notes=values["damage_notes"], missing_parts=values["missing_parts"]),
                whole_kit=whole_kit,
            )
        except PermissionDenied:
            raise
        except DomainError as error:
            return await self._refused(request, app_context, form, booking_id, error, values, TAKE_BACK_FIELDS)
        flash(request, "success", _counted(request, "Taken back: %(num)d thing.", "Taken back: %(num)d things.", len(done)))
        return redirect(_back(form_value(form, "view"), _day(form_value(form, "day")), _site(form_value(form, "site"))))

    async def _refused(
        self,
        request: Request,
        app_context: AppContext,
        form: Any,
        booking_id: int,
        error: DomainError,
        values: dict[str, str],
        fields: tuple[str, ...],
    ) -> Template:
        """The page again, the message next to the form it belongs to (and on top when it is
        no field's fault: a conflict or a step that is no longer possible)."""
        if error.status_code == 404:
            raise error
        message = lending_message(request, error.message)
        errors = FormErrors()
        messages: list[tuple[str, str]] = []
        if isinstance(error, InvalidInput) and error.field in fields:
            errors[error.field] = message  # type: ignore[index]
        else:
            errors["general"] = message
            messages.append(("warning" if isinstance(error, Conflict) or error.status_code == 409 else "danger", message))
        view = form_value(form, "view")
        if view == "overdue":
            return await _overdue_page(
                request, app_context, status_code=error.status_code, errors={booking_id: errors},
                values={booking_id: values}, messages=messages,
            )
        return await _today_page(
            request, app_context, _day(form_value(form, "day")), _site(form_value(form, "site")),
            status_code=error.status_code, errors={booking_id: errors}, values={booking_id: values}, messages=messages,
        )

    @post("/items/{resource_id:int}/repair-blocks", name="lending:repair-block")
    async def block_for_repair(self, request: Request, app_context: Ctx, resource_id: FromPath[int]) -> Template | Redirect:
        _, site = await repairs.lender_resource(app_context, request.user, resource_id)
        form = await request.form()
        values = {name: form_value(form, name) for name in ("first_day", "last_day", "reason")}
        errors = FormErrors()
        first_day, last_day = _day(values["first_day"]), _day(values["last_day"])
        if first_day is None:
            errors["first_day"] = _text(request, "Please enter a day.")
        if last_day is None:
            errors["last_day"] = _text(request, "Please enter a day.")
        if errors:
            return await _history_page(request, app_context, resource_id, status_code=400, errors=errors, values=values)
        try:
            interval = repairs.whole_days(site, first_day, last_day)  # type: ignore[arg-type]
            report = await repairs.block_for_repair(app_context, request.user, resource_id, interval, values["reason"])
        except PermissionDenied:
            raise
        except DomainError as error:
            if error.status_code == 404:
                raise
            field = error.field if error.field in ("first_day", "last_day", "reason") else "first_day"
            if error.field == "ends_at":
                field = "last_day"
            errors[field] = lending_message(request, error.message)
            return await _history_page(
                request, app_context, resource_id, status_code=error.status_code, errors=errors, values=values
            )
        if report.affected:
            flash(request, "warning", _counted(
                request,
                "Blocked for repair. %(num)d booking lies in that period: please contact the borrower.",
                "Blocked for repair. %(num)d bookings lie in that period: please contact the borrowers.",
                len(report.affected),
            ))
        else:
            flash(request, "success", _text(request, "Blocked for repair. No booking lies in that period."))
        return redirect(f"/lender/items/{resource_id}")

    @post("/items/{resource_id:int}/repair-blocks/{block_id:int}/lift", name="lending:lift-repair-block")
    async def lift_repair_block(self, request: Request, app_context: Ctx, resource_id: FromPath[int], block_id: FromPath[int]) -> Redirect:
        await repairs.remove_repair_block(app_context, request.user, resource_id, block_id)
        flash(request, "success", _text(request, "The repair block was lifted."))
        return redirect(f"/lender/items/{resource_id}")


ROUTES = [LendingController]
