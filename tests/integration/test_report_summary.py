"""The report's monthly summary equals the direct SQL figures, stays so through changes, and
counts the dates of a series refused because taken as unmet demand; on both databases."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from booking.domain.recurrence import RecurrenceRule
from booking.models import (
    Booking, BookingEvent, Organisation, ReportMonthPerson, ReportSummary, ReportSummaryChange, Resource, Site,
    UnmetDemand, User,
)
from booking.services import bookings, report_summary, reporting
from booking.services import series as series_service
from booking.services.bookings import BookingRequest
from booking.services.reporting import Period
from booking.services.series import SeriesConflict, SeriesRequest

SEED = 20261202
STATUSES = ("confirmed", "confirmed", "confirmed", "returned", "checked_out", "requested", "declined", "cancelled")
ZONES = ("Europe/Berlin", "America/New_York")
PERIODS = (
    Period.year(2026),
    Period.year(2025),
    Period.of(date(2025, 11, 1), date(2026, 2, 1)),  # across a year's end
    Period.of(date(2026, 3, 1), date(2026, 3, 1)),  # one month with a clock change
)


async def build_random_world(app, rng: random.Random) -> dict[str, list]:
    """3 sites in two time zones, 9 resources of every kind, 6 organisations, 8 persons and 400
    bookings from Oct 2025 to Apr 2027, many at local midnight around a month's end."""
    async with app.database.transaction() as session:
        sites = [Site(name=f"Ort {n}", contact_email=f"ort{n}@site.example", timezone=ZONES[n % 2],
                      opening_hours={} if n == 2 else {"mon": [["09:00", "17:00"]], "sat": [["10:00", "14:00"]]})
                 for n in range(3)]
        organisations = [Organisation(name=f"Verein {n}") for n in range(6)]
        users = [User(email=f"person{n}@example.org", display_name=f"Person {n}") for n in range(8)]
        session.add_all([*sites, *organisations, *users])
        await session.flush()
        resources = [
            Resource(site_id=sites[n % 3].id, kind=("room", "desk", "item")[n % 3], name=f"Angebot {n}",
                     category=f"Kategorie {n % 2}", capacity=1 if n % 3 == 0 else 4)
            for n in range(9)
        ]
        session.add_all(resources)
        await session.flush()
        made = []
        for _ in range(400):
            resource = rng.choice(resources)
            zone = ZoneInfo(next(site.timezone for site in sites if site.id == resource.site_id))
            month_start = date(2025, 10, 1) + timedelta(days=31 * rng.randrange(19))
            if rng.random() < 0.3:  # around local midnight at the start of a month
                local = datetime(month_start.year, month_start.month, 1, tzinfo=zone) + timedelta(minutes=rng.choice((-30, 0, 15, 45)))
            else:
                local = datetime(month_start.year, month_start.month, rng.randint(1, 28), rng.randint(6, 22),
                                 rng.choice((0, 15, 30, 45)), tzinfo=zone)
            starts_at = local.astimezone(UTC)
            minutes = rng.choice((30, 60, 90, 120, 240)) if resource.kind != "item" else 60 * 24 * rng.randint(1, 5)
            status = rng.choice(STATUSES)
            booking = Booking(
                resource_id=resource.id, quantity=1 if resource.capacity == 1 else rng.randint(1, 4),
                starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), status=status, is_exclusive=False,
                organisation_id=rng.choice([None, *[o.id for o in organisations]]), booker_id=rng.choice(users).id,
                title="Geheim", decision_reason=rng.choice(("", "  ", "Der Raum ist zu klein")),
            )
            session.add(booking)
            made.append(booking)
        await session.flush()
        for booking in made:
            if booking.status == "cancelled" and rng.random() < 0.9:
                session.add(BookingEvent(booking_id=booking.id, action="cancel", from_status="confirmed", to_status="cancelled",
                                         at=booking.starts_at - timedelta(hours=rng.choice((-2, 5, 30, 100, 400)))))
        for _ in range(60):
            resource = rng.choice(resources)
            starts_at = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), tzinfo=UTC)
            session.add(UnmetDemand(resource_id=resource.id, requested_starts_at=starts_at,
                                    requested_ends_at=starts_at + timedelta(minutes=rng.choice((60, 90, 120))), quantity=rng.randint(1, 2)))
    return {"sites": sites, "resources": resources, "organisations": organisations, "users": users, "bookings": made}


