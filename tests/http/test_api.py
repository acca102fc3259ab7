"""The JSON API: listing, booking, bad input as 4xx with a reason, permissions per action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from booking.models import Booking
from tests.http.conftest import login
from tests.support.world import next_monday


def iso(value: datetime) -> str:
    return value.isoformat()


def slot(weeks: int = 2, hour: int = 18, length: int = 2) -> tuple[datetime, datetime]:
    start = next_monday(datetime.now(UTC), weeks) + timedelta(hours=hour)
    return start, start + timedelta(hours=length)


async def booking_count(app_context) -> int:
    async with app_context.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking))).one()


async def test_health_and_openapi(client):
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/bookings" in schema.json()["paths"]


async def test_resources_listing_and_filters(client, world):
    everything = (await client.get("/api/v1/resources")).json()
    assert {r["name"] for r in everything} >= {"Room A1", "Benches", "Room B1"}
    rooms = (await client.get("/api/v1/resources", params={"kind": "room", "site_id": world.site_a.id})).json()
    assert {r["name"] for r in rooms} == {"Room A1", "Room A2", "Hall A"}
    assert (await client.get("/api/v1/resources", params={"kind": "boat"})).status_code == 400
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    made = await client.post("/api/v1/bookings", json={"resource_id": world.room.id, "starts_at": iso(starts_at), "ends_at": iso(ends_at)})
    assert made.status_code == 201, made.text
    free = (await client.get("/api/v1/resources", params={"kind": "room", "site_id": world.site_a.id, "free_from": iso(starts_at), "free_until": iso(ends_at)})).json()
    assert {r["name"] for r in free} == {"Room A2", "Hall A"}


async def test_free_search_leaves_out_blackouts_of_the_site_and_of_one_resource(client, world, app_context):
    """Blackouts of all candidates come from one query (issue 10): a site-wide blackout hides
    every resource of its site, one of a resource only that resource, other sites unaffected."""
    from booking.models import Blackout

    starts_at, ends_at = slot()
    async with app_context.database.transaction() as session:
        session.add(Blackout(site_id=world.site_a.id, resource_id=world.room.id, starts_at=starts_at, ends_at=ends_at, reason="Maler"))
    params = {"kind": "room", "free_from": iso(starts_at), "free_until": iso(ends_at)}
    free = {r["name"] for r in (await client.get("/api/v1/resources", params=params)).json()}
    assert "Room A1" not in free and {"Room A2", "Hall A", "Room B1"} <= free
    async with app_context.database.transaction() as session:
        session.add(Blackout(site_id=world.site_a.id, starts_at=starts_at, ends_at=ends_at, reason="Betriebsausflug"))
    free = {r["name"] for r in (await client.get("/api/v1/resources", params=params)).json()}
    assert "Room B1" in free and not free & {"Room A1", "Room A2", "Hall A"}


async def test_availability(client, world):
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    for quantity in (4, 6):
        response = await client.post("/api/v1/bookings", json={"resource_id": world.benches.id, "starts_at": iso(starts_at), "ends_at": iso(ends_at), "quantity": quantity})
        assert response.status_code == 201, response.text
    answer = await client.get(
        f"/api/v1/resources/{world.benches.id}/availability",
        params={"from": iso(starts_at - timedelta(days=1)), "until": iso(ends_at + timedelta(days=1))},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["capacity"] == 10
    assert [(b["starts_at"], b["ends_at"]) for b in body["busy"]] == [(starts_at.isoformat().replace("+00:00", "Z"), ends_at.isoformat().replace("+00:00", "Z"))]


async def test_anonymous_cannot_book(client, world):
    starts_at, ends_at = slot()
    response = await client.post("/api/v1/bookings", json={"resource_id": world.room.id, "starts_at": iso(starts_at), "ends_at": iso(ends_at)})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_api_token_authenticates(client, world, app_context):
    from booking.services.accounts import create_api_token

    token = await create_api_token(app_context, world.emails["member_b"])
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == world.emails["member_b"]
    assert (await client.get("/api/v1/me", headers={"Authorization": "Bearer wrong"})).status_code == 401


async def test_conflict_answer_has_intervals_and_alternatives_but_no_personal_data(client, world):
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    first = await client.post("/api/v1/bookings", json={"resource_id": world.room.id, "starts_at": iso(starts_at), "ends_at": iso(ends_at), "title": "Vertraulich", "purpose": "Geheimtreffen", "organisation_id": world.org_a.id})
    assert first.status_code == 201
    await login(client, world, "member_b")
    second = await client.post("/api/v1/bookings", json={"resource_id": world.room.id, "starts_at": iso(starts_at), "ends_at": iso(ends_at)})
    assert second.status_code == 409
    body = second.json()
    assert body["conflicts"] and body["alternatives"]
    text = second.text
    for secret in ("Vertraulich", "Geheimtreffen", world.emails["member_a"], "Member A", "booker"):
        assert secret not in text


BAD_BODIES = {
    "end before start": lambda r, s, e: {"resource_id": r, "starts_at": iso(e), "ends_at": iso(s)},
    "zero length": lambda r, s, e: {"resource_id": r, "starts_at": iso(s), "ends_at": iso(s)},
    "naive datetime": lambda r, s, e: {"resource_id": r, "starts_at": s.replace(tzinfo=None).isoformat(), "ends_at": iso(e)},
    "quantity 0": lambda r, s, e: {"resource_id": r, "starts_at": iso(s), "ends_at": iso(e), "quantity": 0},
    "quantity above capacity": lambda r, s, e: {"resource_id": r, "starts_at": iso(s), "ends_at": iso(e), "quantity": 2},
    "unknown resource": lambda r, s, e: {"resource_id": 987654, "starts_at": iso(s), "ends_at": iso(e)},
    "wrong type": lambda r, s, e: {"resource_id": "eins", "starts_at": iso(s), "ends_at": iso(e)},
    "not a date": lambda r, s, e: {"resource_id": r, "starts_at": "next tuesday", "ends_at": iso(e)},
    "unknown field": lambda r, s, e: {"resource_id": r, "starts_at": iso(s), "ends_at": iso(e), "admin": True},
    "missing field": lambda r, s, e: {"resource_id": r, "starts_at": iso(s)},
    "huge id": lambda r, s, e: {"resource_id": 2**70, "starts_at": iso(s), "ends_at": iso(e)},
    "past": lambda r, s, e: {"resource_id": r, "starts_at": iso(s - timedelta(days=60)), "ends_at": iso(e - timedelta(days=60))},
    "title too long": lambda r, s, e: {"resource_id": r, "starts_at": iso(s), "ends_at": iso(e), "title": "x" * 201},
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_bad_input_is_4xx_with_reason_and_writes_nothing(client, world, app_context, case):
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    response = await client.post("/api/v1/bookings", json=BAD_BODIES[case](world.room.id, starts_at, ends_at))
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    body = response.json()
    assert body["detail"]
    assert await booking_count(app_context) == 0


async def test_rules_outside_opening_hours_blackout_lead_time(client, world, app_context):
    from booking.models import Blackout, Policy

    starts_at, ends_at = slot()
    async with app_context.database.transaction() as session:
        site = await session.get(type(world.site_a), world.site_a.id)
        site.opening_hours = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        session.add(site)
        session.add(Policy(resource_id=world.room.id, lead_time_minutes=7 * 24 * 60))
        session.add(Blackout(site_id=world.site_a.id, starts_at=starts_at + timedelta(hours=6), ends_at=starts_at + timedelta(days=2), reason="Betriebsausflug"))
    await login(client, world, "member_a")
    cases = {
        "outside opening hours": (starts_at + timedelta(hours=1), ends_at + timedelta(hours=1)),  # 19:00 UTC
        "inside a blackout": (starts_at + timedelta(hours=14), starts_at + timedelta(hours=15)),  # Tue 08:00 UTC
        "too short lead time": (datetime.now(UTC) + timedelta(days=1), datetime.now(UTC) + timedelta(days=1, hours=1)),
    }
    expected_words = {"outside opening hours": "opening hours", "inside a blackout": "Betriebsausflug", "too short lead time": "in advance"}
    for name, (s, e) in cases.items():
        response = await client.post("/api/v1/bookings", json={"resource_id": world.room.id, "starts_at": iso(s), "ends_at": iso(e)})
        assert response.status_code == 422, (name, response.text)
        assert expected_words[name] in response.json()["detail"], (name, response.text)
    assert await booking_count(app_context) == 0


async def test_one_megabyte_body_is_refused(client, world, app_context):
    await login(client, world, "member_a")
    response = await client.post(
        "/api/v1/bookings", content=b'{"title": "' + b"x" * 1_000_000 + b'"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert await booking_count(app_context) == 0


async def test_malformed_json_is_400(client, world):
    await login(client, world, "member_a")
    response = await client.post("/api/v1/bookings", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400


async def test_unknown_booking_is_404(client, world):
    await login(client, world, "member_a")
    assert (await client.get("/api/v1/bookings/424242")).status_code == 404
    assert (await client.post("/api/v1/bookings/424242/cancel", json={})).status_code == 404


@pytest.mark.parametrize("action", ["read", "history", "change", "cancel"])
async def test_other_organisation_gets_404_for_each_action(client, world, app_context, action):
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    made = await client.post("/api/v1/bookings", json={"resource_id": world.room.id, "starts_at": iso(starts_at), "ends_at": iso(ends_at), "organisation_id": world.org_a.id})
    booking_id = made.json()["id"]
    await login(client, world, "member_b")
    response = {
        "read": lambda: client.get(f"/api/v1/bookings/{booking_id}"),
        "history": lambda: client.get(f"/api/v1/bookings/{booking_id}/history"),
        "change": lambda: client.patch(f"/api/v1/bookings/{booking_id}", json={"ends_at": iso(ends_at + timedelta(hours=1))}),
        "cancel": lambda: client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "weg"}),
    }[action]
    answer = await response()
    assert answer.status_code == 404, answer.text  # like a booking that does not exist
    await login(client, world, "member_a")
    still = (await client.get(f"/api/v1/bookings/{booking_id}")).json()
    assert still["status"] == "confirmed" and still["ends_at"].startswith(ends_at.strftime("%Y-%m-%dT%H:%M"))


async def test_lender_approves_only_at_own_site(client, world):
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    made = await client.post("/api/v1/bookings", json={"resource_id": world.room_approval.id, "starts_at": iso(starts_at), "ends_at": iso(ends_at)})
    assert made.json()["status"] == "requested"
    booking_id = made.json()["id"]
    await login(client, world, "lender_b")
    assert (await client.post(f"/api/v1/bookings/{booking_id}/approve", json={})).status_code == 404  # not her site: as if it did not exist
    await login(client, world, "lender_a")
    approved = await client.post(f"/api/v1/bookings/{booking_id}/approve", json={})
    assert approved.status_code == 200 and approved.json()["status"] == "confirmed"
    again = await client.post(f"/api/v1/bookings/{booking_id}/approve", json={})
    assert again.status_code == 409 and "confirmed" in again.json()["detail"]


async def test_session_cookie_alone_cannot_change_state(client, world):
    """A cross-site form could send the cookie but not a JSON body: such a request is anonymous."""
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    form = await client.post("/api/v1/bookings", data={"resource_id": str(world.room.id), "starts_at": iso(starts_at), "ends_at": iso(ends_at)})
    assert form.status_code == 401


async def test_session_login_rejects_wrong_password_and_logout_ends_session(client, world):
    wrong = await client.post("/api/v1/auth/login", json={"email": world.emails["member_a"], "password": "nope-nope-nope"})
    assert wrong.status_code == 401
    await login(client, world, "member_a")
    assert (await client.get("/api/v1/me")).status_code == 200
    await client.post("/api/v1/auth/logout", json={})
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_ids_beyond_the_integer_range_are_4xx(client, world):
    await login(client, world, "member_a")
    for path in ("/api/v1/bookings/99999999999", "/api/v1/resources/99999999999", "/api/v1/sites/99999999999"):
        response = await client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)


async def test_list_my_bookings_and_filters(client, world):
    starts_at, ends_at = slot()
    await login(client, world, "member_a")
    for offset in (0, 1):
        made = await client.post("/api/v1/bookings", json={"resource_id": world.room.id, "starts_at": iso(starts_at + timedelta(days=offset)), "ends_at": iso(ends_at + timedelta(days=offset))})
        assert made.status_code == 201, made.text
    mine = await client.get("/api/v1/bookings")
    assert mine.status_code == 200, mine.text
    assert len(mine.json()) == 2
    later = await client.get("/api/v1/bookings", params={"scope": "mine", "from": iso(ends_at + timedelta(hours=1))})
    assert [b["starts_at"][:10] for b in later.json()] == [(starts_at + timedelta(days=1)).date().isoformat()]
    assert (await client.get("/api/v1/bookings", params={"scope": "everything"})).status_code == 400
    assert (await client.get("/api/v1/bookings", params={"scope": "all"})).status_code == 403
    await login(client, world, "member_b")
    assert (await client.get("/api/v1/bookings")).json() == []


async def test_api_login_is_rate_limited(client, world, app_context):
    limit = app_context.settings.login_rate_limit_per_minute
    answers = [
        (await client.post("/api/v1/auth/login", json={"email": world.emails["member_a"], "password": "wrong-password-x"})).status_code
        for _ in range(limit)
    ]
    assert set(answers) == {401}
    blocked = await client.post("/api/v1/auth/login", json={"email": world.emails["member_a"], "password": "correct-horse-battery"})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "try again" in blocked.json()["detail"]
