"""The booking use cases on both databases: lifecycle, rules, permissions, nothing written on error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from booking.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from booking.models import Blackout, Booking, BookingEvent, Policy
from booking.services import bookings
from booking.services.bookings import BookingRequest
from tests.support.world import next_monday


async def count_bookings(app) -> int:
    async with app.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking))).one()


def slot(app, hours_from: int = 18, length: int = 2, weeks: int = 1):
    start = next_monday(app.now(), weeks) + timedelta(hours=hours_from)
    return start, start + timedelta(hours=length)


async def test_create_confirms_at_once_and_records_audit(app, world):
    starts_at, ends_at = slot(app)
    booking = await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at, organisation_id=world.org_a.id, title="Chor")
    )
    assert booking.status == "confirmed"
    assert booking.starts_at == starts_at and booking.ends_at == ends_at
    history = await bookings.booking_history(app, world["member_a"], booking.id)
    assert [(e.action, e.from_status, e.to_status) for e in history] == [("created", None, "confirmed")]


async def test_create_writes_the_booking_its_event_its_report_note_and_its_mail_together(app, world):
    # Written as Core statements (db/booking_writes.py, one statement on PostgreSQL), not by
    # the ORM's flush: each row is there once, with the booking's id and values.
    from booking.models import OutboxMessage, ReportSummaryChange

    starts_at, ends_at = slot(app)
    booking = await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at, organisation_id=world.org_a.id, title="Chor")
    )
    async with app.database.reader() as session:
        stored = await session.get(Booking, booking.id)
        events = (await session.exec(select(BookingEvent).where(BookingEvent.booking_id == booking.id))).all()
        notes = (await session.exec(select(ReportSummaryChange))).all()
        mails = (await session.exec(select(OutboxMessage).where(OutboxMessage.booking_id == booking.id))).all()
    assert stored is not None and (stored.title, stored.starts_at, stored.status) == ("Chor", starts_at, "confirmed")
    assert stored.created_at == booking.created_at
    assert [(e.actor_id, e.action, e.from_status, e.to_status, e.details) for e in events] == [
        (world["member_a"].user_id, "created", None, "confirmed", {})
    ]
    assert [(n.resource_id, n.starts_at) for n in notes] == [(world.room.id, starts_at)]
    assert [(m.kind, m.recipient, m.status) for m in mails] == [("confirmed", world["member_a"].email, "pending")]


async def test_request_approve_decline_cancel(app, world):
    starts_at, ends_at = slot(app)
    requested = await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.room_approval.id, starts_at, ends_at, organisation_id=world.org_a.id)
    )
    assert requested.status == "requested"
    with pytest.raises(NotFound):  # may not see it: told it does not exist
        await bookings.approve_booking(app, world["lender_b"], requested.id)
    with pytest.raises(PermissionDenied):
        await bookings.approve_booking(app, world["member_a"], requested.id)
    approved = await bookings.approve_booking(app, world["lender_a"], requested.id)
    assert approved.status == "confirmed" and approved.sequence == 1
    with pytest.raises(TransitionNotAllowed):
        await bookings.decline_booking(app, world["lender_a"], requested.id, "too late")
    cancelled = await bookings.cancel_booking(app, world["member_a"], requested.id, "plans changed")
    assert cancelled.status == "cancelled" and cancelled.sequence == 2
    # Cancelled bookings hold nothing: the same slot is free again.
    again = await bookings.create_booking(
        app, world["member_b"], BookingRequest(world.room_approval.id, starts_at, ends_at, organisation_id=world.org_b.id)
    )
    declined = await bookings.decline_booking(app, world["manager_a"], again.id, "Saal wird renoviert")
    assert declined.status == "declined" and declined.decision_reason == "Saal wird renoviert"
    history = await bookings.booking_history(app, world["member_a"], requested.id)
    assert [e.to_status for e in history] == ["requested", "confirmed", "cancelled"]


async def test_decline_needs_a_reason(app, world):
    starts_at, ends_at = slot(app)
    booking = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room_approval.id, starts_at, ends_at))
    with pytest.raises(InvalidInput) as error:
        await bookings.decline_booking(app, world["lender_a"], booking.id, "  ")
    assert error.value.field == "reason"


async def test_overlap_is_refused_with_conflicts_and_alternatives(app, world):
    starts_at, ends_at = slot(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at, title="Geheim", purpose="privat"))
    with pytest.raises(Conflict) as error:
        await bookings.create_booking(
            app, world["member_b"], BookingRequest(world.room.id, starts_at + timedelta(hours=1), ends_at + timedelta(hours=1))
        )
    conflict = error.value
    assert [(c.starts_at, c.ends_at) for c in conflict.conflicts] == [(starts_at, ends_at)]
    assert not any(hasattr(c, "title") or hasattr(c, "booker_id") for c in conflict.conflicts)
    kinds = {a.kind for a in conflict.alternatives}
    assert "same_resource" in kinds and "comparable_resource" in kinds
    comparable = [a for a in conflict.alternatives if a.kind == "comparable_resource"]
    assert comparable[0].resource_id == world.comparable_room.id
    # Every suggestion is really bookable.
    for alternative in conflict.alternatives:
        booking = await bookings.create_booking(
            app, world["member_b"],
            BookingRequest(alternative.resource_id, alternative.interval.starts_at, alternative.interval.ends_at),
        )
        await bookings.cancel_booking(app, world["member_b"], booking.id)
    assert await count_bookings(app) == 1 + len(conflict.alternatives)


async def test_back_to_back_is_fine_but_buffers_apply(app, world):
    starts_at, ends_at = slot(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, ends_at, ends_at + timedelta(hours=1)))
    async with app.database.transaction() as session:
        session.add(Policy(resource_id=world.comparable_room.id, buffer_after_minutes=30))
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.comparable_room.id, starts_at, ends_at))
    with pytest.raises(Conflict):
        await bookings.create_booking(
            app, world["member_a"], BookingRequest(world.comparable_room.id, ends_at + timedelta(minutes=15), ends_at + timedelta(hours=1))
        )
    await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.comparable_room.id, ends_at + timedelta(minutes=30), ends_at + timedelta(hours=1))
    )


async def test_pool_capacity_counts_units(app, world):
    starts_at, ends_at = slot(app, hours_from=10, length=24)
    for quantity in (4, 4):
        await bookings.create_booking(app, world["member_a"], BookingRequest(world.benches.id, starts_at, ends_at, quantity=quantity))
    with pytest.raises(Conflict):
        await bookings.create_booking(app, world["member_a"], BookingRequest(world.benches.id, starts_at, ends_at, quantity=3))
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.benches.id, starts_at, ends_at, quantity=2))
    with pytest.raises(InvalidInput):
        await bookings.create_booking(app, world["member_a"], BookingRequest(world.benches.id, starts_at, ends_at, quantity=11))


@pytest.mark.parametrize(
    "change, error_type",
    [
        ("end_before_start", InvalidInput),
        ("zero_length", InvalidInput),
        ("naive", InvalidInput),
        ("quantity_zero", InvalidInput),
        ("quantity_above_capacity", InvalidInput),
        ("unknown_resource", NotFound),
        ("unknown_organisation", NotFound),
        ("foreign_organisation", PermissionDenied),
        ("in_the_past", PolicyViolation),
        ("lead_time", PolicyViolation),
        ("blackout", PolicyViolation),
        ("outside_opening_hours", PolicyViolation),
        ("too_long", PolicyViolation),
        ("beyond_horizon", PolicyViolation),
    ],
)
async def test_bad_requests_are_refused_and_write_nothing(app, world, change, error_type):
    starts_at, ends_at = slot(app)
    request = BookingRequest(world.room.id, starts_at, ends_at, organisation_id=world.org_a.id)
    async with app.database.transaction() as session:
        session.add(Policy(resource_id=world.room.id, lead_time_minutes=48 * 60, max_duration_minutes=240, max_horizon_days=60))
        session.add(Blackout(site_id=world.site_a.id, starts_at=starts_at + timedelta(days=1), ends_at=starts_at + timedelta(days=2), reason="Sommerfest"))
        world.site_a.opening_hours = {"mon": [["08:00", "20:00"]]}
        session.add(world.site_a)
    from dataclasses import replace

    changes = {
        "end_before_start": dict(ends_at=starts_at - timedelta(hours=1)),
        "zero_length": dict(ends_at=starts_at),
        "naive": dict(starts_at=starts_at.replace(tzinfo=None)),
        "quantity_zero": dict(quantity=0),
        "quantity_above_capacity": dict(quantity=2),
        "unknown_resource": dict(resource_id=999_999),
        "unknown_organisation": dict(organisation_id=999_999),
        "foreign_organisation": dict(organisation_id=world.org_b.id),
        "in_the_past": dict(starts_at=app.now() - timedelta(days=1), ends_at=app.now() - timedelta(days=1) + timedelta(hours=1)),
        "lead_time": dict(starts_at=app.now() + timedelta(hours=1), ends_at=app.now() + timedelta(hours=2)),
        "blackout": dict(starts_at=starts_at + timedelta(days=1, hours=10), ends_at=starts_at + timedelta(days=1, hours=11)),
        "outside_opening_hours": dict(starts_at=starts_at + timedelta(hours=3), ends_at=starts_at + timedelta(hours=5)),
        "too_long": dict(starts_at=starts_at - timedelta(hours=10), ends_at=starts_at),
        "beyond_horizon": dict(starts_at=starts_at + timedelta(days=70), ends_at=starts_at + timedelta(days=70, hours=1)),
    }[change]
    with pytest.raises(error_type) as error:
        await bookings.create_booking(app, world["member_a"], replace(request, **changes))
    assert error.value.message
    assert await count_bookings(app) == 0
    async with app.database.reader() as session:
        assert (await session.exec(select(func.count()).select_from(BookingEvent))).one() == 0


async def test_change_rechecks_and_raises_sequence(app, world):
    starts_at, ends_at = slot(app)
    first = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at))
    second = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, ends_at, ends_at + timedelta(hours=1)))
    moved = await bookings.change_booking(app, world["member_a"], first.id, starts_at=starts_at - timedelta(hours=1), ends_at=ends_at - timedelta(minutes=30))
    assert moved.sequence == 1 and moved.starts_at == starts_at - timedelta(hours=1)
    with pytest.raises(Conflict):
        await bookings.change_booking(app, world["member_a"], first.id, ends_at=ends_at + timedelta(minutes=30))
    reloaded, _ = await bookings.get_booking(app, world["member_a"], first.id)
    assert reloaded.sequence == 1 and reloaded.ends_at == ends_at - timedelta(minutes=30)
    with pytest.raises(NotFound):
        await bookings.change_booking(app, world["member_b"], second.id, ends_at=ends_at + timedelta(hours=2))


async def test_change_by_booker_of_approval_resource_needs_new_approval(app, world):
    starts_at, ends_at = slot(app)
    booking = await bookings.create_booking(app, world["member_a"], BookingRequest(world.room_approval.id, starts_at, ends_at))
    await bookings.approve_booking(app, world["lender_a"], booking.id)
    changed = await bookings.change_booking(app, world["member_a"], booking.id, ends_at=ends_at + timedelta(hours=1))
    assert changed.status == "requested"


@pytest.mark.parametrize("action", ["read", "change", "cancel", "history"])
async def test_other_organisation_cannot_touch_a_booking(app, world, action):
    starts_at, ends_at = slot(app)
    booking = await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at, organisation_id=world.org_a.id)
    )
    stranger = world["member_b"]
    call = {
        "read": lambda: bookings.get_booking(app, stranger, booking.id),
        "change": lambda: bookings.change_booking(app, stranger, booking.id, ends_at=ends_at + timedelta(hours=1)),
        "cancel": lambda: bookings.cancel_booking(app, stranger, booking.id),
        "history": lambda: bookings.booking_history(app, stranger, booking.id),
    }[action]
    with pytest.raises(NotFound):
        await call()
    # The organisation's admin and the site's lender may; the lender of another site may not.
    assert (await bookings.get_booking(app, world["org_admin_a"], booking.id))[0].id == booking.id
    assert (await bookings.get_booking(app, world["lender_a"], booking.id))[0].id == booking.id
    with pytest.raises(NotFound):
        await bookings.get_booking(app, world["lender_b"], booking.id)
    unchanged, _ = await bookings.get_booking(app, world["member_a"], booking.id)
    assert unchanged.status == "confirmed" and unchanged.ends_at == ends_at


async def test_list_scopes(app, world):
    starts_at, ends_at = slot(app)
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at, organisation_id=world.org_a.id))
    await bookings.create_booking(app, world["member_b"], BookingRequest(world.room_b.id, starts_at, ends_at, organisation_id=world.org_b.id))
    mine = await bookings.list_bookings(app, world["member_a"], bookings.BookingFilter(scope="mine"))
    assert [r.id for _, r in mine] == [world.room.id]
    site = await bookings.list_bookings(app, world["lender_b"], bookings.BookingFilter(scope="site"))
    assert [r.id for _, r in site] == [world.room_b.id]
    org = await bookings.list_bookings(app, world["org_admin_a"], bookings.BookingFilter(scope="organisation", organisation_id=world.org_a.id))
    assert len(org) == 1
    with pytest.raises(PermissionDenied):
        await bookings.list_bookings(app, world["member_b"], bookings.BookingFilter(scope="organisation", organisation_id=world.org_a.id))
    with pytest.raises(PermissionDenied):
        await bookings.list_bookings(app, world["lender_a"], bookings.BookingFilter(scope="all"))
    assert len(await bookings.list_bookings(app, world["city_admin"], bookings.BookingFilter(scope="all"))) == 2


async def test_a_cancel_can_be_undone_shortly_after_and_only_while_the_time_is_free(app, world, clock):
    starts_at, ends_at = slot(app)
    member = world["member_a"]
    booking = await bookings.create_booking(app, member, BookingRequest(world.room.id, starts_at, ends_at))
    await bookings.cancel_booking(app, member, booking.id, "Versehen")
    assert await bookings.undo_cancel_deadline(app, member, booking.id) == clock.now + timedelta(minutes=10)
    with pytest.raises(NotFound):
        await bookings.undo_cancel(app, world["member_b"], booking.id)
    restored = await bookings.undo_cancel(app, member, booking.id)
    assert restored.status == "confirmed" and restored.sequence == booking.sequence + 2  # cancel, then undo
    history = await bookings.booking_history(app, member, booking.id)
    assert [(e.action, e.to_status) for e in history][-2:] == [("cancel", "cancelled"), ("undo_cancel", "confirmed")]
    with pytest.raises(TransitionNotAllowed):  # nothing to undo any more
        await bookings.undo_cancel(app, member, booking.id)

    # Someone booked the freed time meanwhile: the undo is refused, no double booking.
    await bookings.cancel_booking(app, member, booking.id)
    other = await bookings.create_booking(app, world["member_b"], BookingRequest(world.room.id, starts_at, ends_at))
    with pytest.raises(Conflict):
        await bookings.undo_cancel(app, member, booking.id)
    await bookings.cancel_booking(app, world["member_b"], other.id)

    # Too late: the window has passed.
    clock.now += timedelta(minutes=11)
    assert await bookings.undo_cancel_deadline(app, member, booking.id) is None
    with pytest.raises(TransitionNotAllowed):
        await bookings.undo_cancel(app, member, booking.id)
    async with app.database.reader() as session:
        statuses = [b.status for b in (await session.exec(select(Booking).where(Booking.resource_id == world.room.id))).all()]
    assert statuses.count("confirmed") == 0
