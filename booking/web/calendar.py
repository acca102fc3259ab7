"""Calendar pages: month and week, per site or across all sites, filtered by kind and category.

GET /calendar          full page (layout.html)
GET /embed/calendar    the same calendar for other sites' iframes (embed_layout.html, no app
                       navigation; ``booking.web.security_headers`` lets other sites frame /embed/ only)

Query parameters (all optional, a plain GET form sets them; works without JavaScript):
``view`` agenda|week|month, ``date`` YYYY-MM-DD (any day of the month/week; the agenda's first
day), ``site`` id, ``kind`` room|desk|item, ``category``, ``resource`` id (one resource, e.g.
from its page), ``page`` (of the resources, ``services.calendar.RESOURCES_PER_PAGE`` each).

Without ``view`` the page is the agenda: a list by day that reads on a 360 px phone without
sideways scrolling. It links the grid; app.js (an enhancement only) replaces a page without
``view`` by the month grid on a wide screen. HTML cannot choose by screen width, and sending
both would double every page.

The agenda lists, day by day, each resource's free and taken stretches (free ones link to the
booking form). In the grids rows are resources, columns days; a month cell sums a day up (free – with the free hours when
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
from typing import Any, NamedTuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from litestar import Request, get
from markupsafe import Markup, escape
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
KINDS = ("room", "desk", "item", "online")


@dataclass(frozen=True)
class Filters:
    view: str = "agenda"
    day: date | None = None
    site_id: int | None = None
    kind: str | None = None
    category: str | None = None
    resource_id: int | None = None
    page: int = 1

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "view": self.view,
            "date": self.day.isoformat() if self.day else None,
            "site": self.site_id,
            "kind": self.kind,
            "category": self.category,
            "resource": self.resource_id,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in (None, "")}


def _parse_filters(raw: dict[str, str | None]) -> tuple[Filters, dict[str, str]]:
    """Read the query; a bad value is dropped (default used) and reported next to its field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    view = (raw.get("view") or "agenda").strip()
    if view not in calendar_service.VIEWS:
        errors["view"] = "choose one from the list"
        view = "agenda"
    values["view"] = view
    page = (raw.get("page") or "").strip()
    if page:
        if page.isdigit() and 0 < int(page) < 100_000:
            values["page"] = int(page)
        else:
            errors["page"] = "The page number must be a whole number of at least 1; here is the first page."
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


class Slot(NamedTuple):
    """One slot of a cell (shape of partials/calendar_common.html; ``href`` already escaped)."""

    state: str
    label: str = ""
    href: Markup | None = None
    description: str = ""


class _Formatter:
    """Labels in one language, memoised: a month page formats the same times many times."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.translations = get_translations(language)
        self._times: dict[tuple[int, int], str] = {}
        self._hours: dict[int, str] = {}
        self._locals: dict[tuple[float, str], datetime] = {}
        self._values: dict[tuple[float, str], str] = {}

    def form_value(self, seconds: float, zone: ZoneInfo) -> str:
        """The ``datetime-local`` value of an instant in ``zone`` ("2026-02-03T18:00")."""
        key = (seconds, zone.key)
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = self.local(seconds, zone).strftime("%Y-%m-%dT%H:%M")
        return value

    def local(self, seconds: float, zone: ZoneInfo) -> datetime:
        key = (seconds, zone.key)
        value = self._locals.get(key)
        if value is None:
            value = self._locals[key] = datetime.fromtimestamp(seconds, zone)
        return value

    def gettext(self, message: str, **values: Any) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, number: int, **values: Any) -> str:
        text = self.translations.ngettext(singular, plural, number)
        return text % values if values else text

    def clock(self, local: datetime, *, end_of_day: bool = False) -> str:
        """A wall time ("18:00", "6:00 PM"); midnight that ends a day is "24:00"."""
        if end_of_day and (local.hour, local.minute) == (0, 0):
            return "24:00"
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


def _booking_href(resource_id: int, start: float, end: float, zone: ZoneInfo, fmt: _Formatter) -> Markup:
    """The booking form of the resource with the slot's local wall times, escaped for HTML."""
    return Markup(f"/resources/{resource_id}?starts_at={fmt.form_value(start, zone)}&amp;ends_at={fmt.form_value(end, zone)}")


