"""Lending things and co-working desks on both databases: day spans, the loan lifecycle with
hand-out and take-back, overdue blocks and notices, kits, repair blocks, history, desks — and
a race of real concurrent requests on the day-span endpoint against a live server.

The clock starts on Monday 2026-01-05 09:00 UTC; the site is open Mon–Sat 10:00–18:00 local
time (Europe/Berlin, UTC+1 in January) and closed on Sunday.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, func, select

from booking.app import create_app
from booking.domain.availability import Holding, peak_usage
from booking.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from booking.domain.intervals import Interval
from booking.domain.lifecycle import TRANSITIONS, Action, Status
from booking.domain.opening_hours import endpoints_in_opening_hours
from booking.models import Booking, BookingEvent, OutboxMessage, Policy, Resource
from booking.services import (
    bookings,
    coworking,
    handover,
    item_history,
    lender_lists,
    lending_bookings,
    overdue_loans,
    repairs,
)
from booking.services.accounts import create_api_token
from booking.services.context import AppContext
from tests.http.conftest import login
from tests.support.live_server import live_server
from tests.support.world import World, build_world, utc

OPEN = [["10:00", "18:00"]]
HOURS = {day: OPEN for day in ("mon", "tue", "wed", "thu", "fri", "sat")}  # closed on Sunday

MONDAY = date(2026, 1, 5)


def day(offset: int) -> date:
    return MONDAY + timedelta(days=offset)


class Things:
    """The lending world: World with the site closed on Sundays, plus things and desks."""

    def __init__(self, world: World, resources: dict[str, Resource]) -> None:
        self.world = world
        self.resources = resources

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        if name in self.__dict__.get("resources", {}):
            return self.resources[name]
        return getattr(self.world, name)

    def __getitem__(self, role: str):  # type: ignore[no-untyped-def]
        return self.world[role]


async def add_things(app: AppContext, world: World) -> Things:
    specs = {
        "projector": ("item", "Beamer Epson", "Technik", 1, {}),
        "screen": ("item", "Leinwand 2 m", "Technik", 2, {}),
        "cable": ("item", "HDMI-Kabel 10 m", "Technik", 4, {}),
        "tents": ("item", "Faltpavillon", "Zelte", 100, {"approval_mode": "ask"}),
        "pool": ("desk", "Flexible Arbeitsplätze", "Arbeitsplatz", 8, {}),
        "window_desk": ("desk", "Arbeitsplatz am Fenster", "Arbeitsplatz", 1, {}),
        "projector_b": ("item", "Beamer BenQ", "Technik", 1, {}),
    }
    made: dict[str, Resource] = {}
    async with app.database.transaction() as session:
        for key, (kind, name, category, capacity, policy) in specs.items():
            site_id = world.site_b.id if key == "projector_b" else world.site_a.id
            resource = Resource(site_id=site_id, kind=kind, name=name, category=category, capacity=capacity)
            session.add(resource)
            await session.flush()
            session.add(Policy(
                resource_id=resource.id, opening_hours_mode="endpoints" if kind == "item" else "contain",
                min_duration_minutes=15, **policy,
            ))
            made[key] = resource
    return Things(world, made)


@pytest.fixture
async def things(app) -> Things:
    world = await build_world(app, opening_hours=HOURS)
    return await add_things(app, world)


@pytest.fixture
async def client(settings, app) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app in this event loop, on the test's moveable clock."""
    http_app = create_app(settings, app_context=app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=http_app), base_url="http://testserver.local") as client:
        yield client


async def book_days(app, things, who, resource, first: date, last: date, quantity: int = 1, **extra) -> Booking:
    return await lending_bookings.book_days(
        app, things[who], lending_bookings.DaySpanRequest(resource.id, first, last, quantity=quantity, **extra)
    )


async def outbox(app) -> list[tuple[str, str, int | None]]:
    async with app.database.reader() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [(row.kind, row.recipient, row.booking_id) for row in rows]


async def events_of(app, booking_id: int) -> list[BookingEvent]:
    async with app.database.reader() as session:
        statement = select(BookingEvent).where(BookingEvent.booking_id == booking_id).order_by(col(BookingEvent.id))
        return list((await session.exec(statement)).all())


# ---------------------------------------------------------------- days and opening hours


async def test_three_day_loan_of_benches_over_a_weekend_with_sunday_closed(app, things):
    # Saturday, Sunday (closed), Monday: 4 of the 10 benches.
    booking = await book_days(app, things, "member_a", things.benches, day(5), day(7), quantity=4, organisation_id=things.org_a.id)
    assert booking.status == "confirmed" and booking.quantity == 4
    # Pick-up when the site opens on Saturday, return when it closes on Monday (UTC+1).
    assert booking.starts_at == utc(2026, 1, 10, 9, 0)
    assert booking.ends_at == utc(2026, 1, 12, 17, 0)
    assert endpoints_in_opening_hours(HOURS, "Europe/Berlin", Interval(booking.starts_at, booking.ends_at)) == (True, True)
    # The other 6 are still there; a 7th is not.
    await book_days(app, things, "member_b", things.benches, day(5), day(7), quantity=6)
    with pytest.raises(Conflict) as error:
        await book_days(app, things, "member_b", things.benches, day(5), day(5), quantity=1)
    assert "Benches is not available" in error.value.message


