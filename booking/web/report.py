"""The implementation report (Umsetzungsbericht) under /admin/bericht: figures for a chosen
period, a printable yearly report with the coordinator's introduction, and CSV/JSON exports.

Guards: site managers and city administrators (``page_manager``); managers see only their own
sites' figures. Only city administrators write the introduction (CSRF-protected form). Every
figure is an aggregate (services/reporting.py): no name, e-mail or title reaches these pages.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any

from babel.numbers import format_decimal
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter
from litestar.response import Redirect, Template

from booking.auth.guards import public
from booking.domain.errors import InvalidInput, NotFound
from booking.services import reporting
from booking.services.context import AppContext
from booking.services.reporting import Period, Report
from booking.web.admin_forms import form_value, translate
from booking.web.base import FormErrors, flash, page_city_admin, page_language, page_manager, redirect, render_page

Ctx = NamedDependency[AppContext]
Year = Annotated[int, Parameter(ge=2000, le=2100)]
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
CHART_WIDTH = 360


def _site_ids(request: Request) -> list[int] | None:
    """None (every site) for city administrators; a manager's own sites otherwise."""
    user = request.user
    if user.is_city_admin:
        return None
    return sorted(site_id for site_id, role in user.site_roles.items() if role == "manager")


def _parse_month(value: str, field: str, errors: FormErrors) -> date | None:
    match = MONTH.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        errors[field] = "Please enter a month like 2026-03."
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def _number(language: str):  # type: ignore[no-untyped-def]
    def number(value: object) -> str:
        if value is None:
            return "–"
        if isinstance(value, (int, float)):
            return format_decimal(value, format="#,##0.##", locale=language)
        return str(value)

    return number


