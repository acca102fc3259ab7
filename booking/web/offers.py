"""Engagementkalender and Fortbildungsbörse: the public calendar of offers (/mitmachen, also
/get-involved), an offer's page with its sign-up, the e-mail links (confirm, cancel), the
organisers' pages (create, edit, cancel, participants with each date's waiting list to order,
attendance, sign-in sheet, message) and the person's engagement record with its printable
certificate. Feeds: ICS and Atom.

Every form: CSRF, Post/Redirect/Get on success, the form again with the message at the field on
error. Everything that sends e-mail to an address typed in by an anonymous person is rate-limited
per address and per client address.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery

from booking.auth.action_limits import OFFER_LIMITER_KEY, offer_cancel_wait, waiting_list_removal_wait
from booking.auth.guards import public
from booking.auth.ratelimit import client_address
from booking.domain import offers as rules
from booking.domain.errors import Conflict, DomainError, InvalidInput
from booking.ical import CalendarEvent, build_calendar
from booking.models import Offer
from booking.services import offer_catalogue, offer_organisers, offer_permissions, offer_publishing, offer_signups, offer_waiting_list
from booking.services.context import AppContext
from booking.web.admin_forms import RowId, small_id
from booking.web.base import FormErrors, flash, form_value, hourly_limiter, page_login, parse_local_datetime, redirect, render_page
from booking.web.texts import error_fields, gettext, ngettext, translate_message

Ctx = NamedDependency[AppContext]
SIGNUPS_PER_ADDRESS_PER_HOUR = 3
SIGNUPS_PER_CLIENT_PER_HOUR = 10
MESSAGES_PER_HOUR = 5
LIMITER_KEY = OFFER_LIMITER_KEY  # one limiter with the cancels of auth.action_limits
FORM_FIELDS = ("kind", "title", "description", "category", "site_id", "organisation_id", "location_kind", "address", "online_url",
               "requirements", "contact_name", "contact_email", "places", "starts_at", "ends_at", "repeat", "count")


def _counted(request: Request, singular: str, plural: str, number: int) -> str:
    """The singular or plural form with ``%(num)d`` filled in."""
    return ngettext(request, singular, plural, number, num=number)


def kind_names(request: Request) -> dict[str, str]:
    return {"task": gettext(request, "Volunteer task"), "training": gettext(request, "Training")}


# --------------------------------------------------------------------------- public calendar


def _parse_day(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


@get(["/mitmachen", "/get-involved"], guards=[public], name="offers:index")
async def offers_index(request: Request, app_context: Ctx) -> Response:
    params = request.query_params
    form = {name: (params.get(name) or "").strip()[:100] for name in ("from", "category", "kind", "site", "free", "open", "page")}
    errors = FormErrors()
    from_day = _parse_day(form["from"]) if form["from"] else None
    if form["from"] and from_day is None:
        errors["from"] = gettext(request, "Please enter a date like 2026-03-03.")
    flt = rules.OfferFilter(
        from_day=from_day, category=form["category"], kind=form["kind"] if form["kind"] in rules.OFFER_KINDS else "",
        site_id=small_id(form["site"]), free_only=form["free"] == "1", without_requirements=form["open"] == "1",
    )
    page = await offer_catalogue.public_offers(app_context, flt, page=small_id(form["page"]) or 1)
    query = {k: v for k, v in form.items() if v and k != "page"}
    return render_page(request, "offers/index.html", {
        "page": page, "form": form, "errors": errors, "kinds": kind_names(request), "active_nav": "offers",
        "query": query, "may_create": offer_permissions.may_create_any(request.user),
        "page_url": lambda number: "/mitmachen?" + urlencode({**query, "page": number}),
    })


async def _detail_page(request: Request, app_context: AppContext, offer_id: int, *, form: dict[str, str] | None = None,
                       errors: FormErrors | None = None, status_code: int = 200) -> Response:
    view = await offer_catalogue.get_offer(app_context, request.user, offer_id)
    return render_page(request, "offers/detail.html", {
        "view": view, "offer": view.offer, "kinds": kind_names(request), "form": form or {"name": "", "email": "", "date_id": ""},
        "errors": errors or FormErrors(), "may_manage": offer_permissions.may_manage(request.user, view.offer), "active_nav": "offers",
        "location": _location_text(request, view.offer, view.site),
        "waiting_places": await offer_waiting_list.waiting_places(app_context, request.user, view.offer, view.dates),
    }, status_code=status_code)


def _location_text(request: Request, offer: Offer, site: Any) -> str:
    if offer.location_kind == "online":
        return gettext(request, "Online")
    if offer.location_kind == "address":
        return offer.address
    return ", ".join(part for part in (site.name, site.address) if part)


@get("/mitmachen/{offer_id:int}", guards=[public], name="offers:detail")
async def offer_detail(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    return await _detail_page(request, app_context, offer_id)


@post("/mitmachen/{offer_id:int}/anmelden", guards=[public], name="offers:sign-up")
async def offer_sign_up(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    data = await request.form()
    values = {"name": form_value(data, "name"), "email": form_value(data, "email"), "date_id": form_value(data, "date_id")}
    date_id = None if values["date_id"] in ("", "all") else small_id(values["date_id"])
    if values["date_id"] not in ("", "all") and date_id is None:
        return await _detail_page(request, app_context, offer_id, form=values, status_code=400,
                                  errors=FormErrors(date_id=gettext(request, "Please choose a date.")))
    user = request.user
    if user is not None:
        try:
            result = await offer_signups.sign_up(app_context, user, offer_id, date_id)
        except Conflict:
            return await _detail_page(request, app_context, offer_id, form=values, status_code=409,
                                      errors=FormErrors(date_id=gettext(request, "This date is fully booked.")))
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await _detail_page(request, app_context, offer_id, form=values, status_code=error.status_code,
                                      errors=error_fields(request, error, "date_id", known=("date_id",)))
        if result.confirmed:
            flash(request, "success", _counted(request, "You are signed up for %(num)d date. A confirmation with a calendar invitation is on its way.",
                                               "You are signed up for %(num)d dates. A confirmation with a calendar invitation is on its way.",
                                               len(result.confirmed)))
        if result.full:
            flash(request, "warning", _counted(request, "%(num)d date is fully booked.", "%(num)d dates are fully booked.", len(result.full)))
        if result.already and not result.confirmed:
            flash(request, "info", gettext(request, "You are already signed up."))
        return redirect(f"/mitmachen/{offer_id}")
    # Anonymous: name and e-mail, double opt-in; rate-limited per address and per client.
    address = values["email"].lower()
    limiter = hourly_limiter(request, LIMITER_KEY)
    wait = limiter.hit(f"signup-client|{client_address(request)}", SIGNUPS_PER_CLIENT_PER_HOUR)
    if not wait and address:
        wait = limiter.hit("signup-address|" + hashlib.sha256(address.encode()).hexdigest(), SIGNUPS_PER_ADDRESS_PER_HOUR)
    if wait:
        response = await _detail_page(request, app_context, offer_id, form=values, status_code=429, errors=FormErrors(
            general=gettext(request, "Too many requests. Please wait %(seconds)s seconds and try again.", seconds=wait)))
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        await offer_signups.request_email_signup(app_context, offer_id, date_id, name=values["name"], email=values["email"],
                                          language=request.scope.get("state", {}).get("language", "de"))
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _detail_page(request, app_context, offer_id, form=values, status_code=error.status_code,
                                  errors=error_fields(request, error, "email", known=("name", "email", "date_id")))
    flash(request, "success", gettext(request, "Almost done: we have sent you an e-mail. Please confirm your sign-up with its link; only then is your place taken."))
    return redirect(f"/mitmachen/{offer_id}")


@post("/mitmachen/{offer_id:int}/warteliste", guards=[page_login], name="offers:waiting-list")
async def offer_join_waiting_list(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    """"Auf die Warteliste" of a full date (signed-in people; the offer's own check, not the
    generic join's visibility check, since the places resource is hidden)."""
    data = await request.form()
    values = {"name": "", "email": "", "date_id": form_value(data, "date_id")}
    date_id = small_id(values["date_id"])
    if date_id is None:
        return await _detail_page(request, app_context, offer_id, form=values, status_code=400,
                                  errors=FormErrors(date_id=gettext(request, "Please choose a date.")))
    try:
        await offer_waiting_list.join_waiting_list(app_context, request.user, offer_id, date_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _detail_page(request, app_context, offer_id, form=values, status_code=error.status_code,
                                  errors=error_fields(request, error, "date_id", known=("date_id",)))
    flash(request, "success", gettext(request, "You are on the waiting list. When a place frees up, we offer it to you by e-mail."))
    return redirect(f"/mitmachen/{offer_id}")


def _invalid_link(request: Request) -> Response:
    """A confirm or cancel link that is unknown, used or run out: one page for all of them."""
    return render_page(request, "offers/link.html", {"invalid": True, "active_nav": "offers"}, status_code=404)


@get("/mitmachen/bestaetigen/{token:str}", guards=[public], name="offers:confirm-form")
async def confirm_form(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        pending = await offer_signups.check_confirm_link(app_context, token)
    except DomainError:
        return _invalid_link(request)
    return render_page(request, "offers/link.html", {"pending": pending, "action": f"/mitmachen/bestaetigen/{token}",
                                                     "active_nav": "offers", "mode": "confirm"})


@post("/mitmachen/bestaetigen/{token:str}", guards=[public], name="offers:confirm")
async def confirm(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        pending = await offer_signups.check_confirm_link(app_context, token)
        result = await offer_signups.confirm_email_signup(app_context, token)
    except DomainError:
        return _invalid_link(request)
    if result.confirmed:
        flash(request, "success", _counted(request, "Thank you! Your place for %(num)d date is confirmed. The confirmation with a calendar invitation is on its way.",
                                           "Thank you! Your places for %(num)d dates are confirmed. The confirmation with a calendar invitation is on its way.",
                                           len(result.confirmed)))
    if result.full:
        flash(request, "warning", _counted(request, "%(num)d date was fully booked meanwhile.", "%(num)d dates were fully booked meanwhile.",
                                           len(result.full)))
    return redirect(f"/mitmachen/{pending.offer_id}")


@get("/mitmachen/absagen/{token:str}", guards=[public], name="offers:cancel-form")
async def cancel_form(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        view = await offer_signups.check_cancel_link(app_context, token)
    except DomainError:
        return _invalid_link(request)
    return render_page(request, "offers/link.html", {"cancel": view, "action": f"/mitmachen/absagen/{token}",
                                                     "active_nav": "offers", "mode": "cancel"})


@post("/mitmachen/absagen/{token:str}", guards=[public], name="offers:cancel")
async def cancel(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        await offer_signups.cancel_with_link(app_context, token)
    except DomainError:
        return _invalid_link(request)
    flash(request, "success", gettext(request, "Your place has been cancelled. Thank you for letting us know."))
    return redirect("/mitmachen")


# --------------------------------------------------------------------------- feeds


async def _upcoming_events(app_context: AppContext) -> list[tuple[offer_catalogue.OfferView, offer_catalogue.DateView]]:
    page = await offer_catalogue.public_offers(app_context, rules.OfferFilter(), page_size=500)
    return [(view, d) for view in page.items for d in view.dates]


@get("/mitmachen/angebote.ics", guards=[public], name="offers:ics", opt={"exclude_from_csrf": True})
async def offers_ics(request: Request, app_context: Ctx) -> Response:
    """All upcoming offer dates (PUBLISH, no participants' data), free places in the text."""
    base = app_context.settings.base_url.rstrip("/")
    events = [
        CalendarEvent(
            uid=f"offer-date-{d.id}@{app_context.settings.host_name}", sequence=0, dtstamp=view.offer.updated_at,
            starts_at=d.starts_at, ends_at=d.ends_at, timezone=view.site.timezone, summary=view.offer.title,
            description=(view.offer.description[:1000] or None), location=_location_text(request, view.offer, view.site),
            url=f"{base}/mitmachen/{view.offer.id}", last_modified=view.offer.updated_at,
            categories=tuple(c for c in (view.offer.category,) if c),
        )
        for view, d in await _upcoming_events(app_context)
    ]
    body = build_calendar(events, name=gettext(request, "Volunteer offers"), timezone_hint=app_context.settings.default_timezone)
    return Response(body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "public, max-age=300"})


@get("/mitmachen/angebote.atom", guards=[public], name="offers:atom", opt={"exclude_from_csrf": True})
async def offers_atom(request: Request, app_context: Ctx) -> Response:
    """An Atom feed of upcoming offers (one entry per offer), rendered by an autoescaping
    template: XML-escaped like HTML (feedgen would need lxml, a C dependency for one feed)."""
    page = await offer_catalogue.public_offers(app_context, rules.OfferFilter(), page_size=100)
    updated = max((v.offer.updated_at for v in page.items), default=app_context.now())
    response = render_page(request, "offers/feed.atom.html", {
        "items": page.items, "base": app_context.settings.base_url.rstrip("/"), "updated": updated,
        "host": app_context.settings.host_name, "kinds": kind_names(request),
    })
    response.media_type = "application/atom+xml; charset=utf-8"
    return response


# --------------------------------------------------------------------------- organisers


async def _form_options(app_context: AppContext, request: Request) -> dict[str, Any]:
    choices = await offer_publishing.form_choices(app_context, request.user)
    return {"site_options": [(str(s.id), s.name) for s in choices.sites],
            "organisation_options": [(str(o.id), o.name) for o in choices.organisations],
            "reservable": choices.reservable, "kinds": kind_names(request)}


def _blank_form() -> dict[str, Any]:
    return {"kind": "task", "title": "", "description": "", "category": "", "site_id": "", "organisation_id": "", "location_kind": "site",
            "address": "", "online_url": "", "requirements": "", "contact_name": "", "contact_email": "", "places": "5",
            "starts_at": "", "ends_at": "", "repeat": "none", "count": "1", "is_published": "1", "reserve": []}


def _form_of(data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: form_value(data, name) for name in FORM_FIELDS}
    values["requirements"] = str(data.get("requirements") or "")[:2000]
    values["description"] = str(data.get("description") or "").strip()[:9000]
    values["is_published"] = "1" if form_value(data, "is_published") else ""
    values["reserve"] = [v for v in (data.getall("reserve", []) if hasattr(data, "getall") else []) if small_id(v)]
    return values


async def _input_of(app_context: AppContext, values: dict[str, Any], *, with_dates: bool) -> offer_publishing.OfferInput:
    site_id = small_id(values["site_id"])
    if site_id is None:
        raise InvalidInput("please choose a site", field="site_id")
    try:
        places = int(values["places"])
    except ValueError:
        raise InvalidInput("please enter a whole number", field="places") from None
    local_start, duration, count = None, timedelta(hours=1), 1
    if with_dates:
        timezone = await offer_publishing.site_timezone(app_context, site_id)
        starts = parse_local_datetime(values["starts_at"], timezone, "starts_at")
        ends = parse_local_datetime(values["ends_at"], timezone, "ends_at")
        local_start, duration = offer_publishing.local_schedule(starts, ends, timezone)
        if values["repeat"] != "none":
            try:
                count = int(values["count"])
            except ValueError:
                raise InvalidInput("please enter a whole number", field="count") from None
    return offer_publishing.OfferInput(
        kind=values["kind"], title=values["title"], site_id=site_id, places=places, local_start=local_start, duration=duration,
        description=values["description"], category=values["category"], organisation_id=small_id(values["organisation_id"]),
        location_kind=values["location_kind"] or "site", address=values["address"], online_url=values["online_url"],
        requirements=values["requirements"].splitlines(), contact_name=values["contact_name"], contact_email=values["contact_email"],
        repeat=values["repeat"] or "none", count=count, is_published=bool(values["is_published"]),
        reserve_resource_ids=[int(v) for v in values.get("reserve", [])],
    )


@get("/mitmachen/verwalten", guards=[page_login], name="offers:manage")
async def manage(request: Request, app_context: Ctx) -> Response:
    mine = await offer_catalogue.managed_offers(app_context, request.user)
    return render_page(request, "offers/manage.html", {"offers": mine, "kinds": kind_names(request), "active_nav": "offers",
                                                       "may_create": offer_permissions.may_create_any(request.user)})


@get("/mitmachen/neu", guards=[page_login], name="offers:new-form")
async def new_form(request: Request, app_context: Ctx) -> Response:
    if not offer_permissions.may_create_any(request.user):
        raise PermissionDeniedException("only organisation administrators and site staff publish offers")
    options = await _form_options(app_context, request)
    return render_page(request, "offers/form.html", {"form": _blank_form(), "errors": FormErrors(), "offer": None, **options,
                                                     "active_nav": "offers"})


@post("/mitmachen/neu", guards=[page_login], name="offers:new")
async def create(request: Request, app_context: Ctx) -> Response:
    values = _form_of(await request.form())
    try:
        offer = await offer_publishing.create_offer(app_context, request.user, await _input_of(app_context, values, with_dates=True))
    except DomainError as error:
        errors = error_fields(request, error, "general", known=(*FORM_FIELDS, "reserve"))
        options = await _form_options(app_context, request)
        return render_page(request, "offers/form.html", {"form": values, "errors": errors, "offer": None, **options,
                                                         "active_nav": "offers"}, status_code=error.status_code)
    flash(request, "success", gettext(request, "The offer has been published."))
    return redirect(f"/mitmachen/{offer.id}/teilnehmende")


@get("/mitmachen/{offer_id:int}/bearbeiten", guards=[page_login], name="offers:edit-form")
async def edit_form(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    view = await offer_catalogue.get_managed_offer(app_context, request.user, offer_id)
    offer = view.offer
    form = {**_blank_form(), **{name: str(getattr(offer, name) or "") for name in FORM_FIELDS if hasattr(offer, name)}}
    form["requirements"] = "\n".join(offer.requirements)
    form["is_published"] = "1" if offer.is_published else ""
    options = await _form_options(app_context, request)
    return render_page(request, "offers/form.html", {"form": form, "errors": FormErrors(), "offer": offer, "view": view, **options,
                                                     "active_nav": "offers"})


@post("/mitmachen/{offer_id:int}/bearbeiten", guards=[page_login], name="offers:edit")
async def edit(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    values = _form_of(await request.form())
    try:
        await offer_publishing.update_offer(app_context, request.user, offer_id, await _input_of(app_context, values, with_dates=False))
    except DomainError as error:
        if error.status_code == 404:
            raise
        view = await offer_catalogue.get_offer(app_context, request.user, offer_id, upcoming_only=False)
        options = await _form_options(app_context, request)
        return render_page(request, "offers/form.html", {
            "form": values, "errors": error_fields(request, error, "general", known=FORM_FIELDS), "offer": view.offer, "view": view,
            **options, "active_nav": "offers"}, status_code=error.status_code)
    flash(request, "success", gettext(request, "The offer has been saved."))
    return redirect(f"/mitmachen/{offer_id}/teilnehmende")


async def _participants_page(request: Request, app_context: AppContext, offer_id: int, *, errors: FormErrors | None = None,
                             message_form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    view, per_date = await offer_organisers.participants(app_context, request.user, offer_id)
    return render_page(request, "offers/participants.html", {
        "view": view, "offer": view.offer, "per_date": per_date, "errors": errors or FormErrors(), "kinds": kind_names(request),
        "message_form": message_form or {}, "active_nav": "offers",
    }, status_code=status_code)


@get("/mitmachen/{offer_id:int}/teilnehmende", guards=[page_login], name="offers:participants")
async def participants(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    return await _participants_page(request, app_context, offer_id)


async def _offer_of_date(app_context: AppContext, request: Request, date_id: int) -> int:
    return await offer_organisers.offer_id_of_date(app_context, request.user, date_id)


@post("/mitmachen/termine/{date_id:int}/anwesenheit", guards=[page_login], name="offers:attendance")
async def attendance(request: Request, app_context: Ctx, date_id: RowId) -> Response:
    offer_id = await _offer_of_date(app_context, request, date_id)
    data = await request.form()
    marks: dict[int, str] = {}
    for key in data:
        if key.startswith("attendance-") and small_id(key.removeprefix("attendance-")):
            value = form_value(data, key)
            if value:
                marks[int(key.removeprefix("attendance-"))] = value
    try:
        count = await offer_organisers.mark_attendance(app_context, request.user, date_id, marks)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _participants_page(request, app_context, offer_id, status_code=error.status_code,
                                        errors=FormErrors({f"date-{date_id}": translate_message(request, error.message)}))
    flash(request, "success", _counted(request, "Attendance saved for %(num)d person.", "Attendance saved for %(num)d people.", count))
    return redirect(f"/mitmachen/{offer_id}/teilnehmende#date-{date_id}")


@get("/mitmachen/termine/{date_id:int}/liste", guards=[page_login], name="offers:sheet")
async def sheet(request: Request, app_context: Ctx, date_id: RowId) -> Response:
    data = await offer_organisers.sign_in_sheet(app_context, request.user, date_id)
    return render_page(request, "offers/sheet.html", {"sheet": data, "rows": max(len(data.names) + 5, 10), "kinds": kind_names(request)})


@post("/mitmachen/termine/{date_id:int}/nachricht", guards=[page_login], name="offers:message")
async def message(request: Request, app_context: Ctx, date_id: RowId) -> Response:
    offer_id = await _offer_of_date(app_context, request, date_id)
    data = await request.form()
    text = str(data.get("message") or "").strip()
    wait = hourly_limiter(request, LIMITER_KEY).hit(f"offer-message|{request.user.user_id}", MESSAGES_PER_HOUR)
    if wait:
        response = await _participants_page(request, app_context, offer_id, status_code=429, message_form={str(date_id): text},
                                            errors=FormErrors({f"message-{date_id}": gettext(
                                                request, "Too many messages. Please wait %(seconds)s seconds and try again.", seconds=wait)}))
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        count = await offer_organisers.message_participants(app_context, request.user, date_id, text)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _participants_page(request, app_context, offer_id, status_code=error.status_code, message_form={str(date_id): text},
                                        errors=FormErrors({f"message-{date_id}": translate_message(request, error.message)}))
    flash(request, "success", _counted(request, "The message goes to %(num)d participant.", "The message goes to %(num)d participants.", count))
    return redirect(f"/mitmachen/{offer_id}/teilnehmende#date-{date_id}")




async def _cancel_offer_page(request: Request, app_context: AppContext, offer_id: int, *, error: str = "",
                             status_code: int = 200) -> Response:
    preview = await offer_publishing.cancel_preview(app_context, request.user, offer_id)
    return render_page(request, "offers/cancel_offer.html", {"preview": preview, "error": error, "active_nav": "offers"},
                       status_code=status_code)


@get("/mitmachen/{offer_id:int}/absagen", guards=[page_login], name="offers:cancel-offer-form")
async def cancel_offer_form(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    return await _cancel_offer_page(request, app_context, offer_id)


@post("/mitmachen/{offer_id:int}/absagen", guards=[page_login], name="offers:cancel-offer")
async def cancel_offer(request: Request, app_context: Ctx, offer_id: RowId) -> Response:
    preview = await offer_publishing.cancel_preview(app_context, request.user, offer_id)  # organisers only (404)
    wait = offer_cancel_wait(request)
    if wait:
        response = await _cancel_offer_page(request, app_context, offer_id, status_code=429, error=gettext(
            request, "Too many cancelled offers. Please wait %(seconds)s seconds and try again.", seconds=wait))
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        await offer_publishing.cancel_offer(app_context, request.user, offer_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _cancel_offer_page(request, app_context, offer_id, error=translate_message(request, error.message),
                                        status_code=error.status_code)
    flash(request, "success", _counted(request, "The offer has been cancelled; %(num)d participant is told by e-mail.",
                                       "The offer has been cancelled; %(num)d participants are told by e-mail.", preview.participants))
    return redirect(f"/mitmachen/{offer_id}/teilnehmende")


async def _waiting_step(request: Request, app_context: AppContext, offer_id: int, step) -> Response:  # type: ignore[no-untyped-def]
    """Run an organiser's waiting-list step; the participants page again with the message on error."""
    try:
        date_id = await step()
    except DomainError as error:
        if error.status_code in (403, 404) and error.field is None:
            raise
        return await _participants_page(request, app_context, offer_id, status_code=error.status_code,
                                        errors=FormErrors({"waiting": translate_message(request, error.message)}))
    return redirect(f"/mitmachen/{offer_id}/teilnehmende#waiting-{date_id}")


@post("/mitmachen/{offer_id:int}/warteliste/{entry_id:int}/verschieben", guards=[page_login], name="offers:waiting-move")
async def waiting_move(request: Request, app_context: Ctx, offer_id: RowId, entry_id: RowId) -> Response:
    direction = form_value(await request.form(), "direction")

    async def step() -> int:
        return await offer_waiting_list.move_entry(app_context, request.user, offer_id, entry_id, direction)

    return await _waiting_step(request, app_context, offer_id, step)


@post("/mitmachen/{offer_id:int}/warteliste/{entry_id:int}/entfernen", guards=[page_login], name="offers:waiting-remove")
async def waiting_remove(request: Request, app_context: Ctx, offer_id: RowId, entry_id: RowId) -> Response:
    wait = waiting_list_removal_wait(request)  # each removal mails the person
    if wait:
        response = await _participants_page(request, app_context, offer_id, status_code=429, errors=FormErrors({"waiting": gettext(
            request, "Too many removals. Please wait %(seconds)s seconds and try again.", seconds=wait)}))
        response.headers["Retry-After"] = str(wait)
        return response

    async def step() -> int:
        date_id = await offer_waiting_list.remove_entry(app_context, request.user, offer_id, entry_id)
        flash(request, "success", gettext(request, "The entry is off the waiting list."))
        return date_id

    return await _waiting_step(request, app_context, offer_id, step)


# --------------------------------------------------------------------------- engagement record


@get("/mitmachen/mein-engagement", guards=[page_login], name="offers:record")
async def record(request: Request, app_context: Ctx) -> Response:
    data = await offer_organisers.engagement_record(app_context, request.user)
    return render_page(request, "offers/record.html", {"record": data, "active_nav": "offers"})


@get("/mitmachen/mein-engagement/bescheinigung", guards=[page_login], name="offers:certificate")
async def certificate(request: Request, app_context: Ctx) -> Response:
    data = await offer_organisers.engagement_record(app_context, request.user)
    return render_page(request, "offers/certificate.html", {"record": data, "today": app_context.now(),
                                                            "service": app_context.settings.base_url})


@post("/mitmachen/anmeldungen/{signup_id:int}/absagen", guards=[page_login], name="offers:cancel-own")
async def cancel_own(request: Request, app_context: Ctx, signup_id: RowId) -> Response:
    try:
        await offer_signups.cancel_own_signup(app_context, request.user, signup_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        flash(request, "danger", translate_message(request, error.message))
        return redirect("/mitmachen/mein-engagement")
    flash(request, "success", gettext(request, "Your place has been cancelled. Thank you for letting us know."))
    return redirect("/mitmachen/mein-engagement")


ROUTES: list[Any] = [
    offers_index, offers_ics, offers_atom, manage, new_form, create, record, certificate, offer_detail, offer_sign_up,
    offer_join_waiting_list,
    confirm_form, confirm, cancel_form, cancel, edit_form, edit, participants, attendance, sheet, message, cancel_own,
    waiting_move, waiting_remove, cancel_offer_form, cancel_offer,
]
