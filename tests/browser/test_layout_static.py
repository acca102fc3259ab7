"""The layout, partials, KERN and app.css render cleanly in Chromium, without the web layer.

Templates are rendered by a standalone Jinja2 Environment (autoescape on, i18n extension with
null translations, so the English source strings show) and served with booking/static from a
local http.server. Checked at 1280 px and 360 px: screenshots, axe (WCAG 2.1 A/AA), no console
errors, nothing loaded from outside 127.0.0.1, no horizontal page overflow on the phone.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from tests.browser.conftest import assert_no_axe_violations, screenshot

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "booking" / "static"
CSRF_INPUT = '<input type="hidden" name="_csrf_token" value="test-token">'

WEEKDAYS = [("Mo", "Monday"), ("Tu", "Tuesday"), ("We", "Wednesday"), ("Th", "Thursday"),
            ("Fr", "Friday"), ("Sa", "Saturday"), ("Su", "Sunday")]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
TODAY = dt.date(2026, 11, 25)

PAGE = """{% extends "layout.html" %}
{% import "partials/form_field.html" as field %}
{% from "partials/pagination.html" import pagination %}
{% from "partials/calendar_week.html" import calendar_week %}
{% block title %}{{ _("Book a room") }}{% endblock %}
{% block content %}
<h1 class="kern-heading-large">{{ _("Book a room") }}</h1>
<p class="kern-body">Bürgerhaus Flensburg, Mühlenstraße 1 – <span class="kern-badge kern-badge--success"><span class="kern-label kern-label--small">needs no approval</span></span></p>
<form method="post" action="/book" novalidate class="kern-stack">
  {{ csrf_input | safe }}
  {{ field.select("resource", _("Resource"), [("1", "Großer Saal"), ("2", "Seminarraum")], value="2", required=True) }}
  {{ field.datetime_local("starts_at", _("Starts at"), value="2026-11-26T18:00", required=True) }}
  {{ field.datetime_local("ends_at", _("Ends at"), value="2026-11-26T17:00", required=True,
       errors=_("The end must be after the start."), hint=_("In local time (Europe/Berlin).")) }}
  {{ field.number("quantity", _("Quantity"), value="1", min=1, max=10, required=True) }}
  {{ field.email("email", _("E-mail"), value="kim@example.org", required=True) }}
  {{ field.password("password", _("Password"), errors=["Too short.", "Must not be your e-mail."], required=True) }}
  {{ field.text("title", _("Purpose"), value="<script>alert(1)</script>", hint=_("Shown to the lender only.")) }}
  {{ field.textarea("note", _("Note")) }}
  {{ field.checkbox("terms", _("I accept the house rules"), errors=_("Please accept the house rules."), required=True) }}
  <div class="kern-btn-wrapper" style="margin-top:24px">
    <button type="submit" class="kern-btn kern-btn--primary"><span class="kern-label">{{ _("Request booking") }}</span></button>
    <a class="kern-btn kern-btn--secondary" href="/calendar"><span class="kern-label">{{ _("Cancel") }}</span></a>
  </div>
</form>
<h2 class="kern-heading-medium" style="margin-top:40px">{{ _("This week") }}</h2>
{{ calendar_week(week) }}
<div class="kern-table-responsive" role="region" aria-labelledby="bookings-caption" tabindex="0">
<table class="kern-table kern-table--striped">
  <caption class="kern-title" id="bookings-caption">{{ _("My bookings") }}</caption>
  <thead class="kern-table__head"><tr class="kern-table__row">
    <th class="kern-table__header" scope="col">Resource</th><th class="kern-table__header" scope="col">When</th><th class="kern-table__header" scope="col">Status</th></tr></thead>
  <tbody class="kern-table__body">
    <tr class="kern-table__row"><td class="kern-table__cell">Großer Saal</td><td class="kern-table__cell">26.11.2026, 18:00–20:00</td><td class="kern-table__cell"><span class="kern-badge kern-badge--warning"><span class="kern-label kern-label--small">requested</span></span></td></tr>
    <tr class="kern-table__row"><td class="kern-table__cell">Bierzeltgarnitur (2)</td><td class="kern-table__cell">28.11.2026</td><td class="kern-table__cell"><span class="kern-badge kern-badge--success"><span class="kern-label kern-label--small">confirmed</span></span></td></tr>
  </tbody>