async def assert_summary_equals_direct(app, sites) -> None:
    for period in PERIODS:
        for site_ids in (None, [sites[0].id], [sites[1].id, sites[2].id]):
            from_summary = await reporting.build_report(app, period, site_ids=site_ids)
            direct = await reporting.build_report_direct(app, period, site_ids=site_ids)
            assert reporting.tables_as_json(from_summary) == reporting.tables_as_json(direct), (period, site_ids)
            assert sorted(from_summary.reach, key=repr) == sorted(direct.reach, key=repr)
            # The yearly page's previous year reads only the key figures, computed more cheaply.
            figures_only = await reporting.build_report(app, period, site_ids=site_ids, key_figures_only=True)
            assert reporting.key_figures(figures_only) == reporting.key_figures(direct), (period, site_ids)
        assert await reporting.open_data(app, period) == await reporting.open_data_direct(app, period), period


async def pending(app) -> int:
    async with app.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(ReportSummaryChange))).one()


async def test_summary_equals_direct_figures_on_random_data_and_through_changes(app):
    rng = random.Random(SEED)
    world = await build_random_world(app, rng)
    await report_summary.rebuild(app)
    assert await pending(app) == 0
    report = await reporting.build_report(app, Period.year(2026))
    assert report.usage and report.declined and report.cancellations and report.unmet_demand and report.organisations
    await assert_summary_equals_direct(app, world["sites"])

    # Changes through the ORM: status changes, moves to other months and resources, deletions.
    async with app.database.transaction() as session:
        rows = (await session.exec(select(Booking).order_by(col(Booking.id)))).all()
        for booking in rng.sample(list(rows), 60):
            action = rng.randrange(4)
            if action == 0:
                booking.status = rng.choice(STATUSES)
            elif action == 1:
                booking.starts_at += timedelta(days=rng.choice((-20, 13, 40)))
                booking.ends_at = booking.starts_at + timedelta(hours=1)
            elif action == 2:
                booking.resource_id = rng.choice(world["resources"]).id
                booking.organisation_id = rng.choice([None, *[o.id for o in world["organisations"]]])
            else:
                await session.delete(booking)
                continue
            session.add(booking)
        # A late cancellation event for a booking cancelled without one.
        cancelled = next(b for b in rows if b.status == "cancelled" and b in session)
        session.add(BookingEvent(booking_id=cancelled.id, action="cancel", from_status="confirmed", to_status="cancelled",
                                 at=cancelled.starts_at - timedelta(days=3)))
    assert await pending(app) > 0
    # A bulk UPDATE, as erasure's anonymisation writes: every booking of person 0 to person 1.
    async with app.database.transaction() as session:
        await session.exec(update(Booking).where(col(Booking.booker_id) == world["users"][0].id)  # type: ignore[call-overload]
                           .values(booker_id=world["users"][1].id))
        # A bulk UPDATE that moves a use to another month and resource: both months are noted.
        moved = (await session.exec(select(Booking).where(col(Booking.status) == "confirmed").limit(1))).one()
        new_start = moved.starts_at + timedelta(days=75)
        await session.exec(update(Booking).where(col(Booking.id) == moved.id).values(  # type: ignore[call-overload]
            starts_at=new_start, ends_at=new_start + timedelta(hours=2), resource_id=world["resources"][4].id))
    await assert_summary_equals_direct(app, world["sites"])
    assert await pending(app) == 0

    # The worker's job recomputes only the months a change touched.
    async with app.database.transaction() as session:
        booking = (await session.exec(select(Booking).where(Booking.status == "confirmed").limit(1))).one()
        booking.quantity += 1
        session.add(booking)
    assert await report_summary.refresh(app) == 1
    assert await report_summary.refresh(app) == 0
    await assert_summary_equals_direct(app, world["sites"])

    # A site's new time zone shifts months: everything is recomputed.
    async with app.database.transaction() as session:
        site = await session.get(Site, world["sites"][0].id)
        site.timezone = "Asia/Tokyo"  # type: ignore[union-attr]
        session.add(site)
    assert await report_summary.refresh(app) == -1
    await assert_summary_equals_direct(app, world["sites"])


