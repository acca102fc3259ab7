"""Recurring bookings on both databases: local wall time across DST, refused dates, changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from booking.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from booking.domain.recurrence import RecurrenceRule
from booking.models import Booking, BookingEvent, Policy, Series
from booking.services import bookings, series as series_service
from booking.services.bookings import BookingRequest
from booking.services.series import SeriesConflict, SeriesRequest

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAYS = RecurrenceRule("weekly", weekdays=("TU",), until=date(2026, 11, 24))


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


async def count(app, model=Booking) -> int:
    async with app.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


def tuesday_choir(world, **changes) -> SeriesRequest:
    values = dict(
        resource_id=world.room.id, local_start=datetime(2026, 2, 3, 18, 0), duration=timedelta(hours=2),
        rule=TUESDAYS, organisation_id=world.org_a.id, title="Chorprobe",
    )
    values.update(changes)
    return SeriesRequest(**values)  # type: ignore[arg-type]


async def test_every_tuesday_stays_18_local_across_both_dst_switches(app, world):
    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world))
    assert result.refused == []
    assert len(result.booked) == 43  # 3 Feb .. 24 Nov 2026
    for booking in result.booked:
        local_start, local_end = booking.starts_at.astimezone(BERLIN), booking.ends_at.astimezone(BERLIN)
        assert (local_start.weekday(), local_start.time(), local_end.time()) == (1, time(18), time(20))
        assert booking.series_id == result.series.id and booking.recurrence_id == booking.starts_at
        assert booking.status == "confirmed" and booking.organisation_id == world.org_a.id
    # The instants differ by the offset: 17:00Z in winter, 16:00Z in summer.
    by_day = {b.starts_at.astimezone(BERLIN).date(): b.starts_at for b in result.booked}
    assert by_day[date(2026, 3, 24)] == datetime(2026, 3, 24, 17, tzinfo=UTC)
    assert by_day[date(2026, 3, 31)] == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert by_day[date(2026, 10, 20)] == datetime(2026, 10, 20, 16, tzinfo=UTC)
    assert by_day[date(2026, 10, 27)] == datetime(2026, 10, 27, 17, tzinfo=UTC)

    stored = await series_service.get_series(app, world["member_a"], result.series.id)
    assert stored.series.rrule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;UNTIL=20261124T225959Z"
    assert stored.series.timezone == "Europe/Berlin" and stored.series.local_start == "2026-02-03T18:00"
    assert stored.series.duration_minutes == 120 and stored.series.exdates == []
    assert [b.id for b in stored.occurrences] == [b.id for b in result.booked]
    # Re-read from the database (not the objects written): still 18:00 local.
    assert {series_service.occurrence_local_start(b, "Europe/Berlin").time() for b in stored.occurrences} == {time(18)}


@pytest.mark.parametrize(
    "rule",
    [
        RecurrenceRule("weekly", weekdays=("SU",), count=4),
        RecurrenceRule("daily", until=date(2026, 3, 30)),
    ],
    ids=["weekly-sundays", "daily"],
)
async def test_a_nonexistent_local_time_is_reported_not_shifted(app, world, rule):
    start = datetime(2026, 3, 15, 2, 30) if rule.frequency == "weekly" else datetime(2026, 3, 27, 2, 30)
    request = SeriesRequest(world.room.id, start, timedelta(hours=1), rule)
    with pytest.raises(SeriesConflict) as refused:
        await series_service.create_series(app, world["member_a"], request)
    assert [(r.local_start, r.code, r.starts_at) for r in refused.value.refused] == [
        (datetime(2026, 3, 29, 2, 30), "nonexistent_local_time", None)
    ]
    assert await count(app) == 0 and await count(app, Series) == 0

    result = await series_service.create_series(app, world["member_a"], request, mode="book_free")
    [gap] = result.refused
    assert gap.local_start == datetime(2026, 3, 29, 2, 30) and gap.code == "nonexistent_local_time"
    assert gap.starts_at is None and gap.ends_at is None and "does not exist" in gap.reason
    # No booking at 03:30 (or 01:30) that day: the date is simply not booked.
    local_starts = [b.starts_at.astimezone(BERLIN) for b in result.booked]
    assert all(moment.time() == time(2, 30) for moment in local_starts)
    assert date(2026, 3, 29) not in {moment.date() for moment in local_starts}
    assert result.series.exdates == ["2026-03-29"]


async def test_twenty_dates_three_taken_book_free_books_17_and_reports_3_with_alternatives(app, world):
    rule = RecurrenceRule("weekly", weekdays=("WE",), count=20)
    first = datetime(2026, 2, 4, 10, 0)
    taken_weeks = (2, 7, 14)
    for week in taken_weeks:
        starts_at = (first + timedelta(weeks=week)).replace(tzinfo=BERLIN)
        await bookings.create_booking(
            app, world["member_b"], BookingRequest(world.room.id, starts_at + timedelta(minutes=30), starts_at + timedelta(hours=1))
        )
    request = SeriesRequest(world.room.id, first, timedelta(hours=2), rule, title="Sprachcafé")

    with pytest.raises(SeriesConflict) as refused:
        await series_service.create_series(app, world["member_a"], request, mode="all_or_nothing")
    assert len(refused.value.refused) == 3 and refused.value.status_code == 409
    assert await count(app) == 3 and await count(app, Series) == 0
    assert all(item.alternatives for item in refused.value.refused)

    result = await series_service.create_series(app, world["member_a"], request, mode="book_free")
    assert len(result.booked) == 17
    assert [r.local_start for r in result.refused] == [first + timedelta(weeks=w) for w in taken_weeks]
    for item in result.refused:
        assert item.code == "conflict"
        assert item.conflicts and all(c.quantity == 1 for c in item.conflicts)
        assert item.alternatives, "every refused date offers alternatives"
        # The same time in the comparable room, or another time of the same room.
        for alternative in item.alternatives:
            assert alternative.resource_id in (world.room.id, world.comparable_room.id)
    assert result.series.exdates == [(first + timedelta(weeks=w)).date().isoformat() for w in taken_weeks]
    assert await count(app) == 20
    # The alternatives really are free.
    alternative = result.refused[0].alternatives[0]
    made = await bookings.create_booking(
        app, world["member_a"], BookingRequest(alternative.resource_id, alternative.interval.starts_at, alternative.interval.ends_at)
    )
    assert made.status == "confirmed"


async def test_dates_of_one_series_must_not_collide_with_each_other(app, world):
    # Daily, 25 hours long: every date overlaps the next one.
    rule = RecurrenceRule("daily", count=4)
    request = SeriesRequest(world.room.id, datetime(2026, 2, 2, 10, 0), timedelta(hours=25), rule)
    result = await series_service.create_series(app, world["member_a"], request, mode="book_free")
    assert [b.starts_at.astimezone(BERLIN).day for b in result.booked] == [2, 4]
    assert [r.local_start.day for r in result.refused] == [3, 5]


async def test_buffers_keep_dates_of_one_series_apart(app, world):
    async with app.database.transaction() as session:
        session.add(Policy(resource_id=world.comparable_room.id, buffer_after_minutes=60))
    rule = RecurrenceRule("daily", count=3)
    request = SeriesRequest(world.comparable_room.id, datetime(2026, 2, 2, 10, 0), timedelta(hours=23, minutes=30), rule)
    result = await series_service.create_series(app, world["member_a"], request, mode="book_free")
    assert len(result.booked) == 2 and len(result.refused) == 1


async def test_policy_refusals_and_bad_input(app, world):
    # A series that starts in the past is refused up front (nothing is checked or searched per
    # date); one that starts now is booked.
    rule = RecurrenceRule("weekly", weekdays=("MO",), count=3)
    with pytest.raises(InvalidInput) as past:
        await series_service.create_series(
            app, world["member_a"], SeriesRequest(world.room.id, datetime(2025, 12, 29, 10), timedelta(hours=1), rule), mode="book_free"
        )
    assert past.value.field == "starts_at" and "past" in past.value.message
    result = await series_service.create_series(
        app, world["member_a"], SeriesRequest(world.room.id, datetime(2026, 1, 12, 10), timedelta(hours=1), rule), mode="book_free"
    )
    assert result.refused == [] and len(result.booked) == 3
    with pytest.raises(InvalidInput):
        await series_service.create_series(
            app, world["member_a"], SeriesRequest(world.room.id, datetime(2026, 2, 3, 10), timedelta(hours=1), rule)
        )  # 3 Feb is a Tuesday, not a Monday
    with pytest.raises(InvalidInput):
        await series_service.create_series(app, world["member_a"], tuesday_choir(world, duration=timedelta(0)))
    with pytest.raises(InvalidInput):
        await series_service.create_series(app, world["member_a"], tuesday_choir(world, local_start=berlin(2026, 2, 3, 18)))
    with pytest.raises(InvalidInput):
        await series_service.create_series(app, world["member_a"], tuesday_choir(world), mode="some")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await series_service.create_series(app, world["member_a"], tuesday_choir(world, quantity=2))
    with pytest.raises(PermissionDenied):
        await series_service.create_series(app, world["member_b"], tuesday_choir(world))  # not in org A
    with pytest.raises(NotFound):
        await series_service.create_series(app, world["member_a"], tuesday_choir(world, resource_id=99999))
    with pytest.raises(InvalidInput) as beyond:
        # Beyond the resource's horizon (365 days): refused up front, nothing booked.
        await series_service.create_series(
            app, world["member_a"], tuesday_choir(world, local_start=datetime(2027, 2, 2, 18), rule=RecurrenceRule("weekly", count=2)),
            mode="book_free",
        )
    assert beyond.value.field == "starts_at" and "at most 365 days ahead" in beyond.value.message
    with pytest.raises(InvalidInput) as ends_beyond:
        # Starts inside, ends outside: choose an earlier end.
        await series_service.create_series(
            app, world["member_a"], tuesday_choir(world, rule=RecurrenceRule("weekly", count=60)), mode="book_free",
        )
    assert ends_beyond.value.field == "count"
    assert await count(app) == 3 and await count(app, Series) == 1


async def test_approval_resources_make_requested_dates(app, world):
    result = await series_service.create_series(
        app, world["member_a"], tuesday_choir(world, resource_id=world.room_approval.id, rule=RecurrenceRule("weekly", count=3))
    )
    assert {b.status for b in result.booked} == {"requested"}
    approved = await bookings.approve_booking(app, world["lender_a"], result.booked[0].id)
    assert approved.status == "confirmed" and approved.series_id == result.series.id


async def test_cancel_one_date_with_the_booking_functions(app, world):
    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world, rule=RecurrenceRule("weekly", count=4)))
    second = result.booked[1]
    cancelled = await bookings.cancel_booking(app, world["member_a"], second.id, "Ferien")
    assert cancelled.status == "cancelled" and cancelled.sequence == 1 and cancelled.series_id == result.series.id
    view = await series_service.get_series(app, world["member_a"], result.series.id)
    assert [b.status for b in view.occurrences] == ["confirmed", "cancelled", "confirmed", "confirmed"]
    # The freed date can be booked by someone else.
    await bookings.create_booking(app, world["member_b"], BookingRequest(world.room.id, second.starts_at, second.ends_at))


async def test_change_one_date_keeps_its_recurrence_id_and_is_checked_against_the_others(app, world):
    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world, rule=RecurrenceRule("weekly", count=3)))
    first, second, _ = result.booked
    moved = await bookings.change_booking(app, world["member_a"], first.id, starts_at=first.starts_at + timedelta(hours=1), ends_at=first.ends_at + timedelta(hours=1))
    assert moved.recurrence_id == first.starts_at and moved.sequence == 1 and moved.series_id == result.series.id
    with pytest.raises(Conflict):
        await bookings.change_booking(app, world["member_a"], first.id, starts_at=second.starts_at, ends_at=second.ends_at)


async def test_cancel_following_and_all(app, world):
    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world, rule=RecurrenceRule("weekly", count=6)))
    third = result.booked[2]
    view = await series_service.cancel_series(app, world["org_admin_a"], result.series.id, scope="following", from_=third.recurrence_id, reason="Umzug")
    assert [b.status for b in view.occurrences] == ["confirmed"] * 2 + ["cancelled"] * 4
    assert view.series.sequence == 1
    async with app.database.reader() as session:
        events = (await session.exec(select(BookingEvent).where(BookingEvent.booking_id == third.id, BookingEvent.action == "cancel"))).all()
    assert [(e.reason, e.details["scope"]) for e in events] == [("Umzug", "following")]

    # Dates that have started are history: "all" leaves them alone.
    app.clock.now = result.booked[0].starts_at + timedelta(minutes=30)
    view = await series_service.cancel_series(app, world["member_a"], result.series.id, scope="all")
    assert [b.status for b in view.occurrences] == ["confirmed", "cancelled"] + ["cancelled"] * 4
    with pytest.raises(InvalidInput):
        await series_service.cancel_series(app, world["member_a"], result.series.id, scope="all")


async def test_series_permissions(app, world):
    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world, rule=RecurrenceRule("weekly", count=2)))
    with pytest.raises(NotFound):
        await series_service.get_series(app, world["member_b"], result.series.id)
    with pytest.raises(NotFound):
        await series_service.cancel_series(app, world["lender_b"], result.series.id)
    with pytest.raises(PermissionDenied):
        # A plain member of the organisation may see the series but not cancel it.
        other = await series_service.create_series(app, world["org_admin_a"], tuesday_choir(world, local_start=datetime(2026, 2, 3, 8), rule=RecurrenceRule("weekly", count=2)))
        await series_service.cancel_series(app, world["member_a"], other.series.id)
    view = await series_service.cancel_series(app, world["lender_a"], result.series.id)
    assert {b.status for b in view.occurrences} == {"cancelled"}
    with pytest.raises(InvalidInput):
        await series_service.cancel_series(app, world["lender_a"], result.series.id, scope="following")  # no from
    with pytest.raises(InvalidInput):
        await series_service.cancel_series(app, world["lender_a"], result.series.id, scope="some")  # type: ignore[arg-type]


async def test_change_following_moves_time_of_day_and_is_rechecked(app, world):
    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world, rule=RecurrenceRule("weekly", count=6)))
    fourth = result.booked[3]
    # Someone else has 19:30 on the fifth date: moving to 19:00 collides there.
    fifth_local = result.booked[4].starts_at.astimezone(BERLIN)
    await bookings.create_booking(
        app, world["member_b"], BookingRequest(world.room.id, fifth_local.replace(hour=20, minute=30), fifth_local.replace(hour=21, minute=30))
    )
    with pytest.raises(SeriesConflict) as refused:
        await series_service.change_series(app, world["member_a"], result.series.id, from_=fourth.recurrence_id, local_time=time(19))
    [item] = refused.value.refused
    assert item.booking_id == result.booked[4].id and item.code == "conflict" and item.alternatives
    unchanged = await series_service.get_series(app, world["member_a"], result.series.id)
    assert {b.starts_at.astimezone(BERLIN).time() for b in unchanged.occurrences} == {time(18)}
    assert {b.sequence for b in unchanged.occurrences} == {0}

    # A shorter evening fits: 19:00–20:30 ends when the other booking starts.
    view = await series_service.change_series(
        app, world["member_a"], result.series.id, from_=fourth.recurrence_id, local_time=time(19), duration=timedelta(minutes=90)
    )
    times = [(b.starts_at.astimezone(BERLIN).time(), b.ends_at.astimezone(BERLIN).time(), b.sequence) for b in view.occurrences]
    assert times == [(time(18), time(20), 0)] * 3 + [(time(19), time(20, 30), 1)] * 3
    # Their original instants stay their recurrence ids; the series keeps its rule.
    assert [b.recurrence_id for b in view.occurrences] == [b.recurrence_id for b in result.booked]
    assert view.series.sequence == 1 and view.series.local_start == "2026-02-03T18:00"


async def test_change_all_dates_may_overlap_their_own_old_times(app, world):
    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world, rule=RecurrenceRule("weekly", count=3)))
    view = await series_service.change_series(app, world["member_a"], result.series.id, local_time=time(17, 30))
    assert {b.starts_at.astimezone(BERLIN).time() for b in view.occurrences} == {time(17, 30)}
    # Moving a date onto the next week's date is refused (dates of a series never collide).
    with pytest.raises(SeriesConflict):
        await series_service.change_series(app, world["member_a"], result.series.id, duration=timedelta(days=7, hours=1))
    with pytest.raises(InvalidInput):
        await series_service.change_series(app, world["member_a"], result.series.id)


async def test_change_into_the_spring_forward_gap_is_refused(app, world):
    rule = RecurrenceRule("weekly", weekdays=("SU",), count=3)
    result = await series_service.create_series(app, world["member_a"], SeriesRequest(world.room.id, datetime(2026, 3, 22, 10), timedelta(hours=1), rule))
    with pytest.raises(SeriesConflict) as refused:
        await series_service.change_series(app, world["member_a"], result.series.id, local_time=time(2, 30))
    assert [(r.local_start, r.code) for r in refused.value.refused] == [(datetime(2026, 3, 29, 2, 30), "nonexistent_local_time")]


async def test_every_tuesday_stays_18_local_in_the_api_pages_and_feeds(app, world, settings):
    """The same series read back through the JSON API, the week pages and an ICS feed."""
    import re

    import httpx

    from booking.app import create_app
    from tests.http.conftest import login
    from tests.support.icaljs import parse_with_icaljs

    result = await series_service.create_series(app, world["member_a"], tuesday_choir(world))
    stored = {b.id: b for b in result.booked}
    transport = httpx.ASGITransport(app=create_app(settings, app_context=app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        await login(client, world, "member_a")
        answer = (await client.get(f"/api/v1/series/{result.series.id}")).json()
        assert len(answer["occurrences"]) == 43
        assert {o["local_start"][11:] for o in answer["occurrences"]} == {"18:00"}
        assert {o["local_end"][11:] for o in answer["occurrences"]} == {"20:00"}
        by_day = {o["local_start"][:10]: o["starts_at"] for o in answer["occurrences"]}
        assert (by_day["2026-03-24"], by_day["2026-03-31"]) == ("2026-03-24T17:00:00Z", "2026-03-31T16:00:00Z")
        assert (by_day["2026-10-20"], by_day["2026-10-27"]) == ("2026-10-20T16:00:00Z", "2026-10-27T17:00:00Z")

        # Week pages before and after both switches: the Tuesday shows 18:00–20:00 taken.
        for monday in ("2026-03-23", "2026-03-30", "2026-10-19", "2026-10-26"):
            page = await client.get("/calendar", params={"view": "week", "date": monday, "resource": world.room.id})
            assert page.status_code == 200
            table = page.text.split("<tbody>", 1)[1]
            taken = re.findall(r'cal-slot--taken">.*?cal-slot__label">([^<]+)<', table, re.S)
            free = re.findall(r'cal-slot--free" href="[^"]*">.*?cal-slot__label">([^<]+)<', table, re.S)
            assert "18:00–20:00" not in free and "00:00–24:00" in free
            assert taken == ["18:00–20:00"], (monday, taken)

        feed = (await client.post("/api/v1/feeds", json={"scope": "person"})).json()
        body = (await client.get(feed["url"].removeprefix("http://testserver.local"))).content
    events = parse_with_icaljs(body)["events"]
    assert len(events) == 43
    for event in events:
        booking = stored[int(event["uid"].split("-")[1].split("@")[0])]
        assert event["start"]["utc"] == booking.starts_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert event["start"]["local"][11:] == "18:00:00" and event["end"]["local"][11:] == "20:00:00"
        assert event["start"]["tzid"] == "Europe/Berlin"
