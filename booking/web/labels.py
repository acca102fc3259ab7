"""QR codes on things and doors: the short URL, the printable label sheet, the door sign.

  GET /r/{code}                       anyone: the resource's public page; a lender of its site:
                                      the hand-out of the thing's current or next booking (or its
                                      return when it is out), else the lender's page of the thing
  GET /r/{code}/tuer?refresh=1        a room's door sign: today's bookings, no names (public);
                                      ``refresh=1`` for an unattended tablet reloads it every
                                      few minutes (not by default: a timed reload is a WCAG
                                      2.2.1 failure for a person reading the page)
  GET /admin/sites/{site_id}/labels   the label sheet of a site, A4 (its lenders and managers)

An unknown or mistyped code, or one of a resource the person may not see, answers 404.
"""

from __future__ import annotations

from typing import Any

import segno
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from markupsafe import Markup

from booking.auth.guards import public
from booking.domain.short_codes import code_for
from booking.services import resource_codes
from booking.services.context import AppContext
from booking.web.base import page_lender, render_page

Ctx = NamedDependency[AppContext]
LABELS_PER_PAGE = 21  # 3 columns × 7 rows on A4 (see static/labels.css)
DOOR_SIGN_REFRESH_SECONDS = 300


def short_url(app_context: AppContext, code: str) -> str:
    """The absolute URL a label's QR code holds."""
    return f"{app_context.settings.base_url.rstrip('/')}/r/{code}"


def qr_svg(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG, hidden from assistive technology: the page shows
    the code and the name as text beside it. Sized by CSS (viewBox only)."""
    svg = segno.make(url, error="m", micro=False).svg_inline(scale=1, border=4, omitsize=True, svgclass="app-qr")
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))  # noqa: S704 - segno's own SVG


def scan_url(target: resource_codes.ScanTarget) -> str:
    """Where a scan leads (see ``resource_codes.scan_target``)."""
    if target.kind in ("hand_out", "take_back"):
        query = f"site={target.site_id}" if target.is_today else f"day={target.day.isoformat()}&site={target.site_id}"  # type: ignore[union-attr]
        return f"/lender/today?{query}#loan-{target.booking_id}-title"
    if target.kind == "check_in":
        return f"/r/{code_for(target.resource_id)}/check-in"
    if target.kind == "lender":
        return f"/lender/items/{target.resource_id}"
    return f"/resources/{target.resource_id}"


@get("/r/{code:str}", guards=[public], name="labels:scan")
async def scan(request: Request, app_context: Ctx, code: FromPath[str]) -> Redirect:
    target = await resource_codes.scan_target(app_context, request.user, code)
    return Redirect(scan_url(target), status_code=303)


@get("/r/{code:str}/tuer", guards=[public], name="labels:door-sign")
async def door_sign(request: Request, app_context: Ctx, code: FromPath[str], refresh: FromQuery[str] = "") -> Template:
    sign = await resource_codes.door_sign(app_context, request.user, code)
    context: dict[str, Any] = {
        "sign": sign,
        "timezone": sign.site.timezone,
        "qr": qr_svg(short_url(app_context, sign.code)),
        "refresh_seconds": DOOR_SIGN_REFRESH_SECONDS if refresh == "1" else None,
    }
    return render_page(request, "labels/door_sign.html", context)


@get("/admin/sites/{site_id:int}/labels", guards=[page_lender], name="labels:sheet")
async def label_sheet(request: Request, app_context: Ctx, site_id: FromPath[int]) -> Template:
    sheet = await resource_codes.label_sheet(app_context, request.user, site_id)
    labels = [
        {"code": label.code, "resource": label.resource, "url": short_url(app_context, label.code),
         "qr": qr_svg(short_url(app_context, label.code))}
        for label in sheet.labels
    ]
    pages = [labels[start:start + LABELS_PER_PAGE] for start in range(0, len(labels), LABELS_PER_PAGE)]
    door_signs = [label for label in labels if label["resource"].kind in resource_codes.DOOR_SIGN_KINDS]
    return render_page(request, "labels/sheet.html", {
        "site": sheet.site, "pages": pages, "count": len(labels), "door_signs": door_signs, "active_nav": "inbox",
    })


ROUTES = [scan, door_sign, label_sheet]