</table>
</div>
{{ pagination(2, 7, "/bookings?page={page}") }}
{% endblock %}
"""

CALENDAR = """{% extends "layout.html" %}
{% from "partials/calendar_month.html" import calendar_month, resource_month %}
{% block title %}{{ _("Calendar") }}{% endblock %}
{% block content %}
<h1 class="kern-heading-large">{{ _("Calendar") }}</h1>
<h2 class="kern-heading-medium">{{ _("All resources") }}</h2>
{{ resource_month(overview) }}
<h2 class="kern-heading-medium" style="margin-top:40px">Großer Saal</h2>
{{ calendar_month(month) }}
{% endblock %}
"""

EMBED = """{% extends "embed_layout.html" %}
{% from "partials/calendar_week.html" import calendar_week %}
{% block content %}
<h1 class="kern-heading-small">Bürgerhaus – {{ _("this week") }}</h1>
{{ calendar_week(week) }}
{% endblock %}
"""


# ---------------------------------------------------------------- sample data


def _day_info(day: dt.date) -> dict:
    short, long = WEEKDAYS[day.weekday()]
    return {
        "date": day.isoformat(),
        "label": str(day.day),
        "weekday": short,
        "long_label": f"{long}, {day.day} {MONTHS[day.month - 1]} {day.year}",
        "is_today": day == TODAY,
        "is_weekend": day.weekday() >= 5,
    }


def _book(resource: int, day: dt.date, time: str = "09:00") -> str:
    return f"/book?resource={resource}&starts_at={day.isoformat()}T{time}"


def _summary_state(resource: int, day: dt.date) -> str:
    if day.weekday() == 6 and resource % 3 == 0:
        return "closed"
    pick = (resource * 7 + day.day * 3) % 10
    return "taken" if pick < 3 else "tentative" if pick == 3 else "free"


def resource_month_data(resources: int = 30) -> dict:
    days = [dt.date(2026, 11, d) for d in range(1, 31)]
    kinds = ["Room · 40 seats", "Desk", "Item · 10 units"]
    rows = []
    for r in range(1, resources + 1):
        cells = []
        for day in days:
            state = _summary_state(r, day)
            slot = {"state": state}
            if state == "free":
                slot["href"] = _book(r, day)
            if r % 3 == 2 and state == "free":
                slot["label"] = f"{(r + day.day) % 10 + 1}/10"
                slot["description"] = "units left"
            cells.append([slot])
        rows.append({"label": f"Raum {r:02d} – Gemeinschaftsraum" if r % 5 == 1 else f"Ressource {r:02d}",
                     "href": f"/resources/{r}", "detail": kinds[r % 3], "cells": cells})
    return {
        "id": "overview", "caption": "Bürgerhaus Flensburg – November 2026",
        "days": [_day_info(d) for d in days], "rows": rows,
        "prev": {"href": "/calendar?month=2026-10", "label": "October"},
        "today": {"href": "/calendar", "label": "Today"},
        "next": {"href": "/calendar?month=2026-12", "label": "December"},
    }


def month_data() -> dict:
    first = dt.date(2026, 11, 1)
    start = first - dt.timedelta(days=first.weekday())
    weeks = []
    day = start
    while not (day >= dt.date(2026, 12, 1) and day.weekday() == 0):
        week = []
        for _ in range(7):
            info = _day_info(day)
            info["in_month"] = day.month == 11
            slots = []
            if info["in_month"] and day.weekday() < 6:
                for time, end in (("09:00", "12:00"), ("14:00", "17:00"), ("18:00", "21:00")):
                    state = ["free", "taken", "tentative", "free"][(day.day + int(time[:2])) % 4]
                    slot = {"state": state, "label": f"{time}–{end}"}
                    if state == "free":
                        slot["href"] = _book(1, day, time)
                    slots.append(slot)
            elif info["in_month"]:
                slots.append({"state": "closed"})
            info["slots"] = slots
            week.append(info)
            day += dt.timedelta(days=1)
        weeks.append({"days": week})
    return {
        "id": "saal", "caption": "Großer Saal – November 2026",
        "weekdays": [{"short": s, "long": l} for s, l in WEEKDAYS], "weeks": weeks,
        "prev": {"href": "/resources/1?month=2026-10", "label": "October"},
        "next": {"href": "/resources/1?month=2026-12", "label": "December"},
    }


def week_data() -> dict:
    days = [TODAY - dt.timedelta(days=TODAY.weekday()) + dt.timedelta(days=i) for i in range(7)]
    rows = []
    for r, name in enumerate(["Großer Saal", "Seminarraum", "Co-Working-Platz", "Beamer"], start=1):
        cells = []
        for day in days:
            if day.weekday() == 6:
                cells.append([{"state": "closed"}])
                continue
            cell = []
            for time, end in (("09:00", "12:00"), ("14:00", "17:00"), ("18:00", "21:00")):
                state = ["free", "taken", "free", "tentative"][(r + day.day + int(time[:2])) % 4]
                slot = {"state": state, "label": f"{time}–{end}"}
                if state == "free":
                    slot["href"] = _book(r, day, time)
                cell.append(slot)
            cells.append(cell if r != 4 or day.weekday() != 2 else [])
        rows.append({"label": name, "href": f"/resources/{r}", "cells": cells})
    return {
        "id": "week", "caption": "Bürgerhaus – 23–29 November 2026",
        "days": [_day_info(d) for d in days], "rows": rows,
        "prev": {"href": "/calendar?week=2026-W47", "label": "Previous week"},
        "next": {"href": "/calendar?week=2026-W49", "label": "Next week"},
    }


# ---------------------------------------------------------------- rendering and serving


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([
            jinja2.DictLoader({"sample/page.html": PAGE, "sample/calendar.html": CALENDAR, "sample/embed.html": EMBED}),
            jinja2.FileSystemLoader(TEMPLATES),
        ]),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_null_translations(newstyle=True)
    return env


def render_site(target: Path) -> None:
    env = environment()
    user = SimpleNamespace(is_authenticated=True, display_name="Kim Musterperson",
                           is_lender=True, is_manager=True, is_city_admin=False)
    common = {"lang": "en", "csrf_input": CSRF_INPUT, "next_url": "/"}
    pages = {
        "page.html": env.get_template("sample/page.html").render(
            **common, current_user=user, active_nav="calendar", week=week_data(),
            messages=[("success", "Your booking request has been sent."),
                      ("error", "The Großer Saal is already booked at that time.")]),
        "anonymous.html": env.get_template("sample/page.html").render(
            **common, current_user=None, week=week_data(), messages=[]),
        "calendar.html": env.get_template("sample/calendar.html").render(
            **common, current_user=user, active_nav="calendar", overview=resource_month_data(), month=month_data()),
        "embed.html": env.get_template("sample/embed.html").render(lang="en", week=week_data()),
    }
    for name, html in pages.items():
        (target / name).write_text(html, encoding="utf-8")
    (target / "static").symlink_to(STATIC, target_is_directory=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("site")
    render_site(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- checks


async def open_offline(page, url: str, *, block: tuple[str, ...] = ()) -> list[str]:
    """Open ``url``; every request that does not go to 127.0.0.1 is aborted and reported.

    ``block``: path endings to refuse as well (e.g. the script, to see a page without it)."""
    outside: list[str] = []

    async def guard(route):
        if block and route.request.url.endswith(block):
            await route.abort()
        elif route.request.url.startswith("http://127.0.0.1:"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", guard)
    response = await page.goto(url, wait_until="networkidle")
    assert response is not None and response.ok, url
    await page.evaluate("document.fonts.ready")
    return outside


async def assert_styled(page) -> None:
    font = await page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Fira Sans" in font
    assert await page.evaluate("document.fonts.check('16px \"Fira Sans\"')"), "Fira Sans did not load"
    assert await page.evaluate("[...document.styleSheets].length") >= 4


async def assert_no_page_overflow(page) -> None:
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways: {widths[0]}px content in a {widths[1]}px window"


@pytest.mark.parametrize("name", ["page", "anonymous"])
async def test_layout_desktop(page, site, name):
    outside = await open_offline(page, f"{site}/{name}.html")
    assert outside == []
    await assert_styled(page)
    await screenshot(page, f"layout-{name}-1280")
    await assert_no_axe_violations(page)

    assert await page.get_attribute("html", "lang") == "en"
    # Language form, plus logout form when signed in, plus the sample booking form.
    assert await page.locator("input[name=_csrf_token]").count() == (3 if name == "page" else 2)
    # The skip link is the first focusable thing and lands on <main>.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    # Escaped user input, errors tied to their fields.
    assert await page.locator("#field-title").input_value() == "<script>alert(1)</script>"
    ends = page.locator("#field-ends_at")
    assert await ends.get_attribute("aria-invalid") == "true"
    assert await ends.get_attribute("aria-describedby") == "field-ends_at-error field-ends_at-hint"
    assert "after the start" in await page.locator("#field-ends_at-error").inner_text()
    nav = page.get_by_role("navigation", name="Main navigation")
    if name == "page":
        assert await nav.get_by_role("link", name="Requests").count() == 1
        assert await nav.get_by_role("link", name="Calendar").get_attribute("aria-current") == "page"
        assert await page.get_by_role("button", name="Log out").count() == 1
    else:
        assert await nav.get_by_role("link", name="My bookings").count() == 0
        assert await page.get_by_role("link", name="Log in").count() == 1


async def test_layout_phone(phone_page, site):
    page = phone_page
    assert await open_offline(page, f"{site}/page.html") == []
    await assert_styled(page)
    await assert_no_page_overflow(page)
    await screenshot(page, "layout-page-360")
    await assert_no_axe_violations(page)


async def test_calendar_month_with_30_resources_desktop(page, site):
    assert await open_offline(page, f"{site}/calendar.html") == []
    await screenshot(page, "calendar-1280")
    await assert_no_axe_violations(page)
    assert await page.locator("#overview-caption + thead th[scope=col]").count() == 31
    assert await page.locator(".cal-matrix tbody th[scope=row]").count() == 30
    free_link = page.locator(".cal-matrix a.cal-slot--free").first
    assert (await free_link.get_attribute("href")).startswith("/book?resource=")
    # Every state is spelled out, not just coloured.
    for word in ("Free", "Taken", "Requested", "Closed"):
        assert await page.locator(".cal-matrix .cal-slot__state", has_text=word).count() > 0


async def test_calendar_month_with_30_resources_phone(phone_page, site):
    page = phone_page
    assert await open_offline(page, f"{site}/calendar.html") == []
    await assert_no_page_overflow(page)
    await screenshot(page, "calendar-360")
    await screenshot(page, "calendar-360-viewport", full_page=False)
    await assert_no_axe_violations(page)
    # The matrix scrolls inside its own region; the resource column stays in view.
    region = page.locator(".cal-scroll").first
    sizes = await region.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] > sizes[1]
    await region.focus()
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("End")
    await region.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    box = await page.locator(".cal-matrix tbody th[scope=row]").first.bounding_box()
    assert box is not None and 0 <= box["x"] < 40
    # The classic month turns into a list: weekday header hidden, long dates shown.
    long_date = page.locator("#saal-caption ~ tbody td:not(.is-outside) .cal-month__date-long").nth(3)
    assert await long_date.is_visible()
    # A free slot's link names resource and day for screen readers.
    name = await page.locator(".cal-matrix a.cal-slot--free").first.evaluate("el => el.textContent")
    assert "November 2026" in name and "book" in name


async def test_embed_layout(phone_page, site):
    page = phone_page
    assert await open_offline(page, f"{site}/embed.html") == []
    await assert_no_page_overflow(page)
    await screenshot(page, "embed-360")
    await assert_no_axe_violations(page)
    assert await page.locator("nav").count() == 0
    assert await page.locator("base").get_attribute("target") == "_top"


# ---------------------------------------------------------------- the SH theme on KERN's tokens

# Reference colours, resolved by the browser itself from literal values (not from our CSS).
SH_BLUE = "oklch(31.08% 0.1035 255.3)"   # SH Blau 800, the theme's action colour
KERN_DEFAULT_BLUE = "oklch(42.84% 0.1689 265.02)"  # KERN 2.7.2 darkblue-700, its default


async def resolved_colour(page, css_colour: str) -> str:
    return await page.evaluate(
        """(value) => { const probe = document.createElement('span'); probe.style.color = value;
                        document.body.append(probe); const c = getComputedStyle(probe).color;
                        probe.remove(); return c; }""",
        css_colour,
    )


async def test_sh_theme_applies_to_kern_components_desktop(page, site):
    await check_sh_theme(page, site, "theme-1280")


async def test_sh_theme_applies_to_kern_components_phone(phone_page, site):
    await check_sh_theme(phone_page, site, "theme-360")


async def check_sh_theme(page, site, name):
    assert await open_offline(page, f"{site}/page.html") == []
    sh_blue = await resolved_colour(page, SH_BLUE)
    kern_blue = await resolved_colour(page, KERN_DEFAULT_BLUE)
    assert sh_blue != kern_blue

    # The theme's tokens are valid values, so KERN's own semantic property carries SH Blau.
    assert await page.evaluate(
        "getComputedStyle(document.body).getPropertyValue('--kern-color-action-default').trim()") != ""
    primary = page.locator("main .kern-btn--primary").first
    assert await primary.evaluate("el => getComputedStyle(el).backgroundColor") == sh_blue
    secondary = page.locator("main .kern-btn--secondary").first
    assert await secondary.evaluate("el => getComputedStyle(el).borderTopColor") == sh_blue
    assert await page.locator("main .kern-link, .app-nav .kern-link").first.evaluate(
        "el => getComputedStyle(el).color") == sh_blue

    # A select shows KERN's arrow: the wrapper's ::after is a chevron mask painted in SH Blau
    # (with the broken theme the paint was invalid → transparent, the select looked like a text box).
    arrow = await page.locator(".kern-form-input__select-wrapper").first.evaluate(
        """el => { const s = getComputedStyle(el, '::after');
                   return {mask: s.maskImage || s.webkitMaskImage, paint: s.backgroundColor,
                           width: s.width, height: s.height}; }""")
    assert arrow["mask"].startswith("url("), arrow
    assert arrow["paint"] == sh_blue, arrow
    assert arrow["width"] == "24px" and arrow["height"] == "24px", arrow
    select = page.locator("select.kern-form-input__select").first
    assert await select.evaluate("el => getComputedStyle(el).appearance") == "none"
    # Inputs keep KERN's filled field with the dark bottom border.
    text_input = page.locator("#field-title")
    styles = await text_input.evaluate(
        "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).borderBottomWidth]")
    assert styles[0] not in ("rgba(0, 0, 0, 0)", "transparent") and styles[1] == "2px", styles
    # Alerts keep KERN's feedback colours (a tinted background, not transparent).
    for kind in ("success", "danger"):
        background = await page.locator(f".kern-alert--{kind}").first.evaluate(
            "el => getComputedStyle(el).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent"), kind
    # Tables: KERN's striped rows.
    stripes = await page.locator(".kern-table--striped tbody tr").evaluate_all(
        "rows => rows.map(r => getComputedStyle(r.cells[0]).backgroundColor)")
    assert len(set(stripes)) == 2, stripes
    # The brand stripe under the header is SH Rot, not KERN's neutral.
    brand = await page.locator(".app-header").evaluate("el => getComputedStyle(el).borderBottomColor")
    assert brand == await resolved_colour(page, "oklch(50.73% 0.2029 15.35)")
    await screenshot(page, name)


# ---------------------------------------------------------------- the compact header


async def header_height(page) -> float:
    return await page.evaluate("document.querySelector('header').getBoundingClientRect().height")


async def focus_by_tab(page, selector: str, *, limit: int = 40, key: str = "Tab") -> None:
    """Press Tab (or ``key``) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        await page.keyboard.press(key)
        if await page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} never received the focus by Tab")