def _days(page: CalendarPage, fmt: _Formatter) -> list[dict[str, Any]]:
    return [
        {
            "date": day.isoformat(),
            "label": str(day.day),
            "weekday": format_date(day, "EEEEEE", locale=fmt.language),
            # Escaped once here: the grid repeats it in every cell of the column.
            "long_label": escape(format_date(day, "full", locale=fmt.language)),
            "is_today": day == page.today,
            "is_weekend": day.weekday() >= 5,
        }
        for day in page.days
    ]


_CLOSED = (Slot("closed"),)
_TAKEN = (Slot("taken"),)
_TENTATIVE = (Slot("tentative"),)
_NOTHING: tuple[Slot, ...] = ()


def _offer(start: float, end: float, resource_plan: Any) -> tuple[float, float] | None:
    """The part of a free stretch the viewer may book (lead time, horizon), or None."""
    start = max(start, resource_plan.bookable_from)
    until = resource_plan.bookable_until
    if until is not None and start > until:
        return None
    if end - start < resource_plan.rules.min_duration.total_seconds():
        return None
    return start, end


def _month_cell(plan: DayPlan, resource_plan: Any, proposal: float, zone: ZoneInfo, fmt: _Formatter) -> tuple[Slot, ...]:
    """One summary slot per day; a free day links to its first free stretch (``proposal``
    seconds long at most; a thing is proposed for the whole stretch)."""
    state = plan.state
    if state != "free":
        return _NOTHING if state == "past" else _TAKEN if state == "taken" else _TENTATIVE if state == "tentative" else _CLOSED
    resource = resource_plan.resource
    first = plan.first_free
    assert first is not None
    offer = _offer(first.start, first.end, resource_plan)
    label = description = ""
    if resource.capacity > 1 and plan.fewest_free_units < resource.capacity:
        label = fmt.gettext("%(free)s of %(capacity)s", free=plan.fewest_free_units, capacity=resource.capacity)
        description = fmt.gettext("at least %(free)s of %(capacity)s free", free=plan.fewest_free_units, capacity=resource.capacity)
    elif plan.partly_used:
        label = fmt.free_hours(plan.free_time)
        description = fmt.gettext("partly taken, %(free)s free", free=label)
    if offer is None:
        return (Slot("free", label, None, description),)
    start, end = offer
    if resource.kind != "item":
        end = min(end, start + proposal)
    return (Slot("free", label, _booking_href(resource.id, start, end, zone, fmt), description),)


def _week_cell(plan: DayPlan, resource_plan: Any, zone: ZoneInfo, fmt: _Formatter) -> tuple[Slot, ...]:
    resource = resource_plan.resource
    slots = []
    for segment in plan.segments:
        starts_at, ends_at = fmt.local(segment.start, zone), fmt.local(segment.end, zone)
        label = f"{fmt.clock(starts_at)}–{fmt.clock(ends_at, end_of_day=ends_at.date() > starts_at.date())}"
        if segment.state == "free":
            description = ""
            if resource.capacity > 1 and segment.free_units < resource.capacity:
                # Pooled: say how many are left, visibly ("08:00–12:00 · 7 of 10").
                label = f"{label} · " + fmt.gettext("%(free)s of %(capacity)s", free=segment.free_units, capacity=resource.capacity)
                description = fmt.gettext("at least %(free)s of %(capacity)s free", free=segment.free_units, capacity=resource.capacity)
            offer = _offer(segment.start, segment.end, resource_plan)
            href = _booking_href(resource.id, offer[0], offer[1], zone, fmt) if offer else None
            slots.append(Slot("free", label, href, description))
        else:
            slots.append(Slot(segment.state, label))
    if not slots and plan.state == "closed":
        return _CLOSED
    return tuple(slots)


