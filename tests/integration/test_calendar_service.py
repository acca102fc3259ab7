"""Calendar pages' data on both databases: states per day, filters, rules, batch queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from booking.domain.errors import InvalidInput, NotFound
from booking.models import Blackout, Policy, Resource
from booking.services import bookings
from booking.services.bookings import BookingRequest
from booking.services.calendar import CalendarQuery, calendar_page
from booking.web.calendar import Filters, calendar_context

BERLIN = ZoneInfo("Europe/Berlin")
FEBRUARY = date(2026, 2, 1)


def at(day: int, hour: float) -> datetime:
    return datetime(2026, 2, day, tzinfo=BERLIN) + timedelta(hours=hour)


def plans_by_name(page) -> dict[str, object]:
    return {plan.resource.name: plan for site in page.plans for plan in site.resources}


async def test_month_states_filters_and_visibility(app, world):
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, at(3, 10), at(3, 12)))
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room.id, at(4, -1), at(5, 1)))  # all of the 4th
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.room_approval.id, at(4, 0), at(5, 0)))
    await bookings.create_booking(app, world["member_a"], BookingRequest(world.benches.id, at(3, 9), at(3, 17), quantity=7))
    async with app.database.transaction() as session:
        session.add(Blackout(site_id=world.site_a.id, resource_id=world.comparable_room.id, starts_at=at(6, 0), ends_at=at(7, 0), reason="Maler"))
        session.add(Resource(site_id=world.site_a.id, kind="room", name="Vereinsraum", visibility="members"))

    page = await calendar_page(app, None, CalendarQuery(view="month", day=FEBRUARY, site_id=world.site_a.id))
    assert len(page.days) == 28 and page.previous_day == date(2026, 1, 1) and page.next_day == date(2026, 3, 1)
    plans = plans_by_name(page)
    assert list(plans) == ["Hall A", "Room A1", "Room A2", "Benches"]  # rooms first; members-only hidden
    room = plans["Room A1"].days
    # 3 February: 10–12 taken, and from 23:00 the next booking (all of the 4th).
    assert (room[2].state, room[2].partly_used, room[2].free_time) == ("free", True, timedelta(hours=21))
    assert room[3].state == "taken" and room[0].state == "free" and not room[0].partly_used
    assert plans["Hall A"].days[3].state == "tentative"
    assert plans["Room A2"].days[5].state == "closed"
    assert plans["Benches"].days[2].fewest_free_units == 3
    assert page.categories == ["Furniture", "Hall", "Seminar"]

    member = await calendar_page(app, world["member_a"], CalendarQuery(view="month", day=FEBRUARY, site_id=world.site_a.id))
    assert "Vereinsraum" in plans_by_name(member)
    seminar = await calendar_page(app, None, CalendarQuery(view="week", day=date(2026, 2, 3), category="Seminar"))
    assert [site.site.name for site in seminar.plans] == ["Site A", "Site B"]
    assert set(plans_by_name(seminar)) == {"Room A1", "Room A2", "Room B1"}
    week_room = plans_by_name(seminar)["Room A1"].days[1]  # Tuesday 3 February
    assert [(s.state, s.starts_at.astimezone(BERLIN).hour) for s in week_room.segments] == [("free", 0), ("taken", 10), ("free", 12), ("taken", 23)]
    only = await calendar_page(app, None, CalendarQuery(view="week", day=date(2026, 2, 3), resource_id=world.benches.id))
    assert list(plans_by_name(only)) == ["Benches"]

    with pytest.raises(InvalidInput):
        await calendar_page(app, None, CalendarQuery(view="year"))
    with pytest.raises(InvalidInput):
        await calendar_page(app, None, CalendarQuery(kind="boat"))
    with pytest.raises(NotFound):
        await calendar_page(app, None, CalendarQuery(site_id=9999))


async def test_free_time_inside_the_lead_time_is_shown_but_not_offered(app, world):
    async with app.database.transaction() as session:
        session.add(Policy(resource_id=world.comparable_room.id, lead_time_minutes=7 * 24 * 60, max_horizon_days=30))
    # The clock is Monday 5 January 2026, 10:00 Berlin time.
    query = CalendarQuery(view="month", day=date(2026, 1, 1), resource_id=world.comparable_room.id)
    for actor, first_offered in ((world["member_a"], 12), (world["lender_a"], 5)):
        page = await calendar_page(app, actor, query)
        context = calendar_context(page, Filters(view="month", day=date(2026, 1, 1)), "en", "/calendar")
        html = str(context["grids"][0]["rows"][0]["cells_html"])
        links = html.count('<a class="cal-slot cal-slot--free"')
        days_left = 31 - first_offered + 1
        # The horizon ends on 4 February: January is offered from the first bookable day on.
        assert links == days_left, (actor.display_name, links)
        assert f"starts_at=2026-01-{first_offered:02d}T" in html
    assert "starts_at=2026-01-05T10:00" in html  # staff: from now on


async def test_a_page_costs_the_same_queries_for_5_or_50_resources(app, world):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engines = {engine.sync_engine for engine in app.database.engines}
    query = CalendarQuery(view="month", day=FEBRUARY, per_page=100)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        await calendar_page(app, None, query)
        small = len(statements)
        async with app.database.transaction() as session:
            for number in range(45):
                session.add(Resource(site_id=world.site_b.id, kind="desk", name=f"Desk {number}"))
        statements.clear()
        page = await calendar_page(app, None, query)
        assert sum(len(site.resources) for site in page.plans) == 50
        assert len(statements) == small, statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


async def test_pages_of_resources_and_the_agenda(app, world):
    async with app.database.transaction() as session:
        for number in range(45):
            session.add(Resource(site_id=world.site_b.id, kind="desk", name=f"Desk {number:02d}"))
    first = await calendar_page(app, None, CalendarQuery(view="agenda", day=date(2026, 2, 3)))
    count = first.resource_count
    assert count > 45 and first.page_count == -(-count // 30)
    assert sum(len(site.resources) for site in first.plans) == 30
    last = await calendar_page(app, None, CalendarQuery(view="agenda", day=date(2026, 2, 3), page=99))
    assert last.page == last.page_count and sum(len(site.resources) for site in last.plans) == count - 30 * (last.page_count - 1)
    # The agenda: seven days from the day asked for, with each day's stretches kept.
    assert first.days[0] == date(2026, 2, 3) and len(first.days) == 7
    assert (first.previous_day, first.next_day) == (date(2026, 1, 27), date(2026, 2, 10))
    assert all(day.segments for site in first.plans for plan in site.resources for day in plan.days)
    with pytest.raises(InvalidInput):
        await calendar_page(app, None, CalendarQuery(page=0))
