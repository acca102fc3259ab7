"""The report's figures on a fixed data set, each family against hand-computed values, on both databases."""

from __future__ import annotations

from datetime import date

import pytest

from booking.domain.errors import Conflict, InvalidInput
from booking.models import UnmetDemand
from booking.services import accounts, bookings, reporting
from booking.services.bookings import BookingRequest
from booking.services.reporting import Period
from tests.support.report_world import ReportWorld, build_report_world, local


@pytest.fixture
async def report_world(app) -> ReportWorld:
    world = await build_report_world(app)
    # A real conflict: Bernd asks for the hall when Anna has it (recorded by the booking service).
    bernd = await accounts.principal_for_user_id(app, world.users["u2"].id)
    with pytest.raises(Conflict):
        await bookings.create_booking(app, bernd, BookingRequest(world.hall.id, local(2026, 1, 12, 10), local(2026, 1, 12, 12)))
    async with app.database.transaction() as session:
        session.add(UnmetDemand(resource_id=world.desks.id, requested_starts_at=local(2026, 3, 2, 10),
                                requested_ends_at=local(2026, 3, 2, 12), quantity=2))
    return world


@pytest.fixture
async def report(app, report_world) -> reporting.Report:
    return await reporting.build_report(app, Period.year(2026))


async def test_usage_per_site_kind_category_and_local_month(report, report_world):
    rows = {(row.site, row.kind, row.category, row.month): (row.bookings, row.unit_hours) for row in report.usage}
    assert rows == {
        ("Stadtteilhaus Nord", "room", "Saal", "2026-01"): (1, 2.0),
        ("Stadtteilhaus Nord", "room", "Saal", "2026-03"): (1, 1.0),  # 00:30 local on 1 March
        ("Stadtteilhaus Nord", "desk", "Coworking", "2026-01"): (1, 12.0),
        ("Stadtteilhaus Nord", "item", "Möbel", "2026-01"): (1, 360.0),
        ("Stadtteilhaus Nord", "item", "Möbel", "2026-02"): (1, 96.0),
        ("Bibliothek Süd", "room", "Seminar", "2026-02"): (1, 4.0),
    }
    assert report.hours_booked == 19.0
    assert report.loans == 2
    assert report.loan_days == 19.0


async def test_utilisation_against_opening_hours(report):
    rows = {(row.site, row.kind, row.month): (row.booked_hours, row.available_hours) for row in report.utilisation}
    # January 2026 has 22 weekdays: 176 open hours; the desks are 4 units.
    assert rows[("Stadtteilhaus Nord", "room", "2026-01")] == (2.0, 176.0)
    assert rows[("Stadtteilhaus Nord", "desk", "2026-01")] == (12.0, 704.0)
    # Open around the clock: 672 h in February, 743 h in March (the clocks go forward).
    assert rows[("Bibliothek Süd", "room", "2026-02")] == (4.0, 672.0)
    assert rows[("Bibliothek Süd", "room", "2026-03")] == (0.0, 743.0)
    assert len(rows) == 3 * 12  # three site-kinds with units, every month
    # 261 weekdays × 8 h × (1 room + 4 desks) + 8760 h for the reading room.
    assert sum(row.available_hours for row in report.utilisation) == 261 * 8 * 5 + 8760
    assert report.utilisation_share == round(19 / (261 * 8 * 5 + 8760), 4)
    by_kind = {label: (booked, available) for label, _, booked, available in report.utilisation_by("kind")}
    assert by_kind == {"desk": (12.0, 8352.0), "room": (7.0, 2088.0 + 8760.0)}


async def test_reach_counts_distinct_organisations_and_persons(report, report_world):
    north, south = report_world.north.id, report_world.south.id
    assert {(row.site_id, row.month): (row.organisations, row.persons) for row in report.reach} == {
        (north, "2026-01"): (2, 2), (north, "2026-02"): (1, 1), (north, "2026-03"): (1, 1), (south, "2026-02"): (0, 1),
        (north, None): (3, 3), (south, None): (0, 1),
        (None, "2026-01"): (2, 2), (None, "2026-02"): (1, 2), (None, "2026-03"): (1, 1),
        (None, None): (3, 3),
    }
    assert (report.organisations, report.persons) == (3, 3)


async def test_first_time_organisations(report):
    # o1 first used a room in December 2025; o3 in January (the benches), o2 in March.
    assert report.first_time_organisations == {"2026-01": 1, "2026-03": 1}
    assert report.new_organisations == 2