class _CellWriter:
    """Writes a row's cells as HTML, exactly the markup of ``slot()`` in
    templates/partials/calendar_common.html (same classes, symbols and words; keep the two in
    step). A month over 200 resources has 6,200 cells: written here with one f-string each
    they cost a few milliseconds, through a Jinja macro per cell some hundred."""

    SYMBOLS = {"free": "✓", "taken": "✕", "tentative": "?", "closed": "–"}

    def __init__(self, fmt: _Formatter) -> None:
        self.words = {
            "free": fmt.gettext("Free"), "taken": fmt.gettext("Taken"),
            "tentative": fmt.gettext("Requested"), "closed": fmt.gettext("Closed"),
        }
        self.book = escape(fmt.gettext("book"))
        self.empty = Markup(
            '<span class="cal-empty"><span aria-hidden="true">–</span>'
            f'<span class="kern-sr-only">{escape(fmt.gettext("no times"))}</span></span>'
        )
        self.heads = {
            state: Markup(
                f'<span class="cal-slot__symbol" aria-hidden="true">{symbol}</span><span class="cal-slot__text">'
                f'<span class="cal-slot__state">{escape(self.words[state])}</span>'
            )
            for state, symbol in self.SYMBOLS.items()
        }

    def row(self, cells: list[tuple[Slot, ...]], row_label: Markup, days: list[dict[str, Any]]) -> Markup:
        parts = []
        for cell, day in zip(cells, days, strict=True):
            parts.append('<td class="is-weekend">' if day["is_weekend"] else "<td>")
            if not cell:
                parts.append(self.empty)
            for slot in cell:
                context = f", {row_label}, {day['long_label']}"
                label = f' <span class="cal-slot__label">{escape(slot.label)}</span>' if slot.label else ""
                description = f", {escape(slot.description)}" if slot.description else ""
                if slot.href:
                    parts.append(
                        f'<a class="cal-slot cal-slot--free" href="{slot.href}">{self.heads["free"]}{label}'
                        f'<span class="kern-sr-only">{description}{context} – {self.book}</span></span></a>'
                    )
                else:
                    state = slot.state if slot.state in self.SYMBOLS else "closed"
                    parts.append(
                        f'<span class="cal-slot cal-slot--{state}">{self.heads[state]}{label}'
                        f'<span class="kern-sr-only">{description}{context}</span></span></span>'
                    )
            parts.append("</td>")
        return Markup("".join(parts))


def _resource_detail(resource: Any, fmt: _Formatter) -> str:
    kind = {"room": fmt.gettext("Room"), "desk": fmt.gettext("Co-working desk"), "item": fmt.gettext("Thing"), "online": fmt.gettext("Online room")}.get(resource.kind, "")
    parts = [kind]
    if resource.category:
        parts.append(resource.category)
    if resource.kind == "room" and resource.seats:
        parts.append(fmt.ngettext("%(seats)s seat", "%(seats)s seats", resource.seats, seats=resource.seats))
    elif resource.capacity > 1:
        parts.append(fmt.gettext("%(units)s units", units=resource.capacity))
    return " · ".join(parts)


def _view_label(view: str, fmt: _Formatter) -> str:
    return {"agenda": fmt.gettext("List by day"), "week": fmt.gettext("Week"), "month": fmt.gettext("Month")}[view]


def _period_label(page: CalendarPage, fmt: _Formatter) -> str:
    if page.view == "month":
        return format_date(page.days[0], "LLLL y", locale=fmt.language)
    first, last = page.days[0], page.days[-1]
    if page.view == "agenda":
        return f"{format_date(first, 'medium', locale=fmt.language)} – {format_date(last, 'medium', locale=fmt.language)}"
    return fmt.gettext(
        "Week %(week)s: %(first)s – %(last)s",
        week=first.isocalendar()[1],
        first=format_date(first, "medium", locale=fmt.language),
        last=format_date(last, "medium", locale=fmt.language),
    )


def _agenda(page: CalendarPage, days: list[dict[str, Any]], fmt: _Formatter) -> list[dict[str, Any]]:
    """The agenda: per day, per site, per resource the day's slots (free ones link to the form)."""
    agenda: list[dict[str, Any]] = [{"day": day, "sites": []} for day in days]
    for site_plan in page.plans:
        zone = ZoneInfo(site_plan.site.timezone)
        site_rows: list[list[dict[str, Any]]] = [[] for _ in days]
        for plan in site_plan.resources:
            resource = plan.resource
            row = {"label": resource.name, "href": f"/resources/{resource.id}", "detail": _resource_detail(resource, fmt)}
            for index, day_plan in enumerate(plan.days):
                if day_plan.state == "past":
                    continue
                site_rows[index].append({**row, "slots": _week_cell(day_plan, plan, zone, fmt)})
        for index, rows in enumerate(site_rows):
            if rows:
                agenda[index]["sites"].append({"site": site_plan.site, "rows": rows})
    return [entry for entry in agenda if entry["sites"]]


