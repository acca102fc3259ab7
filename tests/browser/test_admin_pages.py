"""The lender inbox and the administration pages in Chromium, at 1280 px and at 360 px.

Against a live server (SQLite): screenshots into tests/artifacts/screenshots/ (admin-*.png,
lender-*.png), axe-core (WCAG 2.1 A/AA) without violations on each page, no horizontal
scrolling on a phone, and a lender approving and declining requests on a phone-sized screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from booking.models import Blackout, Booking, OutboxMessage, Policy
from booking.services import bookings
from booking.services.context import AppContext
from tests.browser.conftest import assert_no_axe_violations, screenshot
from tests.support.live_server import live_server
from tests.support.world import PASSWORD, World, build_world, next_monday

OPENING_HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}



@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[str]:
    with live_server(db_url) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings) -> World:
    app = AppContext(database=database, settings=settings)
    world = await build_world(app, opening_hours=OPENING_HOURS)
    monday = next_monday(datetime.now(UTC), 2)
    requests = [
        (world.room_approval, monday + timedelta(hours=16), 3, "Chorprobe des Shanty-Chors",
         "Wöchentliche Probe, etwa 25 Personen; wir brauchen das Klavier und stellen die Stühle danach zurück."),
        (world.room_approval, monday + timedelta(days=1, hours=8), 2, "Erste-Hilfe-Kurs", ""),
    ]
    async with app.database.transaction() as session:
        # The benches need approval too, so the inbox shows a pooled request.
        benches_policy = (await session.exec(select(Policy).where(Policy.resource_id == world.benches.id))).one()
        benches_policy.approval_mode = "ask"
        session.add(benches_policy)
        session.add(Blackout(site_id=world.site_a.id, starts_at=monday + timedelta(days=40), ends_at=monday + timedelta(days=54), reason="Sommerferien"))
        session.add(OutboxMessage(
            kind="confirmed", recipient="kim@example.org", subject="Ihre Buchung: Hall A am Montag",
            message_id="<browser-parked@test>", raw="x", status="parked", attempts=8,
            last_error="attempt 8 (permanent): 550 5.1.1 <kim@example.org>: Recipient address rejected: User unknown",
        ))
    for resource, start, hours, title, purpose in requests:
        await bookings.create_booking(
            app, world["member_a"],
            bookings.BookingRequest(resource.id, start, start + timedelta(hours=hours), organisation_id=world.org_a.id, title=title, purpose=purpose),
        )
    start = monday + timedelta(days=2, hours=9)
    await bookings.create_booking(
        app, world["org_admin_a"],
        bookings.BookingRequest(world.benches.id, start, start + timedelta(days=2), quantity=6, organisation_id=world.org_a.id, title="Sommerfest"),
    )
    return world


async def sign_in(page, server: str, world: World, role: str) -> None:
    """Log in through the JSON API inside the browser context: the session cookie is shared."""
    # Chromium asks for /favicon.ico on its own; the layout declares none (not ours to add).
    page.problems.ignore(r"favicon\.ico")
    response = await page.context.request.post(f"{server}/api/v1/auth/login", data={"email": world.emails[role], "password": PASSWORD})
    assert response.ok, await response.text()


async def check_page(page, server: str, path: str, name: str, *, phone: bool = False) -> None:
    response = await page.goto(server + path)
    assert response is not None and response.status == 200, f"{path}: {response.status if response else 'no response'}"
    await screenshot(page, f"{name}-{'360' if phone else '1280'}")
    await assert_no_axe_violations(page)
    if phone:
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow} px"


ADMIN_PAGES = [
    ("/admin", "admin-index"),
    ("/admin/sites/{site}", "admin-site"),
    ("/admin/sites/{site}/edit", "admin-site-form"),
    ("/admin/sites/{site}/resources/new", "admin-resource-form"),
    ("/admin/resources/{room}/rules", "admin-rules"),
    ("/admin/organisations", "admin-organisations"),
    ("/admin/organisations/{org}", "admin-organisation"),
    ("/admin/users", "admin-users"),
    ("/admin/mail", "admin-mail"),
]


def admin_path(template: str, world: World) -> str:
    return template.format(site=world.site_a.id, room=world.room_approval.id, org=world.org_a.id)


async def test_lender_inbox_desktop(page, server, world):
    await sign_in(page, server, world, "lender_a")
    await check_page(page, server, "/lender", "lender-inbox")
    requests = await page.locator(".app-inbox__row").count()
    assert requests == 3
    first = await bookings.list_bookings(world.app, world["lender_a"], bookings.BookingFilter(scope="site", statuses=("requested",)))
    await check_page(page, server, f"/lender/requests/{first[0][0].id}", "lender-request")


async def test_admin_pages_desktop(page, server, world):
    await sign_in(page, server, world, "city_admin")
    for template, name in ADMIN_PAGES:
        await check_page(page, server, admin_path(template, world), name)


async def test_admin_pages_phone(phone_page, server, world):
    await sign_in(phone_page, server, world, "city_admin")
    for template, name in ADMIN_PAGES:
        await check_page(phone_page, server, admin_path(template, world), name, phone=True)


async def test_site_form_errors_are_shown_at_the_fields(page, server, world):
    await sign_in(page, server, world, "manager_a")
    page.problems.ignore(r"status of 400 .*/admin/sites/\d+/edit")  # the refused form, on purpose
    await page.goto(f"{server}/admin/sites/{world.site_a.id}/edit")
    await page.fill("#field-opening_mon", "18:00–09:00")
    await page.fill("#field-timezone", "Europe/Flensburg")
    async with page.expect_navigation():
        await page.click("form.app-form button[type=submit]")
    assert await page.locator("#field-opening_mon-error").is_visible()
    assert await page.locator("#field-timezone[aria-invalid=true]").count() == 1
    await screenshot(page, "admin-site-form-errors-1280")
    await assert_no_axe_violations(page)


async def test_lender_decides_on_a_phone(phone_page, server, world):
    page = phone_page
    await sign_in(page, server, world, "lender_a")
    page.problems.ignore(r"status of 400 .*/lender/requests/\d+/decline")  # the decline without a reason, on purpose
    await check_page(page, server, "/lender", "lender-inbox", phone=True)

    row = page.locator("li.app-inbox__row", has_text="Chorprobe des Shanty-Chors")
    await row.locator("input[name=selected]").check()
    approve = page.get_by_role("button", name="Angekreuzte Anfragen bestätigen")
    box = await approve.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 200, box  # a thumb-sized target
    async with page.expect_navigation():
        await approve.tap()
    assert "/lender" in page.url
    await page.get_by_role("status").filter(has_text="bestätigt").wait_for()
    assert await page.locator("li.app-inbox__row", has_text="Chorprobe des Shanty-Chors").count() == 0
    await screenshot(page, "lender-inbox-approved-360")

    # Declining without a reason: the message sits at the field; with one, it goes through.
    card = page.locator("li.app-inbox__row", has_text="Erste-Hilfe-Kurs")
    await card.locator("summary").filter(has_text="Ablehnen").tap()
    async with page.expect_navigation():
        await card.get_by_role("button", name="Ablehnen", exact=True).tap()
    field = page.locator("li.app-inbox__row", has_text="Erste-Hilfe-Kurs").locator("textarea")
    assert await field.get_attribute("aria-invalid") == "true"
    error_id = (await field.get_attribute("aria-describedby") or "").split()[0]
    assert "Grund" in await page.locator(f"#{error_id}").inner_text()
    await screenshot(page, "lender-inbox-decline-error-360")
    await field.fill("Der Saal ist an dem Tag schon für eine Trauerfeier reserviert.")
    async with page.expect_navigation():
        await page.locator("li.app-inbox__row", has_text="Erste-Hilfe-Kurs").get_by_role("button", name="Ablehnen", exact=True).tap()
    # One tap declines nothing: a confirmation page first (works without JavaScript).
    assert "Trauerfeier" in await page.locator("main").inner_text()
    await screenshot(page, "lender-decline-confirm-360", full_page=False)
    await assert_no_axe_violations(page)
    async with world.app.database.reader() as session:
        assert {b.status for b in (await session.exec(select(Booking).where(Booking.title == "Erste-Hilfe-Kurs"))).all()} == {"requested"}
    async with page.expect_navigation():
        await page.get_by_role("button", name="Ja, ablehnen").tap()
    await page.get_by_role("status").filter(has_text="abgelehnt").wait_for()
    assert await page.locator("li.app-inbox__row").count() == 1  # the benches are left

    async with world.app.database.reader() as session:
        statuses = {b.title: (b.status, b.decision_reason) for b in (await session.exec(select(Booking))).all()}
    assert statuses["Chorprobe des Shanty-Chors"][0] == "confirmed"
    assert statuses["Erste-Hilfe-Kurs"] == ("declined", "Der Saal ist an dem Tag schon für eine Trauerfeier reserviert.")
