"""My organisation: members, invitations by e-mail (organisation admins), the organisation's
bookings; and the invitation link, which lets the invitee register or log in and join."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.api.auth import start_session
from booking.auth.guards import public
from booking.domain.errors import DomainError, InvalidInput
from booking.services import directory, feeds, join_requests, organisations, overviews, registration
from booking.services.context import AppContext
from booking.web.admin_forms import RowId, all_values, checkbox, small_id
from booking.web.base import FormErrors, flash, form_value, login_url_for, page_language, page_login, redirect, render_page
from booking.web.texts import error_fields, gettext, translate_message

Ctx = NamedDependency[AppContext]


def _role_options(request: Request) -> list[tuple[str, str]]:
    return [("member", gettext(request, "Member")), ("admin", gettext(request, "Administrator"))]


async def _page(request: Request, app_context: AppContext, organisation_id: int, *, form: dict[str, str] | None = None,
                errors: FormErrors | None = None, status_code: int = 200, profile_form: dict[str, Any] | None = None,
                profile_errors: FormErrors | None = None, decision_errors: FormErrors | None = None) -> Response:
    overview = await organisations.organisation_overview(app_context, request.user, organisation_id)
    rows = await overviews.organisation_bookings(app_context, request.user, organisation_id)
    profile: dict[str, Any] = {}
    if overview.may_manage:
        organisation = overview.organisation
        profile = {
            "fields": await directory.list_fields(app_context),
            "profile_form": profile_form or {
                "description": organisation.description, "website": organisation.website,
                "listed_in_directory": organisation.listed_in_directory,
                "field_ids": [str(i) for i in await directory.field_ids_of(app_context, organisation_id)],
            },
            "profile_errors": profile_errors or FormErrors(),
            "join_requests": await join_requests.pending_requests(app_context, request.user, organisation_id),
            "decision_errors": decision_errors or FormErrors(),
        }
    context: dict[str, Any] = {
        **profile,
        "overview": overview, "organisation": overview.organisation, "rows": rows,
        "form": form or {"email": "", "role": "member"}, "errors": errors or FormErrors(),
        "role_options": _role_options(request), "roles": dict(_role_options(request)), "active_nav": "bookings",
        "next_url": f"/organisation/{organisation_id}",
    }
    return render_page(request, "organisation/organisation.html", context, status_code=status_code)


@get("/organisation/{organisation_id:int}", guards=[page_login])
async def organisation_page(request: Request, app_context: Ctx, organisation_id: FromPath[int]) -> Response:
    return await _page(request, app_context, organisation_id)


@post("/organisation/{organisation_id:int}/invite", guards=[page_login])
async def invite(request: Request, app_context: Ctx, organisation_id: FromPath[int]) -> Response:
    data = await request.form()
    form = {"email": form_value(data, "email"), "role": form_value(data, "role") or "member"}
    try:
        await registration.invite_member(app_context, request.user, organisation_id, email=form["email"], role=form["role"],
                                         language=page_language(request))
    except DomainError as error:
        if error.status_code in (403, 404) and error.field is None:
            raise
        errors = error_fields(request, error, "email", known=("email", "role"))
        return await _page(request, app_context, organisation_id, form=form, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The invitation to %(email)s is on its way.", email=form["email"]))
    return redirect(f"/organisation/{organisation_id}")


async def _invitation_action(request: Request, app_context: AppContext, organisation_id: int, invitation_id: int, action: str) -> Response:
    try:
        if action == "revoke":
            invitation = await organisations.revoke_invitation(app_context, request.user, organisation_id, invitation_id)
        else:
            invitation = await organisations.resend_invitation(app_context, request.user, organisation_id, invitation_id,
                                                               language=page_language(request))
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        errors = FormErrors(general=translate_message(request, error.message))
        return await _page(request, app_context, organisation_id, errors=errors, status_code=error.status_code)
    if action == "revoke":
        flash(request, "success", gettext(request, "The invitation to %(email)s is withdrawn; its link no longer works.", email=invitation.email))
    else:
        flash(request, "success", gettext(request, "The invitation to %(email)s is sent again with a new link.", email=invitation.email))
    return redirect(f"/organisation/{organisation_id}")


@post("/organisation/{organisation_id:int}/invitations/{invitation_id:int}/resend", guards=[page_login])
async def resend_invitation(request: Request, app_context: Ctx, organisation_id: FromPath[int], invitation_id: FromPath[int]) -> Response:
    return await _invitation_action(request, app_context, organisation_id, invitation_id, "resend")


@post("/organisation/{organisation_id:int}/invitations/{invitation_id:int}/revoke", guards=[page_login])
async def revoke_invitation(request: Request, app_context: Ctx, organisation_id: FromPath[int], invitation_id: FromPath[int]) -> Response:
    return await _invitation_action(request, app_context, organisation_id, invitation_id, "revoke")


@post("/organisation/{organisation_id:int}/feed", guards=[page_login])
async def organisation_feed(request: Request, app_context: Ctx, organisation_id: FromPath[int]) -> Response:
    from booking.web.my_bookings import feed_created

    view = await feeds.create_feed(app_context, request.user, "organisation", organisation_id)
    return feed_created(request, app_context, view, f"/organisation/{organisation_id}")


# --------------------------------------------------------------------------- profile and requests to join


@post("/organisation/{organisation_id:int}/profile", guards=[page_login])
async def save_profile(request: Request, app_context: Ctx, organisation_id: RowId) -> Response:
    data = await request.form()
    raw_ids = all_values(data, "field_ids")
    form: dict[str, Any] = {
        "description": str(data.get("description") or "").strip(), "website": form_value(data, "website"),
        "listed_in_directory": checkbox(data, "listed_in_directory"), "field_ids": raw_ids,
    }
    field_ids = [small_id(value) for value in raw_ids]
    try:
        if any(field_id is None for field_id in field_ids):
            raise InvalidInput("please choose fields of activity from the list", field="field_ids")
        await directory.update_profile(app_context, request.user, organisation_id, directory.ProfileInput(
            description=form["description"], website=form["website"], listed_in_directory=form["listed_in_directory"],
            field_ids=tuple(field_id for field_id in field_ids if field_id is not None),
        ))
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        errors = error_fields(request, error, "description", known=("description", "website", "field_ids"))
        return await _page(request, app_context, organisation_id, profile_form=form, profile_errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The profile was saved."))
    return redirect(f"/organisation/{organisation_id}")


async def _decide(request: Request, app_context: AppContext, organisation_id: int, request_id: int, approve: bool) -> Response:
    data = await request.form()
    try:
        decided = await join_requests.decide(app_context, request.user, organisation_id, request_id, approve=approve,
                                             reason=str(data.get("reason") or ""))
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        errors = FormErrors(general=translate_message(request, error.message))
        return await _page(request, app_context, organisation_id, decision_errors=errors, status_code=error.status_code)
    message = "The request was approved; the person is now a member." if decided.status == join_requests.APPROVED else "The request was declined."
    flash(request, "success", gettext(request, message))
    return redirect(f"/organisation/{organisation_id}")


@post("/organisation/{organisation_id:int}/join-requests/{request_id:int}/approve", guards=[page_login])
async def approve_join_request(request: Request, app_context: Ctx, organisation_id: RowId, request_id: RowId) -> Response:
    return await _decide(request, app_context, organisation_id, request_id, True)


@post("/organisation/{organisation_id:int}/join-requests/{request_id:int}/decline", guards=[page_login])
async def decline_join_request(request: Request, app_context: Ctx, organisation_id: RowId, request_id: RowId) -> Response:
    return await _decide(request, app_context, organisation_id, request_id, False)


# --------------------------------------------------------------------------- the invitation link


async def _invitation_page(request: Request, app_context: AppContext, token: str, *, form: dict[str, str] | None = None,
                           errors: FormErrors | None = None, status_code: int = 200) -> Response:
    try:
        invitation = await registration.get_invitation(app_context, token)
    except registration.InvitationWithdrawn as error:
        return render_page(request, "accounts/message.html", {
            "title": gettext(request, "This invitation was withdrawn"), "text": translate_message(request, error.message),
            "level": "warning", "links": [("/", gettext(request, "To the home page"))],
        }, status_code=error.status_code)
    except DomainError as error:
        return render_page(request, "accounts/message.html", {
            "title": gettext(request, "This link does not work"), "text": translate_message(request, error.message),
            "level": "danger", "links": [("/", gettext(request, "To the home page"))],
        }, status_code=400)
    context = {"invitation": invitation, "token": token, "form": form or {"display_name": ""}, "errors": errors or FormErrors(),
               "login_url": login_url_for(f"/invitations/{token}"), "next_url": f"/invitations/{token}"}
    return render_page(request, "organisation/invitation.html", context, status_code=status_code)


@get("/invitations/{token:str}", guards=[public])
async def invitation_page(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    return await _invitation_page(request, app_context, token)


@post("/invitations/{token:str}/accept", guards=[page_login])
async def accept(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        invitation = await registration.accept_invitation(app_context, request.user, token)
    except DomainError as error:
        return await _invitation_page(request, app_context, token, errors=FormErrors(general=translate_message(request, error.message)),
                                      status_code=error.status_code)
    flash(request, "success", gettext(request, "Welcome! You are now a member."))
    return redirect(f"/organisation/{invitation.organisation_id}")


@post("/invitations/{token:str}/register", guards=[public])
async def register_and_join(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    data = await request.form()
    form = {"display_name": form_value(data, "display_name")}
    password, repeated = str(data.get("password") or ""), str(data.get("password_repeat") or "")
    if password != repeated:
        errors = FormErrors(password_repeat=gettext(request, "the two passwords are not the same"))
        return await _invitation_page(request, app_context, token, form=form, errors=errors, status_code=400)
    try:
        user, organisation_id = await registration.register_with_invitation(app_context, token, display_name=form["display_name"], password=password,
                                                           language=page_language(request))
    except registration.TokenInvalid:
        return await _invitation_page(request, app_context, token)
    except DomainError as error:
        errors = error_fields(request, error, "display_name", known=("display_name", "password"))
        return await _invitation_page(request, app_context, token, form=form, errors=errors, status_code=error.status_code)
    await start_session(request, app_context, user.id, page_language(request))  # type: ignore[arg-type]
    flash(request, "success", gettext(request, "Welcome! Your account is ready and you are now a member."))
    return redirect(f"/organisation/{organisation_id}")


ROUTES = [organisation_page, save_profile, approve_join_request, decline_join_request, invite, resend_invitation, revoke_invitation, organisation_feed, invitation_page, accept, register_and_join]