def _bars(rows: list[tuple[str, float | None]], number) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Bars of a horizontal bar chart: label, width in SVG units, the value as text."""
    largest = max((value or 0 for _, value in rows), default=0)
    return [
        {"label": label, "width": round((value or 0) / largest * CHART_WIDTH, 1) if largest else 0, "text": number(value)}
        for label, value in rows
    ]


def _context(request: Request, report: Report) -> dict[str, Any]:
    language = page_language(request)
    number = _number(language)
    tables = {table.name: table for table in reporting.report_tables(report)}
    charts = {
        "utilisation_by_month": _bars([(row[0], row[3]) for row in tables["utilisation_by_month"].rows], number),
        "utilisation_by_site": _bars([(row[0], row[3]) for row in tables["utilisation_by_site"].rows], number),
        "utilisation_by_kind": _bars([(row[0], row[3]) for row in tables["utilisation_by_kind"].rows], number),
        "top_resources": _bars([(f"{row[0]} ({row[1]})", row[3]) for row in tables["top_resources"].rows], number),
        "unmet_demand": _bars([(month, count) for month, count in report.unmet_by_month()], number),
        "volunteering": _bars([(month, hours) for month, hours in report.volunteering_by_month()], number),
    }
    figure_groups = {
        "booking": reporting.booking_key_figures(report), "waiting": reporting.waiting_list_key_figures(report),
        "volunteering": reporting.volunteering_key_figures(report),
    }
    return {
        "report": report, "tables": tables, "charts": charts, "number": number,
        "key_figures": reporting.key_figures(report), "figure_groups": figure_groups, "chart_width": CHART_WIDTH,
        "active_nav": "admin", "admin_section": "report", "is_city_admin": request.user.is_city_admin,
        "all_sites": _site_ids(request) is None,
    }


def _export_query(report: Report) -> str:
    return f"since={report.period.first_month}&until={report.period.last_month}"


class ReportController(Controller):
    path = "/admin/bericht"
    guards = [page_manager]

    async def _period(self, request: Request, app_context: AppContext, since: str, until: str) -> tuple[Period | None, FormErrors]:
        errors = FormErrors()
        if not since and not until:
            year = app_context.now().year
            return Period.year(year), errors
        first = _parse_month(since, "since", errors)
        last = _parse_month(until, "until", errors)
        if first is None or last is None:
            return None, errors
        try:
            return Period.of(first, last), errors
        except InvalidInput:
            errors["until"] = "The period must end after it starts and cover at most five years."
            return None, errors

    @get("/", name="report:index")
    async def index(self, request: Request, app_context: Ctx, since: FromQuery[str] = "", until: FromQuery[str] = "") -> Template:
        period, errors = await self._period(request, app_context, since, until)
        if period is None:
            context = {"form": {"since": since, "until": until}, "errors": {k: translate(request, v) for k, v in errors.items()},
                       "report": None, "active_nav": "admin", "admin_section": "report",
                       "is_city_admin": request.user.is_city_admin}
            return render_page(request, "admin/report.html", context, status_code=400)
        report = await reporting.build_report(app_context, period, site_ids=_site_ids(request))
        context = _context(request, report) | {
            "form": {"since": period.first_month, "until": period.last_month}, "errors": {},
            "export_query": _export_query(report),
        }
        return render_page(request, "admin/report.html", context)

    @get("/export.csv", name="report:csv")
    async def export_csv(
        self, request: Request, app_context: Ctx, since: FromQuery[str] = "", until: FromQuery[str] = "", sep: FromQuery[str] = "",
    ) -> Response:
        period, errors = await self._period(request, app_context, since, until)
        if period is None:
            return Response(json.dumps({"errors": dict(errors)}), status_code=400, media_type="application/json")
        report = await reporting.build_report(app_context, period, site_ids=_site_ids(request))
        delimiter = ";" if sep == "semicolon" else ","
        # The BOM tells spreadsheet programs the text is UTF-8 (Umlauts in site names).
        body = "\ufeff" + reporting.tables_as_csv(report, delimiter=delimiter)
        name = f"bericht-{period.first_month}-{period.last_month}.csv"
        return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @get("/export.json", name="report:json")
    async def export_json(self, request: Request, app_context: Ctx, since: FromQuery[str] = "", until: FromQuery[str] = "") -> Response:
        period, errors = await self._period(request, app_context, since, until)
        if period is None:
            return Response(json.dumps({"errors": dict(errors)}), status_code=400, media_type="application/json")
        report = await reporting.build_report(app_context, period, site_ids=_site_ids(request))
        body = json.dumps(reporting.tables_as_json(report), ensure_ascii=False, indent=1)
        return Response(body.encode("utf-8"), media_type="application/json", headers={"Cache-Control": "no-store"})

    @get("/{year:int}", name="report:year")
    async def year(self, request: Request, app_context: Ctx, year: Year) -> Template:
        return await self._year_page(request, app_context, year)

    async def _year_page(
        self, request: Request, app_context: AppContext, year: int, *, status_code: int = 200,
        introduction: str | None = None, errors: dict[str, str] | None = None,
    ) -> Template:
        period = Period.year(year)
        site_ids = _site_ids(request)
        report = await reporting.build_report(app_context, period, site_ids=site_ids)
        previous = await reporting.build_report(app_context, period.previous_year(), site_ids=site_ids, key_figures_only=True)
        saved_introduction = await reporting.get_introduction(app_context, year)
        comparison = [
            (name, value, previous_value)
            for (name, value), (_, previous_value) in zip(reporting.key_figures(report), reporting.key_figures(previous), strict=True)
        ]
        context = _context(request, report) | {
            "year": year, "comparison": comparison, "introduction": saved_introduction,
            "introduction_form": saved_introduction if introduction is None else introduction,
            "errors": errors or {}, "export_query": _export_query(report),
        }
        return render_page(request, "admin/report_year.html", context, status_code=status_code)

    @post("/{year:int}/einleitung", guards=[page_city_admin], name="report:introduction")
    async def save_introduction(self, request: Request, app_context: Ctx, year: Year) -> Template | Redirect:
        form = await request.form()
        text = form_value(form, "introduction")
        try:
            await reporting.save_introduction(app_context, year, text)
        except InvalidInput:
            errors = {"introduction": translate(request, "The introduction may be at most 20000 characters long.")}
            return await self._year_page(request, app_context, year, status_code=400, introduction=text, errors=errors)
        flash(request, "success", translate(request, "The introduction was saved."))
        return redirect(f"/admin/bericht/{year}")


# --- open data (public, off unless settings.open_data.enabled) --------------------------------


def _open_data_year(app_context: AppContext, year: str) -> int:
    if not year:
        return app_context.now().year
    if not (year.isascii() and year.isdigit() and len(year) == 4 and 2000 <= int(year) <= 2100):
        raise InvalidInput("year: give a year like 2026", field="year")
    return int(year)


async def _open_data(app_context: AppContext, year: str) -> tuple[int, list[reporting.OpenDataRow]]:
    if not app_context.settings.open_data.enabled:
        raise NotFound("open data is not published here")
    chosen = _open_data_year(app_context, year)
    return chosen, await reporting.open_data(app_context, Period.year(chosen))


def _open_data_json(app_context: AppContext, year: int, rows: list[reporting.OpenDataRow]) -> dict[str, Any]:
    settings = app_context.settings.open_data
    return {
        "year": year, "licence": settings.licence, "licence_url": settings.licence_url,
        "min_cell_size": settings.min_cell_size, "columns": list(reporting.OPEN_DATA_COLUMNS),
        "rows": [list(row.cells()) for row in rows],
    }


@get("/offene-daten", guards=[public], name="open-data:page")
async def open_data_page(request: Request, app_context: Ctx, year: FromQuery[str] = "") -> Template:
    chosen, rows = await _open_data(app_context, year)
    settings = app_context.settings.open_data
    return render_page(request, "open_data.html", {
        "year": chosen, "rows": rows, "number": _number(page_language(request)), "settings": settings,
    })


@get("/offene-daten/daten.json", guards=[public], name="open-data:json")
async def open_data_json(app_context: Ctx, year: FromQuery[str] = "") -> Response:
    chosen, rows = await _open_data(app_context, year)
    body = json.dumps(_open_data_json(app_context, chosen, rows), ensure_ascii=False, indent=1)
    return Response(body.encode("utf-8"), media_type="application/json", headers={"Access-Control-Allow-Origin": "*"})


@get("/offene-daten/daten.csv", guards=[public], name="open-data:csv")
async def open_data_csv(app_context: Ctx, year: FromQuery[str] = "", sep: FromQuery[str] = "") -> Response:
    import csv
    import io

    chosen, rows = await _open_data(app_context, year)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if sep == "semicolon" else ",", lineterminator="\r\n")
    writer.writerow(reporting.OPEN_DATA_COLUMNS)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row.cells()])
    return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="offene-daten-{chosen}.csv"'})


ROUTES = [ReportController, open_data_page, open_data_json, open_data_csv]
