"""A lender hands out and takes back a thing on a phone-sized screen, against a live server.

Chromium at 360×740 (``phone_page``), German UI: log in, the day's hand-outs, hand out with a
condition note, take back with a damage note, the thing's history, and the desk day view.
Screenshots in tests/artifacts/screenshots/lending-*.png; axe-core finds no WCAG 2.1 A/AA
violation on any of these pages. SQLite only: the pages are the same on both databases.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlmodel import select

from booking.db import Database
from booking.models import Booking, Loan, Policy, Resource
from booking.services import lending_bookings
from booking.services.context import AppContext
from booking.settings import load_settings
from tests.browser.conftest import assert_no_axe_violations, screenshot
from tests.conftest import _migrated_url, clear_all_tables
from tests.support.live_server import live_server
from tests.support.world import PASSWORD, build_world

BERLIN = ZoneInfo("Europe/Berlin")


class Yesterday:
    """Bookings for today are made "yesterday", so today's pick-up is not in the past."""

    def __call__(self) -> datetime:
        return datetime.now(UTC) - timedelta(days=1)


@pytest.fixture
def sqlite_url(sqlite_database_url) -> str:
    return _migrated_url(sqlite_database_url)  # Alembic runs its own event loop: not inside ours


@pytest_asyncio.fixture(loop_scope="session")
async def lending_site(sqlite_url) -> AsyncIterator[dict]:
    url = sqlite_url
    database = Database(url)
    await clear_all_tables(database)
    app = AppContext(database=database, settings=load_settings(env={}, secret_key=secrets.token_hex(32), database_url=url), clock=Yesterday())
    world = await build_world(app)  # open around the clock: the test runs whatever the day
    async with app.database.transaction() as session:
        projector = Resource(site_id=world.site_a.id, kind="item", name="Beamer Epson", category="Technik", capacity=1)
        pool = Resource(site_id=world.site_a.id, kind="desk", name="Flexible Arbeitsplätze", category="Arbeitsplatz", capacity=8)
        desk = Resource(site_id=world.site_a.id, kind="desk", name="Arbeitsplatz am Fenster", category="Arbeitsplatz", capacity=1)
        session.add_all([projector, pool, desk])
        await session.flush()
        session.add(Policy(resource_id=projector.id, opening_hours_mode="endpoints"))
    today = datetime.now(BERLIN).date()
    booking = await lending_bookings.book_days(
        app, world["member_a"],
        lending_bookings.DaySpanRequest(projector.id, today, today, organisation_id=world.org_a.id, title="Filmabend"),
    )
    await lending_bookings.book_days(app, world["member_b"], lending_bookings.DaySpanRequest(world.benches.id, today, today, quantity=4))
    try:
        with live_server(url) as base_url:
            yield {"base_url": base_url, "world": world, "booking": booking, "projector": projector, "database": database}
    finally:
        await database.dispose()