async def test_closed_first_or_last_day_is_refused_with_the_day_named(app, things):
    with pytest.raises(PolicyViolation) as error:
        await book_days(app, things, "member_a", things.benches, day(5), day(6))
    assert error.value.field == "last_day" and "closed on Sunday, 2026-01-11" in error.value.message
    with pytest.raises(PolicyViolation) as error:
        await book_days(app, things, "member_a", things.benches, day(6), day(8))
    assert error.value.field == "first_day" and "Sunday" in error.value.message
    with pytest.raises(InvalidInput):
        await book_days(app, things, "member_a", things.benches, day(8), day(7))
    site = things.site_a
    assert lending_bookings.day_span(site, day(1), day(1)) == (utc(2026, 1, 6, 9, 0), utc(2026, 1, 6, 17, 0))
    async with app.database.reader() as session:
        assert (await session.exec(select(func.count()).select_from(Booking))).one() == 0


# ---------------------------------------------------------------- the lifecycle, every edge


async def booking_in(app, things, status: Status, first: date) -> Booking:
    """A tent booking (approval needed) brought into ``status`` through the services."""
    member, lender = things["member_a"], things["lender_a"]
    booking = await book_days(app, things, "member_a", things.tents, first, first)
    assert booking.status == Status.REQUESTED
    if status == Status.REQUESTED:
        return booking
    if status == Status.DECLINED:
        return await bookings.decline_booking(app, lender, booking.id, "no tents that day")
    approved = await bookings.approve_booking(app, lender, booking.id)
    if status == Status.CONFIRMED:
        return approved
    if status == Status.CANCELLED:
        return await bookings.cancel_booking(app, member, booking.id)
    [(out, _)] = await handover.hand_out(app, lender, booking.id, handover.HandOut(condition="ok"))
    if status == Status.CHECKED_OUT:
        return out
    [(returned, _)] = await handover.take_back(app, lender, booking.id, handover.TakeBack(condition="ok"))
    return returned


async def apply(app, things, action: Action, booking_id: int) -> Booking:
    lender = things["lender_a"]
    if action == Action.APPROVE:
        return await bookings.approve_booking(app, lender, booking_id)
    if action == Action.DECLINE:
        return await bookings.decline_booking(app, lender, booking_id, "sorry")
    if action == Action.CANCEL:
        return await bookings.cancel_booking(app, lender, booking_id)
    if action == Action.CHECK_OUT:
        return (await handover.hand_out(app, lender, booking_id))[0][0]
    return (await handover.take_back(app, lender, booking_id))[0][0]


async def test_every_allowed_and_forbidden_transition(app, things):
    allowed = forbidden = 0
    # undo: bookings.undo_cancel, tested on its own; a waiting list's hold (held, expired and
    # their actions): tests/integration/test_waiting_list.py; the no-show release (a job, not a
    # person's step): tests/integration/test_checkin.py.
    holds = (Status.HELD, Status.EXPIRED, Status.NO_SHOW)
    hold_actions = (Action.UNDO_CANCEL, Action.CONFIRM_HOLD, Action.EXPIRE, Action.RELEASE_NO_SHOW)
    for index, (status, action) in enumerate((s, a) for s in Status if s not in holds for a in Action if a not in hold_actions):
        booking = await booking_in(app, things, status, day(1 + index % 5))
        expected = TRANSITIONS.get((status, action))
        if expected is None:
            with pytest.raises(TransitionNotAllowed):
                await apply(app, things, action, booking.id)
            async with app.database.reader() as session:
                assert (await session.get(Booking, booking.id)).status == status  # nothing changed
            forbidden += 1
        else:
            assert (await apply(app, things, action, booking.id)).status == expected
            allowed += 1
    assert (allowed, forbidden) == (6, 24)


async def test_hand_out_and_take_back_record_loan_and_audit(app, things):
    booking = await book_days(app, things, "member_a", things.projector, day(1), day(2), organisation_id=things.org_a.id)
    with pytest.raises(PermissionDenied):
        await handover.hand_out(app, things["member_a"], booking.id)
    with pytest.raises(PermissionDenied):
        await handover.hand_out(app, things["lender_b"], booking.id)
    app.clock.now = booking.starts_at + timedelta(minutes=5)
    [(out, loan)] = await handover.hand_out(
        app, things["lender_a"], booking.id, handover.HandOut(condition="Kratzer am Gehäuse", deposit_note="Ausweis")
    )
    assert out.status == "checked_out"
    assert (loan.checked_out_by_id, loan.condition_out, loan.deposit_note) == (things["lender_a"].user_id, "Kratzer am Gehäuse", "Ausweis")
    assert loan.checked_out_at == app.now() and out.starts_at == booking.starts_at  # on time: start unchanged
    with pytest.raises(TransitionNotAllowed):  # twice is once too many
        await handover.hand_out(app, things["lender_a"], booking.id)
    app.clock.now = booking.ends_at - timedelta(hours=1)
    [(back, loan)] = await handover.take_back(
        app, things["manager_a"], booking.id,
        handover.TakeBack(condition="gut", damage_notes="Linse verschmiert", missing_parts="Fernbedienung"),
    )
    assert back.status == "returned"
    assert (loan.returned_at, loan.returned_by_id) == (app.now(), things["manager_a"].user_id)
    assert (loan.damage_notes, loan.missing_parts) == ("Linse verschmiert", "Fernbedienung")
    with pytest.raises(TransitionNotAllowed) as error:  # returned -> checked_out
        await handover.hand_out(app, things["lender_a"], booking.id)
    assert error.value.status_code == 409
    history = await events_of(app, booking.id)
    assert [(e.action, e.from_status, e.to_status) for e in history] == [
        ("created", None, "confirmed"), ("check_out", "confirmed", "checked_out"), ("return", "checked_out", "returned"),
    ]
    assert history[1].details["condition"] == "Kratzer am Gehäuse" and history[1].actor_id == things["lender_a"].user_id
    assert history[2].details["missing_parts"] == "Fernbedienung"
    # Too long notes are bad input, nothing is written.
    other = await book_days(app, things, "member_a", things.projector, day(3), day(3))
    with pytest.raises(InvalidInput):
        await handover.hand_out(app, things["lender_a"], other.id, handover.HandOut(condition="x" * 2001))
    async with app.database.reader() as session:
        assert (await session.get(Booking, other.id)).status == "confirmed"