def calendar_context(page: CalendarPage, filters: Filters, language: str, base_path: str) -> dict[str, Any]:
    """The template data of a calendar page (see templates/calendar/_calendar.html)."""
    fmt = _Formatter(language)
    days = _days(page, fmt)
    writer = _CellWriter(fmt)
    grids = []
    agenda = _agenda(page, days, fmt) if page.view == "agenda" else []
    for index, site_plan in enumerate(page.plans if page.view != "agenda" else ()):
        zone = ZoneInfo(site_plan.site.timezone)
        rows = []
        for plan in site_plan.resources:
            resource = plan.resource
            if page.view == "month":
                proposal = max(plan.rules.min_duration, timedelta(hours=1)).total_seconds()
                cells = [_month_cell(day, plan, proposal, zone, fmt) for day in plan.days]
            else:
                cells = [_week_cell(day, plan, zone, fmt) for day in plan.days]
            label = escape(resource.name)
            rows.append({
                "label": label, "href": f"/resources/{resource.id}", "detail": _resource_detail(resource, fmt),
                "cells_html": writer.row(cells, label, days),
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

    previous_label, next_label = {
        "month": (fmt.gettext("Previous month"), fmt.gettext("Next month")),
        "week": (fmt.gettext("Previous week"), fmt.gettext("Next week")),
        "agenda": (fmt.gettext("Earlier"), fmt.gettext("Later")),
    }[page.view]
    first = (page.page - 1) * page.query.per_page + 1
    shown = sum(len(site_plan.resources) for site_plan in page.plans)
    return {
        "calendar": page,
        "filters": filters,
        "grids": grids,
        "agenda": agenda,
        "agenda_multiple_sites": len(page.plans) > 1,
        # The grid of the same days for wide screens (app.js follows it when no view was asked for).
        "wide_href": link(view="month"),
        "page_href": link(page="{page}").replace("%7Bpage%7D", "{page}"),
        "resource_range": fmt.gettext(
            "Resources %(first)s–%(last)s of %(count)s", first=first, last=first + shown - 1, count=page.resource_count
        ) if page.page_count > 1 else "",
        "period_label": _period_label(page, fmt),
        "prev": {"href": link(date=page.previous_day.isoformat()), "label": previous_label},
        "next": {"href": link(date=page.next_day.isoformat()), "label": next_label},
        "today_link": {"href": link(date=None), "label": fmt.gettext("Today")},
        "view_links": [{"view": view, "href": link(view=view), "label": _view_label(view, fmt)} for view in calendar_service.VIEWS],
        "view_options": [(view, _view_label(view, fmt)) for view in calendar_service.VIEWS],
        "site_options": [(str(site.id), site.name) for site in page.sites],
        "kind_options": [("room", fmt.gettext("Rooms")), ("desk", fmt.gettext("Co-working desks")), ("item", fmt.gettext("Things")), ("online", fmt.gettext("Online rooms"))],
        "category_options": [(category, category) for category in page.categories],
        "date_value": (filters.day or page.today).isoformat(),
        "embed_path": "/embed/calendar?" + urlencode(filters.params()),
    }


async def _render(request: Request, app_context: AppContext, *, embed: bool) -> Template:
    raw = {name: request.query_params.get(name) for name in ("view", "date", "site", "kind", "category", "resource", "page")}
    filters, errors = _parse_filters(raw)
    query = CalendarQuery(
        view=filters.view, day=filters.day, site_id=filters.site_id, kind=filters.kind,
        category=filters.category, resource_id=filters.resource_id, page=filters.page,
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
    return template


@get("/calendar", guards=[public], name="calendar", include_in_schema=False)
async def calendar_page(request: Request, app_context: Ctx) -> Template:
    return await _render(request, app_context, embed=False)


@get("/embed/calendar", guards=[public], name="calendar-embed", include_in_schema=False)
async def calendar_embed(request: Request, app_context: Ctx) -> Template:
    return await _render(request, app_context, embed=True)


ROUTES = [calendar_page, calendar_embed]
