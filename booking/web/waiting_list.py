"""Waiting-list pages (``services.waiting_list`` and its ``waiting_list_*`` neighbours).

- POST /resources/{id}/waiting-list: "Auf die Warteliste" from a booking conflict (the form
  again with the message on error; 303 to "Meine Buchungen" on success).
- POST /waiting-list/{entry}/withdraw, /waiting-list/holds/{booking}/confirm|decline: the
  buttons on "Meine Buchungen".
- GET|POST /waiting-list/offers/{token}: the offer mail's link. GET only shows the offer
  (mail scanners open links); the buttons post. The token is signed, works while the offer is
  open, and is redacted from logs (``booking.log_redaction``).
- /lender/waiting-lists: the site's waiting lists per resource, with move up/down and remove;
  volunteer offers' dates with people waiting link to each offer's organiser page (ordered there).
"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.auth.action_limits import waiting_list_removal_wait
from booking.auth.guards import public
from booking.domain.errors import DomainError
from booking.services import offer_waiting_list, waiting_list, waiting_list_holds, waiting_list_staff, waiting_list_views
from booking.services.context import AppContext
from booking.web.base import FormErrors, flash, form_value, page_lender, page_login, parse_local_datetime, redirect, render_page
from booking.web.texts import gettext, translate_message

Ctx = NamedDependency[AppContext]

JOIN_FIELDS = ("starts_at", "ends_at", "quantity", "organisation_id", "title")


def join_form_fields(values: dict[str, str], starts_at: str, ends_at: str) -> dict[str, str]:
    """The hidden fields of the "join the waiting list" button after a conflict."""
    return {
        "starts_at": starts_at, "ends_at": ends_at, "quantity": values.get("quantity", "") or "1",
        "organisation_id": values.get("organisation_id", ""), "title": values.get("title", ""),
    }


@post("/resources/{resource_id:int}/waiting-list", guards=[page_login])
async def join(request: Request, app_context: Ctx, resource_id: FromPath[int]) -> Response:
    from booking.services import catalogue
    from booking.web import resources

    data = await request.form()
    values = {name: form_value(data, name) for name in JOIN_FIELDS}
    details = await catalogue.get_resource(app_context, request.user, resource_id)
    timezone = details.site.timezone
    form = {**resources.booking_form.empty_form(), **values, "repeat": "none"}
    errors = FormErrors()
    moments = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = parse_local_datetime(values[name], timezone, name)
        except DomainError as error:
            errors[name] = translate_message(request, error.message)
    quantity = values["quantity"] or "1"
    if not quantity.isdigit() or int(quantity) < 1 or int(quantity) > 100_000:
        errors["quantity"] = gettext(request, "please enter a whole number of at least 1")
    organisation = values["organisation_id"]
    if organisation and not organisation.isdigit():
        errors["organisation_id"] = gettext(request, "please choose from the list")
    if not errors and moments["ends_at"] <= moments["starts_at"]:
        errors["ends_at"] = gettext(request, "the end must be after the start")
    if errors:
        return await resources._page(request, app_context, resource_id, form, errors=errors, status_code=400)  # noqa: SLF001
    try:
        await waiting_list.join(
            app_context, request.user,
            waiting_list.JoinRequest(
                resource_id=resource_id, starts_at=moments["starts_at"], ends_at=moments["ends_at"], quantity=int(quantity),
                organisation_id=int(organisation) if organisation else None, title=values["title"],
            ),
        )
    except DomainError as error:
        if error.status_code == 404 and error.field in (None, "resource_id"):
            raise
        field = error.field if error.field in JOIN_FIELDS else "general"
        errors[field] = translate_message(request, error.message)
        return await resources._page(request, app_context, resource_id, form, errors=errors, status_code=error.status_code)  # noqa: SLF001
    flash(request, "success", gettext(request, "You are on the waiting list. If the time becomes free, we will hold it for you and write to you."))
    return redirect("/bookings#waiting-list")


async def _list_with_error(request: Request, app_context: AppContext, error: DomainError) -> Response:
    if error.status_code == 404 and error.field is None:
        raise error
    from booking.web.my_bookings import list_page

    errors = FormErrors(waiting_list=translate_message(request, error.message))
    return await list_page(request, app_context, errors=errors, status_code=error.status_code)


@post("/waiting-list/{entry_id:int}/withdraw", guards=[page_login])
async def withdraw(request: Request, app_context: Ctx, entry_id: FromPath[int]) -> Response:
    try:
        await waiting_list_views.withdraw(app_context, request.user, entry_id)
    except DomainError as error:
        return await _list_with_error(request, app_context, error)
    flash(request, "success", gettext(request, "You have left the waiting list."))
    return redirect("/bookings#waiting-list")


@post("/waiting-list/holds/{booking_id:int}/confirm", guards=[page_login])
async def confirm_hold(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    try:
        booking = await waiting_list_holds.confirm_hold(app_context, request.user, booking_id)
    except DomainError as error:
        return await _list_with_error(request, app_context, error)
    return redirect(f"/bookings/{booking.id}/confirmation")


@post("/waiting-list/holds/{booking_id:int}/decline", guards=[page_login])
async def decline_hold(request: Request, app_context: Ctx, booking_id: FromPath[int]) -> Response:
    try:
        await waiting_list_holds.decline_hold(app_context, request.user, booking_id)
    except DomainError as error:
        return await _list_with_error(request, app_context, error)
    flash(request, "success", gettext(request, "You have declined the place. It goes to the next person on the waiting list."))
    return redirect("/bookings#waiting-list")


async def _offer_page(request: Request, app_context: AppContext, token: str, *, error: str | None = None, status_code: int = 200) -> Response:
    offer = await waiting_list_holds.offer_for_token(app_context, token)
    return render_page(request, "waiting_list/offer.html", {
        "offer": offer, "action": f"/waiting-list/offers/{token}", "error": error, "active_nav": "bookings",
    }, status_code=status_code)


@get("/waiting-list/offers/{token:str}", guards=[public])
async def offer_page(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    """The offer mail's link: what is held, until when, and the two buttons (GET changes nothing)."""
    return await _offer_page(request, app_context, token)