async def test_declined_grouped_by_whether_a_reason_was_given(report):
    assert sorted((row.site, row.month, row.group, row.count) for row in report.declined) == [
        ("Bibliothek Süd", "2026-02", "no_reason", 1),
        ("Stadtteilhaus Nord", "2026-01", "reason_given", 1),
    ]


async def test_cancellations_by_lead_time(report):
    assert sorted((row.site, row.month, row.group, row.count) for row in report.cancellations) == [
        ("Stadtteilhaus Nord", "2026-01", "over_7_days", 1),
        ("Stadtteilhaus Nord", "2026-01", "under_1_day", 1),
    ]


async def test_unmet_demand_from_conflicts(report):
    assert sorted((row.site, row.kind, row.month, row.requests, row.requested_hours) for row in report.unmet_demand) == [
        ("Stadtteilhaus Nord", "desk", "2026-03", 1, 4.0),
        ("Stadtteilhaus Nord", "room", "2026-01", 1, 2.0),
    ]
    assert report.unmet_by_month()[:3] == [("2026-01", 1), ("2026-02", 0), ("2026-03", 1)]


async def test_top_resources(report):
    assert [(row.resource, row.bookings, row.unit_hours) for row in report.top_resources] == [
        ("Bierbänke", 2, 456.0), ("Saal", 2, 3.0), ("Schreibtische", 1, 12.0), ("Lesesaal", 1, 4.0),
    ]


async def test_site_filter_limits_every_family(app, report_world):
    report = await reporting.build_report(app, Period.year(2026), site_ids=[report_world.south.id])
    assert {row.site for row in report.usage} == {"Bibliothek Süd"}
    assert (report.organisations, report.persons) == (0, 1)
    assert report.first_time_organisations == {}
    assert [row.site for row in report.declined] == ["Bibliothek Süd"]
    assert report.cancellations == [] and report.unmet_demand == []
    assert {row.site for row in report.utilisation} == {"Bibliothek Süd"}


async def test_other_periods_see_other_bookings(app, report_world):
    report = await reporting.build_report(app, Period.year(2025))
    assert [(row.month, row.unit_hours) for row in report.usage] == [("2025-12", 2.0)]
    assert report.first_time_organisations == {"2025-12": 1}


