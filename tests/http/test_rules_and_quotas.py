"""Issue 16 over HTTP: the booking page says beforehand what will happen ("check first"), the
API preview agrees with the create, quotas refuse with what is left (409 problem details; the
page shows the form with the message), and the admin page manages quotas (PRG, field errors)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from booking.models import Booking, Policy, Quota
from tests.http.conftest import login
from tests.support.pages import field_error, post_form
from tests.support.world import PASSWORD, next_monday

BERLIN = ZoneInfo("Europe/Berlin")


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


async def log_in_page(client, world, role="member_a") -> None:  # type: ignore[no-untyped-def]
    answer = await post_form(client, "/login", {"email": world.emails[role], "password": PASSWORD})
    assert answer.status_code == 303


async def with_rules(app_context, world) -> None:  # type: ignore[no-untyped-def]
    async with app_context.database.transaction() as session:
        session.add(Policy(resource_id=world.room.id, approval_mode="rules", trusted_organisation_ids=[world.org_a.id],
                           approve_max_hours=3, opening_hours_mode="ignore"))
        session.add(Quota(site_id=world.site_a.id, category="Seminar", metric="hours_per_month", subject="organisation",
                          amount=10, enforcement="refuse"))


def book_form(start: datetime, hours: int, organisation_id: int | None, **extra: str) -> dict[str, str]:
    return {"starts_at": local(start), "ends_at": local(start + timedelta(hours=hours)), "quantity": "1", "repeat": "none",
            "interval": "1", "title": "Chor", "organisation_id": str(organisation_id or ""), **extra}


def check_section(text: str) -> str:
    found = re.search(r'<section class="app-section app-check" id="check".*?</section>', text, re.S)
    assert found, "the check shows its outcome"
    return found.group(0)


async def test_check_first_tells_the_outcome_and_the_booking_keeps_it(client, app_context, world):
    await with_rules(app_context, world)
    await log_in_page(client, world)
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=16)
    rows = [
        (book_form(start, 2, world.org_a.id), "confirmed"),
        (book_form(start + timedelta(days=1), 4, world.org_a.id), "requested"),  # longer than 3 hours
        (book_form(start + timedelta(days=2), 2, None), "requested"),  # not a trusted organisation
    ]
    page = f"/resources/{world.room.id}"
    for form, expected in rows:
        checked = await post_form(client, f"{page}/book", {**form, "action": "check"}, form_page=page)
        assert checked.status_code == 200, checked.text
        section = check_section(checked.text)
        said = "confirmed" if "sofort bestätigt" in section else "requested" if "entscheidet" in section else "?"
        assert said == expected, section
        if expected == "requested":
            assert "Buchung anfragen" in checked.text
        booked = await post_form(client, f"{page}/book", form, form_page=page)
        assert booked.status_code == 303, booked.text
        async with app_context.database.reader() as session:
            latest = (await session.exec(select(Booking).order_by(Booking.id.desc()))).first()  # type: ignore[union-attr]
        assert latest is not None and latest.status == said == expected
    # The quota as it stands: 4 + 2 = 6 hours of org A in that month (the private booking does not count).
    shown = (await client.get(page)).text
    assert "Your quota" in shown or "Ihr Kontingent" in shown


async def test_quota_refusal_on_the_page_and_in_the_api(client, app_context, world):
    await with_rules(app_context, world)
    await login(client, world, "member_a")
    start = next_monday(datetime.now(UTC), 2) + timedelta(days=1, hours=9)
    if start.astimezone(BERLIN).day > 20:
        start += timedelta(days=14)  # keep the dates in one month
    body = lambda moment, hours: {  # noqa: E731
        "resource_id": world.room.id, "starts_at": moment.isoformat(), "ends_at": (moment + timedelta(hours=hours)).isoformat(),
        "organisation_id": world.org_a.id,
    }
    for day in range(3):  # 3 x 3 hours in the seminar rooms: 9 of 10
        resource = world.room if day % 2 == 0 else world.comparable_room
        answer = await client.post("/api/v1/bookings", json={**body(start + timedelta(days=day), 3), "resource_id": resource.id})
        assert answer.status_code == 201, answer.text
    preview = await client.post("/api/v1/bookings/preview", json=body(start + timedelta(days=3), 1))
    assert preview.status_code == 200 and preview.json()["outcome"] == "confirmed", preview.text
    assert preview.json()["quotas"][0]["remaining"] == 1 and preview.json()["quotas"][0]["unit"] == "hours"
    for path in ("/api/v1/bookings/preview", "/api/v1/bookings"):
        refused = await client.post(path, json=body(start + timedelta(days=3), 2))
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == "quota_exceeded" and problem["quota"]["remaining"] == 1 and problem["quota"]["limit"] == 10
    page = f"/resources/{world.room.id}"
    await log_in_page(client, world)
    answer = await post_form(client, f"{page}/book", book_form(start + timedelta(days=3), 2, world.org_a.id), form_page=page)
    assert answer.status_code == 409
    assert "noch 1 von 10 Stunden" in (field_error(answer.text, "starts_at") or "")
    # The site's lender books as usual (staff bypass quotas: see tests/integration/test_approval_rules.py).
    await login(client, world, "lender_a")
    staff = await client.post("/api/v1/bookings", json={**body(start + timedelta(days=4), 5), "organisation_id": None})
    assert staff.status_code == 201, staff.text


async def test_managers_add_and_remove_quotas(client, app_context, world):
    await log_in_page(client, world, "manager_a")
    page = f"/admin/sites/{world.site_a.id}/quotas"
    assert (await client.get(page)).status_code == 200
    bad = await post_form(client, page, {"scope": "category:Nope", "metric": "hours_per_month", "subject": "organisation",
                                         "amount": "0", "enforcement": "refuse"}, form_page=page)
    assert bad.status_code == 400 and field_error(bad.text, "amount")
    bad = await post_form(client, page, {"scope": "category:Nope", "metric": "hours_per_month", "subject": "organisation",
                                         "amount": "10", "enforcement": "refuse"}, form_page=page)
    assert bad.status_code == 400 and field_error(bad.text, "scope")
    added = await post_form(client, page, {"scope": "category:Seminar", "metric": "hours_per_month", "subject": "organisation",
                                           "amount": "10", "enforcement": "refuse"}, form_page=page)
    assert added.status_code == 303 and added.headers["location"] == page
    async with app_context.database.reader() as session:
        [quota] = (await session.exec(select(Quota))).all()
    assert quota.category == "Seminar" and quota.amount == 10 and quota.site_id == world.site_a.id
    # Another site's manager cannot see or remove it.
    removed = await post_form(client, f"/admin/quotas/{quota.id}/delete", {}, form_page=page)
    assert removed.status_code == 303
    async with app_context.database.reader() as session:
        assert (await session.exec(select(Quota))).all() == []


async def test_approval_rules_on_the_rules_page(client, app_context, world):
    await log_in_page(client, world, "manager_a")
    page = f"/admin/resources/{world.room.id}/rules"
    form = {"approval_mode": "rules", "lead_time_minutes": "0", "min_duration_minutes": "15", "max_duration_minutes": "",
            "max_horizon_days": "365", "buffer_before_minutes": "0", "buffer_after_minutes": "0",
            "opening_hours_mode": "contain", "audience": "public"}
    bad = await post_form(client, page, form, form_page=page)
    assert bad.status_code == 400 and "app-messages" in bad.text  # "rules" without any condition
    saved = await post_form(client, page, {**form, "trusted_organisation_ids": [str(world.org_a.id)], "approve_max_hours": "4",
                                           "approve_within_opening_hours": "1"}, form_page=page)
    assert saved.status_code == 303, saved.text
    async with app_context.database.reader() as session:
        policy = (await session.exec(select(Policy).where(Policy.resource_id == world.room.id))).one()
    assert policy.approval_mode == "rules" and policy.trusted_organisation_ids == [world.org_a.id]
    assert policy.approve_max_hours == 4 and policy.approve_within_opening_hours
