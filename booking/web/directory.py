"""The public directory of organisations (/organisationen): search, a profile page per listed
organisation with its contact form, and the button that asks to join.

The contact form works without an account and carries CSRF like every form; every message sends
e-mail, so it is rate-limited per client the way the accessibility feedback form is.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery

from booking.auth.guards import public
from booking.auth.ratelimit import client_address
from booking.domain.errors import DomainError
from booking.services import directory, join_requests
from booking.services.context import AppContext
from booking.web.admin_forms import RowId, small_id
from booking.web.base import FormErrors, flash, form_value, hourly_limiter, page_login, redirect, render_page
from booking.web.texts import error_fields, gettext, translate_message

Ctx = NamedDependency[AppContext]
CONTACT_LIMITER_KEY = "organisation_contact_rate_limiter"
JOIN_LIMITER_KEY = "join_request_rate_limiter"
JOIN_REQUESTS_PER_HOUR = 10


@get("/organisationen", guards=[public], name="directory:index")
async def directory_index(request: Request, app_context: Ctx, q: FromQuery[str] = "", field: FromQuery[str] = "",
                          page: FromQuery[str] = "1") -> Response:
    text = q.replace("\x00", "").strip()[: directory.MAX_SEARCH]
    field_id = small_id(field)
    number = min(small_id(page) or 1, directory.MAX_PAGE)
    fields = await directory.list_fields(app_context)
    if field_id is not None and field_id not in {row.id for row in fields}:
        field_id = None
    data = await directory.search_directory(app_context, text=text, field_id=field_id, page=number)
    query: dict[str, str] = {}
    if text:
        query["q"] = text
    if field_id is not None:
        query["field"] = str(field_id)
    return render_page(request, "directory/index.html", {
        "data": data, "q": text, "field_id": field_id, "fields": fields, "query": query, "active_nav": "directory",
    })


async def _profile_page(request: Request, app_context: AppContext, organisation_id: int, *, form: dict[str, str] | None = None,
                        errors: FormErrors | None = None, status_code: int = 200, join_errors: FormErrors | None = None) -> Response:
    profile = await directory.directory_profile(app_context, organisation_id)
    user = request.user
    member = bool(user is not None and user.is_member_of(organisation_id))
    open_request = await join_requests.open_request_of(app_context, user, organisation_id) if user is not None and not member else None
    context: dict[str, Any] = {
        "profile": profile, "entry": profile.entry, "form": form or {"name": "", "email": "", "message": ""},
        "errors": errors or FormErrors(), "join_errors": join_errors or FormErrors(), "is_member": member,
        "open_request": open_request, "active_nav": "directory",
    }
    return render_page(request, "directory/profile.html", context, status_code=status_code)


@get("/organisationen/{organisation_id:int}", guards=[public], name="directory:profile")
async def directory_profile(request: Request, app_context: Ctx, organisation_id: RowId) -> Response:
    return await _profile_page(request, app_context, organisation_id)


@post("/organisationen/{organisation_id:int}/contact", guards=[public], name="directory:contact")
async def contact(request: Request, app_context: Ctx, organisation_id: RowId) -> Response:
    data = await request.form()
    values = {"name": form_value(data, "name"), "email": form_value(data, "email"), "message": str(data.get("message") or "").strip()}
    limit = max(1, app_context.settings.privacy.feedback_per_hour)
    wait = hourly_limiter(request, CONTACT_LIMITER_KEY).hit(f"contact|{client_address(request)}", limit)
    if wait:
        errors = FormErrors(general=gettext(request, "Too many messages. Please wait %(seconds)s seconds and try again.", seconds=wait))
        response = await _profile_page(request, app_context, organisation_id, form=values, errors=errors, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        await directory.send_contact_message(app_context, organisation_id, name=values["name"], email=values["email"], message=values["message"])
    except DomainError as error:
        if error.status_code == 404:
            raise
        errors = error_fields(request, error, "message", known=("name", "email", "message"))
        return await _profile_page(request, app_context, organisation_id, form=values, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "Thank you: your message has been sent to the organisation. They answer you by e-mail."))
    return redirect(f"/organisationen/{organisation_id}")


@post("/organisationen/{organisation_id:int}/join", guards=[page_login], name="directory:join")
async def ask_to_join(request: Request, app_context: Ctx, organisation_id: RowId) -> Response:
    data = await request.form()
    wait = hourly_limiter(request, JOIN_LIMITER_KEY).hit(f"join|{request.user.user_id}", JOIN_REQUESTS_PER_HOUR)
    if wait:
        errors = FormErrors(general=gettext(request, "Too many requests. Please wait %(seconds)s seconds and try again.", seconds=wait))
        response = await _profile_page(request, app_context, organisation_id, join_errors=errors, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        await join_requests.ask_to_join(app_context, request.user, organisation_id, message=str(data.get("message") or ""))
    except DomainError as error:
        if error.status_code == 404:
            raise
        errors = FormErrors(general=translate_message(request, error.message))
        return await _profile_page(request, app_context, organisation_id, join_errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "Your request is on its way. The organisation's administrators decide and you get an e-mail."))
    return redirect(f"/organisationen/{organisation_id}")


ROUTES: list[Any] = [directory_index, directory_profile, contact, ask_to_join]
