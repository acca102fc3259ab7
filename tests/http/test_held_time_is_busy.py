"""A waiting list's held offer is busy time wherever the public sees busy time: public feeds
(TENTATIVE, gone once expired or declined; the stored feed document follows) and the door sign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from booking.domain.short_codes import code_for
from booking.models import Booking, FeedDocumentCache
from booking.services import bookings, feeds, waiting_list, waiting_list_holds, waiting_list_jobs
from booking.services.bookings import BookingRequest
from booking.services.context import AppContext
from booking.services.waiting_list import JoinRequest
from tests.http.conftest import login
from tests.http.test_feeds import make_feed, path_of
from tests.integration.conftest import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
async def app_context(database, settings, clock) -> AppContext:
    return AppContext(database=database, settings=settings, clock=clock)


async def _held_offer(app_context, world, starts_at: datetime) -> Booking:
    """member_a's booking over ``starts_at`` + 2 h is cancelled; member_b, waiting, holds it now."""
    ends_at = starts_at + timedelta(hours=2)
    taken = await bookings.create_booking(app_context, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    await waiting_list.join(app_context, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    await bookings.cancel_booking(app_context, world["member_a"], taken.id)
    async with app_context.database.reader() as session:
        return (await session.exec(select(Booking).where(Booking.status == "held"))).one()


def _events(body: bytes) -> dict[str, str]:
    """UID -> STATUS of every VEVENT of a feed."""
    found: dict[str, str] = {}
    for block in body.decode().split("BEGIN:VEVENT")[1:]:
        lines = dict(line.split(":", 1) for line in block.split("\r\n") if ":" in line and not line.startswith(" "))
        found[lines["UID"]] = lines.get("STATUS", "")
    return found


async def _stored(app_context, feed_id: int) -> bytes:
    async with app_context.database.reader() as session:
        return (await session.exec(select(FeedDocumentCache.body).where(FeedDocumentCache.feed_id == feed_id))).one()


async def test_public_feeds_show_a_hold_as_tentative_until_it_expires(client, world, app_context, clock):
    await login(client, world, "member_a")
    resource_feed = await make_feed(client, "resource", world.room.id)
    site_feed = await make_feed(client, "site", world.site_a.id)
    client.cookies.clear()
    for feed in (resource_feed, site_feed):  # rendered (and stored) before the hold exists
        assert _events((await client.get(path_of(feed))).content) == {}
    hold = await _held_offer(app_context, world, datetime(2026, 1, 20, 17, tzinfo=UTC))
    uid = f"booking-{hold.id}@testserver.local"
    for feed in (resource_feed, site_feed):
        body = (await client.get(path_of(feed))).content
        assert _events(body) == {uid: "TENTATIVE"}
        assert "Member B" not in body.decode() and "member_b@" not in body.decode()
        # A process writes a feed's document at most every 30 s and the rest when it stops.
        await feeds.store_pending_documents(app_context)
        assert _events(await _stored(app_context, feed["id"])) == {uid: "TENTATIVE"}
    # Another app process (or a restart): the stored document follows the hold too.
    feeds.clear_document_cache()
    clock.now = clock.now + timedelta(hours=24, minutes=1)
    assert await waiting_list_jobs.expire_holds(app_context) == 1
    for feed in (resource_feed, site_feed):
        assert _events((await client.get(path_of(feed))).content) == {}
        await feeds.store_pending_documents(app_context)
        assert _events(await _stored(app_context, feed["id"])) == {}


async def test_a_taken_hold_stays_busy_and_a_declined_one_goes(client, world, app_context):
    await login(client, world, "member_a")
    feed = await make_feed(client, "resource", world.room.id)
    client.cookies.clear()
    first = await _held_offer(app_context, world, datetime(2026, 1, 20, 17, tzinfo=UTC))
    assert _events((await client.get(path_of(feed))).content) == {f"booking-{first.id}@testserver.local": "TENTATIVE"}
    await waiting_list_holds.confirm_hold(app_context, world["member_b"], first.id)
    assert _events((await client.get(path_of(feed))).content) == {f"booking-{first.id}@testserver.local": "CONFIRMED"}
    second = await _held_offer(app_context, world, datetime(2026, 1, 27, 17, tzinfo=UTC))
    assert f"booking-{second.id}@testserver.local" in _events((await client.get(path_of(feed))).content)
    await waiting_list_holds.decline_hold(app_context, world["member_b"], second.id)
    assert _events((await client.get(path_of(feed))).content) == {f"booking-{first.id}@testserver.local": "CONFIRMED"}


async def test_the_door_sign_shows_a_hold_as_busy(client, world, app_context):
    code = code_for(world.room.id)  # type: ignore[arg-type]
    hold = await _held_offer(app_context, world, datetime(2026, 1, 5, 13, tzinfo=UTC))  # today, 14:00 in Berlin
    page = await client.get(f"/r/{code}/tuer")
    assert page.status_code == 200
    assert "14:00" in page.text and "für die Warteliste vorgemerkt" in page.text
    assert "Member B" not in page.text
    await waiting_list_holds.decline_hold(app_context, world["member_b"], hold.id)
    page = await client.get(f"/r/{code}/tuer")
    assert "für die Warteliste vorgemerkt" not in page.text and "14:00" not in page.text
