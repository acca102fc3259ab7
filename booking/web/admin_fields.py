"""The list of fields of activity (Sport, Kultur, …) that organisations choose from: city
administrators add, rename and remove entries. And confirming an association that a person
registered (until then it cannot book)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from booking.domain.errors import DomainError
from booking.services import directory
from booking.services.context import AppContext
from booking.web.admin_forms import RowId
from booking.web.base import FormErrors, flash, form_value, page_city_admin, page_manager, redirect, render_page
from booking.web.texts import error_fields, gettext, translate_message

Ctx = NamedDependency[AppContext]


async def _fields_page(request: Request, app_context: AppContext, *, form: dict[str, str] | None = None,
                       errors: FormErrors | None = None, status_code: int = 200) -> Response:
    fields = await directory.list_fields(app_context)
    return render_page(request, "admin/fields.html", {
        "fields": fields, "form": form or {"name": ""}, "errors": errors or FormErrors(),
        "admin_section": "fields", "active_nav": "admin", "is_city_admin": True,
    }, status_code=status_code)


@get("/admin/fields", guards=[page_city_admin], name="admin:fields")
async def fields_page(request: Request, app_context: Ctx) -> Response:
    return await _fields_page(request, app_context)


@post("/admin/fields", guards=[page_city_admin], name="admin:field-add")
async def add_field(request: Request, app_context: Ctx) -> Response:
    form = {"name": form_value(await request.form(), "name")}
    try:
        await directory.add_field(app_context, request.user, form["name"])
    except DomainError as error:
        return await _fields_page(request, app_context, form=form, errors=error_fields(request, error, "name", known=("name",)),
                                  status_code=error.status_code)
    flash(request, "success", gettext(request, "The field of activity was added."))
    return redirect("/admin/fields")


@post("/admin/fields/{field_id:int}/edit", guards=[page_city_admin], name="admin:field-rename")
async def rename_field(request: Request, app_context: Ctx, field_id: RowId) -> Response:
    name = form_value(await request.form(), "name")
    try:
        await directory.rename_field(app_context, request.user, field_id, name)
    except DomainError as error:
        if error.status_code == 404:
            raise
        errors = FormErrors(general=error_fields(request, error, "name").get("name", ""))
        return await _fields_page(request, app_context, errors=errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "The field of activity was renamed."))
    return redirect("/admin/fields")


@post("/admin/fields/{field_id:int}/delete", guards=[page_city_admin], name="admin:field-delete")
async def delete_field(request: Request, app_context: Ctx, field_id: RowId) -> Response:
    await directory.delete_field(app_context, request.user, field_id)
    flash(request, "success", gettext(request, "The field of activity was removed."))
    return redirect("/admin/fields")


@post("/admin/organisations/{organisation_id:int}/confirm", guards=[page_manager], name="admin:organisation-confirm")
async def confirm_organisation(request: Request, app_context: Ctx, organisation_id: RowId) -> Response:
    """Confirm an association a person registered (it may book from now on): city
    administrators on its page, site managers from the administration overview."""
    back = f"/admin/organisations/{organisation_id}" if request.user.is_city_admin else "/admin"
    try:
        await directory.confirm_organisation(app_context, request.user, organisation_id)
    except DomainError as error:
        if error.status_code == 404:
            raise
        flash(request, "warning", translate_message(request, error.message))
        return redirect(back)
    flash(request, "success", gettext(request, "The organisation is confirmed and can book now."))
    return redirect(back)


ROUTES: list[Any] = [fields_page, add_field, rename_field, delete_field, confirm_organisation]
