"""Search, resource page and booking through the HTML pages, on both databases: one-off and
series, conflicts with alternatives that book in one click, bad input re-rendered with the
message at its field (4xx, nothing written), my bookings (change, cancel), guards."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from booking.models import Booking
from booking.services import bookings
from booking.services.bookings import BookingRequest
from tests.support.pages import csrf_token, field_error, is_described_by_error, post_form
from tests.support.world import PASSWORD, next_monday

BERLIN = ZoneInfo("Europe/Berlin")


def local(instant: datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def slot(weeks: int = 2, hour: int = 17, length: int = 2) -> tuple[datetime, datetime]:
    start = next_monday(datetime.now(UTC), weeks) + timedelta(days=1, hours=hour)
    return start, start + timedelta(hours=length)


async def booking_count(app_context) -> int:
    async with app_context.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking))).one()


async def log_in(client, world, role: str = "member_a") -> None:
    answer = await post_form(client, "/login", {"email": world.emails[role], "password": PASSWORD})
    assert answer.status_code == 303, answer.text


def alternative_forms(page: str) -> list[tuple[str, dict[str, str]]]:
    forms = []
    for action, body in re.findall(r'<form method="post" action="(/(?:resources/\d+/book|bookings/\d+/change|bookings/series/\d+/alternative))">(.*?)</form>', page, re.S):
        fields = {name: html.unescape(value) for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)}
        if "starts_at" in fields:
            forms.append((action, fields))
    return forms


async def book_form(client, resource_id: int, **values: str):
    data = {"quantity": "1", "repeat": "none", **values}
    return await post_form(client, f"/resources/{resource_id}/book", data, form_page=f"/resources/{resource_id}")


async def test_search_by_kind_site_category_and_free_time(client, app_context, world):
    page = (await client.get("/")).text
    for name in ("Room A1", "Room A2", "Hall A", "Room B1", "Benches"):
        assert name in page
    rooms = (await client.get("/", params={"kind": "room", "site": world.site_a.id, "category": "Seminar"})).text
    assert "Room A1" in rooms and "Room A2" in rooms and "Hall A" not in rooms and "Room B1" not in rooms

    starts_at, ends_at = slot()
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, starts_at, ends_at))
    free = await client.get("/", params={"kind": "room", "free_from": local(starts_at), "free_until": local(ends_at)})
    assert free.status_code == 200
    assert "Room A1" not in free.text and "Room A2" in free.text
    # The cards link to the booking form prefilled with the searched time.
    assert f"/resources/{world.comparable_room.id}?starts_at={local(starts_at).replace(':', '%3A')}" in free.text

    bad = await client.get("/", params={"free_from": "tomorrow", "free_until": local(ends_at)})
    assert bad.status_code == 400 and field_error(bad.text, "free_from") and is_described_by_error(bad.text, "free_from")
    backwards = await client.get("/", params={"free_from": local(ends_at), "free_until": local(starts_at)})
    assert backwards.status_code == 400 and field_error(backwards.text, "free_until")


async def test_resource_page_shows_details_days_and_prefilled_form(client, app_context, world):
    anonymous = await client.get(f"/resources/{world.room.id}")
    assert anonymous.status_code == 200
    assert "Room A1" in anonymous.text and "Zum Buchen anmelden" in anonymous.text and 'action="/resources/' not in anonymous.text
    assert (await client.get("/resources/99999")).status_code == 404

    tomorrow = datetime.now(BERLIN).date() + timedelta(days=2)
    taken_start = datetime.combine(tomorrow, datetime.min.time(), BERLIN) + timedelta(hours=10)
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, taken_start, taken_start + timedelta(hours=2)))
    await log_in(client, world)
    starts_at, ends_at = slot()
    page = await client.get(f"/resources/{world.room.id}", params={"starts_at": starts_at.isoformat(), "ends_at": local(ends_at)})
    assert page.status_code == 200
    assert "belegt" in page.text and "10:00–12:00" in page.text
    assert f'value="{local(starts_at)}"' in page.text and f'value="{local(ends_at)}"' in page.text
    assert "Jetzt buchen" in page.text


async def test_book_once_and_see_the_confirmation(client, app_context, world):
    await log_in(client, world)
    starts_at, ends_at = slot()
    answer = await book_form(client, world.room.id, starts_at=local(starts_at), ends_at=local(ends_at), title="Chorprobe",
                             organisation_id=str(world.org_a.id))
    assert answer.status_code == 303
    confirmation = await client.get(answer.headers["location"])
    assert confirmation.status_code == 200 and "Gebucht" in confirmation.text and "Chorprobe" in confirmation.text
    async with app_context.database.reader() as session:
        (booking,) = (await session.exec(select(Booking))).all()
    assert (booking.starts_at, booking.ends_at, booking.status, booking.organisation_id) == (starts_at, ends_at, "confirmed", world.org_a.id)

    # A resource that needs approval answers "request sent".
    answer = await book_form(client, world.room_approval.id, starts_at=local(starts_at), ends_at=local(ends_at))
    assert "Anfrage gesendet" in (await client.get(answer.headers["location"])).text


async def test_conflict_shows_alternatives_and_one_click_books_one(client, app_context, world):
    starts_at, ends_at = slot()
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, starts_at, ends_at))
    await log_in(client, world)
    before = await booking_count(app_context)
    conflict = await book_form(client, world.room.id, starts_at=local(starts_at), ends_at=local(ends_at), title="Chor")
    assert conflict.status_code == 409
    assert "Diese Zeit ist nicht frei" in conflict.text
    assert f'name="next" value="/resources/{world.room.id}"' in conflict.text  # the language switch goes back to the page
    assert await booking_count(app_context) == before
    offers = alternative_forms(conflict.text)
    assert offers, "the conflict page offers alternatives"
    assert any(fields["starts_at"] == starts_at.isoformat() and action == f"/resources/{world.comparable_room.id}/book" for action, fields in offers)
    action, fields = offers[0]
    token = await csrf_token(client, f"/resources/{world.room.id}")
    picked = await client.post(action, data={**fields, "_csrf_token": token})
    assert picked.status_code == 303, picked.text
    assert await booking_count(app_context) == before + 1
    async with app_context.database.reader() as session:
        newest = (await session.exec(select(Booking).order_by(Booking.id.desc()))).first()  # type: ignore[union-attr]
    assert newest.starts_at.isoformat() == fields["starts_at"] and newest.title == "Chor"


async def test_bad_input_rerenders_the_form_with_the_message_at_the_field(client, app_context, world):
    await log_in(client, world)
    starts_at, ends_at = slot()
    cases = [
        ({"starts_at": local(starts_at), "ends_at": local(starts_at - timedelta(hours=1))}, world.room.id, "ends_at", 400),
        ({"starts_at": "", "ends_at": local(ends_at)}, world.room.id, "starts_at", 400),
        ({"starts_at": "2027-03-28T02:30", "ends_at": "2027-03-28T04:00"}, world.room.id, "starts_at", 400),
        ({"starts_at": local(starts_at), "ends_at": local(ends_at), "quantity": "11"}, world.benches.id, "quantity", 400),
        ({"starts_at": local(starts_at), "ends_at": local(ends_at), "quantity": "two"}, world.benches.id, "quantity", 400),
        ({"starts_at": "2020-01-07T18:00", "ends_at": "2020-01-07T20:00"}, world.room.id, "starts_at", 422),
        ({"starts_at": local(starts_at), "ends_at": local(ends_at), "organisation_id": str(world.org_b.id)}, world.room.id, "organisation_id", 403),
        ({"starts_at": local(starts_at), "ends_at": local(ends_at), "repeat": "weekly", "count": "", "until": ""}, world.room.id, "until", 400),
        ({"starts_at": local(starts_at), "ends_at": local(ends_at), "repeat": "weekly", "count": "3", "interval": "0"}, world.room.id, "interval", 400),
    ]
    for values, resource_id, field, status in cases:
        answer = await book_form(client, resource_id, title="Test", **values)
        assert answer.status_code == status, (values, answer.status_code)
        assert field_error(answer.text, field), (values, field)
        assert is_described_by_error(answer.text, field)
        assert 'value="Test"' in answer.text, "the form keeps what was entered"
    assert await booking_count(app_context) == 0


async def test_weekly_series_books_free_dates_and_offers_alternatives_for_the_others(client, app_context, world):
    """Post/Redirect/Get: the result is the series page, which a reload does not book again; an
    alternative taken there joins the series and is cancelled with it."""
    starts_at, ends_at = slot()
    taken = starts_at + timedelta(weeks=2)
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, taken, taken + timedelta(hours=2)))
    await log_in(client, world)
    answer = await book_form(client, world.room.id, starts_at=local(starts_at), ends_at=local(ends_at), repeat="weekly", interval="1", count="4")
    assert answer.status_code == 303
    series_page = answer.headers["location"]
    assert re.fullmatch(r"/bookings/series/\d+\?created=1", series_page)
    series_id = int(re.findall(r"\d+", series_page)[0])
    assert await booking_count(app_context) == 1 + 3
    for _ in range(2):  # reloading (or bookmarking) the result books nothing again
        page = await client.get(series_page)
        assert page.status_code == 200
        assert "3 von 4 Terminen" in page.text and "Nicht gebuchte Termine" in page.text
        assert "Keiner der Termine" not in page.text
        assert await booking_count(app_context) == 1 + 3
    offers = alternative_forms(page.text)
    assert offers and all(action == f"/bookings/series/{series_id}/alternative" for action, _ in offers)
    token = await csrf_token(client, series_page)
    picked = await client.post(offers[0][0], data={**offers[0][1], "_csrf_token": token})
    assert picked.status_code == 303 and picked.headers["location"] == f"/bookings/series/{series_id}"
    assert await booking_count(app_context) == 1 + 3 + 1
    async with app_context.database.reader() as session:
        joined = (await session.exec(select(Booking).where(Booking.series_id == series_id))).all()
    assert len(joined) == 4 and {b.recurrence_id for b in joined} == {starts_at + timedelta(weeks=n) for n in range(4)}
    after = await client.get(picked.headers["location"])
    assert after.status_code == 200 and "Nicht gebuchte Termine" not in after.text and "4 Termine" in after.text
    again = await client.post(offers[0][0], data={**offers[0][1], "_csrf_token": token})  # the same form a second time
    assert again.status_code == 409 and await booking_count(app_context) == 1 + 3 + 1

    cancel = await post_form(client, f"/bookings/series/{series_id}/cancel", {"confirm": "yes"}, form_page=f"/bookings/series/{series_id}")
    assert cancel.status_code == 303
    async with app_context.database.reader() as session:
        statuses = (await session.exec(select(Booking.status).where(Booking.series_id == series_id))).all()
    assert statuses == ["cancelled"] * 4

    # All or nothing: nothing is written, 409 with the refused dates.
    before = await booking_count(app_context)
    refused = await book_form(client, world.room.id, starts_at=local(starts_at), ends_at=local(ends_at), repeat="weekly", count="4", all_or_nothing="1")
    assert refused.status_code == 409 and "Nicht gebuchte Termine" in refused.text
    assert await booking_count(app_context) == before


async def test_series_all_free_leads_to_the_series_page(client, app_context, world):
    await log_in(client, world)
    starts_at, ends_at = slot()
    answer = await book_form(client, world.room.id, starts_at=local(starts_at), ends_at=local(ends_at), repeat="monthly",
                             until=(starts_at + timedelta(days=70)).date().isoformat())
    assert answer.status_code == 303 and answer.headers["location"].startswith("/bookings/series/")
    page = await client.get(answer.headers["location"])
    assert page.status_code == 200 and "3 Termine" in page.text


async def test_my_bookings_change_and_cancel(client, app_context, world):
    starts_at, ends_at = slot()
    mine = await bookings.create_booking(app_context, world["member_a"], BookingRequest(world.room.id, starts_at, ends_at, title="Mine"))
    other_start = starts_at + timedelta(days=1)
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, other_start, other_start + timedelta(hours=2)))
    await log_in(client, world)
    overview = await client.get("/bookings")
    assert overview.status_code == 200 and f'href="/bookings/{mine.id}"' in overview.text
    assert (await client.get(f"/bookings/{mine.id}")).status_code == 200

    taken = await post_form(client, f"/bookings/{mine.id}/change", {"starts_at": local(other_start), "ends_at": local(other_start + timedelta(hours=2))},
                            form_page=f"/bookings/{mine.id}")
    assert taken.status_code == 409
    moves = alternative_forms(taken.text)
    assert moves and all(action == f"/bookings/{mine.id}/change" for action, _ in moves)
    token = await csrf_token(client, f"/bookings/{mine.id}")
    moved = await client.post(moves[0][0], data={**moves[0][1], "_csrf_token": token})
    assert moved.status_code == 303

    bad = await post_form(client, f"/bookings/{mine.id}/change", {"starts_at": local(ends_at), "ends_at": local(starts_at)}, form_page=f"/bookings/{mine.id}")
    assert bad.status_code == 400 and field_error(bad.text, "ends_at")

    # Cancelling: a confirmation page first (nothing changes), then the result page with an undo.
    asked = await post_form(client, f"/bookings/{mine.id}/cancel", {"reason": "Probe fällt aus"}, form_page=f"/bookings/{mine.id}")
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text and "Probe fällt aus" in asked.text
    async with app_context.database.reader() as session:
        assert (await session.get(Booking, mine.id)).status == "confirmed"
    cancelled = await post_form(client, f"/bookings/{mine.id}/cancel", {"reason": "Probe fällt aus", "confirm": "yes"}, form_page=f"/bookings/{mine.id}")
    assert cancelled.status_code == 303 and cancelled.headers["location"] == f"/bookings/{mine.id}/cancelled"
    async with app_context.database.reader() as session:
        row = await session.get(Booking, mine.id)
    assert row.status == "cancelled"
    result = await client.get(f"/bookings/{mine.id}/cancelled")
    assert result.status_code == 200 and f'action="/bookings/{mine.id}/undo-cancel"' in result.text
    assert (await client.get(f"/bookings/{mine.id}/cancelled")).status_code == 200  # a reload changes nothing
    undone = await post_form(client, f"/bookings/{mine.id}/undo-cancel", {}, form_page=f"/bookings/{mine.id}/cancelled")
    assert undone.status_code == 303 and undone.headers["location"] == f"/bookings/{mine.id}"
    async with app_context.database.reader() as session:
        assert (await session.get(Booking, mine.id)).status == "confirmed"
    again = await post_form(client, f"/bookings/{mine.id}/undo-cancel", {}, form_page=f"/bookings/{mine.id}")
    assert again.status_code == 409  # nothing to undo
    await post_form(client, f"/bookings/{mine.id}/cancel", {"reason": "", "confirm": "yes"}, form_page=f"/bookings/{mine.id}")
    assert "storniert" in (await client.get("/bookings")).text


async def test_pages_are_guarded(client, world, app_context):
    starts_at, ends_at = slot()
    theirs = await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room_b.id, starts_at, ends_at))
    assert (await client.get("/bookings")).headers["location"] == "/login?next=/bookings"
    token = await csrf_token(client, "/register")
    anonymous = await client.post(f"/resources/{world.room.id}/book", data={"_csrf_token": token, "starts_at": local(starts_at), "ends_at": local(ends_at)})
    assert anonymous.status_code == 401 and "<h1" in anonymous.text
    await log_in(client, world)
    assert (await client.get(f"/bookings/{theirs.id}")).status_code == 404  # not theirs to see: like a missing booking
    refused = await post_form(client, f"/bookings/{theirs.id}/cancel", {"reason": ""}, form_page="/bookings")
    assert refused.status_code == 404
    assert await booking_count(app_context) == 1


async def test_series_page_moves_the_dates_or_shows_the_refused_ones(client, app_context, world):
    from booking.services import series

    starts_at, _ = slot()
    local_start = starts_at.astimezone(BERLIN).replace(tzinfo=None, hour=18, minute=0)
    made = await series.create_series(app_context, world["member_a"], series.SeriesRequest(
        resource_id=world.room.id, local_start=local_start, duration=timedelta(hours=1), rule="FREQ=WEEKLY;COUNT=3"))
    series_id = made.series.id
    taken = datetime.combine(local_start.date() + timedelta(weeks=1), datetime.min.time(), BERLIN) + timedelta(hours=20)
    await bookings.create_booking(app_context, world["member_b"], BookingRequest(world.room.id, taken, taken + timedelta(hours=1)))

    async def dates() -> list[tuple[datetime, datetime]]:
        async with app_context.database.reader() as session:
            rows = (await session.exec(select(Booking).where(Booking.series_id == series_id).order_by(Booking.starts_at))).all()
        return [(row.starts_at, row.ends_at) for row in rows]

    before = await dates()
    await log_in(client, world)
    page = await client.get(f"/bookings/series/{series_id}")
    assert page.status_code == 200 and f'action="/bookings/series/{series_id}/change"' in page.text and 'value="18:00"' in page.text

    path, form_page = f"/bookings/series/{series_id}/change", f"/bookings/series/{series_id}"
    refused = await post_form(client, path, {"start_time": "20:00", "duration": "60", "from_date": ""}, form_page=form_page)
    assert refused.status_code == 409 and "Nicht gebuchte Termine" in refused.text and "nichts wurde geändert" in refused.text
    assert await dates() == before

    for values, field, status in [
        ({"start_time": "abends", "duration": "60"}, "start_time", 400),
        ({"start_time": "19:00", "duration": "0"}, "duration", 400),
        ({"start_time": "19:00", "duration": "zwei"}, "duration", 400),
        ({"start_time": "19:00", "duration": "60", "from_date": "2000-01-01T00:00:00+00:00"}, "from_date", 400),
        ({"start_time": "19:00", "duration": str(60 * 24 * 40)}, "duration", 400),
    ]:
        answer = await post_form(client, path, values, form_page=form_page)
        assert answer.status_code == status, (values, answer.status_code)
        assert field_error(answer.text, field) and is_described_by_error(answer.text, field), values
    assert await dates() == before

    # This date and the following ones: the first keeps its time.
    options = re.findall(r'<option value="(\d{4}-[^"]+)"', (await client.get(form_page)).text)
    assert len(options) == 3
    moved = await post_form(client, path, {"start_time": "19:00", "duration": "45", "from_date": options[1]}, form_page=form_page)
    assert moved.status_code == 303, moved.text
    after = await dates()
    assert after[0] == before[0]
    for starts, ends in after[1:]:
        assert starts.astimezone(BERLIN).strftime("%H:%M") == "19:00" and ends - starts == timedelta(minutes=45)

    # Someone who may not see the series gets 404 and changes nothing.
    client.cookies.clear()
    await log_in(client, world, "member_b")
    hidden = await post_form(client, path, {"start_time": "08:00", "duration": "60"}, form_page="/bookings")
    assert hidden.status_code == 404 and await dates() == after


async def test_my_past_bookings_are_paged(client, app_context, world):
    now = datetime.now(UTC).replace(microsecond=0)
    member = world["member_a"]
    async with app_context.database.transaction() as session:
        for day in range(1, 56):  # 55 bookings that are over, one a day (room_b: no PG overlap between them)
            start = now - timedelta(days=day)
            session.add(Booking(resource_id=world.room_b.id, starts_at=start, ends_at=start + timedelta(hours=1), status="confirmed",
                                booker_id=member.user_id, title=f"Vergangen {day}"))
        later = now + timedelta(days=3)
        session.add(Booking(resource_id=world.room_b.id, starts_at=later, ends_at=later + timedelta(hours=1), status="cancelled",
                            booker_id=member.user_id, title="Abgesagt"))
        session.add(Booking(resource_id=world.room_b.id, starts_at=later, ends_at=later + timedelta(hours=1), status="confirmed",
                            booker_id=member.user_id, title="Kommt noch"))
    await log_in(client, world)

    def titles(page: str) -> list[str]:
        past = page.split('id="past-heading"', 1)[1]
        return re.findall(r"· (Vergangen \d+|Abgesagt|Kommt noch)</span>", past)

    first = await client.get("/bookings")
    assert first.status_code == 200
    shown = titles(first.text)
    assert len(shown) == 50 and shown[0] == "Abgesagt" and shown[1] == "Vergangen 1" and "Kommt noch" not in shown
    assert 'aria-label="Seiten der vergangenen Buchungen"' in first.text and 'href="/bookings?page=2#past-heading"' in first.text
    assert "Kommt noch" in first.text  # in "coming up"

    second = await client.get("/bookings", params={"page": "2"})
    assert second.status_code == 200 and titles(second.text) == [f"Vergangen {day}" for day in range(50, 56)]
    assert 'aria-current="page"><span class="kern-sr-only">Seite </span>2' in second.text
    beyond = await client.get("/bookings", params={"page": "9"})
    assert beyond.status_code == 200 and titles(beyond.text) == titles(second.text)

    for bad in ("zwei", "0", "-1"):
        answer = await client.get("/bookings", params={"page": bad})
        assert answer.status_code == 400 and "Die Seitenzahl muss eine ganze Zahl" in answer.text
        assert titles(answer.text) == shown
