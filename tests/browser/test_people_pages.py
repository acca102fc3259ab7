"""People's own views in a real browser at 360 and 1280 px, against a live server with its
mail worker and a real SMTP server (aiosmtpd):

- a borrower whose loan ended in the past sees it first and marked "Überfällig" on the
  "Ausgeliehen" page, and gets the overdue e-mail from the worker's scheduled job;
- a lender's requests are a compact list (30 requests measured at 360 px) and three are
  approved at once;
- the lent-out list, a calendar address page and the profile with a phone number.

axe-core finds no WCAG 2.1 A/AA violation on any of these pages; screenshots in
tests/artifacts/screenshots/people-*.png. SQLite only, in a database file of its own (the
in-process worker must not deliver other tests' mail).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from booking.db import Database
from booking.models import Booking, Loan, User
from booking.services.context import AppContext
from booking.settings import load_settings
from tests.browser.conftest import assert_no_axe_violations, own_sqlite_url, screenshot, worker_env
from tests.conftest import clear_all_tables
from tests.support.live_server import live_server
from tests.support.world import PASSWORD, build_world, next_monday

BERLIN = ZoneInfo("Europe/Berlin")
# A loan that ended long ago: overdue whatever day the test runs.
PAST_START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PAST_END = datetime(2025, 3, 5, 17, 0, tzinfo=UTC)
REQUESTS = 30



@pytest.fixture(scope="module")
def people_db_url(tmp_path_factory) -> str:
    # Alembic runs its own event loop: not inside the tests' one.
    return own_sqlite_url(tmp_path_factory, "people")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def people_site(people_db_url, mail_server) -> AsyncIterator[dict]:
    url = people_db_url
    database = Database(url)
    await clear_all_tables(database)
    app = AppContext(database=database, settings=load_settings(env={}, secret_key=secrets.token_hex(32), database_url=url))
    world = await build_world(app)
    first_day = next_monday(datetime.now(UTC), 2)
    async with database.transaction() as session:
        member = await session.get(User, world["member_a"].user_id)
        member.phone = "0461 123 45 67"
        session.add(member)
        overdue = Booking(resource_id=world.benches.id, quantity=2, starts_at=PAST_START, ends_at=PAST_END, status="checked_out",
                          is_exclusive=False, booker_id=world["member_a"].user_id, organisation_id=world.org_a.id, title="Sommerfest")
        due = Booking(resource_id=world.benches.id, quantity=1, starts_at=PAST_START, ends_at=first_day + timedelta(days=20),
                      status="checked_out", is_exclusive=False, booker_id=world["member_a"].user_id, organisation_id=world.org_a.id)
        pickup = Booking(resource_id=world.benches.id, quantity=3, starts_at=first_day + timedelta(days=3, hours=8),
                         ends_at=first_day + timedelta(days=4, hours=16), status="confirmed", is_exclusive=False,
                         booker_id=world["member_a"].user_id, organisation_id=world.org_a.id)
        session.add_all([overdue, due, pickup])
        await session.flush()
        for loan in (overdue, due):
            session.add(Loan(booking_id=loan.id, checked_out_at=PAST_START, checked_out_by_id=world["lender_a"].user_id))
        requests = []
        for n in range(REQUESTS):
            starts = first_day + timedelta(days=n // 3, hours=8 + 3 * (n % 3))
            requests.append(Booking(
                resource_id=world.room_approval.id, starts_at=starts, ends_at=starts + timedelta(hours=2), status="requested",
                booker_id=world["member_a" if n % 2 else "member_b"].user_id,
                organisation_id=world.org_a.id if n % 2 else world.org_b.id, title=f"Treffen {n + 1}",
            ))
        session.add_all(requests)
    env = {**worker_env(mail_server), "BOOKING_LOGIN_RATE_LIMIT_PER_MINUTE": "60"}
    try:
        with live_server(url, extra_env=env) as base_url:
            yield {"base_url": base_url, "world": world, "overdue": overdue, "due": due, "pickup": pickup,
                   "requests": requests, "mail": mail_server}
    finally:
        await database.dispose()


async def log_in(page, base_url: str, email: str, next_path: str) -> None:
    page.problems.ignore(r"favicon\.ico")
    await page.goto(f"{base_url}/login?next={next_path}")
    await page.fill("#field-email", email)
    await page.fill("#field-password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base_url}{next_path}")


async def check(page, name: str, width: int) -> None:
    await screenshot(page, f"people-{name}-{width}")
    await assert_no_axe_violations(page)
    overflow = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px"


async def open_menu_on_a_phone(page) -> None:
    """On a phone the main navigation is folded into the header's menu: open it first."""
    toggle = page.locator("summary.app-menu__toggle")
    if await toggle.is_visible() and await page.locator("details.app-menu").get_attribute("open") is None:
        await toggle.click()


