"""Administration pages under /admin: sites, closures, resources and their rules, staff,
organisations, users, parked e-mails.

Guards: the whole area needs a site manager or city administrator (``page_manager``);
city-wide pages add ``page_city_admin``. The services check again, per site: managers only
reach their own sites. Every form posts with CSRF; bad input shows the form again with each
message next to its field and HTTP 400 (409 where the state forbids it), nothing written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from booking.domain.errors import DomainError, InvalidInput
from booking.models import Site
from booking.services import (
    blackouts,
    organisation_admin,
    outbox_admin,
    resource_admin,
    site_admin,
    site_staff,
    user_admin,
)
from booking.services.admin_common import InvalidFields
from booking.services.blackouts import BlackoutInput
from booking.services.organisation_admin import OrganisationInput
from booking.services.resource_admin import PolicyInput, ResourceInput
from booking.services.site_admin import SiteInput
from booking.services import directory, legal_pages
from booking.services.context import AppContext
from booking.web.admin_forms import (
    RowId,
    small_id,
    all_values,
    checkbox,
    decimal_number,
    form_value,
    form_values,
    merge_error,
    opening_hours_from_form,
    opening_hours_to_form,
    translate,
    translate_errors,
    whole_number,
)
from booking.web.base import (
    FormErrors,
    flash,
    page_city_admin,
    page_manager,
    parse_local_datetime,
    redirect,
    render_page,
)
from booking.web.filters import datetime_local_value

Ctx = NamedDependency[AppContext]
SITE_FIELDS = ("name", "address", "latitude", "longitude", "timezone", "contact_email", "description")
OPENING_FIELDS = tuple(f"opening_{day}" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
RESOURCE_FIELDS = ("kind", "name", "category", "capacity", "seats", "visibility", "description", "accessibility_notes")
POLICY_FIELDS = (
    "lead_time_minutes", "min_duration_minutes", "max_duration_minutes", "max_horizon_days",
    "buffer_before_minutes", "buffer_after_minutes", "opening_hours_mode", "audience",
)
BLACKOUT_FIELDS = ("starts_at", "ends_at", "resource_id", "kind", "reason")
ORGANISATION_FIELDS = ("name", "contact_email", "description")


def _page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Template:
    context.setdefault("active_nav", "admin")
    context.setdefault("is_city_admin", request.user.is_city_admin)
    return render_page(request, template, context, status_code=status_code)


def _text(value: object) -> str:
    return "" if value is None else str(value)


# --- form readers ------------------------------------------------------------------------


def _site_input(form: Any, errors: FormErrors) -> SiteInput:
    latitude = decimal_number(form, "latitude", errors)
    longitude = decimal_number(form, "longitude", errors)
    return SiteInput(
        name=form_value(form, "name"), contact_email=form_value(form, "contact_email"),
        address=form_value(form, "address"), latitude=latitude, longitude=longitude,
        timezone=form_value(form, "timezone"), description=form_value(form, "description"),
        opening_hours=opening_hours_from_form(form, errors),
        step_free=_yes_no_unknown(form, "step_free", errors), accessible_toilet=_yes_no_unknown(form, "accessible_toilet", errors),
        hearing_loop=_yes_no_unknown(form, "hearing_loop", errors), accessibility_notes=form_value(form, "accessibility_notes"),
    )


ACCESSIBILITY_CHOICES = ("step_free", "accessible_toilet", "hearing_loop")


def _yes_no_unknown(form: Any, name: str, errors: FormErrors) -> bool | None:
    """A select of "yes", "no" or "" (not known)."""
    value = form_value(form, name)
    if value not in {"", "yes", "no"}:
        errors.setdefault(name, "Please choose from the list.")
        return None
    return None if value == "" else value == "yes"


def _site_form(site: Site | None) -> dict[str, str]:
    if site is None:
        return {"timezone": site_admin.DEFAULT_TIMEZONE} | opening_hours_to_form({})
    values = {name: _text(getattr(site, name)) for name in SITE_FIELDS}
    for name in ACCESSIBILITY_CHOICES:
        value = getattr(site, name)
        values[name] = "" if value is None else "yes" if value else "no"
    values["accessibility_notes"] = site.accessibility_notes
    # A site stored without hours was confirmed as open around the clock: keep that ticked.
    return values | opening_hours_to_form(site.opening_hours) | {"always_open": "" if site.opening_hours else "1"}


def _confirm_around_the_clock(form: Any, data: SiteInput, errors: FormErrors) -> None:
    """No hours entered is not silently "open around the clock": the form asks to confirm it."""
    entered = any(data.opening_hours.get(day) for day in data.opening_hours) if data.opening_hours else False
    if not entered and not any(name in errors for name in (*OPENING_FIELDS, "opening_week")) and not checkbox(form, "always_open"):
        errors["always_open"] = "No opening hours are entered. Enter them, or confirm that the site can be booked around the clock."


def _resource_input(form: Any, errors: FormErrors) -> ResourceInput:
    return ResourceInput(
        kind=form_value(form, "kind"), name=form_value(form, "name"), category=form_value(form, "category"),
        capacity=whole_number(form, "capacity", errors), seats=whole_number(form, "seats", errors, optional=True),
        visibility=form_value(form, "visibility"), description=form_value(form, "description"),
        accessibility_notes=form_value(form, "accessibility_notes"),
    )


def _policy_input(form: Any, errors: FormErrors) -> PolicyInput:
    organisation_ids: list[int] = []
    for value in all_values(form, "allowed_organisation_ids"):
        organisation_id = small_id(value)
        if organisation_id is not None:
            organisation_ids.append(organisation_id)
        else:
            errors.setdefault("allowed_organisation_ids", "Please choose organisations from the list.")
    return PolicyInput(
        needs_approval=checkbox(form, "needs_approval"),
        lead_time_minutes=whole_number(form, "lead_time_minutes", errors),
        min_duration_minutes=whole_number(form, "min_duration_minutes", errors),
        max_duration_minutes=whole_number(form, "max_duration_minutes", errors, optional=True),
        max_horizon_days=whole_number(form, "max_horizon_days", errors, optional=True),
        buffer_before_minutes=whole_number(form, "buffer_before_minutes", errors),
        buffer_after_minutes=whole_number(form, "buffer_after_minutes", errors),
        opening_hours_mode=form_value(form, "opening_hours_mode"),
        audience=form_value(form, "audience"),
        allowed_organisation_ids=tuple(organisation_ids),
    )


def _check(errors: FormErrors, check: Any, data: Any) -> None:
    """Run a service's pure input check so that parse and rule errors show together."""
    try:
        check(data)
    except InvalidFields as error:
        merge_error(errors, error)


