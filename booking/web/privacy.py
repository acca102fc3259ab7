"""A person's own data on the profile page (download, delete) and the city admin's privacy page
(erase an account on a written request, the state of the legal texts, the retention periods)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.auth.guards import public
from booking.domain.errors import DomainError
from booking.services import legal_pages
from booking.services.context import AppContext
from booking.services.privacy import erasure, export
from booking.web.base import FormErrors, flash, form_value, page_city_admin, page_language, page_login, redirect, render_page
from booking.web.texts import error_fields, gettext, ngettext

Ctx = NamedDependency[AppContext]


@get("/profile/export", guards=[page_login], name="privacy:export")
async def download_export(request: Request, app_context: Ctx) -> Response:
    data = await export.export_person(app_context, request.user.user_id)
    stamp = data.exported_at.strftime("%Y-%m-%d")
    return Response(export.export_json(data), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="booking-my-data-{stamp}.json"', "Cache-Control": "no-store"})


def _delete_page(request: Request, errors: FormErrors | None = None, status_code: int = 200) -> Response:
    return render_page(request, "privacy/delete.html", {"errors": errors or FormErrors(), "active_nav": "profile"},
                       status_code=status_code)


@get("/profile/delete", guards=[page_login], name="privacy:delete-form")
async def delete_form(request: Request) -> Response:
    return _delete_page(request)


def _gone(request: Request, language: str) -> Response:
    request.clear_session()
    request.set_session({"lang": language, "_messages": [["success", gettext(request, "Your account and your personal data have been deleted.")]]})
    return redirect("/")


@post("/profile/delete", guards=[page_login], name="privacy:delete")
async def delete_account(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    password = str(form.get("password") or "")
    if not password:
        return _delete_page(request, FormErrors(password=gettext(request, "please enter your password")), status_code=400)
    try:
        await erasure.erase_own_account(app_context, request.user, password=password)
    except DomainError as error:
        return _delete_page(request, error_fields(request, error, "general", known=("password",)), status_code=error.status_code)
    return _gone(request, page_language(request))


@post("/profile/delete/link", guards=[page_login], name="privacy:delete-link")
async def delete_link(request: Request, app_context: Ctx) -> Response:
    await erasure.request_erase_link(app_context, request.user)
    flash(request, "info", gettext(request, "We have sent you an e-mail with a link to confirm the deletion."))
    return redirect("/profile")


@get("/profile/delete/{token:str}", guards=[public], name="privacy:delete-confirm")
async def delete_confirm(request: Request, token: FromPath[str]) -> Response:
    # Opening the link changes nothing (mail scanners open links); the button does.
    return render_page(request, "privacy/delete_confirm.html", {"action": f"/profile/delete/{token}"})


@post("/profile/delete/{token:str}", guards=[public], name="privacy:delete-by-link")
async def delete_by_link(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        await erasure.erase_with_link(app_context, token)
    except DomainError as error:
        return render_page(request, "accounts/message.html", {
            "title": gettext(request, "This link does not work"), "text": error_fields(request, error)["general"],
            "level": "danger", "links": [("/profile/delete", gettext(request, "Delete my account"))],
        }, status_code=error.status_code)
    return _gone(request, page_language(request))


def _admin_page(request: Request, app: AppContext, form: dict[str, str] | None = None,
                errors: FormErrors | None = None, status_code: int = 200) -> Response:
    settings = app.settings
    context: dict[str, Any] = {
        "form": form or {}, "errors": errors or FormErrors(), "admin_section": "privacy", "active_nav": "admin",
        "is_city_admin": True, "legal_unfinished": legal_pages.unfinished_pages(settings),
        "retention": settings.privacy, "content_dir": str(legal_pages.content_dir(settings)),
    }
    return render_page(request, "privacy/admin.html", context, status_code=status_code)


@get("/admin/privacy", guards=[page_city_admin], name="privacy:admin")
async def admin_privacy(request: Request, app_context: Ctx) -> Response:
    return _admin_page(request, app_context)


@post("/admin/privacy/erase", guards=[page_city_admin], name="privacy:admin-erase")
async def admin_erase(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    values = {"email": form_value(form, "email")}
    if form_value(form, "confirm") != "1":
        errors = FormErrors(confirm=gettext(request, "please confirm that the person asked for the deletion"))
        return _admin_page(request, app_context, values, errors, status_code=400)
    try:
        report = await erasure.erase_account(app_context, request.user, email=values["email"])
    except DomainError as error:
        return _admin_page(request, app_context, values, error_fields(request, error, "email", known=("email",)),
                           status_code=error.status_code)
    cancelled = len(report.cancelled_bookings)
    flash(request, "success", ngettext(request, "The account has been deleted; %(count)s upcoming booking was cancelled.",
                                       "The account has been deleted; %(count)s upcoming bookings were cancelled.",
                                       cancelled, count=cancelled))
    return redirect("/admin/privacy")


ROUTES: list[Any] = [download_export, delete_form, delete_account, delete_link, delete_confirm, delete_by_link,
                     admin_privacy, admin_erase]
