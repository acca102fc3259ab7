"""Hostile input answers 4xx with a reason, never 500, on SQLite and PostgreSQL.

JSON nested 100,000 deep, dates in years 1 and 9999, ids and numbers beyond 64 bits, and NUL
characters in text, in path and query parameters, JSON bodies and page forms. Each request is
sent by a city administrator (who may reach every route) to a fresh world.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from booking.services.context import AppContext
from tests.http.conftest import login
from tests.integration.conftest import FixedClock
from tests.support.pages import post_form

BIG = str(2**70)
NUL = "a\x00b"
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
EDGES = ("0001-01-01T00:00:00+01:00", "0001-01-01T00:30:00+00:00", "9999-12-31T23:00:00-05:00", "9999-12-31T23:59:59+00:00")
DAYS = ("0001-01-01", "9999-12-31")
LATER = "2026-03-03T10:00:00+01:00"


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))


def api_cases() -> list[tuple[str, str, dict]]:
    """(method, path with {room}/{site} placeholders, httpx arguments)."""
    cases: list[tuple[str, str, dict]] = []
    bodies = ("/api/v1/bookings", "/api/v1/series", "/api/v1/desk-bookings", "/api/v1/desk-series", "/api/v1/item-bookings",
              "/api/v1/kits", "/api/v1/sites", "/api/v1/sites/{site}/resources", "/api/v1/feeds", "/api/v1/auth/login")
    for path in bodies:
        for deep in (DEEP_ARRAY, DEEP_OBJECT):
            cases.append(("POST", path, {"content": deep, "headers": {"content-type": "application/json"}}))
    for edge in EDGES:
        cases += [
            ("POST", "/api/v1/bookings", {"json": {"resource_id": "{room}", "starts_at": edge, "ends_at": LATER}}),
            ("POST", "/api/v1/bookings", {"json": {"resource_id": "{room}", "starts_at": LATER, "ends_at": edge}}),
            ("GET", "/api/v1/resources/{room}/availability", {"params": {"from": edge, "until": LATER}}),
            ("GET", "/api/v1/resources/{room}/availability", {"params": {"from": LATER, "until": edge}}),
            ("GET", "/api/v1/resources", {"params": {"free_from": edge, "free_until": LATER}}),
            ("GET", "/api/v1/resources/{room}/freebusy", {"params": {"from": edge}}),
            ("GET", "/api/v1/resources/{room}/freebusy.ics", {"params": {"from": edge}}),
            ("GET", "/api/v1/sites/{site}/freebusy", {"params": {"from": edge}}),
            ("GET", "/api/v1/bookings", {"params": {"from": edge}}),
            ("GET", "/api/v1/bookings", {"params": {"until": edge}}),
            ("POST", "/api/v1/sites/{site}/blackouts", {"json": {"starts_at": edge, "ends_at": LATER}}),
            ("POST", "/api/v1/resources/{room}/repair-blocks", {"json": {"starts_at": edge, "ends_at": LATER}}),
        ]
    for day in DAYS:
        cases += [
            ("GET", "/api/v1/sites/{site}/desks", {"params": {"day": day}}),
            ("GET", "/api/v1/sites/{site}/day-span", {"params": {"day": day}}),
            ("GET", "/api/v1/calendar", {"params": {"day": day}}),
            ("GET", "/api/v1/lender/today", {"params": {"day": day}}),
            ("POST", "/api/v1/desk-bookings", {"json": {"resource_id": "{room}", "day": day}}),
            ("POST", "/api/v1/series", {"json": {"resource_id": "{room}", "starts_at": "2026-03-17T18:00",
                                                "ends_at": "2026-03-17T20:00", "frequency": "weekly", "until": day}}),
            ("POST", "/api/v1/series", {"json": {"resource_id": "{room}", "starts_at": f"{day}T18:00",
                                                "ends_at": f"{day}T20:00", "frequency": "weekly", "count": 2}}),
        ]
    for path in ("/api/v1/resources/{big}", "/api/v1/sites/{big}", "/api/v1/bookings/{big}", "/api/v1/series/{big}",
                 "/api/v1/sites/{big}/desks", "/api/v1/resources/{big}/freebusy", "/api/v1/bookings/{big}/loan",
                 "/api/v1/resources/{big}/history", "/api/v1/bookings/{big}/history"):
        cases.append(("GET", path, {}))
    cases += [
        ("POST", "/api/v1/bookings/{big}/cancel", {"json": {}}),
        ("PATCH", "/api/v1/bookings/{big}", {"json": {"quantity": 2}}),
        ("GET", "/api/v1/resources", {"params": {"site_id": BIG}}),
        ("GET", "/api/v1/resources", {"params": {"min_seats": BIG}}),
        ("GET", "/api/v1/calendar", {"params": {"site_id": BIG}}),
        ("POST", "/api/v1/bookings", {"json": {"resource_id": 2**70, "starts_at": LATER, "ends_at": LATER.replace("10:", "11:")}}),
        ("POST", "/api/v1/bookings", {"json": {"resource_id": "{room}", "quantity": 2**70, "starts_at": LATER, "ends_at": LATER.replace("10:", "11:")}}),
        ("GET", "/api/v1/resources", {"params": {"q": NUL}}),
        ("GET", "/api/v1/resources", {"params": {"category": NUL}}),
        ("GET", "/api/v1/resources", {"params": {"kind": NUL}}),
        ("GET", "/api/v1/calendar", {"params": {"kind": NUL, "category": NUL}}),
        ("POST", "/api/v1/bookings", {"json": {"resource_id": "{room}", "starts_at": LATER, "ends_at": LATER.replace("10:", "11:"), "title": NUL, "purpose": NUL}}),
        ("POST", "/api/v1/series", {"json": {"resource_id": "{room}", "starts_at": "2026-03-17T18:00", "ends_at": "2026-03-17T20:00",
                                            "frequency": "weekly", "count": 2, "title": NUL}}),
        ("POST", "/api/v1/sites", {"json": {"name": NUL, "contact_email": "x@example.org"}}),
        ("POST", "/api/v1/sites/{site}/resources", {"json": {"name": NUL, "kind": "room"}}),
        ("POST", "/api/v1/feeds", {"json": {"scope": "resource", "resource_id": "{room}", "name": NUL}}),
        ("POST", "/api/v1/auth/login", {"json": {"email": NUL, "password": NUL}}),
    ]
    return cases


def page_cases() -> list[tuple[str, str, dict]]:
    cases: list[tuple[str, str, dict]] = []
    for day in DAYS:
        for path in ("/desks/{site}", "/calendar", "/lender", "/resources/{room}", "/search", "/"):
            cases.append(("GET", path, {"params": {"day": day, "from": day, "date": day}}))
    for path in ("/resources/{big}", "/desks/{big}", "/bookings/{big}", "/admin/sites/{big}", "/admin/resources/{big}"):
        cases.append(("GET", path, {}))
    cases += [
        ("GET", "/search", {"params": {"site_id": BIG, "min_seats": BIG}}),
        ("GET", "/calendar", {"params": {"site_id": BIG}}),
        ("GET", "/admin/users", {"params": {"page": BIG}}),
        ("GET", "/bookings", {"params": {"page": BIG}}),
        ("GET", "/search", {"params": {"q": NUL, "category": NUL}}),
        ("GET", "/admin/users", {"params": {"q": NUL}}),
        ("GET", "/calendar", {"params": {"kind": NUL, "category": NUL}}),
    ]
    return cases


def form_cases() -> list[tuple[str, dict]]:
    booking = {"starts_at": "2026-03-03T10:00", "ends_at": "2026-03-03T11:00", "quantity": "1", "repeat": "none"}
    return [
        ("/resources/{room}/book", {**booking, "title": NUL}),
        ("/resources/{room}/book", {**booking, "purpose": NUL}),
        ("/resources/{room}/book", {**booking, "starts_at": "0001-01-01T00:30"}),
        ("/resources/{room}/book", {**booking, "ends_at": "9999-12-31T23:30"}),
        ("/resources/{room}/book", {**booking, "quantity": BIG}),
        ("/resources/{room}/book", {**booking, "organisation_id": BIG}),
        ("/resources/{room}/book", {**booking, "repeat": "weekly", "interval": "1", "until": "9999-12-31"}),
        ("/resources/{room}/book", {**booking, "repeat": "weekly", "interval": "1", "until": "0001-01-01"}),
        ("/resources/{room}/book", {**booking, "starts_at": "0001-01-01T18:00", "ends_at": "0001-01-01T19:00", "repeat": "weekly", "count": "3"}),
        ("/resources/{room}/book", {**booking, "repeat": "weekly", "interval": BIG, "count": BIG}),
        ("/desks/{site}/book", {"resource_id": BIG, "day": "2026-03-03", "part": "full"}),
        ("/desks/{site}/book", {"resource_id": "{room}", "day": "9999-12-31", "part": "full"}),
        ("/desks/{site}/book", {"resource_id": "{room}", "day": "0001-01-01", "part": NUL}),
        ("/bookings/feeds", {"scope": "resource", "resource_id": BIG, "name": NUL}),
        ("/admin/sites/new", {"name": NUL, "contact_email": "x@example.org", "timezone": "Europe/Berlin"}),
        ("/profile", {"display_name": NUL, "language": "de"}),
    ]


def _filled(world, value):  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        filled = value.replace("{room}", str(world.room.id)).replace("{site}", str(world.site_a.id)).replace("{big}", BIG)
        return int(filled) if value == "{room}" else filled
    if isinstance(value, dict):
        return {key: _filled(world, item) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "arguments"), api_cases(), ids=lambda value: str(value)[:60])
async def test_api_never_answers_5xx(client, world, method, path, arguments):
    await login(client, world, "city_admin")
    response = await client.request(method, _filled(world, path), **_filled(world, arguments))
    assert response.status_code < 500, (response.status_code, response.text[:300])
    # Most are refused; a filter that simply finds nothing there (bookings from year 1) may
    # answer 200. A refusal always says why.
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "arguments"), page_cases(), ids=lambda value: str(value)[:60])
async def test_pages_answer_4xx_or_ignore_what_they_cannot_use(client, world, method, path, arguments):
    await login(client, world, "city_admin")
    response = await client.request(method, _filled(world, path), **_filled(world, arguments))
    # A page may show today instead of an unusable day (200, with a note) or refuse (4xx).
    assert response.status_code < 500, (response.status_code, response.text[:300])


@pytest.mark.parametrize(("path", "form"), form_cases(), ids=lambda value: str(value)[:60])
async def test_forms_answer_4xx_or_the_form_again(client, world, path, form):
    await login(client, world, "city_admin")
    response = await post_form(client, _filled(world, path), _filled(world, form), form_page=f"/resources/{world.room.id}")
    # Refused (4xx, the form again), or done with what was usable (the feed form ignores a
    # resource id its scope does not need): never a 5xx.
    assert response.status_code < 500, (response.status_code, response.text[:300])