async def test_rebuild_from_the_command_line_after_a_raw_import(app, db_url):
    from tests.integration.test_cli import booking_cli

    rng = random.Random(SEED + 1)
    world = await build_random_world(app, rng)
    await report_summary.rebuild(app)
    # Rows written around the sessions (a raw import) are not noted...
    async with app.database.engine.begin() as connection:
        await connection.execute(update(Booking).where(col(Booking.status) == "requested").values(status="confirmed"))
        await connection.execute(ReportSummary.__table__.delete())  # type: ignore[attr-defined]
        await connection.execute(ReportMonthPerson.__table__.delete())  # type: ignore[attr-defined]
    assert await pending(app) == 0
    # ... until the summary is rebuilt.
    result = booking_cli(db_url, "report", "--rebuild-summary")
    assert result.returncode == 0, result.stderr
    await assert_summary_equals_direct(app, world["sites"])


async def test_dates_of_a_series_refused_because_taken_count_as_unmet_demand(app, world):
    # Wednesdays 10-12 from 4 February, 8 dates; 18 February and 11 March are taken.
    for taken in (datetime(2026, 2, 18, 10, 30), datetime(2026, 3, 11, 10, 30)):
        starts_at = taken.replace(tzinfo=ZoneInfo("Europe/Berlin"))
        await bookings.create_booking(app, world["member_b"], BookingRequest(world.room.id, starts_at, starts_at + timedelta(minutes=30)))
    rule = RecurrenceRule("weekly", weekdays=("WE",), count=8)
    request = SeriesRequest(world.room.id, datetime(2026, 2, 4, 10, 0), timedelta(hours=2), rule, quantity=1)

    # All or nothing: nothing is booked, the two taken dates still met a taken slot.
    with pytest.raises(SeriesConflict):
        await series_service.create_series(app, world["member_a"], request, mode="all_or_nothing")
    report = await reporting.build_report(app, Period.year(2026))
    assert sorted((r.site, r.kind, r.month, r.requests, r.requested_hours) for r in report.unmet_demand) == [
        ("Site A", "room", "2026-02", 1, 2.0), ("Site A", "room", "2026-03", 1, 2.0),
    ]

    # Book the free ones: 6 booked, the same 2 refused (and counted again: a second request).
    result = await series_service.create_series(app, world["member_a"], request, mode="book_free")
    assert len(result.booked) == 6 and len(result.refused) == 2
    report = await reporting.build_report(app, Period.year(2026))
    assert sorted((r.site, r.kind, r.month, r.requests, r.requested_hours) for r in report.unmet_demand) == [
        ("Site A", "room", "2026-02", 2, 4.0), ("Site A", "room", "2026-03", 2, 4.0),
    ]
    assert report.unmet_requests == 4
    # Without the person: the rows hold resource, time and quantity only.
    async with app.database.reader() as session:
        assert (await session.exec(select(func.count()).select_from(UnmetDemand))).one() == 4
    direct = await reporting.build_report_direct(app, Period.year(2026))
    assert reporting.tables_as_json(report) == reporting.tables_as_json(direct)


async def test_a_refusal_by_a_rule_is_not_unmet_demand(app, world):
    # 29 March 2026 02:30 does not exist in Berlin: skipped by the clock change, not taken.
    rule = RecurrenceRule("daily", count=3)
    request = SeriesRequest(world.room.id, datetime(2026, 3, 28, 2, 30), timedelta(hours=1), rule)
    result = await series_service.create_series(app, world["member_a"], request, mode="book_free")
    assert [item.code for item in result.refused] == ["nonexistent_local_time"]
    report = await reporting.build_report(app, Period.year(2026))
    assert report.unmet_demand == []