async def test_early_hand_out_moves_the_start_and_respects_earlier_bookings(app, things):
    later = await book_days(app, things, "member_a", things.projector, day(3), day(3))
    earlier = await book_days(app, things, "member_b", things.projector, day(1), day(1))
    # Handing the later booking out now would take the projector from the earlier one.
    with pytest.raises(Conflict) as error:
        await handover.hand_out(app, things["lender_a"], later.id)
    assert "before its pick-up time" in error.value.message
    await bookings.cancel_booking(app, things["member_b"], earlier.id)
    [(out, _)] = await handover.hand_out(app, things["lender_a"], later.id)
    assert out.starts_at == app.now()
    # Out already: nobody can book the days before its official pick-up.
    with pytest.raises(Conflict):
        await book_days(app, things, "member_b", things.projector, day(1), day(1))


# ---------------------------------------------------------------- overdue


async def test_overdue_blocks_the_next_booking_notifies_and_return_lifts_the_block(app, things):
    lender = things["lender_a"]
    first = await book_days(app, things, "member_a", things.projector, day(1), day(1), organisation_id=things.org_a.id)
    following = await book_days(app, things, "member_b", things.projector, day(2), day(3), organisation_id=things.org_b.id)
    app.clock.now = first.starts_at
    await handover.hand_out(app, lender, first.id)
    assert await lender_lists.list_overdue(app, lender) == []
    # Wednesday 11:00 local: Tuesday's projector is not back.
    app.clock.now = utc(2026, 1, 7, 10, 0)
    overdue = await lender_lists.list_overdue(app, lender)
    assert [row.booking.id for row in overdue] == [first.id]
    assert overdue[0].is_overdue and overdue[0].overdue_since == first.ends_at
    assert overdue[0].organisation.name == "Org A"
    assert await lender_lists.list_overdue(app, things["lender_b"]) == []
    with pytest.raises(PermissionDenied):
        await lender_lists.list_overdue(app, things["member_a"])
    assert [row.booking.id for row in await overdue_loans.find_overdue(app, app.now())] == [first.id]

    before = await outbox(app)
    found = await overdue_loans.notify_overdue(app, app.now())
    assert [row.booking.id for row in found] == [first.id]
    new = [m for m in await outbox(app) if m not in before]
    assert ("overdue_borrower", things.emails["member_a"], first.id) in new
    assert {r for k, r, _ in new if k == "overdue_lender"} == {things.emails["lender_a"], things.emails["manager_a"]}
    assert [(k, r, b) for k, r, b in new if k == "blocked_by_overdue"] == [
        ("blocked_by_overdue", things.emails["member_b"], following.id)
    ]
    # Once: running the job again the same day adds nothing.
    await overdue_loans.notify_overdue(app, app.now())
    assert len(await outbox(app)) == len(before) + len(new)
    assert [b.id for b in await overdue_loans.following_blocked(app, first)] == [following.id]
    assert len(await outbox(app)) == len(before) + len(new)
    assert [e.action for e in await events_of(app, following.id)].count("blocked_by_overdue") == 1

    # The block: the next booking cannot be handed out, the unit cannot be booked anew.
    app.clock.now = following.starts_at + timedelta(minutes=30)
    with pytest.raises(Conflict) as error:
        await handover.hand_out(app, lender, following.id)
    assert "not enough units are back" in error.value.message
    with pytest.raises(Conflict):
        await book_days(app, things, "member_a", things.projector, day(4), day(4))

    # Returning lifts it.
    [(back, _)] = await handover.take_back(app, lender, first.id, handover.TakeBack(condition="ok"))
    assert back.status == "returned"
    assert (await events_of(app, first.id))[-1].details["overdue_minutes"] > 0
    assert await overdue_loans.following_blocked(app, first) == []
    assert await lender_lists.list_overdue(app, lender) == []
    [(out, _)] = await handover.hand_out(app, lender, following.id)
    assert out.status == "checked_out"
    assert (await book_days(app, things, "member_a", things.projector, day(5), day(5))).status == "confirmed"


async def test_overdue_pooled_units_block_only_what_no_longer_fits(app, things):
    lender = things["lender_a"]
    out = await book_days(app, things, "member_a", things.benches, day(1), day(1), quantity=4)
    fits = await book_days(app, things, "member_b", things.benches, day(2), day(2), quantity=6)
    thursday = await book_days(app, things, "org_admin_a", things.benches, day(3), day(3), quantity=7)
    app.clock.now = out.starts_at
    await handover.hand_out(app, lender, out.id)
    app.clock.now = utc(2026, 1, 7, 8, 0)  # Wednesday before opening, Tuesday's 4 not back
    # Wednesday: 4 + 6 = 10 still fits; Thursday: 4 + 7 > 10 cannot be served.
    assert [b.id for b in await overdue_loans.following_blocked(app, out)] == [thursday.id]
    assert fits.id not in [b.id for b in await overdue_loans.following_blocked(app, out)]
    # No new Wednesday booking while the 4 are out: load_holdings keeps them held.
    with pytest.raises(Conflict):
        await book_days(app, things, "member_a", things.benches, day(2), day(2), quantity=1)