@pytest.mark.parametrize("name", ["page", "anonymous"])
async def test_phone_header_is_compact_and_its_menu_works_by_keyboard(phone_page, site, name):
    page = phone_page
    assert await open_offline(page, f"{site}/{name}.html") == []
    height = await header_height(page)
    assert height < 100, f"header is {height}px high at 360px"
    await screenshot(page, f"header-{name}-360", full_page=False)
    await assert_no_axe_violations(page)

    menu = page.locator("details.app-menu")
    assert await menu.get_attribute("open") is None
    nav = page.get_by_role("navigation", name="Main navigation")
    assert await nav.get_by_role("link", name="Home").is_visible() is False
    if name == "anonymous":
        # Newcomers see how to register (and to log in) without opening the menu.
        assert await page.locator("header").get_by_role("link", name="Register").is_visible()
        assert await page.locator("header").get_by_role("link", name="Log in").is_visible()
        assert await page.locator("header a[href='/register']").count() == 1
    else:
        assert await page.locator("header a[href='/register']").count() == 0

    # Keyboard: Tab to "Menu", Enter opens it, every navigation link is then reached by Tab.
    await focus_by_tab(page, "summary.app-menu__toggle")
    await page.keyboard.press("Enter")
    assert await menu.get_attribute("open") == ""
    links = await nav.get_by_role("link").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    expected = ["/", "/calendar", "/desks", "/karte", "/organisationen", "/mitmachen"] + (
        ["/bookings", "/bookings/loans", "/lender", "/lender/today", "/admin"] if name == "page" else [])
    assert links == expected
    reached = []
    for _ in range(len(links) + 2):
        await page.keyboard.press("Tab")
        href = await page.evaluate("document.activeElement.closest('.app-nav') ? document.activeElement.getAttribute('href') : null")
        if href:
            reached.append(href)
    assert reached == expected
    # The open menu lies over the page; the header itself stays short, the tools are inside.
    assert await header_height(page) == height
    assert await page.locator(".app-menu__panel").get_by_role("button", name="Deutsch").is_visible()
    if name == "page":
        assert await page.locator(".app-menu__panel").get_by_role("button", name="Log out").is_visible()
    await screenshot(page, f"header-{name}-360-menu", full_page=False)
    await assert_no_axe_violations(page)
    # Enter on the button closes it again.
    await focus_by_tab(page, "summary.app-menu__toggle", key="Shift+Tab")
    await page.keyboard.press("Enter")
    assert await menu.get_attribute("open") is None


