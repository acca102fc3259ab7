"""Check-in at the door and on the booking page.

  GET  /r/{code}/check-in          anyone: the room's door sign; the signed-in booker of a
                                   booking of this room that asks for check-in: one button
  POST /r/{code}/check-in          the booker checks in to their current booking (one tap)
  POST /bookings/{id}/check-in     the booker checks in from their booking page

The room's QR code (``/r/<code>``) leads here when the room's rules ask for check-in. A refused
check-in (outside the window, nothing to check in to) shows the page again with the reason
(409); success redirects (303) to the page with a message.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.auth.guards import public
from booking.services import checkin
from booking.services.context import AppContext
from booking.web.base import flash, login_url_for, page_login, redirect, render_page
from booking.web.labels import qr_svg, short_url
from booking.web.texts import gettext, translate_message

Ctx = NamedDependency[AppContext]


async def _door_page(request: Request, app_context: AppContext, code: str, *, error: str | None = None,
                     status_code: int = 200) -> Response:
    door = await checkin.door_checkin(app_context, request.user, code)
    context: dict[str, Any] = {
        "door": door,
        "sign": door.sign,
        "timezone": door.sign.site.timezone,
        "qr": qr_svg(short_url(app_context, door.sign.code)),
        "error": error,
        "login_url": login_url_for(f"/r/{door.sign.code}/check-in"),
    }
    return render_page(request, "labels/check_in.html", context, status_code=status_code)


@get("/r/{code:str}/check-in", guards=[public], name="checkin:door")
async def door_page(request: Request, app_context: Ctx, code: FromPath[str]) -> Response:
    return await _door_page(request, app_context, code)


@post("/r/{code:str}/check-in", guards=[page_login], name="checkin:door-post")
async def door_check_in(request: Request, app_context: Ctx, code: FromPath[str]) -> Response:
    try:
        await checkin.check_in_by_code(app_context, request.user, code)
    except checkin.CheckinRefused as refused:
        return await _door_page(request, app_context, code, error=translate_message(request, refused.message), status_code=409)
    return redirect(f"/r/{code}/check-in")  # the page itself says the booker has checked in


@post("/bookings/{booking_id:int}/check-in", guards=[page_login], name="checkin:booking")
async def booking_check_in(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    from booking.web.my_bookings import _detail
    from booking.web.base import FormErrors

    try:
        await checkin.check_in(app_context, request.user, booking_id)
    except checkin.CheckinRefused as refused:
        errors = FormErrors()
        errors["checkin"] = translate_message(request, refused.message)
        return await _detail(request, app_context, booking_id, errors=errors, status_code=409)
    flash(request, "success", gettext(request, "You have checked in. Have a good time!"))
    return redirect(f"/bookings/{booking_id}")


ROUTES = [door_page, door_check_in, booking_check_in]