# ---------------------------------------------------------------- kits


async def test_kit_is_all_or_nothing_and_names_the_taken_part(app, things):
    # Both screens are taken on Tuesday.
    await book_days(app, things, "member_b", things.screen, day(1), day(1), quantity=2)
    parts = (lending_bookings.KitPart(things.projector.id), lending_bookings.KitPart(things.screen.id), lending_bookings.KitPart(things.cable.id, 2))
    with pytest.raises(Conflict) as error:
        await lending_bookings.book_kit(app, things["member_a"], lending_bookings.KitRequest(parts, first_day=day(1), last_day=day(1)))
    assert error.value.message.startswith("Leinwand 2 m is not available")
    assert "Beamer" not in error.value.message and error.value.conflicts
    async with app.database.reader() as session:
        kept = (await session.exec(select(Booking.resource_id).where(col(Booking.resource_id).in_([things.projector.id, things.cable.id])))).all()
    assert kept == []  # nothing of the kit was written
    # Wednesday is free: three bookings, one group, one span.
    made = await lending_bookings.book_kit(
        app, things["member_a"], lending_bookings.KitRequest(parts, first_day=day(2), last_day=day(3), organisation_id=things.org_a.id, title="Filmabend")
    )
    assert sorted(b.resource_id for b in made) == sorted([things.projector.id, things.screen.id, things.cable.id])
    assert len({b.group_key for b in made}) == 1 and made[0].group_key
    assert {(b.starts_at, b.ends_at) for b in made} == {(utc(2026, 1, 7, 9, 0), utc(2026, 1, 8, 17, 0))}
    assert {b.status for b in made} == {"confirmed"}
    # The lender hands out the whole kit at once and takes it back at once.
    app.clock.now = made[0].starts_at
    handed = await handover.hand_out(app, things["lender_a"], made[0].id, handover.HandOut(condition="komplett"))
    assert sorted(b.id for b, _ in handed) == sorted(b.id for b in made)
    returned = await handover.take_back(app, things["lender_a"], made[1].id)
    assert {b.status for b, _ in returned} == {"returned"} and len(returned) == 3


async def test_kit_bad_input_and_rules_name_the_part(app, things):
    member = things["member_a"]
    with pytest.raises(InvalidInput):
        await lending_bookings.book_kit(app, member, lending_bookings.KitRequest((), first_day=day(1), last_day=day(1)))
    with pytest.raises(InvalidInput):
        await lending_bookings.book_kit(app, member, lending_bookings.KitRequest((lending_bookings.KitPart(things.cable.id), lending_bookings.KitPart(things.cable.id)), first_day=day(1), last_day=day(1)))
    with pytest.raises(InvalidInput) as error:  # two sites
        await lending_bookings.book_kit(app, member, lending_bookings.KitRequest((lending_bookings.KitPart(things.projector.id), lending_bookings.KitPart(things.projector_b.id)), first_day=day(1), last_day=day(1)))
    assert error.value.field == "parts"
    with pytest.raises(InvalidInput):  # neither days nor instants
        await lending_bookings.book_kit(app, member, lending_bookings.KitRequest((lending_bookings.KitPart(things.cable.id),)))
    with pytest.raises(InvalidInput) as error:  # more cables than there are
        await lending_bookings.book_kit(app, member, lending_bookings.KitRequest((lending_bookings.KitPart(things.projector.id), lending_bookings.KitPart(things.cable.id, 5)), first_day=day(1), last_day=day(1)))
    assert error.value.message.startswith("HDMI-Kabel 10 m:")
    with pytest.raises(NotFound):
        await lending_bookings.book_kit(app, member, lending_bookings.KitRequest((lending_bookings.KitPart(999_999),), first_day=day(1), last_day=day(1)))
    # One part needs approval: the whole kit is requested.
    made = await lending_bookings.book_kit(app, member, lending_bookings.KitRequest((lending_bookings.KitPart(things.tents.id), lending_bookings.KitPart(things.cable.id)), first_day=day(1), last_day=day(1)))
    assert {b.status for b in made} == {"requested"}


# ---------------------------------------------------------------- repair and history


async def test_repair_block_reports_affected_bookings_and_blocks_new_ones(app, things):
    lender = things["lender_a"]
    inside = await book_days(app, things, "member_a", things.projector, day(2), day(2), organisation_id=things.org_a.id)
    outside = await book_days(app, things, "member_a", things.projector, day(5), day(5))
    period = repairs.whole_days(things.site_a, day(1), day(3))
    with pytest.raises(PermissionDenied):
        await repairs.block_for_repair(app, things["lender_b"], things.projector.id, period, "Lampe defekt")
    report = await repairs.block_for_repair(app, lender, things.projector.id, period, "Lampe defekt")
    assert report.blackout.kind == "repair" and report.blackout.resource_id == things.projector.id
    assert [row.booking.id for row in report.affected] == [inside.id]
    assert report.affected[0].booker.email == things.emails["member_a"]
    # The affected booking is not cancelled; its history notes the block.
    assert (await events_of(app, inside.id))[-1].action == "affected_by_repair"
    assert outside.id not in [row.booking.id for row in report.affected]
    with pytest.raises(PolicyViolation) as error:
        await book_days(app, things, "member_b", things.projector, day(3), day(3))
    assert "blocked for repair" in error.value.message and "Lampe defekt" in error.value.message
    history = await item_history.item_history(app, lender, things.projector.id)
    assert {"repair_block", "affected_by_repair", "created"} <= {e.action for e in history.entries}
    await repairs.remove_repair_block(app, lender, things.projector.id, report.blackout.id)
    assert (await book_days(app, things, "member_b", things.projector, day(3), day(3))).status == "confirmed"
    with pytest.raises(NotFound):
        await repairs.remove_repair_block(app, lender, things.projector.id, report.blackout.id)


