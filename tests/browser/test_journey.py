"""The visitor and member pages in Chromium against a live server (SQLite) that sends its own
mail to a real SMTP server (aiosmtpd) started here.

- Issue acceptance #1, in German on a desktop and in English on a phone: register, confirm the
  address from the received mail, find a free room, book it every Tuesday for 8 weeks, meet a
  conflict, pick an offered alternative, a lender approves everything from the inbox, and the
  bookings show in the person's feed (read back with ical.js).
- Screenshots at 1280 and 360 px of each page built here (tests/artifacts/screenshots/
  pages-*.png), axe-core (WCAG 2.1 A/AA) without violations, no sideways scrolling on a phone.
- A keyboard-only booking: Tab, Enter and typing, no mouse.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from booking.models import Booking
from booking.services import bookings, series
from booking.services.context import AppContext
from booking.domain.recurrence import RecurrenceRule
from tests.browser.conftest import assert_no_axe_violations, screenshot, worker_env
from tests.support.icaljs import parse_with_icaljs
from tests.support.live_server import live_server
from tests.support.smtp import SmtpServer
from tests.support.world import PASSWORD, World, build_world, next_monday

BERLIN = ZoneInfo("Europe/Berlin")
NEW_PASSWORD = "mein-sicheres-passwort"




@pytest.fixture(scope="module")
def server(db_url: str, mail_server: SmtpServer) -> Iterator[str]:
    env = {**worker_env(mail_server), "BOOKING_LOGIN_RATE_LIMIT_PER_MINUTE": "60"}
    with live_server(db_url, extra_env=env) as base_url:
        yield base_url


def first_tuesday() -> datetime:
    """18:00 Berlin time on a Tuesday at least two weeks ahead."""
    monday = next_monday(datetime.now(UTC), 2).astimezone(BERLIN).date()
    return datetime.combine(monday + timedelta(days=1), datetime.min.time(), BERLIN).replace(hour=18)


def local(instant: datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
async def world(database, settings) -> World:
    app = AppContext(database=database, settings=settings)
    world = await build_world(app)
    # Someone else has the hall on the third Tuesday: the weekly series meets a conflict.
    taken = first_tuesday() + timedelta(weeks=2)
    await bookings.create_booking(app, world["lender_a"], bookings.BookingRequest(world.room_approval.id, taken, taken + timedelta(hours=2), title="Konzert"))
    return world


def quiet_favicon(page) -> None:
    # Chromium asks for /favicon.ico on its own; the layout declares none.
    page.problems.ignore(r"favicon\.ico")


async def check(page, name: str, *, phone: bool, axe: bool = True) -> None:
    await screenshot(page, f"pages-{name}-{'360' if phone else '1280'}")
    if axe:
        await assert_no_axe_violations(page)
    if phone:
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{page.url} scrolls sideways on a phone by {overflow} px"


async def wait_for_mail(mail_server: SmtpServer, recipient: str, path_prefix: str, timeout: float = 15.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for received in reversed(mail_server.messages):
            if recipient in received.rcpt_tos:
                body = received.message.get_body(preferencelist=("plain",)).get_content()
                match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S+)", body)
                if match:
                    return match.group(1)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no mail with {path_prefix} to {recipient}")
        await asyncio.sleep(0.1)


async def submit(page, locator) -> None:
    async with page.expect_navigation():
        await locator.click()


WORDS = {
    "de": {"register": "Noch kein Konto? Registrieren", "sent": "Bitte sehen Sie in Ihre E-Mails", "search": "Suchen",
           "request": "Buchung anfragen", "partial": "Nicht gebuchte Termine", "joined": "Die Alternative ist gebucht", "book_this": "Stattdessen buchen",
           "request_sent": "Anfrage gesendet", "feed": "Kalenderadresse für meine Buchungen", "log_in": "Anmelden"},
    "en": {"register": "No account yet? Register", "sent": "Please check your e-mail", "search": "Search",
           "request": "Request booking", "partial": "Dates not booked", "joined": "The alternative is booked", "book_this": "Book this",
           "request_sent": "Request sent", "feed": "calendar address for my bookings", "log_in": "Log in"},
}


async def test_acceptance_in_german_on_a_desktop(page, browser, server, world, mail_server):
    await journey(page, "de", browser, server, world, mail_server)


async def test_acceptance_in_english_on_a_phone(phone_page, browser, server, world, mail_server):
    await journey(phone_page, "en", browser, server, world, mail_server)


async def journey(page, language: str, browser, server: str, world: World, mail_server: SmtpServer) -> None:
    """Register, confirm, find, book weekly, meet a conflict, pick an alternative, approval, feed."""
    phone = language == "en"
    quiet_favicon(page)
    words = WORDS[language]
    email = f"anna.{language}@example.org"

    await page.goto(server + "/")
    if language == "en":
        if phone:  # the language switch is in the header's menu on a phone
            await page.locator("summary.app-menu__toggle").click()
        await submit(page, page.get_by_role("button", name="English"))
    assert await page.get_attribute("html", "lang") == language

    # Register and confirm the address from the mail the server really sent.
    await submit(page, page.locator("header").get_by_role("link", name=words["log_in"]))
    await submit(page, page.get_by_role("link", name=words["register"]))
    await page.fill("#field-display_name", "Anna Aktiv")
    await page.fill("#field-email", email)
    await page.fill("#field-password", NEW_PASSWORD)
    await page.fill("#field-password_repeat", NEW_PASSWORD)
    await submit(page, page.locator("main form button[type=submit]"))
    await page.get_by_role("heading", name=words["sent"]).wait_for()
    link = await wait_for_mail(mail_server, email, "/verify/")
    await page.goto(server + link)
    # Confirmed with a button (opening a link changes nothing); in the browser that registered,
    # the password chosen there stays.
    await submit(page, page.locator("main form button[type=submit]"))
    assert "/login" in page.url
    await page.fill("#field-password", NEW_PASSWORD)
    await submit(page, page.locator("main form button[type=submit]"))
    assert page.url.rstrip("/") == server

    # Find a free room for the first Tuesday evening.
    start = first_tuesday()
    await page.select_option("#field-kind", "room")
    await page.fill("#field-free_from", local(start))
    await page.fill("#field-free_until", local(start + timedelta(hours=2)))
    await submit(page, page.locator("form.app-filter button[type=submit]"))
    await submit(page, page.get_by_role("link", name="Hall A"))
    assert await page.input_value("#field-starts_at") == local(start)

    # Every Tuesday for 8 weeks; the third Tuesday is taken.
    await page.fill("#field-title", "Chorprobe")
    await page.check("#repeat-weekly")
    await page.fill("#field-count", "8")
    await submit(page, page.get_by_role("button", name=words["request"]))
    await page.get_by_role("heading", name=words["partial"]).wait_for()
    await check(page, f"series-result-{language}", phone=phone)
    offers = page.locator(".app-alternatives > li")
    assert await offers.count() >= 1
    # Reloading the result books nothing again (Post/Redirect/Get: it is the series page).
    await page.reload()
    await page.get_by_role("heading", name=words["partial"]).wait_for()
    # The alternative joins the series: back on the series page, no date is left without one.
    await submit(page, offers.first.get_by_role("button", name=words["book_this"]))
    await page.get_by_text(words["joined"]).wait_for()
    assert await page.get_by_role("heading", name=words["partial"]).count() == 0
    await check(page, f"series-joined-{language}", phone=phone)

    async with world.app.database.reader() as session:
        made = (await session.exec(select(Booking).where(Booking.title == "Chorprobe"))).all()
    assert len(made) == 8 and {b.status for b in made} == {"requested"}
    assert len({b.series_id for b in made}) == 1 and None not in {b.series_id for b in made}

    # A lender approves from the list at once: the series is one row, its alternative joined it.
    lender_context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    try:
        lender = await lender_context.new_page()
        await lender.goto(server + "/login")
        await lender.fill("#field-email", world.emails["lender_a"])
        await lender.fill("#field-password", PASSWORD)
        await submit(lender, lender.locator("main form button[type=submit]"))
        await lender.goto(server + "/lender")
        boxes = lender.locator("input[name=selected]")
        approved = await boxes.count()
        for n in range(approved):
            await boxes.nth(n).check()
        assert approved == 1
        await submit(lender, lender.locator("button[form=approve-selected]"))
        assert await lender.locator("input[name=selected]").count() == 0
    finally:
        await lender_context.close()
    async with world.app.database.reader() as session:
        decided = (await session.exec(select(Booking).where(Booking.title == "Chorprobe"))).all()
    assert {b.status for b in decided} == {"confirmed"}

    # The person subscribes to their feed; ical.js reads the confirmed dates.
    await page.goto(server + "/bookings")
    await submit(page, page.get_by_role("button", name=re.compile(words["feed"], re.I)))
    await check(page, f"feed-created-{language}", phone=phone)
    feed_url = await page.input_value("#feed-url")
    response = httpx.get(feed_url, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = parse_with_icaljs(response.content)
    events = [event for event in calendar["events"] if "Hall A" in (event.get("summary") or "") + (event.get("location") or "")]
    assert len(events) == 8, [event.get("summary") for event in calendar["events"]]
    assert {event["status"] for event in events} == {"CONFIRMED"}
    starts = sorted(event["start"]["utc"] for event in events)
    expected = sorted(b.starts_at for b in made)
    assert [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in starts] == expected


async def test_pages_at_desktop_and_phone(page, phone_page, server, world):
    """Every page built here, logged out and in, at 1280 and 360 px: screenshots; axe at 1280 px
    (the markup is the same at 360 px, and the journey runs axe on a phone); no sideways
    scrolling at 360 px."""
    app = world.app
    start = first_tuesday()
    one = await bookings.create_booking(app, world["org_admin_a"], bookings.BookingRequest(
        world.room.id, start, start + timedelta(hours=2), organisation_id=world.org_a.id, title="Vorstandssitzung"))
    made = await series.create_series(app, world["org_admin_a"], series.SeriesRequest(
        world.comparable_room.id, start.replace(tzinfo=None), timedelta(hours=2), RecurrenceRule(frequency="weekly", count=4),
        organisation_id=world.org_a.id, title="Sprachcafé"))
    await bookings.cancel_booking(app, world["org_admin_a"], made.booked[-1].id, "Feiertag")
    for viewport, current in (("1280", page), ("360", phone_page)):
        phone = viewport == "360"
        quiet_favicon(current)
        current.problems.ignore(r"404 \(Not Found\)")  # the error page itself
        for path, name in (("/login", "login"), ("/register", "register"), ("/password/forgot", "forgot"),
                           (f"/resources/{world.benches.id}", "resource-anonymous"), ("/nothing-here", "error-404")):
            await current.goto(server + path)
            await check(current, name, phone=phone, axe=not phone)
        await current.goto(server + "/login")
        await current.fill("#field-email", world.emails["org_admin_a"])
        await current.fill("#field-password", PASSWORD)
        await submit(current, current.locator("main form button[type=submit]"))
        pages = [
            ("/", "home"),
            (f"/?kind=room&free_from={local(start)}&free_until={local(start + timedelta(hours=2))}", "home-results"),
            (f"/resources/{world.room.id}?starts_at={local(start)}&ends_at={local(start + timedelta(hours=1))}", "resource"),
            ("/bookings", "my-bookings"),
            (f"/bookings/{one.id}", "booking"),
            (f"/bookings/{one.id}/confirmation", "confirmation"),
            (f"/bookings/series/{made.series.id}", "series"),
            (f"/organisation/{world.org_a.id}", "organisation"),
            ("/profile", "profile"),
        ]
        for path, name in pages:
            response = await current.goto(server + path)
            assert response is not None and response.status == 200, path
            await check(current, name, phone=phone, axe=not phone)
        # The conflict answer: the form again with what is taken and alternatives (409).
        await current.goto(f"{server}/resources/{world.room.id}?starts_at={local(start)}&ends_at={local(start + timedelta(hours=2))}")
        current.problems.ignore(r"409")
        await submit(current, current.locator("#booking button[type=submit]:not([value=preview]):not([value=check])"))
        await current.get_by_role("heading", name="Stattdessen frei").wait_for()
        await check(current, "resource-conflict", phone=phone, axe=not phone)
        # Bad input: the message at its field.
        await current.fill("#field-ends_at", local(start - timedelta(hours=1)))
        current.problems.ignore(r"400")
        await submit(current, current.locator("#booking button[type=submit]:not([value=preview]):not([value=check])"))
        assert await current.locator("#field-ends_at[aria-invalid=true]").count() == 1
        await check(current, "resource-error", phone=phone, axe=not phone)


async def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches ``selector``; the focus ring must show."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            # The ring may sit on the element or, for KERN's stretched card links, on its ::after.
            rings = await page.evaluate(
                """() => [null, '::after'].map((pseudo) => {
                    const s = getComputedStyle(document.activeElement, pseudo);
                    return s.outlineStyle !== 'none' || s.boxShadow !== 'none';
                })"""
            )
            assert any(rings), f"{selector} has no visible focus"
            return
    raise AssertionError(f"Tab never reached {selector}")


async def date_input_order(page) -> str:
    """How this Chromium lays out a datetime-local field ("dmy" 24 h, or "mdy" 12 h): its UI
    language decides, not the page's. Typed into a throw-away field, then removed."""
    await page.evaluate("""() => { const i = document.createElement('input'); i.type = 'datetime-local'; i.id = 'probe';
                                   document.body.prepend(i); i.focus(); }""")
    await type_moment(page, ["01", "02", "2030", "10", "00", "A"])
    value = await page.evaluate("() => { const v = document.getElementById('probe').value; document.getElementById('probe').remove(); return v; }")
    assert value in ("2030-01-02T10:00", "2030-02-01T10:00"), value
    return "mdy" if value == "2030-01-02T10:00" else "dmy"


