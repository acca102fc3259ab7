"""/admin/sites/{id}/quotas: the quotas of a site (its managers and city administrators).

Add one with the form (Post/Redirect/Get; the form again with the message at the field on an
error), remove one with its button. The check runs in the booking transaction (services/bookings.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from booking.domain.errors import DomainError
from booking.services import quotas
from booking.services.context import AppContext
from booking.web.admin_forms import RowId, merge_error, translate_errors, whole_number
from booking.web.base import FormErrors, flash, form_value, page_manager, redirect, render_page
from booking.web.texts import gettext

Ctx = NamedDependency[AppContext]
QUOTA_FIELDS = ("scope", "metric", "subject", "amount", "enforcement")


async def _quotas_page(
    request: Request, app_context: AppContext, site_id: int, *, form: dict[str, str] | None = None,
    errors: FormErrors | None = None, status_code: int = 200,
) -> Response:
    listing = await quotas.list_quotas(app_context, request.user, site_id)
    context: dict[str, Any] = {
        "site": listing.site, "quotas": listing.quotas, "resources": listing.resources, "categories": listing.categories,
        "form": form or {"scope": "", "metric": "hours_per_month", "subject": "organisation", "amount": "", "enforcement": "refuse"},
        "errors": errors or FormErrors(), "active_nav": "admin", "is_city_admin": request.user.is_city_admin,
    }
    return render_page(request, "admin/quotas.html", context, status_code=status_code)


@get("/admin/sites/{site_id:int}/quotas", guards=[page_manager], name="admin:quotas")
async def quotas_page(request: Request, app_context: Ctx, site_id: RowId) -> Response:
    return await _quotas_page(request, app_context, site_id)


@post("/admin/sites/{site_id:int}/quotas", guards=[page_manager], name="admin:quota-add")
async def add_quota(request: Request, app_context: Ctx, site_id: RowId) -> Response:
    data = await request.form()
    form = {name: form_value(data, name) for name in QUOTA_FIELDS}
    errors = FormErrors()
    amount = whole_number(data, "amount", errors)
    if not errors:
        try:
            await quotas.add_quota(app_context, request.user, site_id, quotas.QuotaInput(
                scope=form["scope"], metric=form["metric"], subject=form["subject"], amount=amount, enforcement=form["enforcement"],
            ))
        except DomainError as error:
            if error.status_code in (403, 404):
                raise
            merge_error(errors, error)
    if errors:
        return await _quotas_page(request, app_context, site_id, form=form, errors=translate_errors(request, errors), status_code=400)
    flash(request, "success", gettext(request, "The quota was added."))
    return redirect(f"/admin/sites/{site_id}/quotas")


@post("/admin/quotas/{quota_id:int}/delete", guards=[page_manager], name="admin:quota-delete")
async def delete_quota(request: Request, app_context: Ctx, quota_id: RowId) -> Response:
    site_id = await quotas.delete_quota(app_context, request.user, quota_id)
    flash(request, "success", gettext(request, "The quota was removed."))
    return redirect(f"/admin/sites/{site_id}/quotas")


ROUTES = [quotas_page, add_quota, delete_quota]
