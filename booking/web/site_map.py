"""The map of the Engagement-Orte (/karte, also /map) and a site's public page (/orte/<id>).

The pages are lists and facts first: every filter is a GET form that works without JavaScript,
and the Leaflet map (static/site-map.js) only draws what the page already lists — from the
same filtered data, embedded in the page as JSON. With tiles blocked or JavaScript off, nothing
but the picture is lost.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.auth.guards import public
from booking.domain.errors import DomainError
from booking.domain.geo import check_coordinates, directions_url, parse_coordinate
from booking.domain.opening_hours import WEEKDAYS
from booking.domain.recurrence import local_to_utc
from booking.services import directory, feeds, offer_catalogue, site_map
from booking.services.catalogue import RESOURCE_KINDS
from booking.services.context import AppContext
from booking.web.base import FormErrors, login_url_for, page_language, page_login, render_page
from booking.web.home import kind_names
from booking.web.texts import gettext, translate_message

Ctx = NamedDependency[AppContext]
MAX_TEXT = 100
FIELDS = ("kind", "category", "date", "from", "to", "step_free", "offers", "field", "organisations", "lat", "lon", "sort")


def _parse_time(text: str) -> time | None:
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def _parse_date(text: str) -> date | None:
    """ISO (what a date input sends) or the German 8.6.2030 (typed where there is no date picker)."""
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_map_query(
    request: Request, timezone: str, field_ids: set[int] | None = None
) -> tuple[dict[str, str], site_map.MapQuery, FormErrors]:
    """The filter form's values, the query they ask for, and a message per wrong field.
    ``field_ids``: the fields of activity there are (the ``field`` filter picks one)."""
    params = request.query_params
    form = {name: (params.get(name) or "").strip()[:MAX_TEXT] for name in FIELDS}
    errors = FormErrors()
    field_id = None
    if form["field"]:
        field_id = int(form["field"]) if form["field"].isdigit() and len(form["field"]) < 10 else None
        if field_id is None or field_id not in (field_ids or set()):
            errors["field"] = gettext(request, "please choose a field of activity from the list")
    kind = form["kind"] or None
    if kind is not None and kind not in RESOURCE_KINDS:
        errors["kind"] = gettext(request, "please choose a kind from the list")
    free_from = free_until = None
    if form["date"] or form["from"] or form["to"]:
        day = _parse_date(form["date"])
        if day is None:
            errors["date"] = gettext(request, "please enter a date like 2030-06-08")
        starts, ends = _parse_time(form["from"]), _parse_time(form["to"])
        if starts is None:
            errors["from"] = gettext(request, "please enter a time like 10:00")
        if ends is None:
            errors["to"] = gettext(request, "please enter a time like 13:00")
        elif starts is not None and ends <= starts:
            errors["to"] = gettext(request, "the end must be after the start")
        if day is not None and starts is not None and ends is not None and ends > starts:
            try:
                free_from = local_to_utc(datetime.combine(day, starts), timezone)
                free_until = local_to_utc(datetime.combine(day, ends), timezone)
            except (DomainError, OverflowError, ValueError):
                errors["date"] = gettext(request, "please enter a date like 2030-06-08")
    near = None
    if form["lat"] or form["lon"]:
        position: dict[str, float] = {}
        for name, field in (("lat", "latitude"), ("lon", "longitude")):
            if not form[name]:
                errors[name] = gettext(request, "please give both latitude and longitude")
                continue
            try:
                position[name] = parse_coordinate(form[name], field)
            except DomainError as error:
                errors[name] = translate_message(request, error.message)
        if len(position) == 2:
            try:
                near = check_coordinates(position["lat"], position["lon"])
            except DomainError as error:
                errors["lat" if error.field == "latitude" else "lon"] = translate_message(request, error.message)
    sort = form["sort"] or "name"
    if sort not in site_map.SORTS:
        errors["sort"] = gettext(request, "please choose an order from the list")
    elif sort == "distance" and near is None and "lat" not in errors and "lon" not in errors:
        errors["sort"] = gettext(request, "to sort by distance, give a position: use your location or type its coordinates")
    if errors:
        return form, site_map.MapQuery(), errors
    query = site_map.MapQuery(
        kind=kind, category=form["category"] or None, free_from=free_from, free_until=free_until,
        step_free=form["step_free"] == "1", near=near, sort=sort, field_id=field_id,
        organisations=form["organisations"] == "1", with_offers=form["offers"] == "1",
    )
    return form, query, errors


def map_settings(app_context: AppContext) -> dict[str, str]:
    settings = app_context.settings
    return {"tile_url": settings.map.tile_url, "attribution": settings.map.tile_attribution,
            "license": settings.open_data.licence, "license_url": settings.open_data.licence_url}


def _organisation_layer(summaries: list[site_map.SiteSummary]) -> list[tuple[Any, list[Any]]]:
    """The organisation layer as a list: each organisation (by name) with the listed sites where it meets."""
    by_id: dict[int, tuple[Any, list[Any]]] = {}
    for summary in summaries:
        for organisation in summary.organisations:
            by_id.setdefault(organisation.id, (organisation, []))[1].append(summary.site)
    return sorted(by_id.values(), key=lambda item: item[0].name.casefold())


@get(["/karte", "/map"], guards=[public], name="site-map")
async def map_page(request: Request, app_context: Ctx) -> Response:
    fields = await directory.list_fields(app_context)
    form, query, errors = parse_map_query(request, app_context.settings.default_timezone, {row.id for row in fields})
    page = await site_map.map_page(app_context, query)
    context: dict[str, Any] = {
        "form": form,
        "errors": errors,
        "page": page,
        "kinds": kind_names(request),
        "category_options": [(category, category) for category in page.categories],
        "field_options": [(str(row.id), row.name) for row in fields],
        "show_organisations": query.wants_organisations,
        "organisation_layer": _organisation_layer(page.sites) if query.wants_organisations else [],
        "sort_options": [("name", gettext(request, "by name")), ("distance", gettext(request, "by distance"))],
        "filtered": any(form[name] for name in ("kind", "category", "date", "from", "to", "step_free", "offers", "field", "organisations")),
        "searched_free": query.free_from is not None,
        "collection": site_map.feature_collection(page.sites, app_context),
        "map": map_settings(app_context),
        "active_nav": "map",
        "distances": {
            summary.site.id: format_decimal(round(summary.distance_km, 1), locale=page_language(request))
            for summary in page.sites if summary.distance_km is not None
        },
    }
    return render_page(request, "sites/map.html", context, status_code=400 if errors else 200)


@get("/orte/{site_id:int}", guards=[public], name="site-page")
async def site_page(request: Request, app_context: Ctx, site_id: FromPath[int]) -> Response:
    page = await site_map.site_page(app_context, site_id)
    site = page.summary.site
    zone = ZoneInfo(site.timezone)
    context: dict[str, Any] = {
        "page": page,
        "site": site,
        "kinds": kind_names(request),
        "timezone": site.timezone,
        "today_key": WEEKDAYS[app_context.now().astimezone(zone).weekday()],
        "weekday_names": _weekday_names(request),
        "directions_url": directions_url(site.latitude, site.longitude) if page.summary.located else None,
        "calendar_url": "/calendar?" + urlencode({"site": site.id}),
        "login_url": login_url_for(f"/orte/{site.id}"),
        "collection": site_map.feature_collection([page.summary], app_context),
        "map": map_settings(app_context),
        "active_nav": "map",
        "next_free_days": site_map.NEXT_FREE_DAYS,
        "closure_weeks": site_map.CLOSURE_WEEKS,
        "site_offers": await offer_catalogue.site_offers(app_context, site.id),  # type: ignore[arg-type]
    }
    return render_page(request, "sites/site.html", context)


@post("/orte/{site_id:int}/feed", guards=[page_login])
async def site_feed(request: Request, app_context: Ctx, site_id: FromPath[int]) -> Response:
    """A calendar address of the site's public calendar (busy times of its resources) for the
    signed-in person; shown once."""
    from booking.web.my_bookings import feed_created

    view = await feeds.create_feed(app_context, request.user, "site", site_id, private=False)
    return feed_created(request, app_context, view, f"/orte/{site_id}")


def _weekday_names(request: Request) -> dict[str, str]:
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    return {key: gettext(request, name) for key, name in zip(WEEKDAYS, names, strict=True)}


ROUTES = [map_page, site_page, site_feed]
