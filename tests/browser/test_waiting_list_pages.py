"""Waiting lists in a real browser at 360 px against a live server: a taken time answers with
"Auf die Warteliste" beside the alternatives; "Meine Buchungen" lists the entry and a hold with
its expiry and the confirm/decline buttons, and an entry that ended; the offer mail's page; the lenders' list with move
up/down. axe-core finds no WCAG 2.1 A/AA violation; nothing scrolls sideways. Screenshots in
tests/artifacts/screenshots/waiting-*.png.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from booking.auth.tokens import sign_waiting_list_offer
from booking.db import Database
from booking.models import Booking, WaitingListEntry
from booking.services.context import AppContext
from booking.settings import load_settings
from tests.browser.conftest import assert_no_axe_violations, own_sqlite_url, screenshot
from tests.browser.test_people_pages import log_in
from tests.conftest import clear_all_tables
from tests.support.live_server import live_server
from tests.support.world import build_world, next_monday

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def waiting_db_url(tmp_path_factory) -> str:
    # Alembic runs its own event loop: not inside the tests' one.
    return own_sqlite_url(tmp_path_factory, "waiting")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def waiting_site(waiting_db_url) -> AsyncIterator[dict]:
    url = waiting_db_url
    secret = secrets.token_hex(32)
    database = Database(url)
    await clear_all_tables(database)
    app = AppContext(database=database, settings=load_settings(env={}, secret_key=secret, database_url=url))
    world = await build_world(app)
    tuesday = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)  # Tuesday 18:00 Berlin
    async with database.transaction() as session:
        taken = Booking(resource_id=world.room.id, starts_at=tuesday, ends_at=tuesday + timedelta(hours=2), status="confirmed",
                        booker_id=world["member_a"].user_id, organisation_id=world.org_a.id, title="Chor")
        hold = Booking(resource_id=world.room_b.id, starts_at=tuesday + timedelta(days=2), ends_at=tuesday + timedelta(days=2, hours=2),
                       status="held", booker_id=world["member_b"].user_id, title="Theatergruppe",
                       hold_expires_at=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=20))
        session.add_all([taken, hold])
        await session.flush()
        offered = WaitingListEntry(resource_id=world.room_b.id, starts_at=hold.starts_at, ends_at=hold.ends_at, person_id=world["member_b"].user_id,
                                   title="Theatergruppe", position=1, status="offered", booking_id=hold.id)
        ahead = WaitingListEntry(resource_id=world.room.id, starts_at=taken.starts_at, ends_at=taken.ends_at,
                                 person_id=world["org_admin_a"].user_id, title="Vorstand", position=1, status="waiting")
        # Ended yesterday: its time began while member B was still waiting.
        yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        lapsed = WaitingListEntry(resource_id=world.room.id, starts_at=yesterday - timedelta(hours=2), ends_at=yesterday,
                                  person_id=world["member_b"].user_id, title="Probe", position=2, status="lapsed", decided_at=yesterday)
        session.add_all([offered, ahead, lapsed])
        await session.flush()
    token = sign_waiting_list_offer(secret, offered.id, hold.id)  # type: ignore[arg-type]
    try:
        with live_server(url, extra_env={"BOOKING_SECRET_KEY": secret, "BOOKING_LOGIN_RATE_LIMIT_PER_MINUTE": "60"}) as base_url:
            yield {"base_url": base_url, "world": world, "tuesday": tuesday, "token": token}
    finally:
        await database.dispose()


async def check(page, name: str) -> None:
    await screenshot(page, f"waiting-{name}-360")
    await assert_no_axe_violations(page)
    overflow = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px"


async def test_waiting_list_on_a_phone(phone_page, waiting_site):
    page, base_url, world = phone_page, waiting_site["base_url"], waiting_site["world"]
    local = waiting_site["tuesday"].astimezone(BERLIN)
    await log_in(page, base_url, world.emails["member_b"], "/bookings")
    await page.goto(f"{base_url}/resources/{world.room.id}")
    await page.fill("#field-starts_at", local.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#field-ends_at", (local + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.problems.ignore(r"409")
    await page.locator("form[action$='/book'] button[type=submit]").first.click()
    await page.wait_for_load_state()
    button = page.get_by_role("button", name="Auf die Warteliste")
    assert await button.is_visible()
    await check(page, "conflict")
    await button.click()
    await page.wait_for_url(f"{base_url}/bookings*")
    listing = await page.locator("#waiting-list").locator("xpath=..").inner_text()
    assert "Platz 2 auf der Warteliste" in listing
    assert "Frei für Sie – freigehalten bis" in listing and "Theatergruppe" in listing
    assert "In den letzten 14 Tagen beendet" in listing and "Bis zum Beginn ist kein Platz frei geworden." in listing
    assert await page.get_by_role("button", name="Bestätigen").is_visible()
    await check(page, "my-bookings")

    await page.goto(f"{base_url}/waiting-list/offers/{waiting_site['token']}")
    assert await page.get_by_role("button", name="Ja, für mich buchen").is_visible()
    await check(page, "offer")

    await page.context.clear_cookies()
    await log_in(page, base_url, world.emails["lender_a"], "/lender/waiting-lists")
    entries = page.locator(".app-waiting-entry")
    assert await entries.count() == 2  # site A only: the hold at Room B1 is site B's
    await check(page, "lender")
    await page.locator(".app-waiting-entry").nth(1).get_by_role("button", name="Nach oben").click()
    await page.wait_for_url(f"{base_url}/lender/waiting-lists*")
    first_name = await page.locator(".app-waiting-entry").nth(0).inner_text()
    assert "Member B" in first_name
