"""Feeds survive a restart (issue 10): a fresh process — new Database, empty process caches —
serves an unchanged feed from the document kept in the database, without writing one event."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from booking.app import create_app
from booking.db import Database
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

            # One booking changes: the stored document is stale and the feed is written anew.
            await book(client, world.room.id, datetime(2026, 3, 9, 18, tzinfo=BERLIN) + timedelta(days=1))
            changed = await other.get(path_of(feed))
            assert changed.content.count(b"BEGIN:VEVENT") == 6 and changed.headers["etag"] != first.headers["etag"]
            assert len(rendered) == 6
    finally:
        await fresh_database.dispose()