async def test_item_history_across_bookings(app, things):
    lender = things["lender_a"]
    first = await book_days(app, things, "member_a", things.projector, day(1), day(1))
    second = await book_days(app, things, "member_b", things.projector, day(2), day(2))
    app.clock.now = first.starts_at
    await handover.hand_out(app, lender, first.id, handover.HandOut(condition="neu"))
    app.clock.now = first.ends_at - timedelta(hours=1)
    await handover.take_back(app, lender, first.id, handover.TakeBack(damage_notes="Kabel geknickt"))
    await bookings.cancel_booking(app, things["member_b"], second.id, "doch nicht")
    history = await item_history.item_history(app, lender, things.projector.id)
    assert [(e.booking_id, e.action) for e in history.entries] == [
        (second.id, "cancel"), (first.id, "return"), (first.id, "check_out"), (second.id, "created"), (first.id, "created"),
    ]
    assert history.entries[1].details["damage_notes"] == "Kabel geknickt" and history.entries[1].actor_name == "Lender A"
    assert [row.loan.condition_out for row in history.loans] == ["neu"]
    with pytest.raises(PermissionDenied):
        await item_history.item_history(app, things["member_a"], things.projector.id)


async def test_lender_today_lists_pickups_returns_and_overdue(app, things):
    lender = things["lender_a"]
    app.clock.now = utc(2026, 1, 6, 8, 0)  # Tuesday 09:00 local
    pickup = await book_days(app, things, "member_a", things.screen, day(1), day(2))
    due_back = await book_days(app, things, "member_b", things.projector, day(1), day(1))
    tomorrow = await book_days(app, things, "member_b", things.cable, day(2), day(2))
    await book_days(app, things, "member_b", things.projector_b, day(1), day(1))  # another site
    app.clock.now = utc(2026, 1, 6, 9, 0)
    await handover.hand_out(app, lender, due_back.id)
    today = await lender_lists.lender_today(app, lender)
    assert today.day == day(1)
    assert [row.booking.id for row in today.pickups] == [pickup.id]
    assert [row.booking.id for row in today.returns] == [due_back.id]
    assert today.overdue == []
    assert [row.booking.id for row in (await lender_lists.lender_today(app, lender, day(2))).pickups] == [tomorrow.id]
    with pytest.raises(PermissionDenied):
        await lender_lists.lender_today(app, lender, site_id=things.site_b.id)
    with pytest.raises(PermissionDenied):
        await lender_lists.lender_today(app, things["member_a"])


# ---------------------------------------------------------------- co-working desks


async def test_desk_day_view_and_half_day_bookings(app, things):
    member = things["member_a"]
    view = await coworking.desk_day(app, things.site_a.id, day(1), member)
    assert view.is_open
    assert (view.parts.morning.starts_at, view.parts.morning.ends_at) == (utc(2026, 1, 6, 9, 0), utc(2026, 1, 6, 12, 0))
    assert (view.parts.afternoon.starts_at, view.parts.afternoon.ends_at) == (utc(2026, 1, 6, 12, 0), utc(2026, 1, 6, 17, 0))
    by_name = {state.resource.name: state for state in view.desks}
    assert set(by_name) == {"Flexible Arbeitsplätze", "Arbeitsplatz am Fenster"}
    assert by_name["Flexible Arbeitsplätze"].free == {"full": 8, "morning": 8, "afternoon": 8}

    morning = await coworking.book_desk(app, member, coworking.DeskRequest(things.window_desk.id, day(1), "morning"))
    assert (morning.starts_at, morning.ends_at) == (utc(2026, 1, 6, 9, 0), utc(2026, 1, 6, 12, 0))
    await coworking.book_desk(app, things["member_b"], coworking.DeskRequest(things.window_desk.id, day(1), "afternoon"))
    with pytest.raises(Conflict):
        await coworking.book_desk(app, things["member_b"], coworking.DeskRequest(things.window_desk.id, day(1), "full"))
    for _ in range(3):
        await coworking.book_desk(app, things["member_b"], coworking.DeskRequest(things.pool.id, day(1), "morning"))
    await coworking.book_desk(app, member, coworking.DeskRequest(things.pool.id, day(1), "full", quantity=2))

    view = await coworking.desk_day(app, things.site_a.id, day(1), member)
    by_name = {state.resource.name: state for state in view.desks}
    assert by_name["Arbeitsplatz am Fenster"].free == {"full": 0, "morning": 0, "afternoon": 0}
    assert [b.id for b in by_name["Arbeitsplatz am Fenster"].mine] == [morning.id]
    assert by_name["Flexible Arbeitsplätze"].free == {"full": 3, "morning": 3, "afternoon": 6}
    assert by_name["Flexible Arbeitsplätze"].bookable == {"full": True, "morning": True, "afternoon": True}

    sunday = await coworking.desk_day(app, things.site_a.id, day(6), member)
    assert not sunday.is_open and all(not any(s.bookable.values()) for s in sunday.desks)
    with pytest.raises(PolicyViolation):
        await coworking.book_desk(app, member, coworking.DeskRequest(things.pool.id, day(6), "morning"))
    with pytest.raises(InvalidInput):
        await coworking.book_desk(app, member, coworking.DeskRequest(things.room.id, day(1), "morning"))
    with pytest.raises(InvalidInput):
        await coworking.book_desk(app, member, coworking.DeskRequest(things.pool.id, day(1), "evening"))
    with pytest.raises(NotFound):
        await coworking.desk_day(app, 999_999, day(1))


