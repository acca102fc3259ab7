"""Feeds over HTTP: tokens, privacy, escaping, ical.js reading them back, ETag/304, free/busy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from booking.models import Booking, FeedToken
from booking.services.context import AppContext
from tests.http.conftest import login
from tests.integration.conftest import FixedClock
from tests.support.icaljs import parse_with_icaljs

BERLIN = ZoneInfo("Europe/Berlin")
TRICKY_TITLE = "Chor, Probe; Teil 2\nÜbung: Grüße – 東京 \\ done"
SECRET_PURPOSE = "Vertraulich: Beratung von Frau Müller"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
async def app_context(database, settings, clock) -> AppContext:
    """The HTTP app on a fixed clock: the dates below stay in the future."""
    return AppContext(database=database, settings=settings, clock=clock)


def iso(value: datetime) -> str:
    return value.isoformat()


async def book(client, resource_id: int, starts_at: datetime, hours: float = 2, **extra) -> dict:
    response = await client.post(
        "/api/v1/bookings",
        json={"resource_id": resource_id, "starts_at": iso(starts_at), "ends_at": iso(starts_at + timedelta(hours=hours)), **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_feed(client, scope: str, target_id: int | None = None, private: bool = False) -> dict:
    response = await client.post("/api/v1/feeds", json={"scope": scope, "target_id": target_id, "private": private})
    assert response.status_code == 201, response.text
    return response.json()


def path_of(feed: dict) -> str:
    return feed["url"].removeprefix("http://testserver.local")


async def test_feed_urls_are_secret_and_ical_js_reads_the_stored_instants(client, world, app_context):
    await login(client, world, "member_a")
    # Across the spring-forward switch: 18:00 local is 17:00Z before and 16:00Z after.
    winter = await book(client, world.room.id, datetime(2026, 3, 24, 18, tzinfo=BERLIN), organisation_id=world.org_a.id, title=TRICKY_TITLE, purpose=SECRET_PURPOSE)
    summer = await book(client, world.room.id, datetime(2026, 3, 31, 18, tzinfo=BERLIN), title="Sommer")
    feed = await make_feed(client, "person")
    assert feed["scope"] == "person" and feed["private"] is True and feed["token"].startswith("f_")
    assert feed["url"] == f"http://testserver.local/feeds/{feed['token']}.ics"
    assert feed["webcal_url"] == f"webcal://testserver.local/feeds/{feed['token']}.ics"
    async with app_context.database.reader() as session:
        stored = (await session.exec(select(FeedToken))).one()
    assert feed["token"] not in stored.token_hash and len(stored.token_hash) == 64

    client.cookies.clear()  # feeds need no login: the URL is the key
    response = await client.get(path_of(feed))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["etag"].startswith('"') and response.headers["last-modified"].endswith("GMT")
    assert b"\r\n" in response.content and b"\n\n" not in response.content

    parsed = parse_with_icaljs(response.content)
    assert parsed["x-wr-calname"] == "Bookings of Member A" or parsed["x-wr-calname"] == "Buchungen von Member A"
    assert parsed["timezones"] == ["Europe/Berlin"]
    events = {event["uid"]: event for event in parsed["events"]}
    async with app_context.database.reader() as session:
        rows = (await session.exec(select(Booking).order_by(Booking.id))).all()
    assert set(events) == {f"booking-{row.id}@testserver.local" for row in rows}
    for row in rows:
        event = events[f"booking-{row.id}@testserver.local"]
        assert event["start"]["utc"] == row.starts_at.astimezone(UTC).isoformat().replace("+00:00", ".000Z")
        assert event["end"]["utc"] == row.ends_at.astimezone(UTC).isoformat().replace("+00:00", ".000Z")
        assert event["start"]["tzid"] == "Europe/Berlin" and event["start"]["local"].endswith("T18:00:00")
        assert event["status"] == "CONFIRMED" and event["sequence"] == 0 and event["dtstamp"]
    assert events[f"booking-{winter['id']}@testserver.local"]["start"]["utc"] == "2026-03-24T17:00:00.000Z"
    assert events[f"booking-{summer['id']}@testserver.local"]["start"]["utc"] == "2026-03-31T16:00:00.000Z"
    # Newlines, commas, semicolons, backslashes and non-ASCII come back intact.
    tricky = events[f"booking-{winter['id']}@testserver.local"]
    assert tricky["summary"] == f"{TRICKY_TITLE} – Room A1"
    assert SECRET_PURPOSE in tricky["description"] and "Org A" in tricky["description"]
    assert tricky["location"].startswith("Room A1, Site A")


async def test_public_feeds_show_busy_time_never_who_or_why(client, world, app_context):
    await login(client, world, "member_a")
    private = await book(client, world.room.id, datetime(2026, 2, 3, 10, tzinfo=BERLIN), organisation_id=world.org_a.id, title="Geheimtreffen", purpose=SECRET_PURPOSE)
    open_event = await book(client, world.room.id, datetime(2026, 2, 4, 10, tzinfo=BERLIN), organisation_id=world.org_a.id, title="Offener Treff", purpose="Alle willkommen", is_public=True)
    cancelled = await book(client, world.room.id, datetime(2026, 2, 5, 10, tzinfo=BERLIN), title="Abgesagt")
    assert (await client.post(f"/api/v1/bookings/{cancelled['id']}/cancel", json={})).status_code == 200
    resource_feed = await make_feed(client, "resource", world.room.id)
    site_feed = await make_feed(client, "site", world.site_a.id)
    assert resource_feed["private"] is False and resource_feed["target_name"] == "Room A1 (Site A)"

    client.cookies.clear()
    for feed in (resource_feed, site_feed):
        body = (await client.get(path_of(feed))).content
        text = body.decode()
        for secret in ("Geheimtreffen", SECRET_PURPOSE, "Member A", "member_a@example.org", "Abgesagt", "mailto:"):
            assert secret not in text, f"{secret!r} leaked into a public feed"
        parsed = parse_with_icaljs(body)
        summaries = {event["uid"]: event["summary"] for event in parsed["events"]}
        assert set(summaries) == {f"booking-{private['id']}@testserver.local", f"booking-{open_event['id']}@testserver.local"}
        assert summaries[f"booking-{private['id']}@testserver.local"] in ("Busy – Room A1", "Belegt – Room A1")
        # A booking marked public shows its title and purpose (and organisation), never the person.
        assert summaries[f"booking-{open_event['id']}@testserver.local"] == "Offener Treff – Room A1"
        assert "Alle willkommen" in text and "Org A" in text


async def test_public_feeds_of_pooled_things_say_how_many_are_taken(client, world, app_context):
    await login(client, world, "member_a")
    await book(client, world.benches.id, datetime(2026, 2, 3, 10, tzinfo=BERLIN), quantity=3)
    feed = await make_feed(client, "resource", world.benches.id)
    client.cookies.clear()
    parsed = parse_with_icaljs((await client.get(path_of(feed))).content)
    assert [event["summary"] for event in parsed["events"]] == ["3 von 10 belegt – Benches"]


async def test_who_may_have_which_feed(client, world):
    await login(client, world, "member_a")
    denied = await client.post("/api/v1/feeds", json={"scope": "resource", "target_id": world.room.id, "private": True})
    assert denied.status_code == 403 and denied.json()["field"] == "private"
    assert (await client.post("/api/v1/feeds", json={"scope": "organisation", "target_id": world.org_b.id})).status_code == 403
    assert (await client.post("/api/v1/feeds", json={"scope": "person", "target_id": world["member_b"].user_id})).status_code == 403
    assert (await client.post("/api/v1/feeds", json={"scope": "resource", "target_id": 99999})).status_code == 404
    assert (await client.post("/api/v1/feeds", json={"scope": "planet", "target_id": 1})).status_code == 400
    assert (await client.post("/api/v1/feeds", json={"scope": "site"})).status_code == 400
    organisation = await make_feed(client, "organisation", world.org_a.id)
    assert organisation["private"] is True
    await client.post("/api/v1/auth/logout")
    assert (await client.get("/api/v1/feeds")).status_code == 401

    await login(client, world, "lender_a")
    staff = await make_feed(client, "site", world.site_a.id, private=True)
    assert staff["private"] is True
    assert (await client.post("/api/v1/feeds", json={"scope": "site", "target_id": world.site_b.id, "private": True})).status_code == 403
    mine = (await client.get("/api/v1/feeds")).json()
    assert [f["id"] for f in mine] == [staff["id"]] and "token" not in mine[0]


async def test_private_feeds_show_details_and_status(client, world, app_context):
    await login(client, world, "member_a")
    requested = await book(client, world.room_approval.id, datetime(2026, 2, 3, 10, tzinfo=BERLIN), title="Antrag", purpose="Jahresversammlung")
    cancelled = await book(client, world.room.id, datetime(2026, 2, 4, 10, tzinfo=BERLIN), title="Fällt aus")
    await client.post(f"/api/v1/bookings/{cancelled['id']}/cancel", json={"reason": "krank"})
    await client.post("/api/v1/auth/logout")
    await login(client, world, "lender_a")
    staff = await make_feed(client, "site", world.site_a.id, private=True)
    parsed = parse_with_icaljs((await client.get(path_of(staff))).content)
    events = {event["uid"]: event for event in parsed["events"]}
    antrag = events[f"booking-{requested['id']}@testserver.local"]
    assert antrag["status"] == "TENTATIVE" and antrag["summary"] == "Antrag – Hall A"
    assert "Jahresversammlung" in antrag["description"] and "Member A <member_a@example.org>" in antrag["description"]
    assert antrag["url"] == f"http://testserver.local/bookings/{requested['id']}"
    gone = events[f"booking-{cancelled['id']}@testserver.local"]
    assert gone["status"] == "CANCELLED" and gone["sequence"] == 1


async def test_revoked_unknown_and_renewed_tokens(client, world):
    await login(client, world, "member_a")
    feed = await make_feed(client, "resource", world.room.id)
    assert (await client.get(path_of(feed))).status_code == 200
    renewed = (await client.post(f"/api/v1/feeds/{feed['id']}/regenerate", json={})).json()
    assert renewed["token"] != feed["token"] and renewed["id"] == feed["id"]
    assert (await client.get(path_of(feed))).status_code == 404
    assert (await client.get(path_of(renewed))).status_code == 200
    revoked = await client.post(f"/api/v1/feeds/{feed['id']}/revoke", json={})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    answer = await client.get(path_of(renewed))
    assert answer.status_code == 404 and "text/calendar" not in answer.headers.get("content-type", "")
    assert (await client.post(f"/api/v1/feeds/{feed['id']}/regenerate", json={})).status_code == 400
    assert (await client.get("/feeds/f_nothing-like-this.ics")).status_code == 404
    assert (await client.get(f"/feeds/{renewed['token']}")).status_code == 404  # without .ics
    assert (await client.get("/api/v1/feeds")).json() == []
    assert len((await client.get("/api/v1/feeds", params={"include_revoked": "true"})).json()) == 1
    # Someone else's feed cannot be revoked or renewed.
    await client.post("/api/v1/auth/logout")
    await login(client, world, "member_b")
    assert (await client.post(f"/api/v1/feeds/{feed['id']}/revoke", json={})).status_code == 404


async def test_a_feed_stops_when_its_owner_loses_the_right(client, world, app_context):
    from booking.models import SiteRole

    await login(client, world, "lender_a")
    staff = await make_feed(client, "resource", world.room.id, private=True)
    assert (await client.get(path_of(staff))).status_code == 200
    async with app_context.database.transaction() as session:
        role = (await session.exec(select(SiteRole).where(SiteRole.user_id == world["lender_a"].user_id))).one()
        await session.delete(role)
    assert (await client.get(path_of(staff))).status_code == 404


async def test_etag_last_modified_and_304(client, world, app_context, clock):
    await login(client, world, "member_a")
    made = await book(client, world.room.id, datetime(2026, 2, 3, 10, tzinfo=BERLIN))
    feed = await make_feed(client, "resource", world.room.id)
    first = await client.get(path_of(feed))
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    again = await client.get(path_of(feed))
    assert again.status_code == 200 and again.content == first.content and again.headers["etag"] in (etag, etag[:-1] + "-gzip\"")  # the gzip body has its own ETag

    unchanged = await client.get(path_of(feed), headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
    assert (await client.get(path_of(feed), headers={"If-None-Match": f'"other", W/{etag}'})).status_code == 304
    assert (await client.get(path_of(feed), headers={"If-Modified-Since": last_modified})).status_code == 304
    assert (await client.get(path_of(feed), headers={"If-None-Match": '"other"'})).status_code == 200
    older = format_datetime(datetime(2025, 1, 1, tzinfo=UTC), usegmt=True)
    assert (await client.get(path_of(feed), headers={"If-Modified-Since": older})).status_code == 200
    assert (await client.get(path_of(feed), headers={"If-Modified-Since": "not a date"})).status_code == 200

    # A change makes a new ETag and a new body.
    clock.now += timedelta(minutes=5)
    moved = await client.patch(f"/api/v1/bookings/{made['id']}", json={"starts_at": iso(datetime(2026, 2, 3, 11, tzinfo=BERLIN)), "ends_at": iso(datetime(2026, 2, 3, 13, tzinfo=BERLIN))})
    assert moved.status_code == 200, moved.text
    changed = await client.get(path_of(feed), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    [event] = parse_with_icaljs(changed.content)["events"]
    assert event["start"]["utc"] == "2026-02-03T10:00:00.000Z" and event["sequence"] == 1
    # A new booking changes it too (count), so does a cancellation.
    second = await book(client, world.room.id, datetime(2026, 2, 10, 10, tzinfo=BERLIN))
    newer = await client.get(path_of(feed), headers={"If-None-Match": changed.headers["etag"]})
    assert newer.status_code == 200 and len(parse_with_icaljs(newer.content)["events"]) == 2
    clock.now += timedelta(minutes=5)
    await client.post(f"/api/v1/bookings/{second['id']}/cancel", json={})
    newest = await client.get(path_of(feed), headers={"If-None-Match": newer.headers["etag"]})
    assert newest.status_code == 200 and len(parse_with_icaljs(newest.content)["events"]) == 1


async def test_a_feed_polled_again_is_served_gzip_compressed(client, world):
    import gzip

    await login(client, world, "member_a")
    await book(client, world.room.id, datetime(2026, 2, 3, 10, tzinfo=BERLIN), title="Probe")
    feed = await make_feed(client, "resource", world.room.id)
    plain = await client.get(path_of(feed), headers={"Accept-Encoding": "identity"})
    first = await client.get(path_of(feed), headers={"Accept-Encoding": "gzip"})
    again = await client.get(path_of(feed), headers={"Accept-Encoding": "gzip"})
    for response in (first, again):
        assert response.headers.get("content-encoding") == "gzip" and "Accept-Encoding" in response.headers["vary"]
        assert response.content == plain.content  # as decoded by httpx
    async with client.stream("GET", path_of(feed), headers={"Accept-Encoding": "gzip"}) as streamed:
        wire = b"".join([chunk async for chunk in streamed.aiter_raw()])
    assert len(wire) < len(plain.content) and gzip.decompress(wire) == plain.content
    assert plain.headers.get("content-encoding") is None
    assert parse_with_icaljs(again.content)["events"]


async def test_free_busy_json_and_vfreebusy(client, world):
    await login(client, world, "member_a")
    await book(client, world.room.id, datetime(2026, 2, 3, 10, tzinfo=BERLIN))
    await book(client, world.room.id, datetime(2026, 2, 3, 12, tzinfo=BERLIN))  # back to back: one busy block
    for quantity in (4, 6):  # the benches are full only while both are out
        await book(client, world.benches.id, datetime(2026, 2, 3, 10, tzinfo=BERLIN), hours=3 if quantity == 4 else 1, quantity=quantity)
    await client.post("/api/v1/auth/logout")
    params = {"from": "2026-02-03T00:00:00+01:00", "until": "2026-02-04T00:00:00+01:00"}

    room = (await client.get(f"/api/v1/resources/{world.room.id}/freebusy", params=params)).json()
    assert room["busy"] == [{"starts_at": "2026-02-03T09:00:00Z", "ends_at": "2026-02-03T13:00:00Z"}]
    assert room["starts_at"] == "2026-02-02T23:00:00Z"
    site = (await client.get(f"/api/v1/sites/{world.site_a.id}/freebusy", params=params)).json()
    by_name = {r["resource_name"]: r["busy"] for r in site["resources"]}
    assert by_name["Benches"] == [{"starts_at": "2026-02-03T09:00:00Z", "ends_at": "2026-02-03T10:00:00Z"}]
    assert by_name["Room A2"] == [] and "Room B1" not in by_name

    ics = await client.get(f"/api/v1/resources/{world.room.id}/freebusy.ics", params=params)
    assert ics.headers["content-type"] == "text/calendar; charset=utf-8"
    [freebusy] = parse_with_icaljs(ics.content)["freebusy"]
    assert [(p["start"], p["end"]) for p in freebusy["periods"]] == [("2026-02-03T09:00:00.000Z", "2026-02-03T13:00:00.000Z")]
    site_ics = parse_with_icaljs((await client.get(f"/api/v1/sites/{world.site_a.id}/freebusy.ics", params=params)).content)
    assert len(site_ics["freebusy"]) == 4 and b"Member" not in ics.content

    assert (await client.get(f"/api/v1/resources/{world.room.id}/freebusy", params={"from": "2026-02-03T00:00:00+01:00", "until": "2028-02-03T00:00:00+01:00"})).status_code == 400
    assert (await client.get(f"/api/v1/resources/{world.room.id}/freebusy", params={"from": "2026-02-03T00:00:00", "until": "2026-02-04T00:00:00"})).status_code == 400
    assert (await client.get(f"/api/v1/resources/{world.room.id}/freebusy", params={"from": "yesterday"})).status_code == 400
    assert (await client.get("/api/v1/resources/99999/freebusy")).status_code == 404
    assert (await client.get("/api/v1/sites/99999/freebusy.ics")).status_code == 404


async def test_free_busy_counts_closures_and_repair_blocks(client, world, app_context):
    from booking.models import Blackout

    async with app_context.database.transaction() as session:
        session.add(Blackout(site_id=world.site_a.id, starts_at=datetime(2026, 2, 3, 14, tzinfo=BERLIN), ends_at=datetime(2026, 2, 3, 16, tzinfo=BERLIN), reason="Betriebsversammlung"))
        session.add(Blackout(site_id=world.site_a.id, resource_id=world.benches.id, kind="repair", starts_at=datetime(2026, 2, 3, 8, tzinfo=BERLIN), ends_at=datetime(2026, 2, 3, 9, tzinfo=BERLIN)))
    params = {"from": "2026-02-03T00:00:00+01:00", "until": "2026-02-04T00:00:00+01:00"}
    room = (await client.get(f"/api/v1/resources/{world.room.id}/freebusy", params=params)).json()
    assert room["busy"] == [{"starts_at": "2026-02-03T13:00:00Z", "ends_at": "2026-02-03T15:00:00Z"}]
    site = (await client.get(f"/api/v1/sites/{world.site_a.id}/freebusy", params=params)).json()
    by_name = {r["resource_name"]: r["busy"] for r in site["resources"]}
    assert by_name["Benches"] == [
        {"starts_at": "2026-02-03T07:00:00Z", "ends_at": "2026-02-03T08:00:00Z"},
        {"starts_at": "2026-02-03T13:00:00Z", "ends_at": "2026-02-03T15:00:00Z"},
    ]
