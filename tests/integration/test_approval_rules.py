"""Issue 16, acceptance 1: approval rules and quotas decide "confirmed at once" or "requested".

A table of (booker, time, length, quota state, no-shows) -> outcome, on both databases. For every
row the preview (what the booking page says beforehand) is asserted equal to what the real
create does: both call the same decision under the same locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from booking.domain.quotas import QuotaExceeded
from booking.domain.recurrence import RecurrenceRule
from booking.models import Booking, Policy, Quota
from booking.services import bookings
from booking.services import series as series_service
from booking.services.bookings import BookingRequest
from booking.services.series import SeriesRequest
from tests.support.world import build_world

BERLIN = ZoneInfo("Europe/Berlin")
# The site is open 08:00-22:00 every day; "now" (the fixture's clock) is Monday 5 January 2026, 10:00 in Berlin.
OPEN_8_TO_22 = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def berlin(day: int, hour: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=BERLIN)


@dataclass(frozen=True)
class Row:
    label: str
    booker: str
    organisation: str | None  # "a" | "b" | None (private)
    starts_at: datetime
    hours: int
    used_hours: int = 0  # the organisation's hours in January already (quota state), in the other room of the category
    no_shows: int = 0
    expected: str = "confirmed"


ROWS = [
    Row("trusted, short, soon, in hours, quota free", "member_a", "a", berlin(13, 18), 2),
    Row("organisation not trusted", "member_b", "b", berlin(13, 18), 2, expected="requested"),
    Row("private booking (no organisation)", "member_a", None, berlin(13, 18), 2, expected="requested"),
    Row("ends after closing time", "member_a", "a", berlin(13, 20), 3, expected="requested"),
    Row("longer than 4 hours", "member_a", "a", berlin(13, 9), 5, expected="requested"),
    Row("more than 30 days ahead", "member_a", "a", berlin(10, 18, month=2), 2, expected="requested"),
    Row("quota: 8 of 10 hours used, 2 more fit exactly", "member_a", "a", berlin(13, 18), 2, used_hours=8),
    Row("quota: 9 of 10 hours used, 2 more do not fit", "member_a", "a", berlin(13, 18), 2, used_hours=9, expected="requested"),
    Row("quota of January only: February is free", "member_a", "a", berlin(2, 18, month=2), 2, used_hours=10),
    Row("2 no-shows: still fewer than 3", "member_a", "a", berlin(13, 18), 2, no_shows=2),
    Row("3 no-shows", "member_a", "a", berlin(13, 18), 2, no_shows=3, expected="requested"),
    Row("the site's lender bypasses every rule", "lender_a", None, berlin(13, 20), 6, used_hours=10, expected="confirmed"),
    Row("the organisation's admin is no staff", "org_admin_a", "a", berlin(13, 18), 5, expected="requested"),
]


@pytest.fixture
async def ruled_world(app):
    world = await build_world(app, opening_hours=OPEN_8_TO_22)
    async with app.database.transaction() as session:
        session.add(Policy(
            resource_id=world.room.id, approval_mode="rules", trusted_organisation_ids=[world.org_a.id],
            approve_within_opening_hours=True, approve_max_hours=4, approve_max_days_ahead=30,
            approve_max_no_shows=3, approve_no_show_days=90, max_horizon_days=365,
            # Bookable around the clock; confirmed at once only within the opening hours.
            opening_hours_mode="ignore",
        ))
        # Asks (does not refuse): over it, the lender decides. Counts both seminar rooms.
        session.add(Quota(site_id=world.site_a.id, category="Seminar", metric="hours_per_month", subject="organisation",
                          amount=10, enforcement="ask"))
    return world


async def _prepare(app, world, row: Row) -> None:
    async with app.database.transaction() as session:
        booker_id = world["member_a"].user_id
        if row.used_hours:
            session.add(Booking(
                resource_id=world.comparable_room.id, starts_at=berlin(7, 9), ends_at=berlin(7, 9) + timedelta(hours=row.used_hours),
                status="confirmed", organisation_id=world.org_a.id, booker_id=booker_id,
            ))
        for number in range(row.no_shows):
            starts_at = berlin(1, 10) - timedelta(days=7 * (number + 1))
            session.add(Booking(
                resource_id=world.room.id, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
                status="no_show", organisation_id=world.org_a.id, booker_id=booker_id,
            ))


@pytest.mark.parametrize("row", ROWS, ids=[row.label for row in ROWS])
async def test_the_decision_table_and_the_preview_agree(app, ruled_world, row):
    world = ruled_world
    await _prepare(app, world, row)
    organisation_id = {"a": world.org_a.id, "b": world.org_b.id, None: None}[row.organisation]
    request = BookingRequest(world.room.id, row.starts_at, row.starts_at + timedelta(hours=row.hours), organisation_id=organisation_id)
    actor = world[row.booker]
    preview = await bookings.preview_booking(app, actor, request)
    made = await bookings.create_booking(app, actor, request)
    assert preview.decision.outcome == made.status == row.expected, (row.label, preview.decision.reasons)
    assert preview.decision.reasons, "a decision always says why"
    if row.expected == "requested":
        assert not all(reason.holds for reason in preview.decision.reasons)


async def test_a_refusing_quota_refuses_with_what_is_left_but_not_for_staff(app, ruled_world):
    world = ruled_world
    async with app.database.transaction() as session:
        session.add(Quota(site_id=world.site_a.id, resource_id=world.room.id, metric="hours_per_week", subject="person",
                          amount=3, enforcement="refuse"))
    member = world["member_a"]
    first = BookingRequest(world.room.id, berlin(13, 9), berlin(13, 11), organisation_id=world.org_a.id)
    assert (await bookings.create_booking(app, member, first)).status == "confirmed"
    second = BookingRequest(world.room.id, berlin(14, 9), berlin(14, 11), organisation_id=world.org_a.id)
    with pytest.raises(QuotaExceeded) as refused:
        await bookings.preview_booking(app, member, second)
    assert refused.value.state.remaining == 60 and refused.value.status_code == 409
    assert "1 hours are left" in refused.value.message
    with pytest.raises(QuotaExceeded):
        await bookings.create_booking(app, member, second)
    # The next week is a new week; the site's lender books past the quota.
    assert (await bookings.create_booking(app, member, BookingRequest(
        world.room.id, berlin(20, 9), berlin(20, 11), organisation_id=world.org_a.id))).status == "confirmed"
    lender = await bookings.create_booking(app, world["lender_a"], BookingRequest(world.room.id, berlin(14, 12), berlin(14, 20)))
    assert lender.status == "confirmed"


async def test_a_series_checks_every_date_against_the_quota(app, ruled_world):
    world = ruled_world
    async with app.database.transaction() as session:
        session.add(Quota(site_id=world.site_a.id, category="Seminar", metric="upcoming_bookings", subject="organisation",
                          amount=3, enforcement="refuse"))
    request = SeriesRequest(
        world.room.id, datetime(2026, 1, 13, 18, 0), timedelta(hours=2), RecurrenceRule("weekly", count=5),
        organisation_id=world.org_a.id,
    )
    dates = await series_service.preview_series(app, world["member_a"], request)
    assert [item.free for item in dates] == [True, True, True, False, False]
    result = await series_service.create_series(app, world["member_a"], request, mode="book_free")
    assert len(result.booked) == 3
    assert [item.code for item in result.refused] == ["quota_exceeded", "quota_exceeded"]
    # The soft monthly quota and the rules: dates within 30 days confirmed, the later one requested.
    assert [booking.status for booking in result.booked] == ["confirmed", "confirmed", "confirmed"]
    assert [item.decision.outcome for item in dates if item.decision] == [b.status for b in result.booked]


async def test_existing_switch_migrates_to_a_rule(app, world):
    async with app.database.reader() as session:
        policy = (await session.exec(select(Policy).where(Policy.resource_id == world.room_approval.id))).one()
    assert policy.approval_mode == "ask"
    made = await bookings.create_booking(app, world["member_a"], BookingRequest(
        world.room_approval.id, berlin(13, 18), berlin(13, 20), organisation_id=world.org_a.id))
    preview_reason = (await bookings.preview_booking(app, world["member_a"], BookingRequest(
        world.room_approval.id, berlin(14, 18), berlin(14, 20), organisation_id=world.org_a.id))).decision.reasons[0]
    assert made.status == "requested" and preview_reason.code == "always_ask"


async def test_undoing_a_cancel_counts_the_quota_again(app, ruled_world):
    world = ruled_world
    async with app.database.transaction() as session:
        session.add(Quota(site_id=world.site_a.id, resource_id=world.room.id, metric="hours_per_week", subject="person",
                          amount=3, enforcement="refuse"))
    member = world["member_a"]
    first = await bookings.create_booking(app, member, BookingRequest(world.room.id, berlin(13, 9), berlin(13, 12)))
    await bookings.cancel_booking(app, member, first.id)
    await bookings.create_booking(app, member, BookingRequest(world.room.id, berlin(14, 9), berlin(14, 12)))
    with pytest.raises(QuotaExceeded):
        await bookings.undo_cancel(app, member, first.id)