async def test_weekly_desk_books_the_free_mondays_and_reports_the_taken_one(app, things):
    member = things["member_a"]
    # The window desk is taken on the second Monday morning.
    await coworking.book_desk(app, things["member_b"], coworking.DeskRequest(things.window_desk.id, day(14), "morning"))
    result = await coworking.book_desk_weekly(
        app, member, coworking.DeskSeriesRequest(things.window_desk.id, day(7), "morning", count=4)
    )
    assert [b.starts_at for b in result.booked] == [utc(2026, 1, 12, 9, 0), utc(2026, 1, 26, 9, 0), utc(2026, 2, 2, 9, 0)]
    assert {b.ends_at - b.starts_at for b in result.booked} == {timedelta(hours=3)}
    assert {b.series_id for b in result.booked} == {result.series.id}
    assert [(r.local_start.date(), r.code) for r in result.refused] == [(day(14), "conflict")]
    with pytest.raises(InvalidInput):
        await coworking.book_desk_weekly(app, member, coworking.DeskSeriesRequest(things.window_desk.id, day(7), "morning"))


# ---------------------------------------------------------------- over HTTP


async def test_http_lending_flow_and_refusals(client, app, things):
    await login(client, things.world, "member_a")
    answer = await client.post("/api/v1/item-bookings", json={
        "resource_id": things.projector.id, "first_day": "2026-01-06", "last_day": "2026-01-07", "organisation_id": things.org_a.id,
    })
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    assert booking["starts_at"].startswith("2026-01-06T09:00")
    closed = await client.post("/api/v1/item-bookings", json={"resource_id": things.projector.id, "first_day": "2026-01-10", "last_day": "2026-01-11"})
    assert closed.status_code == 422 and "Sunday" in closed.json()["detail"]
    bad = await client.post("/api/v1/item-bookings", json={"resource_id": things.projector.id, "first_day": "morgen", "last_day": "2026-01-11"})
    assert bad.status_code == 400
    span = await client.get(f"/api/v1/sites/{things.site_a.id}/day-span", params={"first_day": "2026-01-10", "last_day": "2026-01-12"})
    assert span.status_code == 200 and span.json()["pickup_at"].startswith("2026-01-10T09:00")
    # Members may not hand out.
    refused = await client.post(f"/api/v1/bookings/{booking['id']}/hand-out", json={})
    assert refused.status_code == 403
    # A kit with a taken part: 409 naming it.
    kit = await client.post("/api/v1/kits", json={
        "parts": [{"resource_id": things.projector.id}, {"resource_id": things.screen.id}], "first_day": "2026-01-07", "last_day": "2026-01-07",
    })
    assert kit.status_code == 409, kit.text
    assert kit.json()["detail"].startswith("Beamer Epson is not available")
    kit = await client.post("/api/v1/kits", json={
        "parts": [{"resource_id": things.screen.id}, {"resource_id": things.cable.id, "quantity": 2}], "first_day": "2026-01-08", "last_day": "2026-01-08",
    })
    assert kit.status_code == 201, kit.text
    assert len(kit.json()["bookings"]) == 2 and kit.json()["status"] == "confirmed"
    desks = await client.get(f"/api/v1/sites/{things.site_a.id}/desks", params={"day": "2026-01-06"})
    assert desks.status_code == 200 and desks.json()["is_open"]
    desk = await client.post("/api/v1/desk-bookings", json={"resource_id": things.pool.id, "day": "2026-01-06", "part": "afternoon"})
    assert desk.status_code == 201, desk.text
    assert desk.json()["starts_at"].startswith("2026-01-06T12:00")
    assert (await client.post("/api/v1/desk-bookings", json={"resource_id": things.pool.id, "day": "2026-01-06", "part": "night"})).status_code == 400
    weekly = await client.post("/api/v1/desk-series", json={"resource_id": things.pool.id, "first_day": "2026-01-12", "part": "morning", "until": "2026-02-02"})
    assert weekly.status_code == 201, weekly.text
    assert len(weekly.json()["booked"]) == 4 and weekly.json()["refused"] == []

    await client.post("/api/v1/auth/logout")
    await login(client, things.world, "lender_a")
    app.clock.now = utc(2026, 1, 6, 9, 30)
    today = (await client.get("/api/v1/lender/today")).json()
    assert booking["id"] in [row["booking"]["id"] for row in today["pickups"]]
    out = await client.post(f"/api/v1/bookings/{booking['id']}/hand-out", json={"condition": "ok", "deposit_note": "50 € bar"})
    assert out.status_code == 200, out.text
    assert out.json()["loans"][0]["booking"]["status"] == "checked_out"
    assert out.json()["loans"][0]["loan"]["deposit_note"] == "50 € bar"
    again = await client.post(f"/api/v1/bookings/{booking['id']}/hand-out", json={})
    assert again.status_code == 409 and again.json()["code"] == "transition_not_allowed"
    app.clock.now = utc(2026, 1, 8, 9, 0)
    overdue = (await client.get("/api/v1/lender/overdue")).json()
    assert [row["booking"]["id"] for row in overdue] == [booking["id"]] and overdue[0]["is_overdue"]
    assert overdue[0]["booker_email"] == things.emails["member_a"]
    back = await client.post(f"/api/v1/bookings/{booking['id']}/take-back", json={"damage_notes": "Kratzer"})
    assert back.status_code == 200 and back.json()["loans"][0]["loan"]["damage_notes"] == "Kratzer"
    # returned -> checked_out: 409.
    returned = await client.post(f"/api/v1/bookings/{booking['id']}/hand-out", json={})
    assert returned.status_code == 409 and returned.json()["code"] == "transition_not_allowed"
    assert (await client.post(f"/api/v1/bookings/{booking['id']}/take-back", json={})).status_code == 409
    assert (await client.post(f"/api/v1/bookings/{booking['id']}/approve", json={})).status_code == 409
    assert (await client.post("/api/v1/bookings/999999/hand-out", json={})).status_code == 404
    assert (await client.post(f"/api/v1/bookings/{booking['id']}/hand-out", json={"condition": "x" * 3000})).status_code == 400
    assert (await client.post(f"/api/v1/bookings/{booking['id']}/hand-out", json={"nonsense": 1})).status_code == 400

    block = await client.post(f"/api/v1/resources/{things.projector.id}/repair-blocks", json={"first_day": "2026-01-12", "last_day": "2026-01-13", "reason": "Lampe"})
    assert block.status_code == 201, block.text
    assert block.json()["starts_at"].startswith("2026-01-11T23:00") and block.json()["affected"] == []
    assert (await client.post(f"/api/v1/resources/{things.projector.id}/repair-blocks", json={"reason": "?"})).status_code == 400
    assert (await client.post(f"/api/v1/resources/{things.projector.id}/repair-blocks", json={"first_day": "2026-01-13", "last_day": "2026-01-12"})).status_code == 400
    history = (await client.get(f"/api/v1/resources/{things.projector.id}/history")).json()
    assert {"check_out", "return", "repair_block"} <= {e["action"] for e in history}
    # Session cookies count on unsafe API methods only with a JSON content type (see auth middleware).
    lifted = await client.request(
        "DELETE", f"/api/v1/resources/{things.projector.id}/repair-blocks/{block.json()['id']}",
        headers={"content-type": "application/json"},
    )
    assert lifted.status_code == 204
    assert (await client.get(f"/api/v1/resources/{things.projector_b.id}/history")).status_code == 403