@pytest.mark.parametrize("javascript", [True, False])
async def test_wide_header_shows_the_menu_without_a_button(page, site, javascript):
    """At 1280 px the navigation is one open row, with and without our script.

    "Without": app.js is not served (Playwright cannot evaluate its checks with JavaScript
    switched off), so only the CSS shows the closed <details>' content."""
    if not javascript:
        page.problems.ignore(r"app\.js|ERR_FAILED")
    for name in ("page", "anonymous"):
        blocked = () if javascript else ("/static/app.js",)
        assert await open_offline(page, f"{site}/{name}.html", block=blocked) == []
        assert await page.locator("details.app-menu").get_attribute("open") == ("" if javascript else None)
        assert not await page.locator("summary.app-menu__toggle").is_visible()
        nav = page.get_by_role("navigation", name="Main navigation")
        for label in ("Home", "Calendar", "Co-Working"):
            assert await nav.get_by_role("link", name=label).is_visible()
        height = await header_height(page)
        assert height < 200, f"{height}px"
        # The navigation is reachable by Tab without opening anything.
        await focus_by_tab(page, ".app-nav a[href='/calendar']")
        if name == "page":
            assert await page.get_by_role("button", name="Log out").is_visible()
        else:
            assert await page.locator("header").get_by_role("link", name="Register").is_visible()
        await screenshot(page, f"header-{name}-1280{'' if javascript else '-nojs'}", full_page=False)
        await assert_no_axe_violations(page)
