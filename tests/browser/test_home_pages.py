"""The home page in Chromium against a live server (SQLite, 45 resources): at 360 px the
search folds away after a search so the first result is on the first screen, the results come
in pages that keep the filters; the compact header of a real page; axe at 360 and 1280 px."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import pytest_asyncio

from booking.db import Database
from booking.models import Resource
from booking.services.context import AppContext
from booking.settings import load_settings
from tests.browser.conftest import assert_no_axe_violations, screenshot
from tests.conftest import _migrated_url, clear_all_tables
from tests.support.live_server import live_server
from tests.support.world import build_world


@pytest.fixture(scope="module")
def home_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("home") / "home.sqlite3"
    return _migrated_url(f"sqlite+aiosqlite:///{path}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(home_db_url: str) -> str:
    database = Database(home_db_url)
    await clear_all_tables(database)
    settings = load_settings(env={}, database_url=home_db_url, secret_key=secrets.token_hex(32), run_worker_in_process=False)
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    async with database.transaction() as session:
        session.add_all([Resource(site_id=world.site_b.id, kind="desk", name=f"Schreibtisch {n:02d}", capacity=1)
                         for n in range(1, 41)])
    await database.dispose()
    return home_db_url


@pytest.fixture(scope="module")
def server(seeded: str) -> Iterator[str]:
    with live_server(seeded) as base_url:
        yield base_url


async def test_search_folds_away_on_a_phone_and_results_are_paged(phone_page, server):
    page = phone_page
    page.problems.ignore(r"favicon\.ico")
    await page.goto(server + "/")
    assert await page.evaluate("document.querySelector('header').getBoundingClientRect().height") < 100
    assert await page.locator("details.app-search").get_attribute("open") == ""
    await page.select_option("#field-kind", "desk")
    await page.fill("#field-q", "Schreibtisch")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Suchen", exact=True).click()

    # Folded: the summary names the filters, the first result is on the first screen.
    search = page.locator("details.app-search")
    assert await search.get_attribute("open") is None
    summary = await search.locator("summary").inner_text()
    assert "Co-Working-Platz" in summary and "„Schreibtisch“" in summary
    first_card = page.locator(".app-cards .kern-card").first
    box = await first_card.bounding_box()
    assert box is not None and box["y"] < 740, box
    assert await page.locator(".app-cards > li").count() == 18
    await screenshot(page, "home-search-360", full_page=False)
    await assert_no_axe_violations(page)

    # Page 2 keeps the filters; the search opens again with its fields filled in.
    async with page.expect_navigation():
        await page.get_by_role("navigation", name="Seiten der Ergebnisse").get_by_role("link", name="Nächste Seite").click()
    assert "kind=desk" in page.url and "q=Schreibtisch" in page.url and "page=2" in page.url
    assert await page.locator(".app-cards > li").count() == 18
    assert await page.locator(".app-cards .kern-title").first.inner_text() == "Schreibtisch 19"
    await search.locator("summary").click()
    assert await page.locator("#field-q").input_value() == "Schreibtisch"
    await assert_no_axe_violations(page)


async def test_search_stands_open_on_a_wide_screen(page, server):
    page.problems.ignore(r"favicon\.ico")
    await page.goto(server + "/?kind=desk&page=3")
    # app.js opens it where there is room; the summary still names the filters.
    assert await page.locator("details.app-search").get_attribute("open") == ""
    assert await page.locator("#field-kind").is_visible()
    assert await page.locator(".app-cards > li").count() == 4
    await screenshot(page, "home-search-1280", full_page=False)
    await assert_no_axe_violations(page)