# ---------------------------------------------------------------- races against a live server


@pytest.mark.slow
async def test_benches_pool_never_goes_over_ten_under_concurrent_day_span_requests(database, settings, db_url):
    """60 concurrent POST /api/v1/item-bookings (spans of days, 1–4 benches) on two server processes."""
    real = AppContext(database=database, settings=settings)  # the live server runs on the real clock
    world = await build_world(real, opening_hours=HOURS)
    tokens = [await create_api_token(real, world.emails[role]) for role in ("member_a", "member_b", "org_admin_a")]
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=14 - today.weekday())
    rng = random.Random(6)
    requests = []
    for index in range(60):
        first = monday + timedelta(days=rng.randint(0, 4))
        last = first + timedelta(days=rng.randint(0, 2))
        if last.weekday() == 6:
            last += timedelta(days=1)
        requests.append((tokens[index % 3], {
            "resource_id": world.benches.id, "first_day": first.isoformat(), "last_day": last.isoformat(),
            "quantity": rng.randint(1, 4),
        }))
    with live_server(db_url, workers=2) as base_url:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=60)) as http:
            responses = await asyncio.gather(*(
                http.post(base_url + "/api/v1/item-bookings", json=body, headers={"Authorization": f"Bearer {token}"})
                for token, body in requests
            ))
    counts = Counter(r.status_code for r in responses)
    assert set(counts) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert counts[201] >= 3 and counts[409] >= 1, counts
    async with real.database.reader() as session:
        rows = (await session.exec(select(Booking).where(Booking.resource_id == world.benches.id))).all()
    assert len(rows) == counts[201]
    holdings = [Holding(Interval(r.starts_at, r.ends_at), r.quantity) for r in rows]
    everything = Interval(datetime.combine(monday, datetime.min.time(), UTC) - timedelta(days=1), datetime.combine(monday, datetime.min.time(), UTC) + timedelta(days=10))
    assert peak_usage(holdings, everything) <= 10
    # Every accepted booking picks up at 10:00 and returns at 18:00 local time.
    assert {(r.starts_at.astimezone(tz()).hour, r.ends_at.astimezone(tz()).hour) for r in rows} == {(10, 18)}


def tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")



# ---------------------------------------------------------------- pages


CSRF_COOKIE = "booking_csrf"


async def post_form(client: httpx.AsyncClient, path: str, data: dict | None = None) -> httpx.Response:
    if CSRF_COOKIE not in client.cookies:
        await client.get("/health")
    return await client.post(path, data={**(data or {}), "_csrf_token": client.cookies[CSRF_COOKIE]})


