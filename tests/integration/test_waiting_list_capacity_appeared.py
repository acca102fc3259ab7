"""Capacity that appears without a booking being released is offered to the waiting list, in
the transaction of the change: a closure removed or shortened, a repair lifted, capacity
raised, a resource active again, buffers shrunk, a series date moved away (both databases)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from booking.domain.intervals import Interval
from booking.domain.recurrence import RecurrenceRule
from booking.services import blackouts, bookings, repairs, resource_admin, series, waiting_list
from booking.services.blackouts import BlackoutInput
from booking.services.bookings import BookingRequest
from booking.services.resource_admin import PolicyInput, ResourceInput
from booking.services.waiting_list import JoinRequest
from tests.integration.test_waiting_list import entries, held, offers, tuesday_evening


async def _taken_and_waiting(app, world, resource, quantity: int = 1, *, wants: int = 1):
    """``resource`` taken over Tuesday evening by member_a; member_b waits for it."""
    starts_at, ends_at = tuesday_evening(app)
    taken = await bookings.create_booking(app, world["member_a"], BookingRequest(resource.id, starts_at, ends_at, quantity=quantity))
    entry = await waiting_list.join(app, world["member_b"], JoinRequest(resource.id, starts_at, ends_at, quantity=wants))
    return taken, entry


async def _status(app, resource_id: int, entry_id: int) -> str:
    return {e.id: e.status for e in await entries(app, resource_id)}[entry_id]


async def test_removing_a_closure_of_the_resource_offers_its_time(app, world):
    taken, entry = await _taken_and_waiting(app, world, world.room)
    starts_at, ends_at = tuesday_evening(app)
    closure = (await blackouts.add_blackout(app, world["manager_a"], world.site_a.id, BlackoutInput(
        starts_at - timedelta(hours=1), ends_at + timedelta(hours=1), resource_id=world.room.id))).blackout
    await bookings.cancel_booking(app, world["member_a"], taken.id)
    assert await _status(app, world.room.id, entry.id) == "waiting"  # closed: nothing to offer
    await blackouts.delete_blackout(app, world["manager_a"], world.site_a.id, closure.id)
    assert await _status(app, world.room.id, entry.id) == "offered"
    [hold] = await held(app, world.room.id)
    assert hold.booker_id == world["member_b"].user_id
    assert [m.recipient for m in await offers(app)] == [world.emails["member_b"]]


async def test_shortening_a_site_closure_offers_what_it_no_longer_covers_bounded_per_site(app, world, monkeypatch):
    room_taken, room_entry = await _taken_and_waiting(app, world, world.room)
    other_taken, other_entry = await _taken_and_waiting(app, world, world.comparable_room)
    starts_at, ends_at = tuesday_evening(app)
    closure = (await blackouts.add_blackout(app, world["manager_a"], world.site_a.id, BlackoutInput(
        starts_at - timedelta(days=1), ends_at + timedelta(hours=1)))).blackout
    for taken in (room_taken, other_taken):
        await bookings.cancel_booking(app, world["member_a"], taken.id)
    # Shortened, but still over the evening: nothing opens.
    await blackouts.update_blackout(app, world["manager_a"], closure.id, BlackoutInput(
        starts_at - timedelta(hours=2), ends_at + timedelta(hours=1)))
    assert [await _status(app, world.room.id, room_entry.id), await _status(app, world.comparable_room.id, other_entry.id)] == ["waiting"] * 2
    # One resource per site-wide change at most: the lower id first, the other stays in line.
    monkeypatch.setattr(waiting_list, "MAX_RESOURCES_PER_SITE_CHANGE", 1)
    await blackouts.update_blackout(app, world["manager_a"], closure.id, BlackoutInput(
        starts_at - timedelta(hours=2), starts_at))
    first, second = sorted([(world.room.id, room_entry.id), (world.comparable_room.id, other_entry.id)])
    assert await _status(app, *first) == "offered"
    assert await _status(app, *second) == "waiting"


async def test_lifting_a_repair_offers_the_thing(app, world):
    taken, entry = await _taken_and_waiting(app, world, world.benches, quantity=10, wants=2)
    starts_at, ends_at = tuesday_evening(app)
    report = await repairs.block_for_repair(app, world["lender_a"], world.benches.id, Interval(starts_at - timedelta(days=1), ends_at + timedelta(days=1)))
    await bookings.cancel_booking(app, world["member_a"], taken.id)
    assert await _status(app, world.benches.id, entry.id) == "waiting"
    await repairs.remove_repair_block(app, world["lender_a"], world.benches.id, report.blackout.id)
    assert await _status(app, world.benches.id, entry.id) == "offered"
    [hold] = await held(app, world.benches.id)
    assert hold.quantity == 2


async def test_raising_capacity_offers_the_new_units(app, world):
    _, entry = await _taken_and_waiting(app, world, world.benches, quantity=10, wants=2)
    await resource_admin.update_resource(app, world["manager_a"], world.benches.id, ResourceInput(
        kind="item", name="Benches", category="Furniture", capacity=11))
    assert await _status(app, world.benches.id, entry.id) == "waiting"  # 1 more does not fit 2
    await resource_admin.update_resource(app, world["manager_a"], world.benches.id, ResourceInput(
        kind="item", name="Benches", category="Furniture", capacity=12))
    assert await _status(app, world.benches.id, entry.id) == "offered"


async def test_reactivating_a_resource_offers_its_free_time(app, world):
    taken, entry = await _taken_and_waiting(app, world, world.room)
    await resource_admin.set_resource_active(app, world["manager_a"], world.room.id, False)
    await bookings.cancel_booking(app, world["member_a"], taken.id)
    assert await _status(app, world.room.id, entry.id) == "waiting"  # not bookable: not offered
    await resource_admin.set_resource_active(app, world["manager_a"], world.room.id, True)
    assert await _status(app, world.room.id, entry.id) == "offered"


async def test_shrinking_buffers_offers_the_gap(app, world):
    await resource_admin.update_policy(app, world["manager_a"], world.room.id, PolicyInput(buffer_after_minutes=60))
    starts_at, ends_at = tuesday_evening(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    later = ends_at + timedelta(minutes=30)
    entry = await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, later, later + timedelta(hours=1)))
    await resource_admin.update_policy(app, world["manager_a"], world.room.id, PolicyInput(buffer_after_minutes=45))
    assert await _status(app, world.room.id, entry.id) == "waiting"
    await resource_admin.update_policy(app, world["manager_a"], world.room.id, PolicyInput(buffer_after_minutes=15))
    assert await _status(app, world.room.id, entry.id) == "offered"


async def test_moving_series_dates_away_offers_the_time_they_left(app, world):
    starts_at, ends_at = tuesday_evening(app)
    rule = RecurrenceRule("weekly", weekdays=("TU",), until=date(2026, 2, 3))
    local_start = datetime(2026, 1, 20, 18, 0)  # Berlin: the Tuesday evening of ``tuesday_evening``
    made = await series.create_series(app, world["member_a"], series.SeriesRequest(
        world.room.id, local_start, timedelta(hours=2), rule))
    assert made.booked[0].starts_at == starts_at
    entry = await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    await series.change_series(app, world["member_a"], made.series.id, local_time=time(10, 0))
    assert await _status(app, world.room.id, entry.id) == "offered"


async def test_capacity_appeared_is_bounded_in_time(app, world):
    _, entry = await _taken_and_waiting(app, world, world.benches, quantity=10)
    now = app.now()
    async with app.database.transaction() as session:
        far = Interval(now + waiting_list.MAX_APPEARED_SPAN, now + waiting_list.MAX_APPEARED_SPAN + timedelta(days=1))
        assert await waiting_list.capacity_appeared(session, app, world.benches.id, far, now=now) == []
