"""Feeds survive a restart (issue 10): a fresh process — new Database, empty process caches —
serves an unchanged feed from the document kept in the database, without writing one event."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete
from sqlmodel import select

from booking.app import create_app
from booking.db import Database
from booking.models import FeedDocumentCache
from booking.services import feeds
from booking.services.context import AppContext
from tests.http.conftest import login
from tests.http.test_feeds import BERLIN, app_context, book, clock, make_feed, path_of  # noqa: F401 - fixtures


async def test_a_fresh_process_serves_the_stored_feed_without_rendering(client, world, app_context, settings, monkeypatch):
    await login(client, world, "member_a")
    for day in range(5):
        await book(client, world.room.id, datetime(2026, 3, 2 + day, 18, tzinfo=BERLIN))
    feed = await make_feed(client, "resource", world.room.id)
    first = await client.get(path_of(feed))
    assert first.status_code == 200 and first.content.count(b"BEGIN:VEVENT") == 5

    rendered: list[object] = []
    real_row_text = feeds._row_text  # noqa: SLF001

    def counting_row_text(*args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(args)
        return real_row_text(*args, **kwargs)

    monkeypatch.setattr(feeds, "_row_text", counting_row_text)
    feeds.clear_document_cache()  # what a new process starts with
    fresh_database = Database(app_context.database.url)
    try:
        fresh = AppContext(database=fresh_database, settings=settings, clock=app_context.clock)
        transport = httpx.ASGITransport(app=create_app(settings, app_context=fresh))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as other:
            again = await other.get(path_of(feed))
            assert again.status_code == 200
            assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
            assert rendered == []

            # One booking is added: the stored document is stale; the fresh process writes only
            # the new event and takes the other five from the stored document (issue 10).
            await book(client, world.room.id, datetime(2026, 3, 9, 18, tzinfo=BERLIN) + timedelta(days=1))
            changed = await other.get(path_of(feed))
            assert changed.content.count(b"BEGIN:VEVENT") == 6 and changed.headers["etag"] != first.headers["etag"]
            assert len(rendered) == 1
    finally:
        await fresh_database.dispose()
    # The same bytes as a document written from nothing.
    assert changed.content == await _written_from_nothing(client, app_context, path_of(feed))


async def _written_from_nothing(client, app_context, path: str) -> bytes:  # type: ignore[no-untyped-def]
    feeds.clear_document_cache()
    async with app_context.database.transaction() as session:
        await session.exec(delete(FeedDocumentCache))  # type: ignore[call-overload]
    response = await client.get(path)
    assert response.status_code == 200
    return response.content


async def test_a_changed_booking_is_patched_into_the_document(client, world, app_context, monkeypatch):
    """A process that wrote the feed loads only what changed since and writes only that."""
    await login(client, world, "member_a")
    ids = [
        (await book(client, world.room.id, datetime(2026, 3, 2 + day, 18, tzinfo=BERLIN)))["id"] for day in range(4)
    ]
    feed = await make_feed(client, "resource", world.room.id)
    assert (await client.get(path_of(feed))).content.count(b"BEGIN:VEVENT") == 4

    rendered: list[object] = []
    real_row_text = feeds._row_text  # noqa: SLF001

    def counting_row_text(*args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(args)
        return real_row_text(*args, **kwargs)

    monkeypatch.setattr(feeds, "_row_text", counting_row_text)
    moved = await client.patch(f"/api/v1/bookings/{ids[1]}", json={"starts_at": "2026-03-20T18:00:00+01:00",
                                                                   "ends_at": "2026-03-20T20:00:00+01:00"})
    assert moved.status_code == 200, moved.text
    cancelled = await client.post(f"/api/v1/bookings/{ids[2]}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    patched = await client.get(path_of(feed))
    # The moved booking written again (now last); the cancelled one gone from the public feed.
    assert patched.content.count(b"BEGIN:VEVENT") == 3 and len(rendered) == 1
    monkeypatch.setattr(feeds, "_row_text", real_row_text)
    assert patched.content == await _written_from_nothing(client, app_context, path_of(feed))


async def _stored_etag(app_context: AppContext) -> str | None:
    """The ETag of the feed document kept in the database (the tests keep one feed)."""
    async with app_context.database.reader() as session:
        return (await session.exec(select(FeedDocumentCache.etag))).first()  # type: ignore[no-any-return]


async def test_a_document_written_shortly_after_the_last_waits_until_the_app_stops(client, world, app_context, clock):
    """A feed's document is written to the database at most every DOCUMENT_STORE_INTERVAL per
    process (1.5 MB for 5,000 events); the one kept back is written when the app stops."""
    await login(client, world, "member_a")
    booking = await book(client, world.room.id, datetime(2026, 3, 2, 18, tzinfo=BERLIN))
    feed = await make_feed(client, "resource", world.room.id)
    first = await client.get(path_of(feed))
    assert await _stored_etag(app_context) == first.headers["etag"].strip('"')

    clock.now += feeds.DOCUMENT_STORE_INTERVAL / 2
    cancelled = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    changed = await client.get(path_of(feed))
    assert changed.headers["etag"] != first.headers["etag"]
    assert await _stored_etag(app_context) == first.headers["etag"].strip('"')  # kept back

    assert await feeds.store_pending_documents(app_context) == 1
    assert await _stored_etag(app_context) == changed.headers["etag"].strip('"')

    # Past the interval the next document is written at once.
    clock.now += feeds.DOCUMENT_STORE_INTERVAL
    await book(client, world.room.id, datetime(2026, 3, 3, 18, tzinfo=BERLIN))
    again = await client.get(path_of(feed))
    assert await _stored_etag(app_context) == again.headers["etag"].strip('"')
    assert await feeds.store_pending_documents(app_context) == 0


async def test_the_first_change_after_a_restart_is_not_written_in_its_request(client, world, app_context, clock):
    """A process that served the stored document knows it current: the first change after a
    start is kept back like any change within DOCUMENT_STORE_INTERVAL (writing 1.5 MB for
    5,000 events was most of that request), and written when the app stops."""
    await login(client, world, "member_a")
    booking = await book(client, world.room.id, datetime(2026, 3, 2, 18, tzinfo=BERLIN))
    feed = await make_feed(client, "resource", world.room.id)
    first = await client.get(path_of(feed))
    feeds.clear_document_cache()  # a new process: only the stored document is left
    restarted = await client.get(path_of(feed))
    assert restarted.headers["etag"] == first.headers["etag"]

    clock.now += feeds.DOCUMENT_STORE_INTERVAL / 2
    cancelled = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    changed = await client.get(path_of(feed))
    assert changed.headers["etag"] != first.headers["etag"]
    assert await _stored_etag(app_context) == first.headers["etag"].strip('"')  # kept back
    assert await feeds.store_pending_documents(app_context) == 1
    assert await _stored_etag(app_context) == changed.headers["etag"].strip('"')
