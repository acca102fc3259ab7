"""The report pages and exports: who sees what, the period form, page/CSV/JSON agreeing, no personal data."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from babel.numbers import format_decimal

from booking.services import reporting
from tests.http.conftest import login
from tests.support.report_world import ReportWorld, build_report_world

YEAR = "since=2026-01&until=2026-12"


@pytest.fixture
async def report_world(app_context) -> ReportWorld:
    return await build_report_world(app_context)


def _german(value: object) -> str:
    return "–" if value is None else format_decimal(value, format="#,##0.##", locale="de")


def _looks_numeric(text: str) -> bool:
    return text == "–" or bool(re.fullmatch(r"[\d.,]+", text))


def _page_table(html: str, name: str) -> list[list[str]]:
    """The body cells of the page's table ``name`` as text."""
    table = html.split(f'data-table="{name}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _cards(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="(\w+)">\s*<span class="app-report-card__value">([^<]*)</span>', html))


async def test_page_csv_and_json_agree(client, world, report_world):
    await login(client, world, "city_admin")
    page = await client.get(f"/admin/bericht?{YEAR}")
    assert page.status_code == 200, page.text
    data = (await client.get(f"/admin/bericht/export.json?{YEAR}")).json()
    csv_response = await client.get(f"/admin/bericht/export.csv?{YEAR}")
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.content.startswith("\ufeff".encode())

    key_figures = dict(data["tables"]["key_figures"]["rows"])
    assert key_figures["hours_booked"] == 19.0 and key_figures["loans"] == 2 and key_figures["loan_days"] == 19.0
    assert key_figures["organisations"] == 3 and key_figures["persons"] == 3 and key_figures["new_organisations"] == 2
    # The page's cards show the same numbers in German notation.
    assert _cards(page.text) == {name: _german(value) for name, value in key_figures.items()}

    # Every table of the JSON is in the CSV with the same cells, and on the page.
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    sections: dict[str, list[list[str]]] = {}
    current = None
    for row in rows:
        if row and row[0].startswith("# "):
            current = row[0][2:]
            sections[current] = []
        elif row and current:
            sections[current].append(row)
    assert set(sections) == set(data["tables"])
    for name, table in data["tables"].items():
        assert sections[name][0] == table["columns"]
        assert sections[name][1:] == [["" if cell is None else str(cell) for cell in row] for row in table["rows"]]
        if name == "key_figures":
            continue  # shown as cards, compared above
        page_rows = _page_table(page.text, name)
        if not table["rows"]:
            assert len(page_rows) == 1  # "no figures in this period"
            continue
        assert len(page_rows) == len(table["rows"]), name
        for page_row, row in zip(page_rows, table["rows"], strict=True):
            numbers = [_german(cell) for cell in row if isinstance(cell, (int, float)) or cell is None]
            assert [cell for cell in page_row if _looks_numeric(cell)][-len(numbers):] == numbers, (name, page_row, row)
    usage_rows = data["tables"]["usage"]["rows"]
    assert ["Stadtteilhaus Nord", "item", "Möbel", "2026-01", 1, 360.0, 15.0] in usage_rows


async def test_semicolon_csv_for_german_spreadsheets(client, world, report_world):
    await login(client, world, "city_admin")
    response = await client.get(f"/admin/bericht/export.csv?{YEAR}&sep=semicolon")
    text = response.content.decode("utf-8-sig")
    assert "site;kind;category;month;bookings;unit_hours;loan_days" in text
    assert "Stadtteilhaus Nord;room;Saal;2026-01;1;2.0;" in text


