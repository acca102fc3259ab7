"""Names and texts with line breaks, iCalendar structure and control characters: refused at the
admin input, and harmless in every calendar file for rows stored before (or around) the checks.

Every feed kind and free/busy is fetched and read back with ical.js (an independent parser):
200, exactly the expected events, the text intact (control characters dropped).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from booking.models import Booking, Organisation, Resource, Site, User
from booking.services import accounts
from booking.services.context import AppContext
from tests.http.conftest import login
from tests.integration.conftest import FixedClock
from tests.support.icaljs import parse_with_icaljs

BERLIN = ZoneInfo("Europe/Berlin")
# PostgreSQL cannot store a NUL in text; old SQLite rows may hold one.
HOSTILE = "\r\nBEGIN:VEVENT\nEND:VCALENDAR\rX; y, z{nul}\x07\x7f"


def hostile(prefix: str, *, nul: bool) -> str:
    return prefix + HOSTILE.format(nul="\x00" if nul else "")


def as_text(value: str) -> str:
    """How a TEXT value reads back: LF line ends, no control characters."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in value if c in "\n\t" or not (ord(c) < 32 or ord(c) == 127))


def as_name(value: str) -> str:
    """How a name (CN, X-WR-CALNAME) reads back: one line."""
    return " ".join(as_text(value).split())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
async def app_context(database, settings, clock) -> AppContext:
    return AppContext(database=database, settings=settings, clock=clock)


async def test_admin_input_refuses_control_characters_in_names(client, world, app_context):
    await login(client, world, "city_admin")
    for name in ("Haus\nNord", "Haus\r\nBEGIN:VEVENT", "Haus\x00", "Haus\tNord", "Haus\x1b[31m"):
        response = await client.post("/api/v1/admin/sites", json={"name": name, "contact_email": "haus@example.org"})
        assert response.status_code in (400, 422) and "name" in response.text, (name, response.status_code, response.text)
        response = await client.put(
            f"/api/v1/admin/resources/{world.room.id}", json={"kind": "room", "name": name, "capacity": 1}
        )
        assert response.status_code in (400, 422) and "name" in response.text, (name, response.status_code, response.text)
    async with app_context.database.reader() as session:
        assert (await session.get(Resource, world.room.id)).name == "Room A1"  # type: ignore[union-attr]
        assert len((await session.exec(select(Site))).all()) == 2
    # A multi-line address is still fine.
    response = await client.post(
        "/api/v1/admin/sites", json={"name": "Haus Nord", "contact_email": "haus@example.org", "address": "Weg 1\n24937 Flensburg"}
    )
    assert response.status_code == 201, response.text


async def test_display_names_lose_control_characters_before_storage(app_context):
    user = await accounts.create_user(app_context, email="nul@example.org", display_name="Anna\x00\r\nMüller\x07", password=None)
    assert user.display_name == "Anna Müller"


async def test_every_feed_and_freebusy_survive_hostile_names(client, world, app_context, settings):
    nul = False  # db/engine.py refuses NUL before storage on both databases; NUL in text: test_ical_builder
    site_name, resource_name = hostile("Site", nul=nul), hostile("Room", nul=nul)
    organisation_name, person_name = hostile("Org", nul=nul), hostile("Person", nul=nul)
    title, purpose = hostile("Title", nul=nul), hostile("Purpose", nul=nul)

    await login(client, world, "member_a")
    made = []
    for day, extra in ((3, {"organisation_id": world.org_a.id, "is_public": True}), (4, {"organisation_id": world.org_a.id})):
        starts_at = datetime(2026, 2, day, 18, tzinfo=BERLIN)
        response = await client.post(
            "/api/v1/bookings",
            json={"resource_id": world.room.id, "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=2)).isoformat(), "title": "T", **extra},
        )
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    # Names as old rows hold them (stored before the checks), straight into the database.
    async with app_context.database.transaction() as session:
        for booking_id in made:
            booking = await session.get(Booking, booking_id)
            booking.title, booking.purpose = title, purpose  # type: ignore[union-attr]
            session.add(booking)
        for model, row_id, field, value in (
            (Site, world.site_a.id, "name", site_name),
            (Resource, world.room.id, "name", resource_name),
            (Organisation, world.org_a.id, "name", organisation_name),
            (User, world["member_a"].user_id, "display_name", person_name),
        ):
            row = await session.get(model, row_id)
            setattr(row, field, value)
            session.add(row)

    feeds = {}
    for scope, target_id, private in (
        ("person", None, True), ("organisation", world.org_a.id, True), ("resource", world.room.id, False), ("site", world.site_a.id, False),
    ):
        response = await client.post("/api/v1/feeds", json={"scope": scope, "target_id": target_id, "private": private})
        assert response.status_code == 201, response.text
        feeds[(scope, private)] = response.json()["url"].removeprefix("http://testserver.local")
    await login(client, world, "lender_a")
    for scope, target_id in (("resource", world.room.id), ("site", world.site_a.id)):
        response = await client.post("/api/v1/feeds", json={"scope": scope, "target_id": target_id, "private": True})
        assert response.status_code == 201, response.text
        feeds[(scope, True)] = response.json()["url"].removeprefix("http://testserver.local")
    client.cookies.clear()

    for (scope, private), path in feeds.items():
        response = await client.get(path)
        assert response.status_code == 200, (scope, private, response.status_code, response.text[:500])
        assert b"\x00" not in response.content and b"\x07" not in response.content
        parsed = parse_with_icaljs(response.content)
        assert len(parsed["events"]) == 2, (scope, private)
        calendar_name = parsed["x-wr-calname"]
        assert "\n" not in calendar_name and "BEGIN:VEVENT" in calendar_name
        expected_in_name = {"person": person_name, "organisation": organisation_name, "resource": resource_name, "site": site_name}[scope]
        assert as_name(expected_in_name) in calendar_name, (scope, calendar_name)
        for event in parsed["events"]:
            assert as_text(resource_name) in event["summary"]
            assert as_text(resource_name) in event["location"] and as_text(site_name) in event["location"]
            if private or event["uid"] == f"booking-{made[0]}@testserver.local":  # details, or a public booking
                assert event["summary"] == f"{as_text(title)} – {as_text(resource_name)}"
                assert as_text(purpose) in event["description"] and as_text(organisation_name) in event["description"]
            if private and scope == "site":
                assert as_text(person_name) in event["description"]

    params = {"from": "2026-02-03T00:00:00+01:00", "until": "2026-02-05T00:00:00+01:00"}
    for path, count in (
        (f"/api/v1/resources/{world.room.id}/freebusy.ics", 1), (f"/api/v1/sites/{world.site_a.id}/freebusy.ics", 4),
    ):
        response = await client.get(path, params=params)
        assert response.status_code == 200, (path, response.text[:500])
        parsed = parse_with_icaljs(response.content)
        assert len(parsed["freebusy"]) == count
        assert "BEGIN:VEVENT" in parsed["x-wr-calname"] and "\n" not in parsed["x-wr-calname"]
        busy = [period for freebusy in parsed["freebusy"] for period in freebusy["periods"]]
        assert sorted(p["start"] for p in busy) == ["2026-02-03T17:00:00.000Z", "2026-02-04T17:00:00.000Z"]