async def borrower(page, site: dict, width: int) -> None:
    base_url, world = site["base_url"], site["world"]
    await log_in(page, base_url, world.emails["member_a"], "/bookings")
    # The menu leads there.
    await open_menu_on_a_phone(page)
    await page.locator("nav.app-nav").get_by_role("link", name="Ausgeliehen").click()
    await page.wait_for_url(f"{base_url}/bookings/loans")
    alert = page.locator(".kern-alert--danger")
    assert "1 Sache ist überfällig" in await alert.inner_text()
    rows = page.locator("#out-caption").locator("xpath=..").locator("tbody tr")
    assert await rows.count() == 2
    first = rows.nth(0)
    assert "Benches" in await first.inner_text() and "Überfällig" in await first.inner_text()
    assert "Überfällig" not in await rows.nth(1).inner_text()
    # Red, and said in words: the badge is KERN's danger badge.
    colour = await first.locator(".kern-badge--danger").evaluate("element => getComputedStyle(element).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    assert await page.locator("#pickups-caption").locator("xpath=..").locator("tbody tr").count() == 1
    await check(page, "borrowed", width)

    # The worker's scheduled job told the borrower (once a day) at the real SMTP server.
    mail = site["mail"]
    for _ in range(100):
        to_borrower = [m for m in mail.messages if world.emails["member_a"] in m.rcpt_tos]
        if to_borrower:
            break
        await asyncio.sleep(0.2)
    assert len(to_borrower) == 1, "one overdue e-mail to the borrower"
    message = to_borrower[0].message
    assert "Benches" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "noch nicht zurückgegeben" in text or "zurück" in text
    assert f"/bookings/{site['overdue'].id}" in text

    # A calendar address: made once, shown again later, with the copy button (JavaScript runs here).
    await page.goto(f"{base_url}/bookings")
    await page.get_by_role("button", name="Kalenderadresse für meine Buchungen anlegen").click()
    await page.wait_for_url(f"{base_url}/bookings/feeds/*")
    address = await page.input_value("#feed-url")
    assert "/feeds/f_" in address
    copy = page.get_by_role("button", name="Adresse kopieren")
    assert await copy.is_visible()
    await check(page, "feed", width)
    await page.goto(f"{base_url}/bookings")
    await page.locator("a[href^='/bookings/feeds/']").last.click()  # the newest
    assert await page.input_value("#feed-url") == address


async def lender(page, site: dict, width: int, picks: list[int]) -> None:
    base_url, world = site["base_url"], site["world"]
    await log_in(page, base_url, world.emails["lender_a"], "/lender")
    heading = await page.locator("h1").first.inner_text()
    assert heading.startswith("Anfragen (") and int(heading.split("(")[1].rstrip(")")) >= REQUESTS - 3
    height = await page.evaluate("() => document.documentElement.scrollHeight")
    screens = height / page.viewport_size["height"]
    print(f"requests page at {width} px: {height} px = {screens:.1f} screens")
    if width == 360:
        # Was 26,000 px with 30 cards; now a compact list.
        assert height < 5500, f"{REQUESTS} requests take {height} px at 360 px"
    await check(page, "requests", width)
    ids = [site["requests"][n].id for n in picks]
    for booking_id in ids:
        await page.check(f"#select-booking-{booking_id}")
    await page.get_by_role("button", name="Angekreuzte Anfragen bestätigen").click()
    await page.wait_for_url(f"{base_url}/lender")
    success = page.locator(".kern-alert--success")
    assert "3 Anfragen wurden bestätigt" in await success.inner_text()
    for booking_id in ids:
        assert await page.locator(f"#select-booking-{booking_id}").count() == 0
    # The phone number of the borrower is there for the lender.
    assert "0461 123 45 67" in await page.content()
    await page.locator("nav.app-subnav").get_by_role("link", name="Verliehen").click()
    await page.wait_for_url(f"{base_url}/lender/lent-out")
    first = page.locator("tbody tr").first
    assert "Überfällig" in await first.inner_text() and "0461 123 45 67" in await first.inner_text()
    await check(page, "lent-out", width)
    await open_menu_on_a_phone(page)
    await page.locator("nav.app-nav").get_by_role("link", name="Ausgabe und Rücknahme").click()
    await page.wait_for_url(f"{base_url}/lender/today")


async def test_borrower_on_a_phone(phone_page, people_site):
    await borrower(phone_page, people_site, 360)


async def test_lender_approves_three_on_a_phone(phone_page, people_site):
    await lender(phone_page, people_site, 360, [0, 4, 8])


async def test_borrower_on_a_desktop(page, people_site):
    await borrower(page, people_site, 1280)


async def test_lender_approves_three_on_a_desktop(page, people_site):
    await lender(page, people_site, 1280, [1, 5, 9])