async def test_no_personal_data_in_pages_or_exports(client, world, report_world, app_context):
    await reporting.save_introduction(app_context, 2026, "Ein gutes Jahr für die Engagement-Orte.")
    await login(client, world, "city_admin")
    bodies = [
        (await client.get(f"/admin/bericht?{YEAR}")).text,
        (await client.get("/admin/bericht/2026")).text,
        (await client.get(f"/admin/bericht/export.csv?{YEAR}")).content.decode("utf-8-sig"),
        (await client.get(f"/admin/bericht/export.json?{YEAR}")).text,
    ]
    assert "Ein gutes Jahr" in bodies[1]
    secrets = [title for title in report_world.titles]
    for user in report_world.users.values():
        secrets += [user.display_name, user.email]
    secrets += ["Zweck von", "Raum ist für", "Bernd"]
    # Offer titles, volunteers (signed in or by e-mail only), waiting persons and their wishes.
    secrets += [*report_world.secrets, "Geheimer Zweck", "Kontakt Geheim"]
    for body in bodies:
        assert "Stadtteilhaus Nord" in body
        for secret in secrets:
            assert secret not in body and json.dumps(secret)[1:-1] not in body, secret


async def test_site_manager_sees_only_own_sites(client, world, report_world):
    await login(client, world, "manager_a")
    data = (await client.get(f"/admin/bericht/export.json?{YEAR}")).json()
    assert data["tables"]["usage"]["rows"] == []  # the report world's sites are not manager_a's
    page = await client.get("/admin/bericht/2026")
    assert page.status_code == 200
    assert "Stadtteilhaus Nord" not in page.text
    assert 'name="introduction"' not in page.text  # only city administrators write it


@pytest.mark.parametrize("query, field", [
    ("since=2026-13&until=2026-12", "since"),
    ("since=2026-05&until=2026-01", "until"),
    ("since=2020-01&until=2026-12", "until"),
    ("since=abc&until=", "since"),
])
async def test_bad_period_is_shown_at_the_field(client, world, query, field):
    await login(client, world, "city_admin")
    response = await client.get(f"/admin/bericht?{query}")
    assert response.status_code == 400
    assert f'id="field-{field}-error"' in response.text or f"field-{field}-error" in response.text
    assert (await client.get(f"/admin/bericht/export.json?{query}")).status_code == 400


async def test_year_page_compares_and_saves_the_introduction(client, world, report_world):
    await login(client, world, "city_admin")
    page = await client.get("/admin/bericht/2026")
    assert page.status_code == 200
    assert 'data-table="comparison"' in page.text
    comparison = {row[0]: row[1:] for row in _page_table(page.text, "comparison")}
    # Volunteering and waiting lists are compared too (2025: Vera's December date, 2 h).
    assert comparison["Engagement-Stunden"] == ["12", "2", "+10"]
    assert comparison["Auf eine Warteliste gesetzt (Räume, Arbeitsplätze, Dinge)"] == ["5", "1", "+4"]  # one in December 2025
    token = client.cookies["booking_csrf"]
    saved = await client.post("/admin/bericht/2026/einleitung", data={"introduction": "Erster Absatz.\r\n\r\nZweiter Absatz.", "_csrf_token": token})
    assert saved.status_code == 303
    page = await client.get("/admin/bericht/2026")
    assert "<p class=\"kern-body\">Erster Absatz.</p>" in page.text and "Zweiter Absatz." in page.text
    too_long = await client.post("/admin/bericht/2026/einleitung", data={"introduction": "x" * 20001, "_csrf_token": token})
    assert too_long.status_code == 400
    without_token = await client.post("/admin/bericht/2026/einleitung", data={"introduction": "Ohne"})
    assert without_token.status_code == 403
    assert (await client.get("/admin/bericht/1999")).status_code == 400


# --- open data ------------------------------------------------------------------------------


async def _add_bookings(app_context, report_world, spec) -> None:
    from booking.models import Booking
    from tests.support.report_world import local

    async with app_context.database.transaction() as session:
        for index, (user, org, day) in enumerate(spec):
            session.add(Booking(
                resource_id=report_world.reading_room.id, status="confirmed", starts_at=local(2026, *day, 10 + index),
                ends_at=local(2026, *day, 11 + index), booker_id=report_world.users[user].id,
                organisation_id=report_world.organisations[org].id, title=f"Offener Titel {index}",
            ))


