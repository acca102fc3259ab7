"""Entries whose time began while still waiting lapse (a bounded job), stop counting against
the person's open entries, and are listed as ended for 14 days (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking.domain.errors import PolicyViolation
from booking.services import bookings, waiting_list, waiting_list_jobs, waiting_list_views
from booking.services.bookings import BookingRequest
from booking.services.waiting_list import JoinRequest
from tests.integration.test_waiting_list import entries, tuesday_evening


async def _waiting(app, world, starts_at, ends_at):
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    return await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))


async def test_waiting_entries_lapse_when_their_time_begins_and_free_the_persons_quota(app, world, clock):
    app.settings = app.settings.replace(waiting_list=app.settings.waiting_list.__class__(max_entries_per_person=1))
    starts_at, ends_at = tuesday_evening(app)
    entry = await _waiting(app, world, starts_at, ends_at)
    assert await waiting_list_jobs.lapse_past_entries(app, now=starts_at - timedelta(minutes=1)) == 0
    clock.now = starts_at
    assert await waiting_list_jobs.lapse_past_entries(app) == 1
    assert await waiting_list_jobs.lapse_past_entries(app) == 0
    [lapsed] = await entries(app, world.room.id)
    assert (lapsed.id, lapsed.status, lapsed.decided_at) == (entry.id, "lapsed", starts_at)
    # The lapsed entry no longer counts against the one open entry allowed.
    later_start = starts_at + timedelta(days=7)
    await _waiting(app, world, later_start, later_start + timedelta(hours=2))
    with pytest.raises(PolicyViolation):
        other = later_start + timedelta(days=7)
        await _waiting(app, world, other, other + timedelta(hours=2))


async def test_lapsing_is_bounded_per_run(app, world, clock, monkeypatch):
    starts_at, ends_at = tuesday_evening(app)
    await _waiting(app, world, starts_at, ends_at)
    await _waiting(app, world, starts_at + timedelta(days=1), ends_at + timedelta(days=1))
    monkeypatch.setattr(waiting_list_jobs, "MAX_LAPSED_PER_RUN", 1)
    later = ends_at + timedelta(days=2)
    assert [await waiting_list_jobs.lapse_past_entries(app, now=later) for _ in range(3)] == [1, 1, 0]


async def test_ended_entries_are_listed_for_14_days(app, world, clock):
    starts_at, ends_at = tuesday_evening(app)
    lapsing = await _waiting(app, world, starts_at, ends_at)
    later_start = starts_at + timedelta(days=3)
    withdrawn = await _waiting(app, world, later_start, later_start + timedelta(hours=2))
    clock.now = starts_at - timedelta(days=1)
    await waiting_list_views.withdraw(app, world["member_b"], withdrawn.id)
    assert [v.entry.id for v in await waiting_list_views.my_ended_entries(app, world["member_b"])] == [withdrawn.id]
    clock.now = starts_at
    await waiting_list_jobs.lapse_past_entries(app)
    assert [v.entry.id for v in await waiting_list_views.my_ended_entries(app, world["member_b"])] == [lapsing.id, withdrawn.id]
    assert await waiting_list_views.my_ended_entries(app, world["org_admin_a"]) == []  # only one's own
    clock.now = starts_at + timedelta(days=13, hours=23)
    assert [v.entry.id for v in await waiting_list_views.my_ended_entries(app, world["member_b"])] == [lapsing.id]
    clock.now = starts_at + timedelta(days=14, minutes=1)
    assert await waiting_list_views.my_ended_entries(app, world["member_b"]) == []
