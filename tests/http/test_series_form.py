"""The series form on a resource page, on both databases: exactly one of "last date" and
"number of dates" ends a series (said in the form, checked at the field), and "Show the
dates" lists the dates with which are free before anything is booked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from booking.models import Booking
from booking.services import bookings
from booking.services.bookings import BookingRequest
from tests.support.pages import field_error, is_described_by_error, post_form
from tests.support.world import PASSWORD, next_monday

BERLIN = ZoneInfo("Europe/Berlin")


def local(instant: datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


async def booking_count(app_context) -> int:  # type: ignore[no-untyped-def]
    async with app_context.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking))).one()


async def log_in(client, world) -> None:  # type: ignore[no-untyped-def]
    answer = await post_form(client, "/login", {"email": world.emails["member_a"], "password": PASSWORD})
    assert answer.status_code == 303


def weekly(start: datetime, **values: str) -> dict[str, str]:
    return {"starts_at": local(start), "ends_at": local(start + timedelta(hours=2)), "quantity": "1", "repeat": "weekly",
            "interval": "1", "title": "Chor", **values}


async def send(client, resource_id: int, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return await post_form(client, f"/resources/{resource_id}/book", data, form_page=f"/resources/{resource_id}")


async def test_the_form_says_one_of_last_date_and_number_is_needed(client, world):
    await log_in(client, world)
    page = (await client.get(f"/resources/{world.room.id}")).text
    end = re.search(r"<fieldset[^>]*>\s*<legend[^>]*>Ende der Serie</legend>(.*?)</fieldset>", page, re.S)
    assert end, "the two fields share a fieldset named for what they do"
    assert "genau eines von beiden" in end.group(1)
    assert "optional" not in end.group(1), "neither field is optional: one of them is needed"
    assert 'id="field-until"' in end.group(1) and 'id="field-count"' in end.group(1)
    assert "Termine anzeigen" in page


async def test_none_or_both_ends_answer_the_form_with_the_message_at_the_field(client, app_context, world):
    await log_in(client, world)
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)
    for extra, field in (({}, "until"), ({"until": (start + timedelta(weeks=3)).date().isoformat(), "count": "4"}, "count")):
        for action in ("", "preview"):
            answer = await send(client, world.room.id, weekly(start, action=action, **extra))
            assert answer.status_code == 400, (extra, action)
            assert "Termin" in (field_error(answer.text, field) or ""), (extra, action, field)
            assert is_described_by_error(answer.text, field)
            assert 'value="Chor"' in answer.text
    assert await booking_count(app_context) == 0


async def test_show_the_dates_lists_free_and_taken_and_books_nothing(client, app_context, world):
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)
    taken = start + timedelta(weeks=2)
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, taken, taken + timedelta(hours=2)))
    await log_in(client, world)
    before = await booking_count(app_context)
    answer = await send(client, world.room.id, weekly(start, count="4", action="preview"))
    assert answer.status_code == 200
    section = re.search(r'<section class="app-section app-preview" id="preview".*?</section>', answer.text, re.S)
    assert section
    assert "3 von 4 Terminen sind frei" in section.group(0) and "Noch ist nichts gebucht" in section.group(0)
    dates = re.findall(r'<li class="app-preview__date">(.*?)</li>', section.group(0), re.S)
    assert len(dates) == 4
    assert ["nicht frei" in item for item in dates] == [False, False, True, False]
    assert await booking_count(app_context) == before
    # The form keeps what was entered, so the booking button books exactly these dates.
    assert 'name="count" type="number" value="4"' in answer.text and 'value="Chor"' in answer.text
    booked = await send(client, world.room.id, weekly(start, count="4"))
    assert booked.status_code == 303 and await booking_count(app_context) == before + 3


async def test_show_the_dates_is_bounded_and_needs_a_repetition(client, app_context, world):
    await log_in(client, world)
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)
    too_many = await send(client, world.room.id, weekly(start, count="501", action="preview"))
    assert too_many.status_code in (400, 422) and field_error(too_many.text, "count")
    once = await send(client, world.room.id, weekly(start, repeat="none", action="preview"))
    repeat_error = re.search(r'id="repeat-error">.*?<span class="kern-body">(.*?)</span>', once.text, re.S)
    assert once.status_code == 400 and repeat_error and "wiederholt" in repeat_error.group(1)
    assert await booking_count(app_context) == 0


async def test_a_forged_alternative_is_refused_with_a_reason_never_a_500(client, app_context, world):
    """The alternative's hidden fields come back from the browser: anything else answers 4xx."""
    from booking.services import series

    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=17)
    taken = start + timedelta(weeks=1)
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, taken, taken + timedelta(hours=2)))
    made = await series.create_series(app_context, world["member_a"], series.SeriesRequest(
        world.room.id, start.astimezone(BERLIN).replace(tzinfo=None), timedelta(hours=2), "FREQ=WEEKLY;COUNT=3"), mode="book_free")
    refused = made.refused[0].local_start.isoformat(timespec="minutes")
    await log_in(client, world)
    path, page = f"/bookings/series/{made.series.id}/alternative", f"/bookings/series/{made.series.id}"
    free = start + timedelta(days=1)
    good = {"refused_start": refused, "resource_id": str(world.room.id), "starts_at": free.isoformat(),
            "ends_at": (free + timedelta(hours=2)).isoformat()}
    before = await booking_count(app_context)
    for changes in ({"resource_id": "9" * 30}, {"resource_id": "x"}, {"starts_at": "0001-01-01T00:30:00+05:00"},
                    {"ends_at": "9999-12-31T23:30:00-05:00"}, {"starts_at": "2026-03-03T18:00"}, {"refused_start": "nonsense"},
                    {"refused_start": "0001-01-01T00:00"}, {"resource_id": str(world.room_b.id)}, {"ends_at": good["starts_at"]}):
        answer = await post_form(client, path, {**good, **changes}, form_page=page)
        assert 400 <= answer.status_code < 500, (changes, answer.status_code)
    assert await booking_count(app_context) == before
    assert (await post_form(client, path, good, form_page=page)).status_code == 303
    assert await booking_count(app_context) == before + 1
