"""Deciding a whole series from the lender inbox (one card, one form) and over the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.domain.recurrence import RecurrenceRule
from booking.models import Booking
from booking.services import series as series_service
from booking.services.series import SeriesRequest
from tests.http.conftest import login
from tests.http.test_pages_admin import field_error, load, post_form
from tests.support.world import World, next_monday


async def requested_series(app_context, world: World, count: int = 8):
    tuesday = next_monday(datetime.now(UTC), 2) + timedelta(days=1)
    request = SeriesRequest(
        world.room_approval.id, tuesday.replace(tzinfo=None, hour=18), timedelta(hours=2),
        RecurrenceRule("weekly", weekdays=("TU",), count=count), organisation_id=world.org_a.id, title="Chorprobe",
    )
    return await series_service.create_series(app_context, world["member_a"], request)


async def test_the_inbox_shows_a_series_as_one_card_and_decides_it_in_one_step(client, world: World, app_context):
    made = await requested_series(app_context, world)
    await login(client, world, "lender_a")
    html = (await client.get("/lender")).text
    assert html.count(f'id="request-series-{made.series.id}"') == 1
    assert "jeden Dienstag, 18:00–20:00 Uhr, 8 Termine" in html
    # Ticked, the series is approved with the others in the list; declined as a whole.
    assert f'name="selected" value="series-{made.series.id}"' in html
    assert f'action="/lender/series/{made.series.id}/decline#request-series-{made.series.id}"' in html
    assert "Alle Termine ablehnen" in html and "Termine einzeln entscheiden" in html
    # The dates one by one are still reachable.
    for booking in made.booked:
        assert f'href="/lender/requests/{booking.id}"' in html

    no_reason = await post_form(client, f"/lender/series/{made.series.id}/decline", {"reason": " "})
    assert no_reason.status_code == 400
    assert field_error(no_reason.text, f"reason-series-{made.series.id}") == "Bitte geben Sie einen Grund für die buchende Person an."
    assert {b.status for b in await load(app_context, Booking, series_id=made.series.id)} == {"requested"}

    approved = await post_form(client, f"/lender/series/{made.series.id}/approve", {})
    assert approved.status_code == 303 and approved.headers["location"] == "/lender"
    assert {b.status for b in await load(app_context, Booking, series_id=made.series.id)} == {"confirmed"}
    again = await post_form(client, f"/lender/series/{made.series.id}/approve", {})
    assert again.status_code == 409


async def test_series_decisions_over_the_api(client, world: World, app_context):
    made = await requested_series(app_context, world, count=3)
    await login(client, world, "lender_b")
    refused = await client.post(f"/api/v1/series/{made.series.id}/approve", json={})
    assert refused.status_code == 403
    await login(client, world, "lender_a")
    missing_reason = await client.post(f"/api/v1/series/{made.series.id}/decline", json={})
    assert missing_reason.status_code == 400 and missing_reason.json()["field"] == "reason"
    assert (await client.post("/api/v1/series/999999/approve", json={})).status_code == 404
    declined = await client.post(f"/api/v1/series/{made.series.id}/decline", json={"reason": "Renovierung"})
    assert declined.status_code == 200
    assert {o["status"] for o in declined.json()["occurrences"]} == {"declined"}
    assert (await client.post(f"/api/v1/series/{made.series.id}/approve", json={})).status_code == 409
