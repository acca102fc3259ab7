"""Safe actions in Chromium (live server, SQLite) at 360 and 1280 px: cancelling a booking asks
first, works without JavaScript, and can be undone on the result page; cancelling a series asks
first too. Screenshots (safe-*.png) and axe-core on each new page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from booking.domain.recurrence import RecurrenceRule
from booking.models import Booking
from booking.services import bookings, series
from booking.services.context import AppContext
from tests.browser.conftest import assert_no_axe_violations, screenshot, watch_page_problems
from tests.browser.test_admin_pages import sign_in
from tests.support.live_server import live_server
from tests.support.world import World, build_world, next_monday



@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[str]:
    with live_server(db_url) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings) -> World:
    return await build_world(AppContext(database=database, settings=settings))


async def status_of(world: World, booking_id: int) -> str:
    async with world.app.database.reader() as session:
        return (await session.exec(select(Booking.status).where(Booking.id == booking_id))).one()


async def no_overflow(page) -> bool:
    return await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", ["360", "1280"])
async def test_cancel_asks_first_and_can_be_undone(browser, page, phone_page, server, world, viewport):
    current = phone_page if viewport == "360" else page
    start = next_monday(datetime.now(UTC), 2) + timedelta(hours=17)
    booking = await bookings.create_booking(
        world.app, world["member_a"], bookings.BookingRequest(world.room.id, start, start + timedelta(hours=2), title="Chorprobe")
    )
    await sign_in(current, server, world, "member_a")
    await current.goto(f"{server}/bookings/{booking.id}")
    await current.fill("#field-reason", "Probe fällt aus")
    async with current.expect_navigation():
        await current.get_by_role("button", name="Buchung stornieren").click()
    # The confirmation page: nothing has happened yet.
    assert "Möchten Sie diese Buchung wirklich stornieren?" in await current.locator("main").inner_text()
    assert await status_of(world, booking.id) == "confirmed"
    await screenshot(current, f"safe-cancel-confirm-{viewport}", full_page=False)
    await assert_no_axe_violations(current)
    assert await no_overflow(current)
    async with current.expect_navigation():
        await current.get_by_role("button", name="Ja, Buchung stornieren").click()
    assert current.url.endswith(f"/bookings/{booking.id}/cancelled")
    assert await status_of(world, booking.id) == "cancelled"
    await current.reload()  # Post/Redirect/Get: a reload changes nothing
    assert await status_of(world, booking.id) == "cancelled"
    await screenshot(current, f"safe-cancelled-{viewport}", full_page=False)
    await assert_no_axe_violations(current)
    async with current.expect_navigation():
        await current.get_by_role("button", name="Rückgängig").click()
    assert current.url.endswith(f"/bookings/{booking.id}")
    assert await status_of(world, booking.id) == "confirmed"
    await current.get_by_role("status").filter(has_text="rückgängig").wait_for()


async def test_cancel_without_javascript_and_a_series_asks_too(browser, server, world):
    start = next_monday(datetime.now(UTC), 2) + timedelta(hours=17)
    booking = await bookings.create_booking(
        world.app, world["member_a"], bookings.BookingRequest(world.room.id, start, start + timedelta(hours=2))
    )
    made = await series.create_series(world.app, world["member_a"], series.SeriesRequest(
        world.comparable_room.id, start.replace(tzinfo=None), timedelta(hours=2), RecurrenceRule(frequency="weekly", count=3)))
    context = await browser.new_context(java_script_enabled=False, locale="de-DE", viewport={"width": 360, "height": 740})
    try:
        current = await context.new_page()
        watch_page_problems(current)
        await sign_in(current, server, world, "member_a")
        await current.goto(f"{server}/bookings/{booking.id}")
        await current.get_by_role("button", name="Buchung stornieren").click()
        await current.get_by_role("button", name="Ja, Buchung stornieren").click()
        await current.wait_for_url(f"**/bookings/{booking.id}/cancelled")
        assert await status_of(world, booking.id) == "cancelled"

        await current.goto(f"{server}/bookings/series/{made.series.id}")
        await current.locator(f'form[action="/bookings/series/{made.series.id}/cancel"] button[type=submit]').click()
        assert "alle übrigen Termine dieser Serie" in await current.locator("main").inner_text()
        assert {await status_of(world, b.id) for b in made.booked} == {"confirmed"}
        await screenshot(current, "safe-series-confirm-360", full_page=False)
        # (axe needs JavaScript: the same confirm.html is checked in the test above.)
        await current.get_by_role("button", name="Ja, Serie stornieren").click()
        await current.wait_for_url("**/bookings")
        assert {await status_of(world, b.id) for b in made.booked} == {"cancelled"}
    finally:
        await context.close()