async def _save(
    request: Request, errors: FormErrors, save: Callable[[], Awaitable[Any]], message: str, target: Callable[[Any], str]
) -> Redirect | None:
    """Save a form read without errors: the flash and the 303 to ``target(saved)``, or None
    when there were errors or the service refused (its message is then in ``errors``)."""
    if errors:
        return None
    try:
        saved = await save()
    except InvalidInput as error:
        merge_error(errors, error)
        return None
    flash(request, "success", translate(request, message))
    return redirect(target(saved))


class AdminController(Controller):
    path = "/admin"
    guards = [page_manager]

    # --- overview ------------------------------------------------------------------------

    @get("/", name="admin:index")
    async def index(self, request: Request, app_context: Ctx) -> Template:
        data = await site_admin.overview(app_context, request.user)
        # City admins are told while the legal texts still have placeholders to fill in.
        unfinished = legal_pages.unfinished_pages(app_context.settings) if request.user.is_city_admin else []
        pending = await directory.pending_organisations(app_context, request.user)
        return _page(request, "admin/index.html", {"overview": data, "admin_section": "overview", "legal_unfinished": unfinished,
                                                   "pending_organisations": pending})

    # --- sites ---------------------------------------------------------------------------

    @get("/sites/new", guards=[page_city_admin], name="admin:site-new")
    async def new_site(self, request: Request) -> Template:
        return _page(request, "admin/site_form.html", {"site": None, "form": _site_form(None), "errors": {}})

    @post("/sites/new", guards=[page_city_admin], name="admin:site-create")
    async def create_site(self, request: Request, app_context: Ctx) -> Template | Redirect:
        form = await request.form()
        errors = FormErrors()
        data = _site_input(form, errors)
        _check(errors, site_admin.check_site, data)
        _confirm_around_the_clock(form, data, errors)
        saved = await _save(
            request, errors, lambda: site_admin.create_site(app_context, request.user, data),
            "The site was created.", lambda site: f"/admin/sites/{site.id}",
        )
        if saved is not None:
            return saved
        return self._site_form_again(request, None, form, errors)

    @get("/sites/{site_id:int}", name="admin:site")
    async def site(self, request: Request, app_context: Ctx, site_id: RowId) -> Template:
        return await self._site_page(request, app_context, site_id)

    @get("/sites/{site_id:int}/edit", name="admin:site-edit")
    async def edit_site(self, request: Request, app_context: Ctx, site_id: RowId) -> Template:
        site = await site_admin.get_site(app_context, request.user, site_id)
        return _page(request, "admin/site_form.html", {"site": site, "form": _site_form(site), "errors": {}})

    @post("/sites/{site_id:int}/edit", name="admin:site-update")
    async def update_site(self, request: Request, app_context: Ctx, site_id: RowId) -> Template | Redirect:
        site = await site_admin.get_site(app_context, request.user, site_id)
        form = await request.form()
        errors = FormErrors()
        data = _site_input(form, errors)
        _check(errors, site_admin.check_site, data)
        _confirm_around_the_clock(form, data, errors)
        saved = await _save(
            request, errors, lambda: site_admin.update_site(app_context, request.user, site_id, data),
            "The site was saved.", lambda _: f"/admin/sites/{site_id}",
        )
        if saved is not None:
            return saved
        return self._site_form_again(request, site, form, errors)

    def _site_form_again(self, request: Request, site: Site | None, form: Any, errors: FormErrors) -> Template:
        fields = (*SITE_FIELDS, *OPENING_FIELDS, "opening_week", *ACCESSIBILITY_CHOICES, "accessibility_notes")
        values = form_values(form, fields) | {"always_open": "1" if checkbox(form, "always_open") else ""}
        context = {"site": site, "form": values, "errors": translate_errors(request, errors)}
        return _page(request, "admin/site_form.html", context, status_code=400)

    async def _site_page(
        self,
        request: Request,
        app_context: AppContext,
        site_id: int,
        *,
        status_code: int = 200,
        blackout_form: dict[str, str] | None = None,
        blackout_errors: dict[str, str] | None = None,
        staff_form: dict[str, str] | None = None,
        staff_errors: dict[str, str] | None = None,
        messages: list[tuple[str, str]] | None = None,
    ) -> Template:
        data = await site_admin.site_overview(app_context, request.user, site_id)
        context = {
            "data": data,
            "site": data.site,
            "resource_options": [(str(r.id), r.name) for r in data.resources],
            "resource_names": {r.id: r.name for r in data.resources},
            "blackout_form": blackout_form or {"kind": "closed"},
            "blackout_errors": translate_errors(request, blackout_errors or {}),
            "staff_form": staff_form or {"role": "lender"},
            "staff_errors": translate_errors(request, staff_errors or {}),
            "messages": messages or [],
        }
        return _page(request, "admin/site.html", context, status_code=status_code)

    # --- closures ------------------------------------------------------------------------

    @post("/sites/{site_id:int}/blackouts", name="admin:blackout-create")
    async def add_blackout(self, request: Request, app_context: Ctx, site_id: RowId) -> Template | Redirect:
        site = await site_admin.get_site(app_context, request.user, site_id)
        form = await request.form()
        errors = FormErrors()
        data = _blackout_input(form, site.timezone, errors)
        if data is not None:
            try:
                result = await blackouts.add_blackout(app_context, request.user, site_id, data)
            except InvalidInput as error:
                merge_error(errors, error)
            else:
                _blackout_saved(request, result)
                return redirect(f"/admin/sites/{site_id}#closures")
        return await self._site_page(
            request, app_context, site_id, status_code=400,
            blackout_form=form_values(form, BLACKOUT_FIELDS), blackout_errors=errors,
        )

    @get("/blackouts/{blackout_id:int}/edit", name="admin:blackout-edit")
    async def edit_blackout(self, request: Request, app_context: Ctx, blackout_id: RowId) -> Template:
        blackout, site = await blackouts.get_blackout(app_context, request.user, blackout_id)
        form = {
            "starts_at": datetime_local_value(blackout.starts_at, site.timezone),
            "ends_at": datetime_local_value(blackout.ends_at, site.timezone),
            "resource_id": _text(blackout.resource_id), "kind": blackout.kind, "reason": blackout.reason or "",
        }
        return await self._blackout_page(request, app_context, blackout, site, form, FormErrors())

    @post("/blackouts/{blackout_id:int}/edit", name="admin:blackout-update")
    async def update_blackout(self, request: Request, app_context: Ctx, blackout_id: RowId) -> Template | Redirect:
        blackout, site = await blackouts.get_blackout(app_context, request.user, blackout_id)
        form = await request.form()
        errors = FormErrors()
        data = _blackout_input(form, site.timezone, errors)
        if data is not None:
            try:
                result = await blackouts.update_blackout(app_context, request.user, blackout_id, data)
            except InvalidInput as error:
                merge_error(errors, error)
            else:
                _blackout_saved(request, result)
                return redirect(f"/admin/sites/{site.id}#closures")
        return await self._blackout_page(
            request, app_context, blackout, site, form_values(form, BLACKOUT_FIELDS), errors, status_code=400,
        )

    async def _blackout_page(
        self, request: Request, app_context: AppContext, blackout: Any, site: Site, form: dict[str, str],
        errors: FormErrors, *, status_code: int = 200,
    ) -> Template:
        data = await site_admin.site_overview(app_context, request.user, site.id)  # type: ignore[arg-type]
        context = {
            "blackout": blackout, "site": site, "form": form, "errors": translate_errors(request, errors),
            "resource_options": [(str(r.id), r.name) for r in data.resources],
        }
        return _page(request, "admin/blackout_form.html", context, status_code=status_code)

    @post("/sites/{site_id:int}/blackouts/{blackout_id:int}/delete", name="admin:blackout-delete")
    async def delete_blackout(self, request: Request, app_context: Ctx, site_id: RowId, blackout_id: RowId) -> Redirect:
        await blackouts.delete_blackout(app_context, request.user, site_id, blackout_id)
        flash(request, "success", translate(request, "The closure was removed."))
        return redirect(f"/admin/sites/{site_id}#closures")

    # --- staff ---------------------------------------------------------------------------

    @post("/sites/{site_id:int}/staff", name="admin:staff-assign")
    async def assign_staff(self, request: Request, app_context: Ctx, site_id: RowId) -> Template | Redirect:
        await site_admin.get_site(app_context, request.user, site_id)
        form = await request.form()
        values = form_values(form, ("email", "role"))
        try:
            member = await site_staff.assign_site_role(app_context, request.user, site_id, values["email"], values["role"])
        except InvalidInput as error:
            return await self._site_page(
                request, app_context, site_id, status_code=400,
                staff_form=values, staff_errors=merge_error(FormErrors(), error, "email"),
            )
        message = "%(name)s is now a manager of this site." if member.role == "manager" else "%(name)s is now a lender at this site."
        flash(request, "success", translate(request, message, name=member.display_name))
        return redirect(f"/admin/sites/{site_id}#staff")

    @post("/sites/{site_id:int}/staff/{user_id:int}/remove", name="admin:staff-remove")
    async def remove_staff(self, request: Request, app_context: Ctx, site_id: RowId, user_id: RowId) -> Template | Redirect:
        try:
            await site_staff.remove_site_role(app_context, request.user, site_id, user_id)
        except DomainError as error:
            if error.status_code != 403 or not request.user.is_manager_at(site_id):
                raise
            return await self._site_page(
                request, app_context, site_id, status_code=403,
                messages=[("danger", translate(request, error.message))],
            )
        flash(request, "success", translate(request, "The role was removed."))
        return redirect(f"/admin/sites/{site_id}#staff")

    # --- resources -----------------------------------------------------------------------

    @get("/sites/{site_id:int}/resources/new", name="admin:resource-new")
    async def new_resource(self, request: Request, app_context: Ctx, site_id: RowId) -> Template:
        site = await site_admin.get_site(app_context, request.user, site_id)
        form = {"kind": "room", "capacity": "1", "visibility": "public"}
        return _page(request, "admin/resource_form.html", {"site": site, "resource": None, "form": form, "errors": {}})

    @post("/sites/{site_id:int}/resources/new", name="admin:resource-create")
    async def create_resource(self, request: Request, app_context: Ctx, site_id: RowId) -> Template | Redirect:
        site = await site_admin.get_site(app_context, request.user, site_id)
        form = await request.form()
        errors = FormErrors()
        data = _resource_input(form, errors)
        _check(errors, resource_admin.check_resource, data)
        saved = await _save(
            request, errors, lambda: resource_admin.create_resource(app_context, request.user, site_id, data, rules_pending=True),
            "The resource was created. It can be booked once its booking rules are saved: check the suggested rules and save them.",
            lambda resource: f"/admin/resources/{resource.id}/rules",
        )
        if saved is not None:
            return saved
        context = {"site": site, "resource": None, "form": form_values(form, RESOURCE_FIELDS), "errors": translate_errors(request, errors)}
        return _page(request, "admin/resource_form.html", context, status_code=400)

    @get("/resources/{resource_id:int}/edit", name="admin:resource-edit")
    async def edit_resource(self, request: Request, app_context: Ctx, resource_id: RowId) -> Template:
        resource, site, _ = await resource_admin.get_resource(app_context, request.user, resource_id)
        form = {name: _text(getattr(resource, name)) for name in RESOURCE_FIELDS}
        return _page(request, "admin/resource_form.html", {"site": site, "resource": resource, "form": form, "errors": {}})

    @post("/resources/{resource_id:int}/edit", name="admin:resource-update")
    async def update_resource(self, request: Request, app_context: Ctx, resource_id: RowId) -> Template | Redirect:
        resource, site, _ = await resource_admin.get_resource(app_context, request.user, resource_id)
        form = await request.form()
        errors = FormErrors()
        data = _resource_input(form, errors)
        _check(errors, resource_admin.check_resource, data)
        saved = await _save(
            request, errors, lambda: resource_admin.update_resource(app_context, request.user, resource_id, data),
            "The resource was saved.", lambda _: f"/admin/sites/{site.id}#resources",
        )
        if saved is not None:
            return saved
        context = {"site": site, "resource": resource, "form": form_values(form, RESOURCE_FIELDS), "errors": translate_errors(request, errors)}
        return _page(request, "admin/resource_form.html", context, status_code=400)

    @post("/resources/{resource_id:int}/active", name="admin:resource-active")
    async def set_resource_active(self, request: Request, app_context: Ctx, resource_id: RowId) -> Redirect:
        form = await request.form()
        active = form_value(form, "active") == "1"
        resource = await resource_admin.set_resource_active(app_context, request.user, resource_id, active)
        message = "The resource can be booked again." if active else "The resource was deactivated: it can no longer be booked; existing bookings stay."
        flash(request, "success", translate(request, message))
        return redirect(f"/admin/sites/{resource.site_id}#resources")

    @get("/resources/{resource_id:int}/rules", name="admin:policy-edit")
    async def edit_policy(self, request: Request, app_context: Ctx, resource_id: RowId) -> Template:
        resource, site, policy = await resource_admin.get_resource(app_context, request.user, resource_id)
        defaults = resource_admin.PolicyInput(opening_hours_mode="endpoints" if resource.kind == "item" else "contain")
        source: Any = policy or defaults
        form = {name: _text(getattr(source, name)) for name in POLICY_FIELDS}
        form["needs_approval"] = "1" if source.needs_approval else ""
        selected = [str(i) for i in (source.allowed_organisation_ids or ())]
        return await self._policy_page(request, app_context, resource, site, form, selected, {})

    @post("/resources/{resource_id:int}/rules", name="admin:policy-update")
    async def update_policy(self, request: Request, app_context: Ctx, resource_id: RowId) -> Template | Redirect:
        resource, site, _ = await resource_admin.get_resource(app_context, request.user, resource_id)
        form = await request.form()
        errors = FormErrors()
        data = _policy_input(form, errors)
        _check(errors, resource_admin.check_policy, data)
        saved = await _save(
            request, errors, lambda: resource_admin.update_policy(app_context, request.user, resource_id, data),
            "The booking rules were saved.", lambda _: f"/admin/sites/{site.id}#resources",
        )
        if saved is not None:
            return saved
        values = form_values(form, POLICY_FIELDS) | {"needs_approval": "1" if checkbox(form, "needs_approval") else ""}
        selected = all_values(form, "allowed_organisation_ids")
        return await self._policy_page(request, app_context, resource, site, values, selected, errors, status_code=400)

    async def _policy_page(
        self, request: Request, app_context: AppContext, resource: Any, site: Site, form: dict[str, str],
        selected: list[str], errors: FormErrors | dict[str, str], status_code: int = 200,
    ) -> Template:
        organisations = await organisation_admin.organisation_choices(app_context, request.user)
        _, _, policy = await resource_admin.get_resource(app_context, request.user, resource.id)
        context = {
            "site": site, "resource": resource, "form": form, "selected_organisations": selected,
            "organisations": organisations, "errors": translate_errors(request, errors),
            # New from the admin pages: not bookable until these rules are saved.
            "rules_pending": policy is None and not resource.is_active,
        }
        return _page(request, "admin/policy_form.html", context, status_code=status_code)

    # --- organisations (city administrators) ---------------------------------------------

    @get("/organisations", guards=[page_city_admin], name="admin:organisations")
    async def organisations(self, request: Request, app_context: Ctx) -> Template:
        rows = await organisation_admin.list_organisations(app_context, request.user)
        return _page(request, "admin/organisations.html", {"organisations": rows, "admin_section": "organisations"})

    @get("/organisations/new", guards=[page_city_admin], name="admin:organisation-new")
    async def new_organisation(self, request: Request) -> Template:
        context = {"organisation": None, "form": {}, "errors": {}, "admin_section": "organisations"}
        return _page(request, "admin/organisation_form.html", context)

    @post("/organisations/new", guards=[page_city_admin], name="admin:organisation-create")
    async def create_organisation(self, request: Request, app_context: Ctx) -> Template | Redirect:
        form = await request.form()
        values = form_values(form, ORGANISATION_FIELDS)
        try:
            organisation = await organisation_admin.create_organisation(app_context, request.user, OrganisationInput(**values))
        except InvalidInput as error:
            context = {
                "organisation": None, "form": values, "errors": translate_errors(request, merge_error(FormErrors(), error, "name")),
                "admin_section": "organisations",
            }
            return _page(request, "admin/organisation_form.html", context, status_code=400)
        flash(request, "success", translate(request, "The organisation was created."))
        return redirect(f"/admin/organisations/{organisation.id}")

    @get("/organisations/{organisation_id:int}", guards=[page_city_admin], name="admin:organisation")
    async def organisation(self, request: Request, app_context: Ctx, organisation_id: RowId) -> Template:
        return await self._organisation_page(request, app_context, organisation_id)

    @post("/organisations/{organisation_id:int}/edit", guards=[page_city_admin], name="admin:organisation-update")
    async def update_organisation(self, request: Request, app_context: Ctx, organisation_id: RowId) -> Template | Redirect:
        form = await request.form()
        values = form_values(form, ORGANISATION_FIELDS)
        try:
            await organisation_admin.update_organisation(app_context, request.user, organisation_id, OrganisationInput(**values))
        except InvalidInput as error:
            return await self._organisation_page(
                request, app_context, organisation_id, status_code=400,
                form=values, errors=merge_error(FormErrors(), error, "name"),
            )
        flash(request, "success", translate(request, "The organisation was saved."))
        return redirect(f"/admin/organisations/{organisation_id}")

    @post("/organisations/{organisation_id:int}/members", guards=[page_city_admin], name="admin:member-add")
    async def add_member(self, request: Request, app_context: Ctx, organisation_id: RowId) -> Template | Redirect:
        form = await request.form()
        values = form_values(form, ("email", "role"))
        try:
            member = await organisation_admin.add_member(app_context, request.user, organisation_id, values["email"], values["role"])
        except InvalidInput as error:
            return await self._organisation_page(
                request, app_context, organisation_id, status_code=400,
                member_form=values, member_errors=merge_error(FormErrors(), error, "email"),
            )
        flash(request, "success", translate(request, "%(name)s was added.", name=member.display_name))
        return redirect(f"/admin/organisations/{organisation_id}#members")

    @post(
        "/organisations/{organisation_id:int}/members/{user_id:int}/remove", guards=[page_city_admin], name="admin:member-remove"
    )
    async def remove_member(self, request: Request, app_context: Ctx, organisation_id: RowId, user_id: RowId) -> Redirect:
        await organisation_admin.remove_member(app_context, request.user, organisation_id, user_id)
        flash(request, "success", translate(request, "The member was removed."))
        return redirect(f"/admin/organisations/{organisation_id}#members")

    async def _organisation_page(
        self, request: Request, app_context: AppContext, organisation_id: int, *, status_code: int = 200,
        form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
        member_form: dict[str, str] | None = None, member_errors: dict[str, str] | None = None,
    ) -> Template:
        details = await organisation_admin.get_organisation(app_context, request.user, organisation_id)
        organisation = details.organisation
        context = {
            "organisation": organisation,
            "members": details.members,
            "form": form or {name: _text(getattr(organisation, name)) for name in ORGANISATION_FIELDS},
            "errors": translate_errors(request, errors or {}),
            "member_form": member_form or {"role": "member"},
            "member_errors": translate_errors(request, member_errors or {}),
            "admin_section": "organisations",
        }
        return _page(request, "admin/organisation.html", context, status_code=status_code)

    # --- users (city administrators) -----------------------------------------------------

    @get("/users", guards=[page_city_admin], name="admin:users")
    async def users(self, request: Request, app_context: Ctx, q: FromQuery[str] = "", page: FromQuery[str] = "1") -> Template:
        number = small_id(page) or 1
        text = q.replace("\x00", "").strip()[:100]
        data = await user_admin.list_users(app_context, request.user, text=text, page=number)
        return _page(request, "admin/users.html", {"data": data, "q": text, "admin_section": "users"})

    @post("/users/{user_id:int}/city-admin", guards=[page_city_admin], name="admin:user-city-admin")
    async def set_city_admin(self, request: Request, app_context: Ctx, user_id: RowId) -> Redirect:
        form = await request.form()
        value = form_value(form, "value") == "1"
        user = await user_admin.set_city_admin(app_context, request.user, user_id, value)
        message = "%(name)s is now a city administrator." if value else "%(name)s is no longer a city administrator."
        flash(request, "success", translate(request, message, name=user.display_name))
        return redirect(_users_back(form))

    @post("/users/{user_id:int}/active", guards=[page_city_admin], name="admin:user-active")
    async def set_user_active(self, request: Request, app_context: Ctx, user_id: RowId) -> Redirect:
        form = await request.form()
        value = form_value(form, "value") == "1"
        user = await user_admin.set_user_active(app_context, request.user, user_id, value)
        message = "The account of %(name)s is active again." if value else "The account of %(name)s was deactivated."
        flash(request, "success", translate(request, message, name=user.display_name))
        return redirect(_users_back(form))

    # --- parked e-mails (city administrators) --------------------------------------------

    @get("/mail", guards=[page_city_admin], name="admin:mail")
    async def parked_mail(self, request: Request, app_context: Ctx) -> Template:
        rows = await outbox_admin.parked_messages(app_context, request.user)
        return _page(request, "admin/mail.html", {"messages_parked": rows, "admin_section": "mail"})

    @post("/mail/{message_id:int}/retry", guards=[page_city_admin], name="admin:mail-retry")
    async def retry_mail(self, request: Request, app_context: Ctx, message_id: RowId) -> Redirect:
        await outbox_admin.retry_parked_message(app_context, request.user, message_id)
        flash(request, "success", translate(request, "The e-mail is back in the queue and will be sent shortly."))
        return redirect("/admin/mail")


