"""Co-working pages: which desks are free on a day, and booking one for a day or half a day.

  GET  /desks                      sites with co-working desks
  GET  /desks/{site_id}?day=       the desks of a site on one day, per part, with booking buttons
  POST /desks/{site_id}/book       book one desk (resource_id, day, part)

Viewing is public (public desks); booking needs a login. Thin: one service call each.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from booking.auth.guards import public
from booking.domain.errors import Conflict, DomainError, InvalidInput
from booking.i18n import get_translations
from booking.services import catalogue, coworking
from booking.services.context import AppContext
from booking.web.base import flash, form_value, page_language, page_login, redirect, render_page
from booking.web.loans import lending_message

Ctx = NamedDependency[AppContext]
INDEX_TEMPLATE = "coworking/index.html"
DAY_TEMPLATE = "coworking/day.html"


def _text(request: Request, message: str, **values: Any) -> str:
    text = get_translations(page_language(request)).gettext(message)
    return text % values if values else text


async def _day_page(
    request: Request,
    app_context: AppContext,
    site_id: int,
    day: date | None,
    *,
    status_code: int = 200,
    messages: list[tuple[str, str]] | None = None,
) -> Template:
    site = await catalogue.get_site(app_context, site_id)
    today = coworking.local_today(site, app_context.now())
    try:
        view = await coworking.desk_day(app_context, site_id, day or today, request.user)
    except InvalidInput as error:
        if day is None:
            raise
        # A day nothing can be booked on (years away): today's page, with the reason.
        status_code = 400
        messages = [*(messages or []), ("danger", lending_message(request, error.message))]
        view = await coworking.desk_day(app_context, site_id, today, request.user)
    context: dict[str, Any] = {
        "view": view,
        "site": site,
        "day": view.day,
        "today": today,
        "previous_day": view.day - timedelta(days=1),
        "next_day": view.day + timedelta(days=1),
        "active_nav": "coworking",
        "messages": messages or [],
    }
    return render_page(request, DAY_TEMPLATE, context, status_code=status_code)


class CoworkingPages(Controller):
    path = "/desks"

    @get("/", guards=[public], name="coworking:index")
    async def index(self, request: Request, app_context: Ctx) -> Template:
        sites = await coworking.desk_sites(app_context, request.user)
        return render_page(request, INDEX_TEMPLATE, {"sites": sites, "active_nav": "coworking"})

    @get("/{site_id:int}", guards=[public], name="coworking:day")
    async def day(self, request: Request, app_context: Ctx, site_id: FromPath[int], day: FromQuery[str] = "") -> Template:
        try:
            chosen = coworking.parse_day(day, default=None) if day else None  # type: ignore[arg-type]
        except InvalidInput:
            return await _day_page(
                request, app_context, site_id, None, status_code=400,
                messages=[("danger", _text(request, "Please enter a day like 2026-03-03."))],
            )
        return await _day_page(request, app_context, site_id, chosen)

    @post("/{site_id:int}/book", guards=[page_login], name="coworking:book")
    async def book(self, request: Request, app_context: Ctx, site_id: FromPath[int]) -> Template | Redirect:
        form = await request.form()
        resource_value, day_value, part = form_value(form, "resource_id"), form_value(form, "day"), form_value(form, "part")
        try:
            chosen = coworking.parse_day(day_value, default=None)  # type: ignore[arg-type]
            if chosen is None or not resource_value.isdigit():
                raise InvalidInput("please choose a desk and a day", field="resource_id")
            booking = await coworking.book_desk(
                app_context, request.user, coworking.DeskRequest(int(resource_value), chosen, part or "full")
            )
        except DomainError as error:
            if error.status_code == 404 and error.field not in ("resource_id",):
                raise
            level = "warning" if isinstance(error, Conflict) else "danger"
            return await _day_page(
                request, app_context, site_id, coworking.parse_day(day_value, None) if _is_day(day_value) else None,  # type: ignore[arg-type]
                status_code=error.status_code, messages=[(level, lending_message(request, error.message))],
            )
        flash(request, "success", _text(request, "Your desk is booked. You get a confirmation by e-mail."))
        return redirect(f"/desks/{site_id}?day={chosen.isoformat()}#desk-{booking.resource_id}")


def _is_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


ROUTES = [CoworkingPages]
