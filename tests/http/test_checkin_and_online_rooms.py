"""Check-in at the door (/r/<code>/check-in) and on the booking page; online rooms' join links.

Acceptance 5 of issue 16: an online room's join link appears on the booker's booking page and
in their invite (read back with ical.js) and nowhere else — the test fetches public pages,
resource, site and organisation feeds, staff pages and API answers for other roles, and
searches every answer for the link.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import col, select

from booking.app import create_app
from booking.domain.short_codes import code_for
from booking.mail.sender import SmtpSender
from booking.mail.worker import OutboxWorker
from booking.models import Booking, Policy, Resource
from booking.services import bookings, feeds, resource_admin
from booking.services.admin_common import InvalidFields
from booking.services.resource_admin import ResourceInput
from booking.services.context import AppContext
from tests.integration.conftest import FixedClock
from tests.integration.test_outbox import mail_settings
from tests.support.icaljs import parse_with_icaljs
from tests.support.world import PASSWORD, World, build_world, next_monday

JOIN_URL = "https://meet.example.org/r/vereinsraum-7f3k9q"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
async def app_context(database, settings, clock) -> AppContext:  # type: ignore[no-untyped-def]
    return AppContext(database=database, settings=settings, clock=clock)


@pytest.fixture
async def world(app_context) -> World:  # type: ignore[no-untyped-def]
    return await build_world(app_context)


@pytest.fixture
async def transport(settings, app_context) -> AsyncIterator[httpx.ASGITransport]:  # type: ignore[no-untyped-def]
    yield httpx.ASGITransport(app=create_app(settings, app_context=app_context))


async def client_as(transport: httpx.ASGITransport, world: World, role: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
    if role != "anonymous":
        response = await client.post("/api/v1/auth/login", json={"email": world.emails[role], "password": PASSWORD})
        assert response.status_code == 200, response.text
    await client.get("/health")  # the CSRF cookie
    return client


async def post_form(client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(path, data={**(data or {}), "_csrf_token": client.cookies["booking_csrf"]})


async def ask_for_check_in(app_context: AppContext, resource: Resource) -> None:
    async with app_context.database.transaction() as session:
        session.add(Policy(resource_id=resource.id, checkin_required=True, checkin_opens_minutes=15, checkin_release_minutes=15))  # type: ignore[arg-type]


async def checked_in_at(app_context: AppContext, booking_id: int) -> datetime | None:
    async with app_context.database.reader() as session:
        booking = await session.get(Booking, booking_id)
    assert booking is not None
    return booking.checked_in_at


async def test_door_code_checks_in_the_booker_and_shows_others_the_door_sign(  # type: ignore[no-untyped-def]
    app_context, world: World, clock, transport
) -> None:
    await ask_for_check_in(app_context, world.room)
    start = next_monday(clock.now) + timedelta(hours=9)
    mine = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        world.room.id, start, start + timedelta(hours=2), organisation_id=world.org_a.id))
    later = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        world.room.id, start + timedelta(hours=3), start + timedelta(hours=4)))
    code = code_for(world.room.id)  # type: ignore[arg-type]
    clock.now = start - timedelta(minutes=5)

    anonymous = await client_as(transport, world, "anonymous")
    scanned = await anonymous.get(f"/r/{code}")
    assert scanned.status_code == 303 and scanned.headers["location"] == f"/r/{code}/check-in"
    page = await anonymous.get(f"/r/{code}/check-in")
    assert page.status_code == 200 and "Room A1" in page.text and "/login?next=" in page.text
    assert f'action="/r/{code}/check-in"' not in page.text  # no check-in button for the public
    refused = await post_form(anonymous, f"/r/{code}/check-in")
    assert refused.status_code == 401  # a page POST without a login (the form offers the login link instead)

    other = await client_as(transport, world, "member_b")
    page = await other.get(f"/r/{code}/check-in")
    assert page.status_code == 200 and f'action="/r/{code}/check-in"' not in page.text
    assert "app-door-sign" in page.text  # the door sign
    refused = await post_form(other, f"/r/{code}/check-in")
    assert refused.status_code == 409 and "kern-alert--danger" in refused.text
    assert await checked_in_at(app_context, mine.id) is None  # type: ignore[arg-type]

    booker = await client_as(transport, world, "member_a")
    page = await booker.get(f"/r/{code}/check-in")
    assert f'action="/r/{code}/check-in"' in page.text
    done = await post_form(booker, f"/r/{code}/check-in")
    assert done.status_code == 303 and done.headers["location"] == f"/r/{code}/check-in"
    assert await checked_in_at(app_context, mine.id) == clock.now  # type: ignore[arg-type]
    assert await checked_in_at(app_context, later.id) is None  # type: ignore[arg-type]
    after = await booker.get(done.headers["location"])
    assert after.status_code == 200 and "kern-alert--success" in after.text

    # The booking page: the later booking's window is not open yet.
    detail = await booker.get(f"/bookings/{later.id}")
    assert "checkin-heading" in detail.text and f'action="/bookings/{later.id}/check-in"' not in detail.text
    refused = await post_form(booker, f"/bookings/{later.id}/check-in")
    assert refused.status_code == 409 and "kern-alert--danger" in refused.text
    clock.now = later.starts_at - timedelta(minutes=1)
    detail = await booker.get(f"/bookings/{later.id}")
    assert f'action="/bookings/{later.id}/check-in"' in detail.text
    done = await post_form(booker, f"/bookings/{later.id}/check-in")
    assert done.status_code == 303 and done.headers["location"] == f"/bookings/{later.id}"
    assert await checked_in_at(app_context, later.id) == clock.now  # type: ignore[arg-type]
    for client in (anonymous, other, booker):
        await client.aclose()


async def test_an_online_rooms_link_reaches_the_booker_and_nobody_else(  # type: ignore[no-untyped-def]
    app_context, world: World, clock, transport, smtp_server, settings
) -> None:
    # The admin form's rules: an online room needs an https link.
    for bad in ("", "http://meet.example.org/x", "javascript:alert(1)", "https://", "https://user:pw@meet.example.org/"):
        with pytest.raises(InvalidFields) as caught:
            await resource_admin.create_resource(app_context, world["manager_a"], world.site_a.id, ResourceInput(  # type: ignore[arg-type]
                kind="online", name="Bad link", join_url=bad))
        assert "join_url" in caught.value.errors
    online = await resource_admin.create_resource(app_context, world["manager_a"], world.site_a.id, ResourceInput(  # type: ignore[arg-type]
        kind="online", name="Digitaler Raum 1", category="Online", join_url=JOIN_URL))
    assert online.join_url == JOIN_URL
    start = next_monday(clock.now) + timedelta(hours=17)
    booking = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        online.id, start, start + timedelta(hours=1), organisation_id=world.org_a.id, title="Vorstandssitzung",  # type: ignore[arg-type]
        is_public=True))
    assert booking.status == "confirmed"

    # Feeds of every kind that could show the booking.
    feed_paths: dict[str, str] = {}
    for role, scope, target, private in (
        ("member_b", "resource", online.id, False), ("member_b", "site", world.site_a.id, False),
        ("lender_a", "site", world.site_a.id, True), ("lender_a", "resource", online.id, True),
        ("org_admin_a", "organisation", world.org_a.id, True), ("member_a", "person", None, True),
    ):
        view = await feeds.create_feed(app_context, world[role], scope, target, private=private)
        feed_paths[f"{role}:{scope}:{private}"] = urlsplit(feeds.feed_urls(settings.base_url, view.token)[0]).path  # type: ignore[arg-type]

    code = code_for(online.id)  # type: ignore[arg-type]
    public_paths = [
        "/", "/?kind=online", f"/resources/{online.id}", "/calendar", f"/calendar?resource={online.id}", "/embed/calendar",
        f"/orte/{world.site_a.id}", "/karte", "/desks", f"/r/{code}", f"/r/{code}/tuer", f"/r/{code}/check-in",
        "/api/v1/resources", f"/api/v1/resources/{online.id}", "/api/v1/sites.geojson", "/api/v1/calendar",
        f"/api/v1/resources/{online.id}/availability", f"/api/v1/resources/{online.id}/freebusy.ics",
        f"/api/v1/sites/{world.site_a.id}/freebusy.ics", "/offene-daten", "/offene-daten/daten.json",
        *feed_paths.values(),
    ]
    staff_paths = [
        f"/bookings/{booking.id}", f"/api/v1/bookings/{booking.id}", "/api/v1/bookings", f"/api/v1/bookings/{booking.id}/history",
        "/lender", "/lender/today", f"/lender/today?site={world.site_a.id}&day={start.date().isoformat()}",
        f"/organisation/{world.org_a.id}", f"/admin/sites/{world.site_a.id}",
    ]
    seen = 0
    for role in ("anonymous", "member_b", "lender_a", "org_admin_a", "manager_a", "city_admin"):
        client = await client_as(transport, world, role)
        for path in public_paths + (staff_paths if role != "anonymous" else []):
            response = await client.get(path, follow_redirects=True)
            assert response.status_code < 500, (role, path, response.status_code)
            assert JOIN_URL not in response.text and "vereinsraum-7f3k9q" not in response.text, (role, path)
            seen += response.status_code == 200
        await client.aclose()
    assert seen > 60  # the search looked at real pages, not a wall of 404s
    # The catalogue labels the room as online and gives no address.
    anonymous = await client_as(transport, world, "anonymous")
    page = await anonymous.get(f"/resources/{online.id}")
    assert "app-online-badge" in page.text
    await anonymous.aclose()

    # The booker: on their booking page …
    booker = await client_as(transport, world, "member_a")
    page = await booker.get(f"/bookings/{booking.id}")
    assert page.status_code == 200 and f'href="{JOIN_URL}"' in page.text
    for path in ("/bookings", "/api/v1/me/export"):  # … but not in lists or exports
        assert JOIN_URL not in (await booker.get(path)).text
    await booker.aclose()

    # … and in their invite: the mail text, DESCRIPTION and CONFERENCE, as ical.js reads them.
    sending = mail_settings(settings, smtp_server.port)
    worker = OutboxWorker(app_context.database, sending, SmtpSender(sending.mail), "w", clock=clock, lease_seconds=60)
    while await worker.run_once():
        pass
    invites = [m for m in smtp_server.messages if m.rcpt_tos == ["member_a@example.org"]]
    assert len(invites) == 1
    message = invites[0].message
    assert JOIN_URL in message.get_body(preferencelist=("plain",)).get_content()
    ics = next(part for part in message.walk() if part.get_content_type() == "text/calendar").get_payload(decode=True)
    reading = parse_with_icaljs(ics)
    (event,) = reading["events"]
    assert reading["method"] == "REQUEST"
    assert JOIN_URL in event["description"] and event["conference"] == JOIN_URL
    assert event["conference_parameters"]["FEATURE"] == "VIDEO"
    assert event["location"] == "Online – Digitaler Raum 1"
    assert all(JOIN_URL not in m.data.decode("utf-8", "replace") for m in smtp_server.messages if m not in invites)

    # A cancel does not repeat the link.
    await bookings.cancel_booking(app_context, world["member_a"], booking.id)  # type: ignore[arg-type]
    while await worker.run_once():
        pass
    cancels = [m for m in smtp_server.messages if m not in invites]
    assert cancels and all(b"vereinsraum" not in m.data for m in cancels)
    async with app_context.database.reader() as session:
        assert (await session.exec(select(Booking.status).where(col(Booking.id) == booking.id))).one() == "cancelled"


async def test_admin_api_sets_check_in_rules_and_online_rooms(app_context, world: World, transport) -> None:  # type: ignore[no-untyped-def]
    manager = await client_as(transport, world, "manager_a")
    bad = await manager.post(f"/api/v1/admin/sites/{world.site_a.id}/resources", json={
        "kind": "online", "name": "API room", "join_url": "http://meet.example.org/x"})
    assert bad.status_code in (400, 422) and "join_url" in bad.text
    made = await manager.post(f"/api/v1/admin/sites/{world.site_a.id}/resources", json={
        "kind": "online", "name": "API room", "join_url": JOIN_URL})
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "online" and JOIN_URL not in made.text  # the answer does not echo the secret
    rules = await manager.put(f"/api/v1/admin/resources/{world.room.id}/policy", json={
        "checkin_required": True, "checkin_opens_minutes": 10, "checkin_release_minutes": 20})
    assert rules.status_code == 200, rules.text
    assert (rules.json()["checkin_required"], rules.json()["checkin_opens_minutes"], rules.json()["checkin_release_minutes"]) == (True, 10, 20)
    refused = await manager.put(f"/api/v1/admin/resources/{world.room.id}/policy", json={"checkin_release_minutes": 0})
    assert refused.status_code == 400
    await manager.aclose()
