"""Calendar pages: month and week, per site or across all sites, filtered by kind and category.

GET /calendar          full page (layout.html)
GET /embed/calendar    the same calendar for other sites' iframes (embed_layout.html, no app
                       navigation; ``Content-Security-Policy: frame-ancestors *`` on this route)

Query parameters (all optional, a plain GET form sets them; works without JavaScript):
``view`` month|week, ``date`` YYYY-MM-DD (any day of the month/week), ``site`` id, ``kind``
room|desk|item, ``category``, ``resource`` id (one resource, e.g. from its page).

Rows are resources, columns days; a month cell sums a day up (free – with the free hours when
partly taken –, requested, taken, closed), a week cell lists the day's stretches in time
order. Every free stretch links to the booking form prefilled with the site's local wall
times: ``/resources/{id}?starts_at=2026-02-03T18:00&ends_at=2026-02-03T19:00``.

The service computes the whole page in a fixed number of queries (``services.calendar``);
this module only turns its plain values into the template's data (labels in the page's
language and the site's time zone, links), memoising the formatting that repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from booking.auth.guards import public
from booking.domain.day_plan import DayPlan
from booking.domain.errors import InvalidInput
from booking.i18n import get_translations
from booking.services import calendar as calendar_service
from booking.services.calendar import CalendarPage, CalendarQuery
from booking.services.context import AppContext
from booking.web.base import page_language, render_page

Ctx = NamedDependency[AppContext]
KINDS = ("room", "desk", "item")
EMBED_HEADERS = {"Content-Security-Policy": "frame-ancestors *"}


@dataclass(frozen=True)
class Filters:
    view: str = "month"
    day: date | None = None
    site_id: int | None = None
    kind: str | None = None
    category: str | None = None
    resource_id: int | None = None

    def params(self, **changes: Any) -> dict[str, str]:
        values = {
            "view": self.view,
            "date": self.day.isoformat() if self.day else None,
            "site": self.site_id,
            "kind": self.kind,
            "category": self.category,
            "resource": self.resource_id,
        }
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in (None, "")}


def _parse_filters(raw: dict[str, str | None]) -> tuple[Filters, dict[str, str]]:
    """Read the query; a bad value is dropped (default used) and reported next to its field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    view = (raw.get("view") or "month").strip()
    if view not in calendar_service.VIEWS:
        errors["view"] = "month or week"
        view = "month"
    values["view"] = view
    day = (raw.get("date") or "").strip()
    if day:
        try:
            values["day"] = date.fromisoformat(day[:10]) if len(day) >= 10 else date.fromisoformat(day + "-01")
        except ValueError:
            errors["date"] = "a date like 2026-02-03"
    for name, key in (("site", "site_id"), ("resource", "resource_id")):
        text = (raw.get(name) or "").strip()
        if text:
            if text.isdigit() and 0 < int(text) < 2**31:
                values[key] = int(text)
            else:
                errors[name] = "choose one from the list"
    kind = (raw.get("kind") or "").strip()
    if kind:
        if kind in KINDS:
            values["kind"] = kind
        else:
            errors["kind"] = "choose one from the list"
    category = (raw.get("category") or "").strip()
    if category:
        values["category"] = category[:100]
    return Filters(**values), errors


