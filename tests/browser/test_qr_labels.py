"""QR labels against a live server in Chromium: each code on the label sheet, as the browser
draws it, decodes (with Debian's zbar, a decoder independent of the library that made it) to the
short URL of the code printed beside it (one label per image: zbar may miss one of 25 codes in a
whole-page image); that URL brings a lender to the hand-out of the thing's booking of today and anyone
else to its public page; the sheet prints to A4 with 21 labels a page; axe finds nothing.
SQLite only: the pages are the same on both databases (tests/http/test_qr_codes.py runs both).
"""

from __future__ import annotations

import io
import math
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
import segno

from booking.db import Database
from booking.domain.short_codes import code_for
from booking.models import Policy, Resource
from booking.services import bookings, lending_bookings
from booking.services.context import AppContext
from booking.settings import load_settings
from tests.browser.conftest import DESKTOP, assert_no_axe_violations, screenshot, watch_page_problems
from tests.conftest import _migrated_url, clear_all_tables, unavailable
from tests.support.live_server import live_server
from tests.support.world import PASSWORD, build_world

BERLIN = ZoneInfo("Europe/Berlin")
EXTRA_THINGS = 20  # with the world's 4 resources and the projector: 25 at site A, two A4 sheets
LABELS_PER_SHEET = 21


class Yesterday:
    """Bookings for today are made "yesterday", so today's pick-up is not in the past."""

    def __call__(self) -> datetime:
        return datetime.now(UTC) - timedelta(days=1)


