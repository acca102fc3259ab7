"""Calendar pages in Chromium against a live server (SQLite): a site with 30 resources.

Month and week views at 1280 px and 360 px (screenshots in tests/artifacts/screenshots/
calendar-*.png), axe-core (WCAG 2.1 A/AA) without violations, no sideways scrolling of the
page on a phone (the grid scrolls in its own region), keyboard use, no JavaScript needed,
and the embeddable variant (no app navigation, framing allowed).
"""

from __future__ import annotations

import calendar as gregorian
import http.server
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from booking.db import Database
from booking.models import Policy, Resource, Site
from booking.services import bookings, series
from booking.services.context import AppContext
from booking.domain.recurrence import RecurrenceRule
from booking.settings import load_settings
from tests.browser.conftest import assert_no_axe_violations, screenshot
from tests.conftest import _migrated_url, clear_all_tables
from tests.support.live_server import live_server
from tests.support.world import build_world

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAY_HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["10:00", "16:00"]]}


def next_month() -> date:
    today = datetime.now(BERLIN).date()
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


@pytest.fixture(scope="module")
def calendar_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("calendar") / "calendar.sqlite3"
    return _migrated_url(f"sqlite+aiosqlite:///{path}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site_id(calendar_db_url: str) -> int:
    """A site with 30 resources and bookings next month, made through the services."""
    database = Database(calendar_db_url)
    await clear_all_tables(database)
    settings = load_settings(env={}, database_url=calendar_db_url, secret_key=secrets.token_hex(32), run_worker_in_process=False)
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    async with database.transaction() as session:
        site = Site(name="Bürgerhaus Nord", contact_email="nord@site.example", opening_hours=WEEKDAY_HOURS, timezone="Europe/Berlin")
        session.add(site)
        await session.flush()
        resources = []
        for number in range(1, 13):
            resources.append(Resource(site_id=site.id, kind="room", name=f"Raum {number:02d}", category="Seminar" if number % 2 else "Werkstatt", seats=8 + number))
        for number in range(1, 11):
            resources.append(Resource(site_id=site.id, kind="desk", name=f"Schreibtisch {number:02d}", category="Co-Working"))
        resources.append(Resource(site_id=site.id, kind="desk", name="Offener Bereich", category="Co-Working", capacity=8))
        for number in range(1, 8):
            resources.append(Resource(site_id=site.id, kind="item", name=f"Beamer {number}", category="Technik"))
        session.add_all(resources)
        await session.flush()
        session.add(Policy(resource_id=resources[1].id, approval_mode="ask"))
        ids = [resource.id for resource in resources]
        site_id = site.id
    member = world["member_a"]
    first = next_month()
    for day in range(1, gregorian.monthrange(first.year, first.month)[1] + 1):
        local_day = first.replace(day=day)
        if local_day.weekday() >= 5:
            continue
        for index, resource_id in enumerate(ids[:6]):
            if (day + index) % 3 == 0 and not (index == 1 and day % 4 == 0):
                starts_at = datetime.combine(local_day, datetime.min.time(), BERLIN).replace(hour=9 + index % 5)
                await bookings.create_booking(
                    app, member, bookings.BookingRequest(resource_id, starts_at, starts_at + timedelta(hours=3), title="Kurs")
                )
        # The second room is taken all day (only requested: it needs approval).
        if day % 4 == 0:
            await bookings.create_booking(
                app, member, bookings.BookingRequest(
                    ids[1], datetime.combine(local_day, datetime.min.time(), BERLIN).replace(hour=8),
                    datetime.combine(local_day, datetime.min.time(), BERLIN).replace(hour=22),
                )
            )
    # Every Tuesday 18:00–20:00 in room 1 (a series).
    tuesday = first + timedelta(days=(1 - first.weekday()) % 7)
    await series.create_series(
        app, member, series.SeriesRequest(ids[0], datetime.combine(tuesday, datetime.min.time()).replace(hour=18), timedelta(hours=2), RecurrenceRule("weekly", count=4)),
        mode="book_free",
    )
    await database.dispose()
    return site_id


@pytest.fixture(scope="module")
def server(calendar_db_url: str, site_id: int) -> Iterator[str]:
    with live_server(calendar_db_url) as base_url:
        yield base_url


@contextmanager
def outer_page(html: str) -> Iterator[str]:
    """Serve one HTML page from another loopback port (another origin) while the block runs."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def quiet_favicon(request: pytest.FixtureRequest) -> None:
    # Chromium asks for /favicon.ico on its own; the layout declares none (not ours to add).
    for name in ("page", "phone_page"):
        if name in request.fixturenames:
            request.getfixturevalue(name).problems.ignore(r"favicon\.ico")


async def no_page_overflow(page) -> bool:
    return await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


async def test_month_view_of_a_site_with_30_resources(page, server, site_id):
    month = next_month()
    response = await page.goto(f"{server}/calendar?view=month&site={site_id}&date={month.isoformat()}")
    assert response.status == 200
    assert await page.locator("table.cal-matrix tbody tr").count() == 30
    days = gregorian.monthrange(month.year, month.month)[1]
    assert await page.locator("table.cal-matrix thead th").count() == days + 1
    free = page.locator("a.cal-slot--free")
    assert await free.count() > 200
    href = await free.first.get_attribute("href")
    assert href.startswith("/resources/") and "starts_at=" in href and "ends_at=" in href
    assert await page.locator(".cal-slot--taken, .cal-slot--tentative").count() > 0
    assert await page.locator(".cal-slot--closed").count() > 0  # Sundays
    await screenshot(page, "calendar-month-1280")
    await assert_no_axe_violations(page)


async def test_month_view_on_a_phone(phone_page, server, site_id):
    await phone_page.goto(f"{server}/calendar?view=month&site={site_id}&date={next_month().isoformat()}")
    assert await no_page_overflow(phone_page), "the page scrolls sideways at 360 px"
    await screenshot(phone_page, "calendar-month-360")
    await phone_page.evaluate(
        "() => window.scrollTo({top: document.querySelector('.cal-site').getBoundingClientRect().top + window.scrollY, behavior: 'instant'})"
    )
    await screenshot(phone_page, "calendar-month-360-grid", full_page=False)
    await assert_no_axe_violations(phone_page)


async def test_week_view_and_keyboard(page, phone_page, server, site_id):
    month = next_month()
    monday = month + timedelta(days=(7 - month.weekday()) % 7)
    await page.goto(f"{server}/calendar?site={site_id}&view=week&date={monday.isoformat()}")
    labels = await page.locator("table.cal-matrix tbody tr", has_text="Raum 01").locator(".cal-slot__label").all_inner_texts()
    assert any("18:00" in label or "20:00" in label for label in labels), labels  # the series
    await screenshot(page, "calendar-week-1280")
    await assert_no_axe_violations(page)
    # Keyboard: tab to the first free slot and follow it.
    first_free = await page.locator("a.cal-slot--free").first.get_attribute("href")
    for _ in range(200):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("() => document.activeElement.getAttribute('href')")
        if focused == first_free:
            break
    else:
        pytest.fail("the first free slot cannot be reached with the Tab key")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**{first_free}")

    await phone_page.goto(f"{server}/calendar?site={site_id}&view=week&date={monday.isoformat()}")
    assert await no_page_overflow(phone_page)
    await screenshot(phone_page, "calendar-week-360", full_page=False)
    await assert_no_axe_violations(phone_page)


async def test_filters_work_without_javascript(browser, server, site_id):
    context = await browser.new_context(java_script_enabled=False, locale="de-DE", viewport={"width": 1280, "height": 800})
    try:
        page = await context.new_page()
        await page.goto(f"{server}/calendar?view=month&date={next_month().isoformat()}")
        assert await page.locator("section.cal-site").count() == 3  # every site
        await page.click(".cal-filter-box summary")  # folded without JavaScript
        await page.select_option("#cal-site", str(site_id))
        await page.select_option("#cal-kind", "item")
        await page.select_option("#cal-view", "week")
        await page.click(".cal-filter button[type=submit]")
        await page.wait_for_url("**kind=item**")
        assert await page.locator("table.cal-matrix tbody tr").count() == 7
        await page.click(".cal-toolbar a >> nth=2")  # next week
        assert "view=week" in page.url and "kind=item" in page.url
    finally:
        await context.close()


async def test_embeddable_calendar(page, server, site_id):
    answer = httpx.get(f"{server}/embed/calendar?site={site_id}")
    assert answer.status_code == 200 and "frame-ancestors *" in answer.headers["content-security-policy"]
    assert "x-frame-options" not in answer.headers
    full = httpx.get(f"{server}/calendar?site={site_id}")
    assert "frame-ancestors 'none'" in full.headers["content-security-policy"]
    # Framed by a page of another origin (another port on loopback: Chromium's local network
    # checks block loopback frames inside pages it cannot place on the local network).
    outer = f'<!doctype html><html lang="de"><title>Verein</title><main><h1>Verein</h1><iframe title="Kalender" src="{server}/embed/calendar?view=month&site={site_id}&date={next_month().isoformat()}" width="1200" height="700"></iframe></main></html>'
    with outer_page(outer) as outer_url:
        await page.goto(outer_url)
        frame = page.frame_locator("iframe")
        await frame.locator("table.cal-matrix").wait_for(timeout=15_000)
        assert await frame.locator("table.cal-matrix tbody tr").count() == 30
        assert await frame.locator(".app-nav, .app-header").count() == 0
    await page.goto(f"{server}/embed/calendar?site={site_id}&view=week&date={next_month().isoformat()}")
    await screenshot(page, "calendar-embed-1280", full_page=False)
    await assert_no_axe_violations(page)


async def test_bad_filters_answer_400_with_the_reason_next_to_the_field(page, server, site_id):
    page.problems.ignore(r"status of 400")  # expected: the answer to bad input
    response = await page.goto(f"{server}/calendar?date=someday&kind=boat&view=week&site={site_id}")
    assert response.status == 400
    assert await page.locator("#cal-date-error").count() == 1 and await page.locator("#cal-kind-error").count() == 1
    await assert_no_axe_violations(page)




async def test_the_agenda_is_the_default_on_a_phone_and_a_wide_screen_gets_the_grid(browser, phone_page, page, server, site_id):
    month = next_month()
    # Without JavaScript the default is the agenda, whatever the width: a list by day.
    context = await browser.new_context(java_script_enabled=False, locale="de-DE", viewport={"width": 360, "height": 740})
    try:
        plain = await context.new_page()
        await plain.goto(f"{server}/calendar?site={site_id}&date={month.isoformat()}")
        assert await plain.locator("table.cal-matrix").count() == 0
        assert await plain.locator(".cal-agenda__day").count() == 7
        assert await no_page_overflow(plain)
    finally:
        await context.close()

    # A phone with JavaScript stays on the agenda; free times are links to the booking form.
    await phone_page.goto(f"{server}/calendar?site={site_id}&date={month.isoformat()}")
    assert await phone_page.locator(".cal-agenda__day").count() == 7 and "view=" not in phone_page.url
    assert await no_page_overflow(phone_page), "the agenda scrolls sideways at 360 px"
    first_day = phone_page.locator(".cal-agenda__day").first
    assert await first_day.locator(".cal-agenda__resource").count() == 30
    free = first_day.locator("a.cal-slot--free")
    href = await free.first.get_attribute("href")
    assert href.startswith("/resources/") and "starts_at=" in href and "ends_at=" in href
    box = await free.first.bounding_box()
    assert box["height"] >= 24 and box["width"] >= 24  # a target a finger can hit
    await screenshot(phone_page, "calendar-agenda-360", full_page=False)
    await assert_no_axe_violations(phone_page)
    await free.first.click()
    await phone_page.wait_for_url(f"**{href}")

    # A wide screen gets the month grid instead (app.js), with the same filters.
    await page.goto(f"{server}/calendar?site={site_id}&date={month.isoformat()}")
    await page.wait_for_url("**view=month**")
    await page.locator("table.cal-matrix").wait_for()
    assert await page.locator("table.cal-matrix tbody tr").count() == 30
    assert await page.locator(".cal-filter-box[open]").count() == 1  # filters open where there is room
    # The agenda asked for on purpose stays an agenda on a wide screen.
    await page.goto(f"{server}/calendar?view=agenda&site={site_id}&date={month.isoformat()}")
    assert await page.locator(".cal-agenda__day").count() == 7
    await screenshot(page, "calendar-agenda-1280", full_page=False)
    await assert_no_axe_violations(page)


async def test_the_agenda_shows_the_booked_time_of_a_series_and_the_grid_header_stays_in_view(page, server, site_id):
    month = next_month()
    tuesday = month + timedelta(days=(1 - month.weekday()) % 7)
    await page.goto(f"{server}/calendar?view=agenda&site={site_id}&date={tuesday.isoformat()}")
    room = page.locator(".cal-agenda__day").first.locator(".cal-agenda__resource", has_text="Raum 01")
    assert "18:00–20:00" in " ".join(await room.locator(".cal-slot--taken .cal-slot__label").all_inner_texts())
    # The week grid: scrolled down inside its region, the day header is still at its top.
    await page.goto(f"{server}/calendar?view=week&site={site_id}&date={tuesday.isoformat()}")
    offset = await page.evaluate(
        """() => { const region = document.querySelector('.cal-scroll'); region.scrollIntoView({behavior: 'instant'});
                   region.scrollTop = 400;
                   const th = document.querySelectorAll('.cal-matrix thead th')[3];
                   return [region.scrollTop, th.getBoundingClientRect().top - region.getBoundingClientRect().top]; }"""
    )
    assert offset[0] > 0 and abs(offset[1]) < 3, offset
    # Scrolled down, the rows (and their pinned names) pass under the day header, not over it.
    on_top = await page.evaluate(
        """() => { const th = document.querySelectorAll('.cal-matrix thead th')[3]; const box = th.getBoundingClientRect();
                   const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
                   return th.contains(hit) || [hit && hit.outerHTML.slice(0, 200), box.top, box.left]; }"""
    )
    assert on_top is True, on_top
    await screenshot(page, "calendar-week-1280-scrolled", full_page=False)
