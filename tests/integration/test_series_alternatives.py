"""A date a series could not book keeps its place: the series remembers it, offers alternatives
for it, and an alternative taken for it joins the series (cancelled with it, in its invite as
an override of that date). Both databases; the invite is read back with ical.js."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.recurrence import RecurrenceRule
from booking.mail.runner import make_worker
from booking.models import Booking, Series
from booking.services import bookings, series as series_service
from booking.services.bookings import BookingRequest
from booking.services.series import SeriesRequest
from tests.support.icaljs import parse_with_icaljs

BERLIN = ZoneInfo("Europe/Berlin")
FIRST = datetime(2026, 2, 4, 18, 0)  # a Wednesday, local time
WEEKLY_4 = RecurrenceRule("weekly", weekdays=("WE",), count=4)


def at(local: datetime) -> datetime:
    return local.replace(tzinfo=BERLIN).astimezone(UTC)


async def series_with_third_date_taken(app, world):  # type: ignore[no-untyped-def]
    taken = FIRST + timedelta(weeks=2)
    await bookings.create_booking(app, world["member_b"], BookingRequest(world.room.id, at(taken), at(taken) + timedelta(hours=2)))
    result = await series_service.create_series(
        app, world["member_a"], SeriesRequest(world.room.id, FIRST, timedelta(hours=2), WEEKLY_4, title="Chor"), mode="book_free")
    assert len(result.booked) == 3 and [item.local_start for item in result.refused] == [taken]
    return result, taken


async def test_refused_dates_are_kept_and_an_alternative_joins_the_series(app, world):
    result, taken = await series_with_third_date_taken(app, world)
    series_id = result.series.id
    async with app.database.reader() as session:
        stored = await session.get(Series, series_id)
    assert [item["local_start"] for item in stored.refused_dates] == ["2026-02-18T18:00"]
    assert stored.refused_dates[0]["code"] == "conflict" and stored.exdates == ["2026-02-18"]

    # The series page's view: the refused date with alternatives found now.
    view = await series_service.get_series(app, world["member_a"], series_id)
    [open_date] = await series_service.open_refused_dates(app, world["member_a"], view)
    assert open_date.local_start == taken and open_date.alternatives
    later = next(a for a in open_date.alternatives if a.resource_id == world.room.id)

    joined = await series_service.take_alternative(
        app, world["member_a"], series_id, refused_start=taken, resource_id=later.resource_id,
        starts_at=later.interval.starts_at, ends_at=later.interval.ends_at)
    assert joined.series_id == series_id and joined.recurrence_id == at(taken)
    assert (joined.starts_at, joined.ends_at) == (later.interval.starts_at, later.interval.ends_at)
    assert joined.status == "confirmed" and joined.title == "Chor"
    view = await series_service.get_series(app, world["member_a"], series_id)
    assert len(view.occurrences) == 4 and view.series.exdates == []
    assert await series_service.open_refused_dates(app, world["member_a"], view) == []

    # Once only: the same date again is a conflict; a date that was booked is no refused date.
    with pytest.raises(Conflict):
        await series_service.take_alternative(
            app, world["member_a"], series_id, refused_start=taken, resource_id=world.room.id,
            starts_at=later.interval.starts_at + timedelta(days=1), ends_at=later.interval.ends_at + timedelta(days=1))
    with pytest.raises(InvalidInput):
        await series_service.take_alternative(
            app, world["member_a"], series_id, refused_start=FIRST, resource_id=world.room.id,
            starts_at=at(FIRST) + timedelta(days=1), ends_at=at(FIRST) + timedelta(days=1, hours=2))
    # Someone who may not see the series is told it does not exist.
    with pytest.raises(NotFound):
        await series_service.take_alternative(
            app, world["member_b"], series_id, refused_start=taken, resource_id=world.room.id,
            starts_at=at(taken) + timedelta(days=2), ends_at=at(taken) + timedelta(days=2, hours=1))

    # Cancelled with the series.
    await series_service.cancel_series(app, world["member_a"], series_id)
    async with app.database.reader() as session:
        statuses = (await session.exec(select(Booking.status).where(Booking.series_id == series_id))).all()
    assert sorted(statuses) == ["cancelled"] * 4


async def test_an_alternative_at_a_comparable_room_keeps_its_time_when_the_series_moves(app, world):
    result, taken = await series_with_third_date_taken(app, world)
    joined = await series_service.take_alternative(
        app, world["member_a"], result.series.id, refused_start=taken, resource_id=world.comparable_room.id,
        starts_at=at(taken), ends_at=at(taken) + timedelta(hours=2))
    assert joined.resource_id == world.comparable_room.id and joined.series_id == result.series.id
    view = await series_service.get_series(app, world["member_a"], result.series.id)
    assert view.other_resources == {world.comparable_room.id: world.comparable_room.name}

    moved = await series_service.change_series(app, world["member_a"], result.series.id, local_time=time(19, 0))
    by_resource = {b.resource_id: b for b in moved.occurrences if b.resource_id == world.comparable_room.id}
    assert by_resource[world.comparable_room.id].starts_at == at(taken), "the alternative keeps its time"
    assert all(b.starts_at.astimezone(BERLIN).time() == time(19) for b in moved.occurrences if b.resource_id == world.room.id)


async def test_a_taken_alternative_is_a_conflict_and_books_nothing(app, world):
    result, taken = await series_with_third_date_taken(app, world)
    with pytest.raises(Conflict):  # the very time member_b holds
        await series_service.take_alternative(
            app, world["member_a"], result.series.id, refused_start=taken, resource_id=world.room.id,
            starts_at=at(taken), ends_at=at(taken) + timedelta(hours=2))
    view = await series_service.get_series(app, world["member_a"], result.series.id)
    assert len(view.occurrences) == 3 and view.series.exdates == ["2026-02-18"]


@pytest.fixture
def mail_app(app, smtp_server):  # type: ignore[no-untyped-def]
    app.settings = replace(app.settings, mail=replace(app.settings.mail, smtp_port=smtp_server.port, retry_base_seconds=1))
    return app


async def test_the_series_invite_shows_the_alternative_in_place_of_the_refused_date(mail_app, world, smtp_server):
    app = mail_app
    result, taken = await series_with_third_date_taken(app, world)
    alternative_start = at(taken) + timedelta(days=1)  # the Thursday after, same time
    joined = await series_service.take_alternative(
        app, world["member_a"], result.series.id, refused_start=taken, resource_id=world.room.id,
        starts_at=alternative_start, ends_at=alternative_start + timedelta(hours=2))
    worker = make_worker(app)
    while await worker.run_once():
        pass
    to_member = [m.message for m in smtp_server.messages if world.emails["member_a"] in m.rcpt_tos]
    assert len(to_member) == 2  # the series, then the alternative that joined it
    calendar = next(part for part in to_member[-1].walk() if part.get_content_type() == "text/calendar")
    reading = parse_with_icaljs(calendar.get_payload(decode=True))
    uid = f"series-{result.series.id}@{app.settings.host_name}"
    assert {event["uid"] for event in reading["events"]} == {uid}
    master = next(event for event in reading["events"] if event["rrule"])
    # ical.js applies the override: four dates, the third one moved to the alternative's time.
    starts = [occurrence["start"] for occurrence in master["occurrences"]]
    expected = [at(FIRST + timedelta(weeks=n)) for n in (0, 1)] + [alternative_start, at(FIRST + timedelta(weeks=3))]
    assert [datetime.fromisoformat(value.replace("Z", "+00:00")) for value in starts] == expected
    override = next(event for event in reading["events"] if event["recurrence_id"])
    assert datetime.fromisoformat(override["recurrence_id"]["utc"].replace("Z", "+00:00")) == at(taken)
    assert datetime.fromisoformat(override["start"]["utc"].replace("Z", "+00:00")) == joined.starts_at
    assert all(exdate["utc"] is None or not exdate["utc"].startswith("2026-02-18") for exdate in master["exdates"])


async def test_an_alternative_at_a_comparable_room_is_named_in_the_invite(mail_app, world, smtp_server):
    app = mail_app
    result, taken = await series_with_third_date_taken(app, world)
    await series_service.take_alternative(
        app, world["member_a"], result.series.id, refused_start=taken, resource_id=world.comparable_room.id,
        starts_at=at(taken), ends_at=at(taken) + timedelta(hours=2))
    worker = make_worker(app)
    while await worker.run_once():
        pass
    last = [m.message for m in smtp_server.messages if world.emails["member_a"] in m.rcpt_tos][-1]
    calendar = next(part for part in last.walk() if part.get_content_type() == "text/calendar")
    reading = parse_with_icaljs(calendar.get_payload(decode=True))
    master = next(event for event in reading["events"] if event["rrule"])
    override = next(event for event in reading["events"] if event["recurrence_id"])
    assert master["location"].startswith(world.room.name) and override["location"].startswith(world.comparable_room.name)
    assert [o["start"] for o in master["occurrences"]][2].startswith(at(taken).strftime("%Y-%m-%dT%H:%M"))


async def test_an_organisation_admin_takes_the_alternative_for_the_booker(app, world):
    taken = FIRST + timedelta(weeks=2)
    await bookings.create_booking(app, world["member_b"], BookingRequest(world.room.id, at(taken), at(taken) + timedelta(hours=2)))
    result = await series_service.create_series(app, world["member_a"], SeriesRequest(
        world.room.id, FIRST, timedelta(hours=2), WEEKLY_4, organisation_id=world.org_a.id), mode="book_free")
    joined = await series_service.take_alternative(
        app, world["org_admin_a"], result.series.id, refused_start=taken, resource_id=world.comparable_room.id,
        starts_at=at(taken), ends_at=at(taken) + timedelta(hours=2))
    assert joined.booker_id == world["member_a"].user_id and joined.organisation_id == world.org_a.id