def keystrokes(moment: datetime, order: str) -> list[str]:
    """The segments to type, in the field's order."""
    m = moment.astimezone(BERLIN)
    if order == "dmy":
        return [m.strftime("%d"), m.strftime("%m"), m.strftime("%Y"), m.strftime("%H"), m.strftime("%M")]
    return [m.strftime("%m"), m.strftime("%d"), m.strftime("%Y"), m.strftime("%I"), m.strftime("%M"), "P" if m.hour >= 12 else "A"]


async def type_moment(page, segments: list[str]) -> None:
    """Type each segment of a date-time field; the arrow key moves on (a year takes up to 6 digits)."""
    for segment in segments:
        await page.keyboard.type(segment)
        if segment.isdigit() and len(segment) == 4:
            await page.keyboard.press("ArrowRight")


async def test_keyboard_only_booking(page, server, world):
    quiet_favicon(page)
    await page.goto(server + "/login")
    await tab_to(page, "#field-email")
    await page.keyboard.type(world.emails["member_a"])
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")

    await tab_to(page, f'a[href^="/resources/{world.room.id}"]')
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    start = first_tuesday() + timedelta(days=1)
    order = await date_input_order(page)
    await tab_to(page, "#field-starts_at")
    await type_moment(page, keystrokes(start, order))
    await tab_to(page, "#field-ends_at")
    await type_moment(page, keystrokes(start + timedelta(hours=2), order))
    assert await page.input_value("#field-starts_at") == local(start)
    await tab_to(page, "#field-title")
    await page.keyboard.type("Tastatur-Treffen")
    await tab_to(page, "#booking button[type=submit]:not([value=preview]):not([value=check])")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Gebucht").wait_for()
    async with world.app.database.reader() as session:
        made = (await session.exec(select(Booking).where(Booking.title == "Tastatur-Treffen"))).one()
    assert (made.starts_at, made.ends_at) == (start.astimezone(UTC), (start + timedelta(hours=2)).astimezone(UTC))
