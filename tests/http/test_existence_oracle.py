"""Someone else's booking answers exactly like a booking that does not exist (API and pages):
the status and the text differ in nothing but the id."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, timedelta

from booking.services import bookings
from tests.http.conftest import login
from tests.support.pages import csrf_token
from tests.support.world import next_monday

ABSENT_ID = 987_654


def normalised(text: str, booking_id: int) -> str:
    """The text with the id replaced and the per-page CSRF token (random) left out."""
    text = re.sub(r'name="_csrf_token" value="[^"]*"', "", text)
    return re.sub(rf"(bookings?[ /]){booking_id}\b", rf"\g<1>{ABSENT_ID}", text, flags=re.IGNORECASE)


def same_answer(hidden, absent, hidden_id: int) -> bool:
    return hidden.status_code == absent.status_code and normalised(hidden.text, hidden_id) == normalised(absent.text, ABSENT_ID)


async def test_someone_elses_booking_looks_like_no_booking(client, world):
    start = next_monday(datetime.now(UTC), 3) + timedelta(hours=10)
    booking = await bookings.create_booking(
        world.app, world["member_a"], bookings.BookingRequest(world.room.id, start, start + timedelta(hours=1)),
    )
    await login(client, world, "member_b")
    token = await csrf_token(client, "/bookings")
    moved = {"starts_at": (start + timedelta(hours=2)).isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()}
    calls = [
        ("GET", "/api/v1/bookings/{id}", {}),
        ("GET", "/api/v1/bookings/{id}/history", {}),
        ("PATCH", "/api/v1/bookings/{id}", {"json": moved}),
        ("POST", "/api/v1/bookings/{id}/cancel", {"json": {"reason": ""}}),
        ("GET", "/bookings/{id}", {}),
        ("GET", "/bookings/{id}/confirmation", {}),
        ("POST", "/bookings/{id}/cancel", {"data": {"_csrf_token": token}}),
        ("POST", "/bookings/{id}/change", {"data": {"_csrf_token": token, "starts_at": "2031-01-01T10:00", "ends_at": "2031-01-01T11:00"}}),
    ]
    differences = []
    for method, template, extra in calls:
        hidden = await client.request(method, template.format(id=booking.id), **extra)
        absent = await client.request(method, template.format(id=ABSENT_ID), **extra)
        if not same_answer(hidden, absent, booking.id) or hidden.status_code != 404:
            diff = difflib.unified_diff(normalised(absent.text, ABSENT_ID).splitlines(), normalised(hidden.text, booking.id).splitlines(), lineterm="", n=0)
            differences.append((method, template, hidden.status_code, absent.status_code, "\n".join(list(diff)[:12])))
    assert not differences, differences
    assert (await bookings.get_booking(world.app, world["member_a"], booking.id))[0].status == "confirmed"