@pytest.fixture
async def open_client(settings, app_context):
    import httpx

    from booking.app import create_app
    from booking.services.context import AppContext
    from booking.settings import OpenDataSettings

    open_settings = settings.replace(open_data=OpenDataSettings(enabled=True, licence="CC BY 4.0", licence_url="https://creativecommons.org/licenses/by/4.0/"))
    context = AppContext(database=app_context.database, settings=open_settings)
    transport = httpx.ASGITransport(app=create_app(open_settings, app_context=context))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client


async def test_open_data_is_off_by_default(client):
    assert (await client.get("/offene-daten")).status_code == 404
    assert (await client.get("/offene-daten/daten.json?year=2026")).status_code == 404


async def test_open_data_suppresses_small_cells(open_client, app_context, report_world):
    # April: three persons of three organisations (published); May: three persons, one organisation.
    await _add_bookings(app_context, report_world, [("u1", "o1", (4, 7)), ("u2", "o2", (4, 8)), ("u3", "o3", (4, 9)),
                                                    ("u1", "o1", (5, 5)), ("u2", "o1", (5, 6)), ("u3", "o1", (5, 7))])
    data = (await open_client.get("/offene-daten/daten.json?year=2026")).json()
    assert data["licence"] == "CC BY 4.0" and data["min_cell_size"] == 3
    rows = {(row[0], row[1]): row[2:] for row in data["rows"]}
    nothing_else = [0, 0, 0.0, 0, 0]  # no volunteering, nobody joined a waiting list
    assert rows[("Bibliothek Süd", "2026-04")] == [3, 3.0, 0, 0.0, 3, 3, *nothing_else]
    assert rows[("Bibliothek Süd", "2026-05")] == [None] * 6 + nothing_else  # one organisation
    # One person booked (suppressed); one volunteer and one person waiting (each suppressed on its own).
    assert rows[("Bibliothek Süd", "2026-02")] == [None] * 11
    # Two persons booked; three volunteers at the trees' January date, three persons joined a list.
    assert rows[("Stadtteilhaus Nord", "2026-01")] == [None] * 6 + [1, 3, 6.0, 3, 3]
    assert rows[("Stadtteilhaus Nord", "2026-02")] == [None] * 11  # two volunteers, one person waiting
    # A training published in January, no date yet: no use, no volunteer described; one person waiting.
    assert rows[("Bibliothek Süd", "2026-01")] == [0, 0.0, 0, 0.0, 0, 0, 0, 0, 0.0, 0, None]
    csv_text = (await open_client.get("/offene-daten/daten.csv?year=2026")).content.decode("utf-8-sig")
    assert "Bibliothek Süd,2026-04,3,3.0,0,0.0,3,3,0,0,0.0,0,0" in csv_text
    assert "Bibliothek Süd,2026-05,,,,,,,0,0,0.0,0,0" in csv_text
    page = await open_client.get("/offene-daten?year=2026")
    assert page.status_code == 200 and "CC BY 4.0" in page.text
    assert (await open_client.get("/offene-daten?year=20x6")).status_code == 400


async def test_open_data_holds_no_personal_data(open_client, app_context, report_world):
    await _add_bookings(app_context, report_world, [("u1", "o1", (4, 7)), ("u2", "o2", (4, 8)), ("u3", "o3", (4, 9))])
    bodies = [
        (await open_client.get("/offene-daten?year=2026")).text,
        (await open_client.get("/offene-daten/daten.json?year=2026")).text,
        (await open_client.get("/offene-daten/daten.csv?year=2026")).content.decode("utf-8-sig"),
    ]
    secrets = [*report_world.titles, *report_world.secrets, "Offener Titel", *[o.name for o in report_world.organisations.values()]]
    for user in report_world.users.values():
        secrets += [user.display_name, user.email]
    for body in bodies:
        assert "Bibliothek Süd" in body
        for secret in secrets:
            assert secret not in body and json.dumps(secret)[1:-1] not in body, secret
