"""The report pages in Chromium: axe without violations, a screenshot, and the yearly report
printed to an A4 PDF whose page count is checked, with print CSS that keeps table rows whole."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from booking.services import reporting
from booking.services.context import AppContext
from tests.browser.conftest import SCREENSHOT_DIR, assert_no_axe_violations, screenshot
from tests.browser.test_admin_pages import sign_in
from tests.support.live_server import live_server
from tests.support.report_world import build_report_world
from tests.support.world import World, build_world

A4_POINTS = (595, 842)  # 210 × 297 mm in PDF points (1/72 inch)



@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[str]:
    with live_server(db_url, extra_env={"BOOKING_OPEN_DATA__ENABLED": "true"}) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings) -> World:
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    await build_report_world(app)
    await reporting.save_introduction(app, 2026, "Die Engagement-Orte wurden 2026 rege genutzt.\n\nDieser Bericht zeigt, wie.")
    return world


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The media boxes of the page objects of a PDF written by Chromium (no object streams)."""
    pages = re.findall(rb"/Type\s*/Page(?!s)\b.*?/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf, re.S)
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf, re.S)]
    assert counts and max(counts) == len(pages), (counts, len(pages))
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in pages]


async def test_report_page_has_no_axe_violations(page, server, world):
    await sign_in(page, server, world, "city_admin")
    response = await page.goto(f"{server}/admin/bericht?since=2026-01&until=2026-12")
    assert response is not None and response.status == 200
    assert await page.locator("svg[role=img] title").count() == 6
    await screenshot(page, "report-1280")
    await page.locator("section.app-report-chart").first.screenshot(path=str(SCREENSHOT_DIR / "report-chart-month.png"))
    await assert_no_axe_violations(page)


async def test_yearly_report_prints_to_a4(page, server, world):
    await sign_in(page, server, world, "city_admin")
    response = await page.goto(f"{server}/admin/bericht/2026")
    assert response is not None and response.status == 200
    await assert_no_axe_violations(page)
    await screenshot(page, "report-year-1280")
    await page.emulate_media(media="print")
    # Print CSS: navigation and the edit form are gone; no table row may be split over pages.
    assert not await page.locator("form[action$='/einleitung']").is_visible()
    breaks = await page.evaluate("() => [...document.querySelectorAll('tr')].map(row => getComputedStyle(row).breakInside)")
    assert breaks and set(breaks) == {"avoid"}
    pdf = await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    pages = pdf_pages(pdf)
    # Summary, comparison and charts, then the detail tables on a page of their own.
    assert 3 <= len(pages) <= 10, len(pages)
    assert all(abs(width - A4_POINTS[0]) < 2 and abs(height - A4_POINTS[1]) < 2 for width, height in pages), pages


async def test_report_and_open_data_on_a_phone(phone_page, server, world):
    page = phone_page
    await sign_in(page, server, world, "city_admin")
    for path, name in (("/admin/bericht?since=2026-01&until=2026-12", "report-360"), ("/offene-daten?year=2026", "open-data-360")):
        response = await page.goto(server + path)
        assert response is not None and response.status == 200, path
        await screenshot(page, name)
        await assert_no_axe_violations(page)
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow} px"