async def test_lender_pages_hand_out_take_back_repair_and_desks(client, app, things):
    app.clock.now = utc(2026, 1, 6, 8, 0)  # Tuesday 09:00 local
    booking = await book_days(app, things, "member_a", things.projector, day(1), day(2), organisation_id=things.org_a.id)
    kit = await lending_bookings.book_kit(app, things["member_b"], lending_bookings.KitRequest(
        (lending_bookings.KitPart(things.screen.id), lending_bookings.KitPart(things.cable.id, 2)), first_day=day(1), last_day=day(1)))
    # Anonymous: to the login page; members: forbidden.
    assert (await client.get("/lender/today")).status_code in (302, 303)
    await login(client, things.world, "member_a")
    assert (await client.get("/lender/today")).status_code == 403
    await client.post("/api/v1/auth/logout")
    await login(client, things.world, "lender_a")
    page = await client.get("/lender/today")
    assert page.status_code == 200, page.text
    assert "Beamer Epson" in page.text and "Leinwand 2 m" in page.text and "HDMI-Kabel 10 m" in page.text
    assert f'action="/lender/loans/{booking.id}/hand-out"' in page.text
    # Too long a note: the form again with the message next to the field, nothing written.
    refused = await post_form(client, f"/lender/loans/{booking.id}/hand-out", {"condition": "x" * 2001, "view": "today"})
    assert refused.status_code == 400 and f'id="condition-out-{booking.id}-error"' in refused.text
    app.clock.now = utc(2026, 1, 6, 9, 5)
    done = await post_form(client, f"/lender/loans/{booking.id}/hand-out", {"condition": "gut", "deposit_note": "Ausweis", "view": "today"})
    assert done.status_code == 303, done.text
    # Handed out twice: 409 with the reason on the page.
    twice = await post_form(client, f"/lender/loans/{booking.id}/hand-out", {"view": "today"})
    assert twice.status_code == 409 and "kern-alert" in twice.text
    # The kit: one form hands out both parts.
    kit_out = await post_form(client, f"/lender/loans/{kit[0].id}/hand-out", {"kit_form": "1", "whole_kit": "1", "view": "today"})
    assert kit_out.status_code == 303
    async with app.database.reader() as session:
        assert {(await session.get(Booking, b.id)).status for b in kit} == {"checked_out"}
    app.clock.now = utc(2026, 1, 8, 9, 0)  # Thursday: the projector is overdue
    overdue = await client.get("/lender/overdue")
    assert overdue.status_code == 200 and "Beamer Epson" in overdue.text and things.emails["member_a"] in overdue.text
    back = await post_form(client, f"/lender/loans/{booking.id}/take-back", {"damage_notes": "Kratzer", "view": "overdue"})
    assert back.status_code == 303 and back.headers["location"] == "/lender/overdue"
    again = await post_form(client, f"/lender/loans/{booking.id}/take-back", {"view": "overdue"})
    assert again.status_code == 409
    # History and a repair block with a booking in it.
    future = await book_days(app, things, "member_b", things.projector, day(8), day(8))
    history = await client.get(f"/lender/items/{things.projector.id}")
    assert history.status_code == 200 and "Kratzer" in history.text
    bad = await post_form(client, f"/lender/items/{things.projector.id}/repair-blocks", {"first_day": "", "last_day": "2026-01-14"})
    assert bad.status_code == 400 and 'id="field-first_day-error"' in bad.text
    reversed_days = await post_form(client, f"/lender/items/{things.projector.id}/repair-blocks", {"first_day": "2026-01-14", "last_day": "2026-01-12"})
    assert reversed_days.status_code == 400
    blocked = await post_form(client, f"/lender/items/{things.projector.id}/repair-blocks", {"first_day": "2026-01-12", "last_day": "2026-01-14", "reason": "Lampe"})
    assert blocked.status_code == 303
    history = await client.get(f"/lender/items/{things.projector.id}")
    # The block lists the booking in its period (member B's), for the lender to handle.
    assert f"/lender/items/{things.projector.id}/repair-blocks/" in history.text and things.emails["member_b"] in history.text
    assert f"/lender/items/{things.projector.id}" in history.text and future.status == "confirmed"
    assert (await client.get("/lender/items")).status_code == 200
    assert (await client.get(f"/lender/items/{things.projector_b.id}")).status_code == 403
    # Desks: public view, booking needs login, a taken desk answers 409 on the page.
    desks = await client.get(f"/desks/{things.site_a.id}", params={"day": "2026-01-09"})
    assert desks.status_code == 200 and "Flexible Arbeitsplätze" in desks.text
    made = await post_form(client, f"/desks/{things.site_a.id}/book", {"resource_id": str(things.window_desk.id), "day": "2026-01-09", "part": "morning"})
    assert made.status_code == 303, made.text
    taken = await post_form(client, f"/desks/{things.site_a.id}/book", {"resource_id": str(things.window_desk.id), "day": "2026-01-09", "part": "full"})
    assert taken.status_code == 409
    closed = await post_form(client, f"/desks/{things.site_a.id}/book", {"resource_id": str(things.pool.id), "day": "2026-01-11", "part": "full"})
    assert closed.status_code == 422 and "Sonntag" in closed.text
    assert (await client.get("/desks")).status_code == 200
    assert (await client.get(f"/desks/{things.site_a.id}", params={"day": "kaputt"})).status_code == 400