class _Formatter:
    """Labels in one language, memoised: a month page formats the same times many times."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.translations = get_translations(language)
        self._times: dict[tuple[int, int], str] = {}
        self._hours: dict[int, str] = {}

    def gettext(self, message: str, **values: Any) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def clock(self, local: datetime) -> str:
        key = (local.hour, local.minute)
        if key not in self._times:
            self._times[key] = format_time(local.time(), "short", locale=self.language)
        return self._times[key]

    def free_hours(self, free: timedelta) -> str:
        minutes = int(free.total_seconds() // 60)
        if minutes not in self._hours:
            hours, rest = divmod(minutes, 60)
            if not rest:
                text = self.gettext("%(hours)s h", hours=hours)
            elif not hours:
                text = self.gettext("%(minutes)s min", minutes=rest)
            else:
                text = self.gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
            self._hours[minutes] = text
        return self._hours[minutes]


def _local_value(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _booking_href(resource_id: int, starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    query = urlencode({"starts_at": _local_value(starts_at, zone), "ends_at": _local_value(ends_at, zone)})
    return f"/resources/{resource_id}?{query}"


def _days(page: CalendarPage, fmt: _Formatter) -> list[dict[str, Any]]:
    return [
        {
            "date": day.isoformat(),
            "label": str(day.day),
            "weekday": format_date(day, "EEEEEE", locale=fmt.language),
            "long_label": format_date(day, "full", locale=fmt.language),
            "is_today": day == page.today,
            "is_weekend": day.weekday() >= 5,
        }
        for day in page.days
    ]


def _month_cell(plan: DayPlan, resource: Any, rules: Any, zone: ZoneInfo, fmt: _Formatter) -> list[dict[str, Any]]:
    if plan.state == "past":
        return []
    if plan.state != "free":
        return [{"state": plan.state}]
    first = plan.first_free
    assert first is not None
    if resource.kind == "item":
        proposal_end = first.interval.ends_at
    else:
        proposal_end = min(first.interval.ends_at, first.interval.starts_at + max(rules.min_duration, timedelta(hours=1)))
    label = description = ""
    if resource.capacity > 1 and plan.fewest_free_units < resource.capacity:
        label = fmt.gettext("%(free)s of %(capacity)s", free=plan.fewest_free_units, capacity=resource.capacity)
        description = fmt.gettext("at least %(free)s of %(capacity)s free", free=plan.fewest_free_units, capacity=resource.capacity)
    elif plan.partly_used:
        label = fmt.free_hours(plan.free_time)
        description = fmt.gettext("partly taken, %(free)s free", free=label)
    return [{
        "state": "free", "label": label, "description": description,
        "href": _booking_href(resource.id, first.interval.starts_at, proposal_end, zone),
    }]


def _week_cell(plan: DayPlan, resource: Any, zone: ZoneInfo, fmt: _Formatter) -> list[dict[str, Any]]:
    slots = []
    for segment in plan.segments:
        starts_at, ends_at = segment.interval.starts_at.astimezone(zone), segment.interval.ends_at.astimezone(zone)
        label = f"{fmt.clock(starts_at)}–{fmt.clock(ends_at)}"
        slot: dict[str, Any] = {"state": segment.state, "label": label}
        if segment.state == "free":
            slot["href"] = _booking_href(resource.id, segment.interval.starts_at, segment.interval.ends_at, zone)
            if resource.capacity > 1 and segment.free_units < resource.capacity:
                slot["description"] = fmt.gettext("at least %(free)s of %(capacity)s free", free=segment.free_units, capacity=resource.capacity)
        slots.append(slot)
    if not slots and plan.state == "closed":
        slots.append({"state": "closed"})
    return slots


def _resource_detail(resource: Any, fmt: _Formatter) -> str:
    kind = {"room": fmt.gettext("Room"), "desk": fmt.gettext("Co-working desk"), "item": fmt.gettext("Thing")}.get(resource.kind, "")
    parts = [kind]
    if resource.category:
        parts.append(resource.category)
    if resource.kind == "room" and resource.seats:
        parts.append(fmt.gettext("%(seats)s seats", seats=resource.seats))
    elif resource.capacity > 1:
        parts.append(fmt.gettext("%(units)s units", units=resource.capacity))
    return " · ".join(parts)


def _period_label(page: CalendarPage, fmt: _Formatter) -> str:
    if page.view == "month":
        return format_date(page.days[0], "LLLL y", locale=fmt.language)
    first, last = page.days[0], page.days[-1]
    return fmt.gettext(
        "Week %(week)s: %(first)s – %(last)s",
        week=first.isocalendar()[1],
        first=format_date(first, "medium", locale=fmt.language),
        last=format_date(last, "medium", locale=fmt.language),
    )


def calendar_context(page: CalendarPage, filters: Filters, language: str, base_path: str) -> dict[str, Any]:
    """The template data of a calendar page (see templates/calendar/_calendar.html)."""
    fmt = _Formatter(language)
    days = _days(page, fmt)
    grids = []
    for index, site_plan in enumerate(page.plans):
        zone = ZoneInfo(site_plan.site.timezone)
        rows = []
        for plan in site_plan.resources:
            resource = plan.resource
            if page.view == "month":
                cells = [_month_cell(day, resource, plan.rules, zone, fmt) for day in plan.days]
            else:
                cells = [_week_cell(day, resource, zone, fmt) for day in plan.days]
            rows.append({
                "label": resource.name, "href": f"/resources/{resource.id}", "detail": _resource_detail(resource, fmt),
                "cells": cells,
            })
        grids.append({
            "id": f"cal{index + 1}",
            "caption": f"{site_plan.site.name} – {_period_label(page, fmt)}",
            "site": site_plan.site,
            "days": days,
            "rows": rows,
        })

    def link(**changes: Any) -> str:
        return f"{base_path}?{urlencode(filters.params(**changes))}"

    previous_label = fmt.gettext("Previous month") if page.view == "month" else fmt.gettext("Previous week")
    next_label = fmt.gettext("Next month") if page.view == "month" else fmt.gettext("Next week")
    return {
        "calendar": page,
        "filters": filters,
        "grids": grids,
        "period_label": _period_label(page, fmt),
        "prev": {"href": link(date=page.previous_day.isoformat()), "label": previous_label},
        "next": {"href": link(date=page.next_day.isoformat()), "label": next_label},
        "today_link": {"href": link(date=None), "label": fmt.gettext("Today")},
        "view_links": [
            {"view": view, "href": link(view=view), "label": fmt.gettext("Month") if view == "month" else fmt.gettext("Week")}
            for view in calendar_service.VIEWS
        ],
        "site_options": [(str(site.id), site.name) for site in page.sites],
        "kind_options": [("room", fmt.gettext("Rooms")), ("desk", fmt.gettext("Co-working desks")), ("item", fmt.gettext("Things"))],
        "category_options": [(category, category) for category in page.categories],
        "date_value": (filters.day or page.today).isoformat(),
        "embed_path": "/embed/calendar?" + urlencode(filters.params()),
    }


async def _render(request: Request, app_context: AppContext, *, embed: bool) -> Template:
    raw = {name: request.query_params.get(name) for name in ("view", "date", "site", "kind", "category", "resource")}
    filters, errors = _parse_filters(raw)
    query = CalendarQuery(
        view=filters.view, day=filters.day, site_id=filters.site_id, kind=filters.kind,
        category=filters.category, resource_id=filters.resource_id,
    )
    try:
        page = await calendar_service.calendar_page(app_context, request.user, query)
    except InvalidInput as error:
        errors[error.field or "general"] = error.message
        filters = Filters(view=filters.view)
        page = await calendar_service.calendar_page(app_context, request.user, CalendarQuery(view=filters.view))
    language = page_language(request)
    context = calendar_context(page, filters, language, "/embed/calendar" if embed else "/calendar")
    context.update({"errors": errors, "embed": embed, "active_nav": "calendar"})
    if embed:
        context["service_url"] = "/calendar?" + urlencode(filters.params())
    template = render_page(
        request, "calendar/embed.html" if embed else "calendar/page.html", context, status_code=400 if errors else 200
    )
    if embed:
        template.headers.update(EMBED_HEADERS)
    return template


@get("/calendar", guards=[public], name="calendar", include_in_schema=False)
async def calendar_page(request: Request, app_context: Ctx) -> Template:
    return await _render(request, app_context, embed=False)


@get("/embed/calendar", guards=[public], name="calendar-embed", include_in_schema=False)
async def calendar_embed(request: Request, app_context: Ctx) -> Template:
    return await _render(request, app_context, embed=True)


ROUTES = [calendar_page, calendar_embed]
