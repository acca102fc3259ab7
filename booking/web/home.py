"""The home page: "what can I borrow?" — search by kind, site, category, text and free time."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.di import NamedDependency

from booking.auth.guards import public
from booking.domain.errors import DomainError
from booking.services import discovery
from booking.services.catalogue import RESOURCE_KINDS, ResourceQuery
from booking.services.context import AppContext
from booking.i18n import format_interval
from booking.web.base import FormErrors, page_language, parse_int, parse_local_datetime, render_page
from booking.web.texts import gettext, translate_message

Ctx = NamedDependency[AppContext]
MAX_TEXT = 100


def kind_names(request: Request) -> dict[str, str]:
    return {"room": gettext(request, "Room"), "desk": gettext(request, "Co-working desk"), "item": gettext(request, "Thing to borrow"),
            "online": gettext(request, "Online room")}


def _parse(request: Request, timezone: str) -> tuple[dict[str, str], ResourceQuery, FormErrors]:
    params = request.query_params
    form = {name: (params.get(name) or "").strip() for name in ("kind", "site", "category", "q", "free_from", "free_until")}
    errors = FormErrors()
    kind = form["kind"] if form["kind"] in RESOURCE_KINDS else None
    if form["kind"] and kind is None:
        errors["kind"] = gettext(request, "please choose a kind from the list")
    site_id = None
    if form["site"]:
        if form["site"].isdigit():
            site_id = int(form["site"])
        else:
            errors["site"] = gettext(request, "please choose a place from the list")
    free_from = free_until = None
    for name in ("free_from", "free_until"):
        if form[name]:
            try:
                value = parse_local_datetime(form[name], timezone, name)
            except DomainError as error:
                errors[name] = translate_message(request, error.message)
                continue
            if name == "free_from":
                free_from = value
            else:
                free_until = value
    if not errors and (form["free_from"] or form["free_until"]):
        if free_from is None:
            errors["free_from"] = gettext(request, "please enter when the time starts")
        elif free_until is None:
            errors["free_until"] = gettext(request, "please enter when the time ends")
        elif free_until <= free_from:
            errors["free_until"] = gettext(request, "the end must be after the start")
    if errors:
        free_from = free_until = None
    query = ResourceQuery(
        kind=kind, site_id=site_id, category=form["category"][:MAX_TEXT] or None, text=form["q"][:MAX_TEXT] or None,
        free_from=free_from, free_until=free_until,
    )
    return form, query, errors


def _page_number(request: Request, errors: FormErrors) -> int:
    raw = (request.query_params.get("page") or "1").strip()
    try:
        return parse_int(raw, "page", minimum=1)
    except DomainError:
        errors["page"] = gettext(request, "The page number must be a whole number of at least 1; here is the first page.")
        return 1


def _filter_summary(request: Request, form: dict[str, str], query: ResourceQuery, page: discovery.SearchPage, timezone: str) -> list[str]:
    """The active filters in words, for the folded search form ("Room · Bürgerhaus · „beamer“")."""
    parts: list[str] = []
    if query.kind:
        parts.append(kind_names(request)[query.kind])
    if query.site_id is not None:
        names = [site.name for site in page.sites if site.id == query.site_id]
        parts.append(names[0] if names else gettext(request, "unknown place"))
    if query.category:
        parts.append(query.category)
    if query.text:
        parts.append(gettext(request, "“%(words)s”", words=query.text))
    if query.free_from is not None and query.free_until is not None:
        parts.append(gettext(request, "free %(period)s",
                             period=format_interval(query.free_from, query.free_until, timezone, page_language(request))))
    return parts


@get("/", guards=[public], name="home")
async def home(request: Request, app_context: Ctx) -> Response:
    timezone = app_context.settings.default_timezone
    form, query, errors = _parse(request, timezone)
    number = _page_number(request, errors)
    try:
        page = await discovery.search_page(app_context, request.user, query, page=number)
    except DomainError as error:
        errors[error.field or "general"] = translate_message(request, error.message)
        query = ResourceQuery()
        page = await discovery.search_page(app_context, request.user, query, page=number)
    searched_free = query.free_from is not None
    booking_query = urlencode({"starts_at": form["free_from"], "ends_at": form["free_until"]}) if searched_free else ""
    context: dict[str, Any] = {
        "form": form,
        "errors": errors,
        "page": page,
        "kinds": kind_names(request),
        "site_options": [(str(site.id), site.name) for site in page.sites],
        "category_options": [(category, category) for category in page.categories],
        "searched_free": searched_free,
        "filtered": any(form.values()),
        "filter_summary": _filter_summary(request, form, query, page, timezone),
        # The page links keep the filters; "{page}" is filled in by the pagination macro.
        "page_url": "/?" + urlencode([*((name, value) for name, value in form.items() if value), ("page", "PAGE")]).replace("PAGE", "{page}") + "#results-heading",
        "booking_query": booking_query,
        "active_nav": "home",
        "timezone": app_context.settings.default_timezone,
    }
    return render_page(request, "home.html", context, status_code=400 if errors else 200)


ROUTES = [home]
