"""My organisation: members, invitations by e-mail (organisation admins), the organisation's
bookings; and the invitation link, which lets the invitee register or log in and join."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.api.auth import start_session
from booking.auth.guards import public
from booking.domain.errors import DomainError
from booking.services import feeds, organisations, overviews, registration
from booking.services.context import AppContext
from booking.web.base import FormErrors, flash, form_value, login_url_for, page_language, page_login, redirect, render_page
from booking.web.texts import error_fields, gettext, translate_message

Ctx = NamedDependency[AppContext]


def _role_options(request: Request) -> list[tuple[str, str]]:
    return [("member", gettext(request, "Member")), ("admin", gettext(request, "Administrator"))]


async def _page(request: Request, app_context: AppContext, organisation_id: int, *, form: dict[str, str] | None = None,
                errors: FormErrors | None = None, status_code: int = 200) -> Response:
    overview = await organisations.organisation_overview(app_context, request.user, organisation_id)
    rows = await overviews.organisation_bookings(app_context, request.user, organisation_id)
    context: dict[str, Any] = {
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


ROUTES = [organisation_page, invite, resend_invitation, revoke_invitation, organisation_feed, invitation_page, accept, register_and_join]
