"""Waiting lists on both databases: joining, offers of freed capacity as ``held`` bookings,
taking, declining, expiry, pooled capacity, the staff's ordering and the privacy register."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from booking.domain.errors import Conflict, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from booking.models import Booking, OutboxMessage, WaitingListEntry
from booking.services import bookings, waiting_list, waiting_list_holds, waiting_list_jobs, waiting_list_staff, waiting_list_views
from booking.services.bookings import BookingRequest
from booking.services.privacy.erasure import erase_user_in_session
from booking.services.privacy.export import export_person
from booking.services.waiting_list import AlreadyWaiting, JoinRequest, SlotIsFree
from tests.support.world import next_monday


def tuesday_evening(app, weeks: int = 2):
    start = next_monday(app.now(), weeks) + timedelta(days=1, hours=17)  # Tuesday 18:00 Berlin (winter)
    return start, start + timedelta(hours=2)


async def entries(app, resource_id: int) -> list[WaitingListEntry]:
    async with app.database.reader() as session:
        return list((await session.exec(
            select(WaitingListEntry).where(WaitingListEntry.resource_id == resource_id).order_by(col(WaitingListEntry.id))
        )).all())


async def offers(app) -> list[OutboxMessage]:
    async with app.database.reader() as session:
        return list((await session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "waiting_list_offer").order_by(col(OutboxMessage.id))
        )).all())


async def held(app, resource_id: int) -> list[Booking]:
    async with app.database.reader() as session:
        return list((await session.exec(
            select(Booking).where(Booking.resource_id == resource_id, Booking.status == "held")
        )).all())


async def test_join_only_a_taken_slot_once_and_within_the_bound(app, world):
    starts_at, ends_at = tuesday_evening(app)
    with pytest.raises(SlotIsFree):
        await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    entry = await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at, title="Probe"))
    assert (entry.status, entry.position) == ("waiting", 1)
    with pytest.raises(AlreadyWaiting):
        await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    # Somebody else's organisation: not for this person.
    with pytest.raises(PermissionDenied):
        await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at, organisation_id=world.org_a.id))
    # The bound on open entries per person.
    app.settings = app.settings.replace(waiting_list=app.settings.waiting_list.__class__(max_entries_per_person=1))
    other_start = starts_at + timedelta(days=7)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, other_start, other_start + timedelta(hours=2)))
    with pytest.raises(PolicyViolation):
        await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, other_start, other_start + timedelta(hours=2)))


async def test_cancel_offers_a_hold_that_blocks_others_until_taken(app, world, clock):
    starts_at, ends_at = tuesday_evening(app)
    taken = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    entry = await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    await bookings.cancel_booking(app, world["member_a"], taken.id)
    [hold] = await held(app, world.room.id)
    assert hold.booker_id == world["member_b"].user_id
    assert hold.hold_expires_at == clock.now + timedelta(hours=24)
    [mail] = await offers(app)
    assert mail.recipient == world.emails["member_b"] and mail.booking_id == hold.id
    assert "waiting-list/offers" not in (mail.payload or "")  # the worker signs the link; no secret stored
    (refreshed,) = await entries(app, world.room.id)
    assert (refreshed.status, refreshed.booking_id) == ("offered", hold.id)
    with pytest.raises(Conflict):
        await bookings.create_booking(app, world["org_admin_a"], BookingRequest(world.room.id, starts_at, ends_at))
    confirmed = await waiting_list_holds.confirm_hold(app, world["member_b"], hold.id)
    assert confirmed.status == "confirmed" and confirmed.hold_expires_at is None
    (refreshed,) = await entries(app, world.room.id)
    assert refreshed.status == "booked"
    with pytest.raises(TransitionNotAllowed):
        await waiting_list_holds.confirm_hold(app, world["member_b"], hold.id)
    # Someone else's hold is not there for them.
    with pytest.raises(NotFound):
        await waiting_list_holds.decline_hold(app, world["org_admin_a"], hold.id)


async def test_a_hold_on_a_resource_needing_approval_becomes_a_request(app, world):
    starts_at, ends_at = tuesday_evening(app)
    taken = await bookings.create_booking(app, world["lender_a"], BookingRequest(world.room_approval.id, starts_at, ends_at))
    await waiting_list.join(app, world["member_b"], JoinRequest(world.room_approval.id, starts_at, ends_at))
    await bookings.cancel_booking(app, world["lender_a"], taken.id)
    [hold] = await held(app, world.room_approval.id)
    assert (await waiting_list_holds.confirm_hold(app, world["member_b"], hold.id)).status == "requested"


async def test_expiry_releases_the_hold_and_offers_the_next(app, world, clock):
    starts_at, ends_at = tuesday_evening(app)
    taken = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    first = await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    second = await waiting_list.join(app, world["org_admin_a"], JoinRequest(world.room.id, starts_at, ends_at))
    await bookings.cancel_booking(app, world["member_a"], taken.id)
    [hold] = await held(app, world.room.id)
    assert await waiting_list_jobs.expire_holds(app, now=clock.now + timedelta(hours=23)) == 0
    clock.now = clock.now + timedelta(hours=24, minutes=1)
    assert await waiting_list_jobs.expire_holds(app) == 1
    async with app.database.reader() as session:
        assert (await session.get(Booking, hold.id)).status == "expired"
    [next_hold] = await held(app, world.room.id)
    assert next_hold.booker_id == world["org_admin_a"].user_id
    by_id = {e.id: e for e in await entries(app, world.room.id)}
    assert by_id[first.id].status == "expired" and by_id[second.id].status == "offered"
    async with app.database.reader() as session:
        kinds = [m.kind for m in (await session.exec(select(OutboxMessage).where(OutboxMessage.recipient == world.emails["member_b"]))).all()]
    assert "waiting_list_expired" in kinds
    # Declining hands it on again (nobody left: the time is simply free).
    await waiting_list_holds.decline_hold(app, world["org_admin_a"], next_hold.id)
    assert await held(app, world.room.id) == []
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))


async def test_pooled_capacity_offers_who_fits_in_line_order(app, world):
    starts_at, ends_at = tuesday_evening(app)
    # All 10 benches are out: 8 to one, 2 to another.
    big = await bookings.create_booking(app, world["member_a"], BookingRequest(world.benches.id, starts_at, ends_at, quantity=8))
    small = await bookings.create_booking(app, world["org_admin_a"], BookingRequest(world.benches.id, starts_at, ends_at, quantity=2))
    wants_three = await waiting_list.join(app, world["member_b"], JoinRequest(world.benches.id, starts_at, ends_at, quantity=3))
    wants_one = await waiting_list.join(app, world["lender_b"], JoinRequest(world.benches.id, starts_at, ends_at, quantity=1))
    await bookings.cancel_booking(app, world["org_admin_a"], small.id)  # 2 benches free
    by_id = {e.id: e for e in await entries(app, world.benches.id)}
    assert by_id[wants_three.id].status == "waiting"  # 3 do not fit in 2: keeps its place
    assert by_id[wants_one.id].status == "offered"
    [hold] = await held(app, world.benches.id)
    assert hold.quantity == 1
    # Then the 8 come back: 9 free, the three fit now.
    await bookings.change_booking(app, world["member_a"], big.id, quantity=5)
    by_id = {e.id: e for e in await entries(app, world.benches.id)}
    assert by_id[wants_three.id].status == "offered"
    assert sorted(b.quantity for b in await held(app, world.benches.id)) == [1, 3]


async def test_only_staff_order_and_remove_and_see_names(app, world):
    starts_at, ends_at = tuesday_evening(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    first = await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    second = await waiting_list.join(app, world["org_admin_a"], JoinRequest(world.room.id, starts_at, ends_at))
    for role in ("member_a", "member_b", "lender_b", "org_admin_a"):
        with pytest.raises(PermissionDenied):
            await waiting_list_staff.move(app, world[role], second.id, "up")
        with pytest.raises(PermissionDenied):
            await waiting_list_staff.resource_list(app, world[role], world.room.id)
        with pytest.raises(PermissionDenied):
            await waiting_list_staff.remove(app, world[role], first.id)
    for role in ("lender_a", "manager_a", "city_admin"):
        await waiting_list_staff.move(app, world[role], second.id, "up")
        line = await waiting_list_staff.resource_list(app, world[role], world.room.id)
        assert [v.entry.id for v in line] == [second.id, first.id]
        assert line[0].person_name == "Org Admin A"
        await waiting_list_staff.move(app, world[role], second.id, "down")
    with pytest.raises(Exception):
        await waiting_list_staff.move(app, world["lender_a"], second.id, "down")  # already last
    await waiting_list_staff.remove(app, world["lender_a"], first.id)
    assert [v.entry.id for v in await waiting_list_staff.resource_list(app, world["lender_a"], world.room.id)] == [second.id]
    # The person's own view: place 1 now; someone else's entry is not theirs to withdraw.
    [mine] = await waiting_list_views.my_entries(app, world["org_admin_a"])
    assert mine.place == 1
    with pytest.raises(NotFound):
        await waiting_list_views.withdraw(app, world["member_b"], second.id)
    await waiting_list_views.withdraw(app, world["org_admin_a"], second.id)
    assert await waiting_list_views.my_entries(app, world["org_admin_a"]) == []


async def test_entries_are_exported_and_erased_with_the_person(app, world):
    starts_at, ends_at = tuesday_evening(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at, title="Chorprobe"))
    export = await export_person(app, world["member_b"].user_id)
    assert [(e.title, e.status) for e in export.waiting_list] == [("Chorprobe", "waiting")]
    from booking.models import User

    async with app.database.transaction() as session:
        user = await session.get(User, world["member_b"].user_id)
        await erase_user_in_session(session, app, user, actor_id=None)
    assert await entries(app, world.room.id) == []


async def _erase(app, principal) -> None:
    from booking.models import User

    async with app.database.transaction() as session:
        user = await session.get(User, principal.user_id)
        await erase_user_in_session(session, app, user, actor_id=None)


async def test_erasing_a_holder_offers_the_hold_to_the_next_in_line(app, world):
    starts_at, ends_at = tuesday_evening(app)
    taken = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    second = await waiting_list.join(app, world["org_admin_a"], JoinRequest(world.room.id, starts_at, ends_at))
    await bookings.cancel_booking(app, world["member_a"], taken.id)
    [hold] = await held(app, world.room.id)
    assert hold.booker_id == world["member_b"].user_id
    await _erase(app, world["member_b"])
    [next_hold] = await held(app, world.room.id)
    assert next_hold.booker_id == world["org_admin_a"].user_id
    by_id = {e.id: e for e in await entries(app, world.room.id)}
    assert set(by_id) == {second.id} and by_id[second.id].status == "offered"
    assert [m.recipient for m in await offers(app)] == [world.emails["org_admin_a"]]


async def test_erasing_a_booker_offers_the_time_but_never_to_the_erased_person(app, world):
    starts_at, ends_at = tuesday_evening(app)
    # The erased person both holds the slot and waits for an overlapping one of the benches.
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    await bookings.create_booking(app, world["org_admin_a"], BookingRequest(world.benches.id, starts_at, ends_at, quantity=10))
    await waiting_list.join(app, world["member_a"], JoinRequest(world.benches.id, starts_at, ends_at))
    waiting = await waiting_list.join(app, world["member_b"], JoinRequest(world.room.id, starts_at, ends_at))
    await _erase(app, world["member_a"])
    [hold] = await held(app, world.room.id)
    assert hold.booker_id == world["member_b"].user_id
    assert [(e.id, e.status) for e in await entries(app, world.room.id)] == [(waiting.id, "offered")]
    assert await entries(app, world.benches.id) == []