async def test_lender_hands_out_and_takes_back_on_a_phone(lending_site, phone_page):
    page, base_url, world = phone_page, lending_site["base_url"], lending_site["world"]
    page.problems.ignore(r"favicon\.ico")  # the browser asks for it on its own; the app has none
    booking = lending_site["booking"]

    await page.goto(f"{base_url}/login?next=/lender/today")
    await page.fill("#field-email", world.emails["lender_a"])
    await page.fill("#field-password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base_url}/lender/today")
    assert await page.locator("h1").first.inner_text() != ""
    await page.get_by_role("heading", name="Beamer Epson").first.wait_for()
    no_overflow = await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert no_overflow, "the page scrolls sideways on a phone"
    await screenshot(page, "lending-today-360")
    await assert_no_axe_violations(page)

    form = page.locator(f"form[action='/lender/loans/{booking.id}/hand-out']")
    await form.locator("textarea[name=condition]").fill("Linse sauber, Tasche dabei")
    await form.locator("input[name=deposit_note]").fill("Personalausweis")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state("load")
    await page.locator(".kern-alert--success").first.wait_for()
    back_form = page.locator(f"form[action='/lender/loans/{booking.id}/take-back']")
    await back_form.wait_for()
    await screenshot(page, "lending-handed-out-360")
    await assert_no_axe_violations(page)

    await back_form.locator("textarea[name=damage_notes]").fill("Kratzer am Gehäuse")
    await back_form.locator("input[name=missing_parts]").fill("Fernbedienung")
    await back_form.locator("button[type=submit]").click()
    await page.wait_for_load_state("load")
    await page.locator(".kern-alert--success").first.wait_for()
    assert await page.locator(f"form[action='/lender/loans/{booking.id}/take-back']").count() == 0
    await screenshot(page, "lending-taken-back-360")

    async with lending_site["database"].reader() as session:
        stored = await session.get(Booking, booking.id)
        loan = (await session.exec(select(Loan).where(Loan.booking_id == booking.id))).one()
    assert stored.status == "returned"
    assert (loan.condition_out, loan.deposit_note, loan.damage_notes, loan.missing_parts) == (
        "Linse sauber, Tasche dabei", "Personalausweis", "Kratzer am Gehäuse", "Fernbedienung",
    )

    await page.goto(f"{base_url}/lender/items/{lending_site['projector'].id}")
    await page.get_by_text("Kratzer am Gehäuse").first.wait_for()
    await screenshot(page, "lending-history-360")
    await assert_no_axe_violations(page)

    await page.goto(f"{base_url}/lender/overdue")
    await assert_no_axe_violations(page)

    tomorrow = (datetime.now(BERLIN) + timedelta(days=1)).date().isoformat()
    await page.goto(f"{base_url}/desks/{world.site_a.id}?day={tomorrow}")
    await page.get_by_role("heading", name="Flexible Arbeitsplätze").wait_for()
    await page.locator("summary.app-menu__toggle").click()  # a phone: the navigation is in the menu
    main_nav = page.get_by_role("navigation", name="Hauptnavigation")
    assert await main_nav.get_by_role("link", name="Arbeitsplätze", exact=True).get_attribute("aria-current") == "page"
    await screenshot(page, "coworking-day-360")
    await assert_no_axe_violations(page)
    await page.locator("form[action$='/book'] button").first.click()
    await page.wait_for_load_state("load")
    await page.locator(".kern-alert--success").first.wait_for()
    await screenshot(page, "coworking-booked-360")
    await assert_no_axe_violations(page)


async def test_handing_out_days_early_asks_first_on_a_phone(lending_site, phone_page):
    """The loan would start now instead of at the booked start: the lender confirms it first."""
    page, base_url, world = phone_page, lending_site["base_url"], lending_site["world"]
    page.problems.ignore(r"favicon\.ico")
    later = datetime.now(BERLIN).date() + timedelta(days=2)
    app = AppContext(database=lending_site["database"], settings=load_settings(env={}, secret_key=secrets.token_hex(32), database_url="sqlite://"))
    booking = await lending_bookings.book_days(app, world["member_a"], lending_bookings.DaySpanRequest(world.benches.id, later, later, quantity=2, title="Sommerfest"))

    await page.goto(f"{base_url}/login?next=/lender/today?day={later.isoformat()}")
    await page.fill("#field-email", world.emails["lender_a"])
    await page.fill("#field-password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_load_state("load")
    form = page.locator(f"form[action='/lender/loans/{booking.id}/hand-out']")
    await form.locator("textarea[name=condition]").fill("vollständig")
    await form.locator("button[type=submit]").click()
    await page.get_by_role("heading", name="Vor dem gebuchten Beginn ausgeben?").wait_for()
    text = await page.locator("main").inner_text()
    assert "Die Ausleihe beginnt jetzt" in text and "statt" in text
    async with lending_site["database"].reader() as session:
        assert (await session.get(Booking, booking.id)).status == "confirmed"
    await screenshot(page, "lending-early-confirm-360", full_page=False)
    await assert_no_axe_violations(page)
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    await page.get_by_role("button", name="Ja, jetzt ausgeben").click()
    await page.wait_for_load_state("load")
    await page.locator(".kern-alert--success").first.wait_for()
    async with lending_site["database"].reader() as session:
        stored = await session.get(Booking, booking.id)
        loan = (await session.exec(select(Loan).where(Loan.booking_id == booking.id))).one()
    assert stored.status == "checked_out" and stored.starts_at < booking.starts_at and loan.condition_out == "vollständig"