def test_period_is_bounded():
    assert Period.of(date(2026, 3, 17), date(2026, 5, 2)).months == ["2026-03", "2026-04", "2026-05"]
    with pytest.raises(InvalidInput):
        Period.of(date(2026, 5, 1), date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        Period.of(date(2020, 1, 1), date(2026, 1, 1))


async def test_cli_report_prints_the_same_tables(app, report_world, db_url):
    from tests.integration.test_cli import booking_cli

    expected = reporting.tables_as_json(await reporting.build_report(app, Period.year(2026)))
    as_json = booking_cli(db_url, "report", "--year", "2026", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    import json

    assert json.loads(as_json.stdout) == json.loads(json.dumps(expected))
    as_csv = booking_cli(db_url, "report", "--year", "2026", "--format", "csv", "--semicolon")
    assert as_csv.returncode == 0, as_csv.stderr
    assert "Stadtteilhaus Nord;item;Möbel;2026-01;1;360.0;15.0" in as_csv.stdout
    for user in report_world.users.values():
        assert user.email not in as_csv.stdout + as_json.stdout
    assert booking_cli(db_url, "report", "--year", "1999").returncode != 0


# --- waiting lists and volunteering (tests/support/report_world.py: add_engagement) -----------


async def test_offer_places_are_not_use_of_rooms_desks_or_things(app, report_world):
    # The world's offer places are bookings of hidden resources of kind "offer" (confirmed and
    # cancelled ones, and unmet demand for a full date): the booking figures above stay as they
    # were, in both report paths and in open data.
    for report in (await reporting.build_report(app, Period.year(2026)), await reporting.build_report_direct(app, Period.year(2026))):
        assert "offer" not in {row.kind for row in report.usage} | {row.kind for row in report.unmet_demand}
        assert not any(row.resource.startswith("offer-") for row in report.top_resources)
        assert (report.organisations, report.persons) == (3, 3)
        assert report.cancellations_total == 2 and report.unmet_requests == 2


async def test_waiting_lists_per_site_kind_and_month(report):
    rows = {(row.site, row.kind, row.month): (row.joined, row.offered, row.took_hold, row.let_hold_go, row.left_unoffered,
                                              row.waiting_at_month_end) for row in report.waiting_lists}
    assert rows == {
        # joined, offered, took the hold, let it go, left without an offer, waiting at month end
        ("Stadtteilhaus Nord", "room", "2026-01"): (3, 1, 1, 0, 1, 2),
        ("Stadtteilhaus Nord", "room", "2026-02"): (0, 1, 0, 1, 0, 0),
        ("Stadtteilhaus Nord", "desk", "2026-02"): (1, 0, 0, 0, 0, 1),
        ("Stadtteilhaus Nord", "desk", "2026-03"): (0, 0, 0, 0, 1, 0),
        ("Stadtteilhaus Nord", "room", "2026-12"): (1, 0, 0, 0, 0, 1),
        ("Bibliothek Süd", "offer", "2026-01"): (1, 0, 0, 0, 0, 1),
        ("Bibliothek Süd", "offer", "2026-02"): (1, 1, 1, 0, 0, 0),
    }
    figures = dict(reporting.waiting_list_key_figures(report))
    assert figures == {
        "waiting_joined": 5, "waiting_took_hold": 1, "waiting_at_period_end": 1,
        "offer_waiting_joined": 2, "offer_waiting_took_hold": 1, "offer_waiting_at_period_end": 0,
    }


async def test_waiting_list_length_at_the_end_of_a_shorter_period(app, report_world):
    report = await reporting.build_report(app, Period.of(date(2026, 1, 1), date(2026, 1, 1)))
    assert dict(reporting.waiting_list_key_figures(report))["waiting_at_period_end"] == 2
    assert dict(reporting.waiting_list_key_figures(report))["offer_waiting_at_period_end"] == 1


async def test_volunteering_per_site_and_month(report):
    assert [
        (row.site, row.month, row.offers_task, row.offers_training, row.dates_held, row.places_offered, row.places_filled,
         row.attended, row.hours_volunteered, row.volunteers)
        for row in report.volunteering
    ] == [
        ("Bibliothek Süd", "2026-01", 0, 1, 0, 0, 0, 0, 0.0, 0),
        ("Bibliothek Süd", "2026-02", 0, 0, 1, 10, 1, 1, 3.0, 1),
        # The trees' January date (3 places, 3 filled: one by e-mail only, marked absent).
        ("Stadtteilhaus Nord", "2026-01", 0, 0, 1, 3, 3, 2, 6.0, 3),
        # The trees' February date and the called-off offer's date before it was called off.
        ("Stadtteilhaus Nord", "2026-02", 1, 0, 2, 5, 3, 2, 3.0, 2),
    ]
    assert dict(reporting.volunteering_key_figures(report)) == {
        "offers_published": 2, "offer_dates_held": 4, "offer_places_offered": 18, "offer_places_filled": 7,
        "offer_attended": 5, "hours_volunteered": 12.0, "volunteers": 3, "new_volunteers": 2,
    }


async def test_distinct_and_first_time_volunteers(report, report_world):
    north, south = report_world.north.id, report_world.south.id
    assert {(row.site_id, row.month): row.volunteers for row in report.volunteers} == {
        (north, "2026-01"): 3, (north, "2026-02"): 2, (south, "2026-02"): 1,
        (north, None): 3, (south, None): 1, (None, "2026-01"): 3, (None, "2026-02"): 3, (None, None): 3,
    }
    # Vera volunteered first in December 2025; Wim and the e-mail-only volunteer in January.
    assert report.first_time_volunteers == {"2026-01": 2}


async def test_engagement_figures_follow_the_site_filter_and_the_previous_year(app, report_world):
    south = await reporting.build_report(app, Period.year(2026), site_ids=[report_world.south.id])
    assert {row.site for row in south.waiting_lists} == {row.site for row in south.volunteering} == {"Bibliothek Süd"}
    assert south.volunteers_total == 1 and south.first_time_volunteers == {"2026-02": 1}
    previous = await reporting.build_report(app, Period.year(2025), key_figures_only=True)
    figures = dict(reporting.key_figures(previous))
    assert (figures["offers_published"], figures["offer_dates_held"], figures["volunteers"], figures["new_volunteers"]) == (1, 1, 1, 1)
    assert figures["hours_volunteered"] == 2.0