def zbar_decode(png: Path | bytes) -> list[str]:
    """The texts of every QR code zbarimg finds in a PNG."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        unavailable("zbarimg is not installed (apt-get install -y zbar-tools)")
    arguments = [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"]
    if isinstance(png, bytes):
        result = subprocess.run([*arguments, "-"], input=png, capture_output=True, timeout=60)
    else:
        result = subprocess.run([*arguments, str(png)], capture_output=True, timeout=60)
    assert result.returncode in (0, 4), result.stderr  # 4: nothing found
    return [line for line in result.stdout.decode().splitlines() if line]


def pdf_page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.fixture
def sqlite_url(sqlite_database_url) -> str:
    return _migrated_url(sqlite_database_url)


@pytest_asyncio.fixture(loop_scope="session")
async def labelled_site(sqlite_url) -> AsyncIterator[dict]:
    url = sqlite_url
    database = Database(url)
    await clear_all_tables(database)
    app = AppContext(database=database, settings=load_settings(env={}, secret_key=secrets.token_hex(32), database_url=url), clock=Yesterday())
    world = await build_world(app)
    async with app.database.transaction() as session:
        projector = Resource(site_id=world.site_a.id, kind="item", name="Beamer Epson", category="Technik", capacity=1)
        extras = [Resource(site_id=world.site_a.id, kind="item", name=f"Werkzeugkiste {n:02d}", category="Werkzeug") for n in range(EXTRA_THINGS)]
        session.add_all([projector, *extras])
        await session.flush()
        session.add(Policy(resource_id=projector.id, opening_hours_mode="endpoints"))
    today = datetime.now(BERLIN).date()
    booking = await lending_bookings.book_days(
        app, world["member_a"], lending_bookings.DaySpanRequest(projector.id, today, today, organisation_id=world.org_a.id, title="Filmabend"),
    )
    evening = datetime.combine(today, time(18, 0), BERLIN)
    for hours, title, is_public in ((0, "Vorstandssitzung", False), (2, "Offenes Repair-Café", True)):
        await bookings.create_booking(app, world["member_a"], bookings.BookingRequest(
            world.room.id, evening + timedelta(hours=hours), evening + timedelta(hours=hours + 1, minutes=30),  # type: ignore[arg-type]
            organisation_id=world.org_a.id, title=title, is_public=is_public,
        ))
    try:
        with live_server(url) as base_url:
            yield {"base_url": base_url, "world": world, "booking": booking, "projector": projector,
                   "site_a_count": 5 + EXTRA_THINGS}
    finally:
        await database.dispose()


async def _log_in(page, base_url: str, email: str, next_path: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(f"{base_url}/login?next={next_path}")
    await page.fill("#field-email", email)
    await page.fill("#field-password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base_url}{next_path}")


def test_segno_png_decodes_to_the_short_url() -> None:
    url = f"https://buchen.example.org/r/{code_for(4711)}"
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=8)
    assert zbar_decode(buffer.getvalue()) == [url]


async def test_label_sheet_codes_lead_lenders_to_hand_out_and_others_to_the_public_page(labelled_site, browser) -> None:
    base_url, world = labelled_site["base_url"], labelled_site["world"]
    projector, booking = labelled_site["projector"], labelled_site["booking"]
    sheet_path = f"/admin/sites/{world.site_a.id}/labels"
    # Twice the pixels, as a phone camera would see a printed label well.
    context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", viewport=DESKTOP, device_scale_factor=2)
    page = await context.new_page()
    problems = watch_page_problems(page)
    problems.ignore(r"favicon\.ico")
    try:
        await _log_in(page, base_url, world.emails["lender_a"], sheet_path)
        labels = page.locator(".app-label")
        assert await labels.count() == labelled_site["site_a_count"]
        await screenshot(page, "qr-label-sheet")
        # Each label's QR code as drawn by the browser, decoded on its own: the URL of the code
        # printed beside it.
        decoded = {}
        for index in range(await labels.count()):
            label = labels.nth(index)
            printed_code = (await label.locator(".app-label__code").inner_text()).split()[-1]
            found = zbar_decode(await label.locator("svg").screenshot())
            assert found == [f"{base_url}/r/{printed_code}"], printed_code
            decoded[printed_code] = found[0]
        projector_url = f"{base_url}/r/{code_for(projector.id)}"
        assert {code_for(rid) for rid in (world.room.id, world.benches.id, projector.id)} <= decoded.keys()
        assert decoded[code_for(projector.id)] == projector_url
        await assert_no_axe_violations(page)
        # Each QR code is hidden from screen readers; its code and name stand beside it as text.
        assert await page.locator(".app-label svg:not([aria-hidden='true'])").count() == 0
        label = page.locator(".app-label", has_text="Beamer Epson")
        assert code_for(projector.id) in await label.inner_text()

        pdf = await page.pdf(format="A4", print_background=True)
        await page.emulate_media(media="print")
        # The printable width of A4 inside 10 mm margins: 190 mm = 718 CSS pixels.
        await page.set_viewport_size({"width": 718, "height": 1047})
        await screenshot(page, "qr-label-sheet-print")
        boxes = await page.evaluate(
            "() => [...document.querySelectorAll('.app-label-page')[0].children].map(e => e.getBoundingClientRect())"
            ".map(r => [Math.round(r.left), Math.round(r.right), Math.round(r.top)])"
        )
        assert max(right for _, right, _ in boxes) <= 718, "a label reaches past the printable width"
        assert min(left for left, _, _ in boxes) >= 0
        assert len({left for left, _, _ in boxes}) == 3 and len({top for _, _, top in boxes}) == 7
        await page.emulate_media(media="screen")
        await page.set_viewport_size(DESKTOP)
        assert pdf_page_count(pdf) == math.ceil(labelled_site["site_a_count"] / LABELS_PER_SHEET) == 2

        # The lender follows the decoded URL: the hand-out form of today's booking.
        await page.goto(projector_url)
        assert page.url.startswith(f"{base_url}/lender/today")
        hand_out = page.locator(f"form[action='/lender/loans/{booking.id}/hand-out']")
        await hand_out.wait_for()
        await screenshot(page, "qr-scanned-as-lender")
        await hand_out.locator("textarea[name=condition]").fill("vollständig")
        await hand_out.locator("button[type=submit]").click()
        await page.locator(".kern-alert--success").first.wait_for()
        # Scanned again while it is out: the return of that booking.
        await page.goto(projector_url)
        await page.locator(f"form[action='/lender/loans/{booking.id}/take-back']").wait_for()
        problems.assert_clean()
    finally:
        await context.close()

    # Anyone else: the public page of the thing.
    anonymous = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", viewport=DESKTOP)
    page = await anonymous.new_page()
    try:
        await page.goto(projector_url)
        assert page.url == f"{base_url}/resources/{projector.id}"
        assert "Beamer Epson" in await page.locator("h1").first.inner_text()
        assert await page.locator("form[action*='/hand-out']").count() == 0
    finally:
        await anonymous.close()


async def test_a_small_site_prints_on_one_sheet(labelled_site, page) -> None:
    base_url, world = labelled_site["base_url"], labelled_site["world"]
    page.problems.ignore(r"favicon\.ico")
    sheet_path = f"/admin/sites/{world.site_b.id}/labels"
    await _log_in(page, base_url, world.emails["city_admin"], sheet_path)
    assert await page.locator(".app-label").count() == 1
    pdf = await page.pdf(format="A4")
    assert pdf_page_count(pdf) == 1
    assert zbar_decode(await page.locator(".app-label svg").screenshot()) == [f"{base_url}/r/{code_for(world.room_b.id)}"]


async def test_the_door_sign_is_readable_and_accessible(labelled_site, page) -> None:
    base_url, world = labelled_site["base_url"], labelled_site["world"]
    page.problems.ignore(r"favicon\.ico")
    await page.goto(f"{base_url}/r/{code_for(world.room.id)}/tuer")
    assert await page.locator("h1").inner_text() == "Room A1"
    entries = page.locator(".app-door-sign__entry")
    assert await entries.count() == 2
    assert "Belegt" in await entries.nth(0).inner_text()  # not the title of a private booking
    assert "Offenes Repair-Café (Org A)" in await entries.nth(1).inner_text()
    assert "Vorstandssitzung" not in await page.content()
    await screenshot(page, "qr-door-sign")
    await assert_no_axe_violations(page)
    assert zbar_decode(await page.locator(".app-door-sign__code svg").screenshot()) == [f"{base_url}/r/{code_for(world.room.id)}"]
    pdf = await page.pdf(format="A4")
    assert pdf_page_count(pdf) == 1


async def test_the_label_sheet_fits_a_phone(labelled_site, phone_page) -> None:
    base_url, world = labelled_site["base_url"], labelled_site["world"]
    page = phone_page
    page.problems.ignore(r"favicon\.ico")
    await _log_in(page, base_url, world.emails["manager_a"], f"/admin/sites/{world.site_a.id}/labels")
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    await screenshot(page, "qr-label-sheet-360", full_page=False)