def _users_back(form: Any) -> str:
    """Back to the list page the button was on (query and page only, never elsewhere)."""
    from urllib.parse import urlencode

    query = {key: form_value(form, key) for key in ("q", "page") if form_value(form, key)}
    return "/admin/users" + (f"?{urlencode(query)}" if query else "")


def _blackout_input(form: Any, timezone: str, errors: FormErrors) -> BlackoutInput | None:
    """A closure from its form, the times read in the site's zone; None (and ``errors``) on bad input."""
    starts_at = ends_at = None
    try:
        starts_at = parse_local_datetime(form_value(form, "starts_at"), timezone, "starts_at")
    except InvalidInput as error:
        errors.setdefault("starts_at", _local_time_message(error))
    try:
        ends_at = parse_local_datetime(form_value(form, "ends_at"), timezone, "ends_at")
    except InvalidInput as error:
        errors.setdefault("ends_at", _local_time_message(error))
    resource_text = form_value(form, "resource_id")
    if resource_text and small_id(resource_text) is None:
        errors.setdefault("resource_id", "Please choose a resource of this site.")
    if errors or starts_at is None or ends_at is None:
        return None
    return BlackoutInput(
        starts_at=starts_at, ends_at=ends_at, resource_id=small_id(resource_text),
        kind=form_value(form, "kind"), reason=form_value(form, "reason"),
    )


def _blackout_saved(request: Request, result: blackouts.BlackoutResult) -> None:
    flash(request, "success", translate(request, "The closure was saved."))
    if result.overlapping_bookings:
        flash(request, "warning", translate(
            request,
            "%(count)s bookings fall into this closure. They stay valid: please talk to the bookers.",
            count=result.overlapping_bookings,
        ))


def _local_time_message(error: InvalidInput) -> str:
    if "does not exist" in error.message:
        return "This local time does not exist (the clocks change then)."
    if "like" in error.message:
        return "Please enter a date and time like 2026-03-03 18:00."
    return "Please enter a date and time."


ROUTES = [AdminController]