@post("/waiting-list/offers/{token:str}", guards=[public])
async def answer_offer(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    data = await request.form()
    answer = form_value(data, "answer")
    if answer not in ("confirm", "decline"):
        return await _offer_page(request, app_context, token, error=gettext(request, "please choose from the list"), status_code=400)
    try:
        await waiting_list_holds.answer_offer_by_token(app_context, token, accept=answer == "confirm")
    except DomainError as error:
        if error.status_code == 404:
            raise
        return await _offer_page(request, app_context, token, error=translate_message(request, error.message), status_code=error.status_code)
    return redirect(f"/waiting-list/offers/{token}")


# --------------------------------------------------------------------------- the lenders' view


def _site_choice(request: Request) -> int | None:
    value = (request.query_params.get("site") or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


async def _lender_page(request: Request, app_context: AppContext, site_id: int | None, *, errors: FormErrors | None = None,
                       status_code: int = 200) -> Response:
    sites = await waiting_list_staff.staff_sites(app_context, request.user)
    site_ids = [site.id for site in sites]
    if site_id not in site_ids:
        site_id = site_ids[0] if site_ids else None
    lists = await waiting_list_staff.site_lists(app_context, request.user, site_id) if site_id is not None else {}
    offer_dates = await offer_waiting_list.site_waiting_dates(app_context, request.user, site_id) if site_id is not None else []
    return render_page(request, "waiting_list/lender.html", {
        "sites": sites, "site_id": site_id, "lists": lists, "offer_dates": offer_dates, "errors": errors or FormErrors(),
        "lender_page": "waiting_lists", "active_nav": "inbox",
    }, status_code=status_code)


@get("/lender/waiting-lists", guards=[page_lender])
async def lender_lists(request: Request, app_context: Ctx) -> Response:
    return await _lender_page(request, app_context, _site_choice(request))


async def _after_staff_step(request: Request, app_context: AppContext, entry_id: int, step) -> Response:  # type: ignore[no-untyped-def]
    data = await request.form()
    site = form_value(data, "site")
    site_id = int(site) if site.isdigit() and len(site) < 10 else None
    try:
        await step(data)
    except DomainError as error:
        if error.status_code == 404 and error.field is None:
            raise
        errors = FormErrors(waiting_list=translate_message(request, error.message))
        return await _lender_page(request, app_context, site_id, errors=errors, status_code=error.status_code)
    return redirect(f"/lender/waiting-lists?site={site_id}#entry-{entry_id}" if site_id else "/lender/waiting-lists")


@post("/lender/waiting-lists/{entry_id:int}/move", guards=[page_lender])
async def move(request: Request, app_context: Ctx, entry_id: FromPath[int]) -> Response:
    async def step(data) -> None:  # type: ignore[no-untyped-def]
        await waiting_list_staff.move(app_context, request.user, entry_id, form_value(data, "direction"))

    return await _after_staff_step(request, app_context, entry_id, step)


@post("/lender/waiting-lists/{entry_id:int}/remove", guards=[page_lender])
async def remove(request: Request, app_context: Ctx, entry_id: FromPath[int]) -> Response:
    wait = waiting_list_removal_wait(request)
    if wait:
        site = form_value(await request.form(), "site")
        message = gettext(request, "Too many removals. Please wait %(seconds)s seconds and try again.", seconds=wait)
        response = await _lender_page(request, app_context, int(site) if site.isdigit() and len(site) < 10 else None,
                                      errors=FormErrors(waiting_list=message), status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response

    async def step(data) -> None:  # type: ignore[no-untyped-def]
        await waiting_list_staff.remove(app_context, request.user, entry_id)
        flash(request, "success", gettext(request, "The entry is off the waiting list."))

    return await _after_staff_step(request, app_context, entry_id, step)


ROUTES = [join, withdraw, confirm_hold, decline_hold, offer_page, answer_offer, lender_lists, move, remove]
