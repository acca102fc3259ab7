"""Every way a feed loses its right stops it on the very next request, even right after a 304.

A feed URL is polled with If-None-Match and mostly answered 304 from two cheap statements
(services/feed_access.py). Nothing of the authorisation is kept in the process between
requests: each case below serves the feed, gets a 304, takes the right away (in another
transaction, as another app process would) and asks again with the same If-None-Match, which
must answer 404, not 304.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from booking.auth.permissions import HIDDEN_VISIBILITY
from booking.models import Membership, Resource, SiteRole, User
from booking.services.context import AppContext
from booking.services.privacy.erasure import erase_account
from tests.http.conftest import login
from tests.integration.conftest import FixedClock


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))


async def _feed(client, world, role: str, scope: str, target_id: int | None = None, *, private: bool = False) -> dict:
    await login(client, world, role)
    response = await client.post("/api/v1/feeds", json={"scope": scope, "target_id": target_id, "private": private})
    assert response.status_code == 201, response.text
    return response.json()


async def _served_then_304(client, feed: dict) -> tuple[str, str]:
    """The feed's path and the ETag a calendar app holds, after a 200 and a 304."""
    path = feed["url"].removeprefix("http://testserver.local")
    first = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    again = await client.get(path, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert again.status_code == 304
    return path, etag


async def _gone(client, path: str, etag: str) -> None:
    for headers in ({"If-None-Match": etag}, {}):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 404, (headers, answer.status_code)
        assert "text/calendar" not in answer.headers.get("content-type", "")


async def _change(app_context: AppContext, model, condition, **values) -> None:  # type: ignore[no-untyped-def]
    async with app_context.database.transaction() as session:
        row = (await session.exec(select(model).where(condition))).one()
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)


async def _delete(app_context: AppContext, model, *conditions) -> None:  # type: ignore[no-untyped-def]
    async with app_context.database.transaction() as session:
        for row in (await session.exec(select(model).where(*conditions))).all():
            await session.delete(row)


async def test_a_revoked_feed_answers_404_right_after_a_304(client, world):
    feed = await _feed(client, world, "member_a", "resource", world.room.id)
    path, etag = await _served_then_304(client, feed)
    assert (await client.post(f"/api/v1/feeds/{feed['id']}/revoke", json={})).status_code == 200
    await _gone(client, path, etag)


async def test_a_renewed_feed_stops_its_old_url_right_after_a_304(client, world):
    feed = await _feed(client, world, "member_a", "resource", world.room.id)
    path, etag = await _served_then_304(client, feed)
    renewed = await client.post(f"/api/v1/feeds/{feed['id']}/regenerate", json={})
    assert renewed.status_code == 200
    await _gone(client, path, etag)
    assert (await client.get(renewed.json()["url"].removeprefix("http://testserver.local"))).status_code == 200


async def test_a_deactivated_owner_stops_their_feeds(client, world, app_context):
    feed = await _feed(client, world, "member_a", "organisation", world.org_a.id)
    path, etag = await _served_then_304(client, feed)
    await _change(app_context, User, User.id == world["member_a"].user_id, is_active=False)
    await _gone(client, path, etag)


async def test_an_erased_person_s_feed_stops(client, world, app_context):
    feed = await _feed(client, world, "member_a", "person")
    path, etag = await _served_then_304(client, feed)
    await erase_account(app_context, None, user_id=world["member_a"].user_id)
    await _gone(client, path, etag)


async def test_a_member_who_leaves_the_organisation_loses_its_feed(client, world, app_context):
    feed = await _feed(client, world, "member_a", "organisation", world.org_a.id)
    path, etag = await _served_then_304(client, feed)
    await _delete(app_context, Membership, Membership.user_id == world["member_a"].user_id)
    await _gone(client, path, etag)


async def test_a_city_admin_who_steps_down_loses_an_organisation_s_feed(client, world, app_context):
    feed = await _feed(client, world, "city_admin", "organisation", world.org_b.id)
    path, etag = await _served_then_304(client, feed)
    await _change(app_context, User, User.id == world["city_admin"].user_id, is_city_admin=False)
    await _gone(client, path, etag)


@pytest.mark.parametrize("scope", ["resource", "site"])
async def test_a_lender_who_leaves_the_site_loses_its_private_feeds(client, world, app_context, scope):
    target = world.room.id if scope == "resource" else world.site_a.id
    feed = await _feed(client, world, "lender_a", scope, target, private=True)
    path, etag = await _served_then_304(client, feed)
    await _delete(app_context, SiteRole, SiteRole.user_id == world["lender_a"].user_id)
    await _gone(client, path, etag)


async def test_a_manager_keeps_a_private_feed_while_a_lender_of_another_site_never_sees_it(client, world, app_context):
    """The control case: the site role of the right site counts, another site's does not."""
    feed = await _feed(client, world, "manager_a", "site", world.site_a.id, private=True)
    path, etag = await _served_then_304(client, feed)
    await _change(app_context, SiteRole, SiteRole.user_id == world["manager_a"].user_id, site_id=world.site_b.id)
    await _gone(client, path, etag)


@pytest.mark.parametrize("change", [{"is_active": False}, {"visibility": HIDDEN_VISIBILITY}])
async def test_a_deactivated_or_hidden_resource_stops_its_feed(client, world, app_context, change):
    feed = await _feed(client, world, "member_a", "resource", world.room.id)
    path, etag = await _served_then_304(client, feed)
    await _change(app_context, Resource, Resource.id == world.room.id, **change)
    await _gone(client, path, etag)


async def test_a_members_only_resource_s_feed_stops_when_its_owner_leaves_every_organisation(client, world, app_context):
    await _change(app_context, Resource, Resource.id == world.room.id, visibility="members")
    feed = await _feed(client, world, "member_a", "resource", world.room.id)
    path, etag = await _served_then_304(client, feed)
    await _delete(app_context, Membership, Membership.user_id == world["member_a"].user_id)
    await _gone(client, path, etag)


async def test_a_live_feed_keeps_answering_304(client, world, app_context):
    """The control case: a change that takes no right away leaves the feed as it was."""
    feed = await _feed(client, world, "member_a", "organisation", world.org_a.id)
    path, etag = await _served_then_304(client, feed)
    await _change(app_context, Resource, Resource.id == world.room_b.id, is_active=False)
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 304
