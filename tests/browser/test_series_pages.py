"""A weekly series in Chromium (live server, SQLite) at 360 and 1280 px: booked with one date
taken, the result is the series page (a reload books nothing again), the alternative taken
there joins the series, and cancelling the series cancels it too. Screenshots (series-*.png)
and axe-core on each page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from booking.models import Booking
from booking.services import bookings
from booking.services.context import AppContext
from tests.browser.conftest import assert_no_axe_violations, screenshot, watch_page_problems
from tests.browser.test_admin_pages import sign_in
from tests.support.live_server import live_server
from tests.support.world import World, build_world, next_monday

BERLIN = ZoneInfo("Europe/Berlin")



@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[str]:
    with live_server(db_url) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings) -> World:
    return await build_world(AppContext(database=database, settings=settings))


def local(instant: datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


async def choir_bookings(world: World) -> list[Booking]:
    async with world.app.database.reader() as session:
        return list((await session.exec(select(Booking).where(Booking.title == "Chorprobe"))).all())


async def booking_count(world: World) -> int:
    async with world.app.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking))).one()


async def no_overflow(page) -> bool:
    return await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", ["360", "1280"])
async def test_alternative_joins_the_series_and_is_cancelled_with_it(page, phone_page, server, world, viewport):
    current = phone_page if viewport == "360" else page
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)  # a Tuesday, 18:00 in Berlin
    taken = start + timedelta(weeks=2)
    await bookings.create_booking(world.app, world["member_b"], bookings.BookingRequest(world.room.id, taken, taken + timedelta(hours=2)))
    await sign_in(current, server, world, "member_a")
    await current.goto(f"{server}/resources/{world.room.id}?starts_at={local(start)}&ends_at={local(start + timedelta(hours=2))}")
    await current.fill("#field-title", "Chorprobe")
    await current.check("#repeat-weekly")
    await current.fill("#field-count", "4")
    async with current.expect_navigation():
        await current.get_by_role("button", name="Jetzt buchen").click()
    assert "/bookings/series/" in current.url
    main = current.locator("main")
    await current.get_by_role("heading", name="Nicht gebuchte Termine").wait_for()
    assert "3 von 4 Terminen" in await main.inner_text()
    assert len(await choir_bookings(world)) == 3
    before = await booking_count(world)
    await current.reload()  # Post/Redirect/Get: the result page can be reloaded
    await current.get_by_role("heading", name="Nicht gebuchte Termine").wait_for()
    assert await booking_count(world) == before
    await screenshot(current, f"series-refused-{viewport}")
    await assert_no_axe_violations(current)
    assert await no_overflow(current)

    # Take the first alternative: back on the series page, which lists it in the series.
    async with current.expect_navigation():
        await current.locator(".app-alternatives > li").first.get_by_role("button", name="Stattdessen buchen").click()
    await current.get_by_text("Die Alternative ist gebucht").wait_for()
    assert await current.get_by_role("heading", name="Nicht gebuchte Termine").count() == 0
    text = await main.inner_text()
    assert "4 Termine" in text and "statt " in text
    made = await choir_bookings(world)
    assert len(made) == 4 and len({b.series_id for b in made}) == 1 and None not in {b.series_id for b in made}
    await screenshot(current, f"series-joined-{viewport}")
    await assert_no_axe_violations(current)
    assert await no_overflow(current)

    # Cancelling the series cancels the alternative as well.
    async with current.expect_navigation():
        await current.get_by_role("button", name="Serie stornieren").click()
    async with current.expect_navigation():
        await current.get_by_role("button", name="Ja, Serie stornieren").click()
    assert {b.status for b in await choir_bookings(world)} == {"cancelled"}


async def fill_weekly_choir(current, server: str, world: World, start: datetime) -> None:
    await current.goto(f"{server}/resources/{world.room.id}?starts_at={local(start)}&ends_at={local(start + timedelta(hours=2))}")
    await current.fill("#field-title", "Chorprobe")
    await current.check("#repeat-weekly")
    await current.fill("#field-count", "4")


async def test_show_the_dates_before_booking_on_a_phone(phone_page, server, world):
    current = phone_page
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)
    taken = start + timedelta(weeks=1)
    await bookings.create_booking(world.app, world["member_b"], bookings.BookingRequest(world.room.id, taken, taken + timedelta(hours=2)))
    await sign_in(current, server, world, "member_a")
    await current.goto(f"{server}/resources/{world.room.id}")
    # The end of a series: one fieldset, the rule said once, neither field "optional".
    end = current.locator("fieldset", has=current.locator("legend", has_text="Ende der Serie"))
    assert "genau eines von beiden" in await end.inner_text() and "optional" not in await end.inner_text()
    await fill_weekly_choir(current, server, world, start)
    before = await booking_count(world)
    async with current.expect_navigation():
        await current.get_by_role("button", name="Termine anzeigen").click()
    preview = current.locator("#preview")
    await preview.wait_for()
    assert "3 von 4 Terminen sind frei" in await preview.inner_text()
    assert await preview.locator("li").count() == 4
    assert await preview.locator("li", has_text="nicht frei").count() == 1
    assert await booking_count(world) == before
    assert current.url.endswith("#preview")  # the answer opens at the dates
    await screenshot(current, "series-preview-360")
    await assert_no_axe_violations(current)
    assert await no_overflow(current)
    async with current.expect_navigation():
        await current.get_by_role("button", name="Jetzt buchen").click()
    assert "/bookings/series/" in current.url
    assert len(await choir_bookings(world)) == 3


async def test_show_the_dates_without_javascript(browser, server, world):
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)
    context = await browser.new_context(java_script_enabled=False, locale="de-DE", viewport={"width": 360, "height": 740})
    try:
        current = await context.new_page()
        watch_page_problems(current)
        await sign_in(current, server, world, "member_a")
        await fill_weekly_choir(current, server, world, start)
        await current.get_by_role("button", name="Termine anzeigen").click()
        await current.locator("#preview").wait_for()
        assert "4 von 4 Terminen sind frei" in await current.locator("#preview").inner_text()
        assert await booking_count(world) == 0
    finally:
        await context.close()
