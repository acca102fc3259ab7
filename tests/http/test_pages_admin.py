"""Lender inbox and administration pages over HTTP, on SQLite and PostgreSQL.

Forms are posted the way a browser does: urlencoded, with the CSRF cookie and its
``_csrf_token`` field. Bad input answers 4xx with the form again, the message next to its
field (``<id>-error`` tied with aria-describedby), and writes nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import select

from booking.models import Blackout, Booking, Membership, OutboxMessage, Policy, Resource, Site, SiteRole, User
from booking.services import bookings
from tests.http.conftest import login
from tests.support.world import World, next_monday

BERLIN = ZoneInfo("Europe/Berlin")
CSRF_COOKIE = "booking_csrf"


async def csrf_token(client: httpx.AsyncClient) -> str:
    if CSRF_COOKIE not in client.cookies:
        await client.get("/health")
    return client.cookies[CSRF_COOKIE]


async def post_form(client: httpx.AsyncClient, path: str, data: dict | None = None) -> httpx.Response:
    return await client.post(path, data={**(data or {}), "_csrf_token": await csrf_token(client)})


def field_error(html: str, field_id: str) -> str | None:
    """The text of the error shown for the field with this id, or None."""
    match = re.search(rf'<p class="kern-error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    if not match:
        return None
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def is_marked_invalid(html: str, field_id: str) -> bool:
    tag = re.search(rf'<(?:input|textarea|select)[^>]*id="{re.escape(field_id)}"[^>]*>', html, re.S)
    return bool(tag) and 'aria-invalid="true"' in tag.group(0) and f"{field_id}-error" in tag.group(0)


async def load(app_context, model, **where):
    async with app_context.database.reader() as session:
        statement = select(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return list((await session.exec(statement)).all())


SITE_FORM = {
    "name": "Bürgerhaus Nord",
    "address": "Nordstraße 1\n24937 Flensburg",
    "latitude": "54,7936",
    "longitude": "9.4321",
    "timezone": "Europe/Berlin",
    "contact_email": "Nord@Example.org",
    "description": "Ein Haus für alle.",
    "opening_mon": "09:00–18:00",
    "opening_tue": "9-12, 14:00 - 18:00",
    "opening_wed": "",
    "opening_thu": "",
    "opening_fri": "08:00–24:00",
    "opening_sat": "geschlossen",
    "opening_sun": "",
}


async def test_city_admin_creates_and_edits_a_site(client, world: World, app_context):
    await login(client, world, "city_admin")
    assert (await client.get("/admin/sites/new")).status_code == 200
    response = await post_form(client, "/admin/sites/new", SITE_FORM)
    assert response.status_code == 303, response.text
    [site] = await load(app_context, Site, name="Bürgerhaus Nord")
    assert response.headers["location"] == f"/admin/sites/{site.id}"
    assert site.opening_hours == {
        "mon": [["09:00", "18:00"]],
        "tue": [["09:00", "12:00"], ["14:00", "18:00"]],
        "fri": [["08:00", "24:00"]],
    }
    assert (site.latitude, site.longitude, site.contact_email) == (54.7936, 9.4321, "nord@example.org")

    edit = await client.get(f"/admin/sites/{site.id}/edit")
    assert edit.status_code == 200
    assert 'value="09:00–12:00, 14:00–18:00"' in edit.text

    changed = {**SITE_FORM, "name": "Bürgerhaus Nord-West", "opening_sun": "10:00–16:00", "opening_mon": "", "timezone": "Europe/Copenhagen"}
    response = await post_form(client, f"/admin/sites/{site.id}/edit", changed)
    assert response.status_code == 303
    [site] = await load(app_context, Site, id=site.id)
    assert site.name == "Bürgerhaus Nord-West" and site.timezone == "Europe/Copenhagen"
    assert "mon" not in site.opening_hours and site.opening_hours["sun"] == [["10:00", "16:00"]]
    overview = await client.get(f"/admin/sites/{site.id}")
    assert overview.status_code == 200 and "Bürgerhaus Nord-West" in overview.text


async def test_invalid_site_form_shows_each_error_next_to_its_field(client, world: World, app_context):
    await login(client, world, "manager_a")
    site_id = world.site_a.id
    bad = {
        **SITE_FORM,
        "name": "Site A",
        "opening_mon": "18:00–09:00",
        "opening_tue": "nine to five",
        "opening_wed": "25:00-26:00",
        "timezone": "Mars/Olympus",
        "latitude": "north",
        "longitude": "200",
        "contact_email": "not an address",
    }
    response = await post_form(client, f"/admin/sites/{site_id}/edit", bad)
    assert response.status_code == 400
    html = response.text
    assert field_error(html, "field-opening_mon") == "Die Schließzeit muss nach der Öffnungszeit liegen."
    assert field_error(html, "field-opening_tue") == "Bitte geben Sie Zeiten wie 09:00–18:00 ein."
    assert field_error(html, "field-opening_wed")
    assert field_error(html, "field-timezone") == "Bitte geben Sie eine Zeitzone wie Europe/Berlin ein."
    for field_id in ("field-opening_mon", "field-opening_tue", "field-timezone", "field-latitude", "field-longitude", "field-contact_email"):
        assert is_marked_invalid(html, field_id), field_id
    assert not field_error(html, "field-opening_thu")
    # What was typed comes back, so nothing has to be entered twice.
    assert 'value="nine to five"' in html and 'value="Mars/Olympus"' in html
    [site] = await load(app_context, Site, id=site_id)
    assert site.timezone == "Europe/Berlin" and site.opening_hours == world.site_a.opening_hours

    # A name that another site has: the field says so; nothing is written.
    response = await post_form(client, f"/admin/sites/{site_id}/edit", {**SITE_FORM, "name": "site b"})
    assert response.status_code == 400
    assert field_error(response.text, "field-name") == "Es gibt schon einen Ort mit diesem Namen."
    [site] = await load(app_context, Site, id=site_id)
    assert site.name == "Site A"


async def test_managers_reach_only_their_sites_and_cannot_create_sites(client, world: World, app_context):
    await login(client, world, "manager_a")
    site_b = world.site_b.id
    assert (await client.get(f"/admin/sites/{site_b}")).status_code == 403
    assert (await client.get(f"/admin/sites/{site_b}/edit")).status_code == 403
    response = await post_form(client, f"/admin/sites/{site_b}/edit", {**SITE_FORM, "name": "Taken over"})
    assert response.status_code == 403
    assert (await post_form(client, "/admin/sites/new", SITE_FORM)).status_code == 403
    assert (await post_form(client, f"/admin/resources/{world.room_b.id}/edit", {"kind": "room", "name": "X", "capacity": "1", "visibility": "public"})).status_code == 403
    assert [s.name for s in await load(app_context, Site, id=site_b)] == ["Site B"]
    assert not await load(app_context, Site, name="Bürgerhaus Nord")
    index = await client.get("/admin")
    assert index.status_code == 200 and "Site A" in index.text and "Site B" not in index.text


async def test_closures_are_added_in_local_time_and_removed(client, world: World, app_context):
    await login(client, world, "manager_a")
    site_id = world.site_a.id
    response = await post_form(client, f"/admin/sites/{site_id}/blackouts", {
        "starts_at": "2031-07-01T08:00", "ends_at": "2031-07-15T20:00", "resource_id": "", "kind": "closed", "reason": "Sommerpause",
    })
    assert response.status_code == 303, response.text
    [blackout] = await load(app_context, Blackout, site_id=site_id)
    # 08:00 in Berlin in summer is 06:00 UTC.
    assert blackout.starts_at == datetime(2031, 7, 1, 6, 0, tzinfo=UTC)
    assert blackout.ends_at == datetime(2031, 7, 15, 18, 0, tzinfo=UTC)
    assert blackout.resource_id is None and blackout.reason == "Sommerpause"
    assert "Sommerpause" in (await client.get(f"/admin/sites/{site_id}")).text

    bad = await post_form(client, f"/admin/sites/{site_id}/blackouts", {
        "starts_at": "2031-08-02T10:00", "ends_at": "2031-08-01T10:00", "resource_id": str(world.room.id), "kind": "repair",
    })
    assert bad.status_code == 400
    assert field_error(bad.text, "blackout-ends-at") == "Das Ende muss nach dem Beginn liegen."
    gap = await post_form(client, f"/admin/sites/{site_id}/blackouts", {"starts_at": "2031-03-30T02:30", "ends_at": "2031-03-30T05:00", "kind": "closed"})
    assert gap.status_code == 400 and field_error(gap.text, "blackout-starts-at")
    other_site = await post_form(client, f"/admin/sites/{site_id}/blackouts", {
        "starts_at": "2031-08-01T10:00", "ends_at": "2031-08-02T10:00", "resource_id": str(world.room_b.id), "kind": "repair",
    })
    assert other_site.status_code == 400 and field_error(other_site.text, "blackout-resource")
    assert len(await load(app_context, Blackout)) == 1

    removed = await post_form(client, f"/admin/sites/{site_id}/blackouts/{blackout.id}/delete")
    assert removed.status_code == 303
    assert not await load(app_context, Blackout)


async def test_closures_are_edited_in_local_time_with_the_same_checks(client, world: World, app_context):
    start = next_monday(datetime.now(UTC), 2) + timedelta(hours=10)
    await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(world.benches.id, start, start + timedelta(hours=2), quantity=2))
    async with app_context.database.transaction() as session:
        closure = Blackout(site_id=world.site_a.id, starts_at=datetime(2031, 7, 1, 6, 0, tzinfo=UTC), ends_at=datetime(2031, 7, 2, 6, 0, tzinfo=UTC), reason="Sommer")
        elsewhere = Blackout(site_id=world.site_b.id, starts_at=datetime(2031, 7, 1, 6, 0, tzinfo=UTC), ends_at=datetime(2031, 7, 2, 6, 0, tzinfo=UTC))
        session.add_all([closure, elsewhere])
        await session.flush()
        closure_id, elsewhere_id = closure.id, elsewhere.id
    site_id = world.site_a.id

    await login(client, world, "manager_a")
    overview = await client.get(f"/admin/sites/{site_id}")
    assert f'href="/admin/blackouts/{closure_id}/edit"' in overview.text
    page = await client.get(f"/admin/blackouts/{closure_id}/edit")
    assert page.status_code == 200
    # Shown in the site's zone: 06:00 UTC is 08:00 in Berlin in summer.
    assert 'value="2031-07-01T08:00"' in page.text and 'value="2031-07-02T08:00"' in page.text and 'value="Sommer"' in page.text

    bad = await post_form(client, f"/admin/blackouts/{closure_id}/edit", {"starts_at": "2031-08-02T10:00", "ends_at": "2031-08-01T10:00", "kind": "closed"})
    assert bad.status_code == 400
    assert field_error(bad.text, "blackout-ends-at") == "Das Ende muss nach dem Beginn liegen."
    assert is_marked_invalid(bad.text, "blackout-ends-at")
    gap = await post_form(client, f"/admin/blackouts/{closure_id}/edit", {"starts_at": "2031-03-30T02:30", "ends_at": "2031-03-30T05:00", "kind": "closed"})
    assert gap.status_code == 400 and field_error(gap.text, "blackout-starts-at")
    garbled = await post_form(client, f"/admin/blackouts/{closure_id}/edit", {"starts_at": "tomorrow", "ends_at": "2031-03-30T05:00", "kind": "closed"})
    assert garbled.status_code == 400 and field_error(garbled.text, "blackout-starts-at")
    other_site = await post_form(client, f"/admin/blackouts/{closure_id}/edit", {
        "starts_at": "2031-08-01T10:00", "ends_at": "2031-08-02T10:00", "resource_id": str(world.room_b.id), "kind": "repair",
    })
    assert other_site.status_code == 400 and field_error(other_site.text, "blackout-resource")
    wrong_kind = await post_form(client, f"/admin/blackouts/{closure_id}/edit", {"starts_at": "2031-08-01T10:00", "ends_at": "2031-08-02T10:00", "kind": "party"})
    assert wrong_kind.status_code == 400 and field_error(wrong_kind.text, "blackout-kind")
    [unchanged] = await load(app_context, Blackout, id=closure_id)
    assert (unchanged.starts_at, unchanged.ends_at, unchanged.reason) == (datetime(2031, 7, 1, 6, 0, tzinfo=UTC), datetime(2031, 7, 2, 6, 0, tzinfo=UTC), "Sommer")

    # Moved over the benches' booking: saved, and the booking is reported (it stays valid).
    local = lambda moment: moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    response = await post_form(client, f"/admin/blackouts/{closure_id}/edit", {
        "starts_at": local(start - timedelta(hours=1)), "ends_at": local(start + timedelta(hours=1)),
        "resource_id": str(world.benches.id), "kind": "repair", "reason": "Bänke in Reparatur",
    })
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/admin/sites/{site_id}#closures"
    [changed] = await load(app_context, Blackout, id=closure_id)
    assert (changed.starts_at, changed.ends_at) == (start - timedelta(hours=1), start + timedelta(hours=1))
    assert (changed.resource_id, changed.kind, changed.reason) == (world.benches.id, "repair", "Bänke in Reparatur")
    after = await client.get(f"/admin/sites/{site_id}")
    assert "1 Buchungen fallen in diese Schließzeit." in after.text
    assert len(await load(app_context, Booking, resource_id=world.benches.id)) == 1

    # Managers reach only the closures of their sites; lenders none; a missing one is 404.
    assert (await client.get(f"/admin/blackouts/{elsewhere_id}/edit")).status_code == 403
    taken = await post_form(client, f"/admin/blackouts/{elsewhere_id}/edit", {"starts_at": "2031-08-01T10:00", "ends_at": "2031-08-02T10:00", "kind": "closed"})
    assert taken.status_code == 403
    [untouched] = await load(app_context, Blackout, id=elsewhere_id)
    assert untouched.starts_at == datetime(2031, 7, 1, 6, 0, tzinfo=UTC)
    assert (await client.get("/admin/blackouts/999999/edit")).status_code == 404
    await login(client, world, "lender_a")
    assert (await client.get(f"/admin/blackouts/{closure_id}/edit")).status_code == 403
    await login(client, world, "city_admin")
    assert (await client.get(f"/admin/blackouts/{elsewhere_id}/edit")).status_code == 200


async def test_resource_with_rules_and_deactivation(client, world: World, app_context):
    await login(client, world, "manager_a")
    site_id = world.site_a.id
    assert (await client.get(f"/admin/sites/{site_id}/resources/new")).status_code == 200
    bad = await post_form(client, f"/admin/sites/{site_id}/resources/new", {"kind": "boat", "name": "", "capacity": "0", "seats": "many", "visibility": "public"})
    assert bad.status_code == 400
    for field_id in ("field-kind", "field-name", "field-capacity", "field-seats"):
        assert field_error(bad.text, field_id), field_id
    duplicate = await post_form(client, f"/admin/sites/{site_id}/resources/new", {"kind": "room", "name": "room a1", "capacity": "1", "visibility": "public"})
    assert duplicate.status_code == 400 and field_error(duplicate.text, "field-name")

    response = await post_form(client, f"/admin/sites/{site_id}/resources/new", {
        "kind": "item", "name": "Beamer", "category": "Technik", "capacity": "2", "seats": "", "visibility": "members",
        "description": "Full HD", "accessibility_notes": "",
    })
    assert response.status_code == 303, response.text
    [beamer] = await load(app_context, Resource, name="Beamer")
    assert response.headers["location"] == f"/admin/resources/{beamer.id}/rules"
    assert (beamer.kind, beamer.capacity, beamer.visibility, beamer.site_id) == ("item", 2, "members", site_id)
    rules_page = await client.get(f"/admin/resources/{beamer.id}/rules")
    assert rules_page.status_code == 200 and "Org A" in rules_page.text

    bad_rules = await post_form(client, f"/admin/resources/{beamer.id}/rules", {
        "lead_time_minutes": "-5", "min_duration_minutes": "60", "max_duration_minutes": "30", "max_horizon_days": "",
        "buffer_before_minutes": "0", "buffer_after_minutes": "x", "opening_hours_mode": "endpoints", "audience": "organisations",
    })
    assert bad_rules.status_code == 400
    for field_id in ("field-lead_time_minutes", "field-max_duration_minutes", "field-buffer_after_minutes"):
        assert field_error(bad_rules.text, field_id), field_id
    assert "organisations-error" in bad_rules.text

    response = await post_form(client, f"/admin/resources/{beamer.id}/rules", {
        "approval_mode": "ask", "lead_time_minutes": "1440", "min_duration_minutes": "60", "max_duration_minutes": "",
        "max_horizon_days": "90", "buffer_before_minutes": "0", "buffer_after_minutes": "30",
        "opening_hours_mode": "endpoints", "audience": "organisations", "allowed_organisation_ids": [str(world.org_a.id)],
    })
    assert response.status_code == 303, response.text
    [policy] = await load(app_context, Policy, resource_id=beamer.id)
    assert policy.approval_mode == "ask" and policy.lead_time_minutes == 1440 and policy.max_duration_minutes is None
    assert policy.max_horizon_days == 90 and policy.buffer_after_minutes == 30
    assert policy.audience == "organisations" and policy.allowed_organisation_ids == [world.org_a.id]

    edit = await post_form(client, f"/admin/resources/{beamer.id}/edit", {
        "kind": "item", "name": "Beamer groß", "category": "Technik", "capacity": "3", "visibility": "public",
    })
    assert edit.status_code == 303
    off = await post_form(client, f"/admin/resources/{beamer.id}/active", {"active": "0"})
    assert off.status_code == 303
    [beamer] = await load(app_context, Resource, id=beamer.id)
    assert beamer.name == "Beamer groß" and beamer.capacity == 3 and not beamer.is_active
    listed = (await client.get("/api/v1/resources", params={"site_id": site_id})).json()
    assert "Beamer groß" not in {r["name"] for r in listed}


async def test_capacity_cannot_drop_below_coming_bookings(client, world: World, app_context):
    start = next_monday(datetime.now(UTC), 2) + timedelta(hours=10)
    await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(world.benches.id, start, start + timedelta(hours=2), quantity=6))
    await login(client, world, "manager_a")
    form = {"kind": "item", "name": "Benches", "category": "Furniture", "capacity": "5", "visibility": "public"}
    response = await post_form(client, f"/admin/resources/{world.benches.id}/edit", form)
    assert response.status_code == 400
    assert field_error(response.text, "field-capacity")
    [benches] = await load(app_context, Resource, id=world.benches.id)
    assert benches.capacity == 10
    assert (await post_form(client, f"/admin/resources/{world.benches.id}/edit", {**form, "capacity": "6"})).status_code == 303


async def test_assign_a_lender_by_email(client, world: World, app_context):
    await login(client, world, "manager_a")
    site_id = world.site_a.id
    unknown = await post_form(client, f"/admin/sites/{site_id}/staff", {"email": "nobody@example.org", "role": "lender"})
    assert unknown.status_code == 400
    assert field_error(unknown.text, "staff-email")
    assert is_marked_invalid(unknown.text, "staff-email")
    response = await post_form(client, f"/admin/sites/{site_id}/staff", {"email": " Member_B@Example.org ", "role": "lender"})
    assert response.status_code == 303
    member_b = (await load(app_context, User, email=world.emails["member_b"]))[0]
    [role] = await load(app_context, SiteRole, user_id=member_b.id)
    assert (role.site_id, role.role) == (site_id, "lender")
    # Managers cannot remove themselves (someone must be left to manage the site).
    myself = await post_form(client, f"/admin/sites/{site_id}/staff/{world['manager_a'].user_id}/remove")
    assert myself.status_code == 403

    lender = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with lender:
        await login(lender, world, "member_b")
        assert (await lender.get("/lender")).status_code == 200
        removed = await post_form(client, f"/admin/sites/{site_id}/staff/{member_b.id}/remove")
        assert removed.status_code == 303
        assert (await lender.get("/lender")).status_code == 403


async def test_parked_mail_is_listed_and_retried(client, world: World, app_context):
    async with app_context.database.transaction() as session:
        message = OutboxMessage(
            kind="confirmed", recipient="someone@example.org", subject="Ihre Buchung ist bestätigt",
            message_id="<parked-1@test>", raw="Subject: x\r\n\r\nbody", status="parked", attempts=8,
            last_error="attempt 8 (permanent): 550 mailbox unavailable",
        )
        session.add(message)
    await login(client, world, "manager_a")
    assert (await client.get("/admin/mail")).status_code == 403
    assert (await post_form(client, f"/admin/mail/{message.id}/retry")).status_code == 403

    await login(client, world, "city_admin")
    page = await client.get("/admin/mail")
    assert page.status_code == 200
    assert "Ihre Buchung ist bestätigt" in page.text and "550 mailbox unavailable" in page.text
    response = await post_form(client, f"/admin/mail/{message.id}/retry")
    assert response.status_code == 303
    [row] = await load(app_context, OutboxMessage, id=message.id)
    assert (row.status, row.attempts) == ("pending", 0)
    assert (await post_form(client, f"/admin/mail/{message.id}/retry")).status_code == 404
    assert "Ihre Buchung ist bestätigt" not in (await client.get("/admin/mail")).text


async def test_organisations_and_users(client, world: World, app_context):
    await login(client, world, "city_admin")
    assert (await post_form(client, "/admin/organisations/new", {"name": "org a"})).status_code == 400
    response = await post_form(client, "/admin/organisations/new", {"name": "Tafel Flensburg", "contact_email": "info@tafel.example"})
    assert response.status_code == 303
    organisation_id = int(response.headers["location"].rsplit("/", 1)[1])
    added = await post_form(client, f"/admin/organisations/{organisation_id}/members", {"email": world.emails["member_b"], "role": "admin"})
    assert added.status_code == 303
    [membership] = await load(app_context, Membership, organisation_id=organisation_id)
    assert membership.role == "admin"
    renamed = await post_form(client, f"/admin/organisations/{organisation_id}/edit", {"name": "Tafel", "contact_email": "bad"})
    assert renamed.status_code == 400 and field_error(renamed.text, "field-contact_email")

    users = await client.get("/admin/users", params={"q": "member"})
    assert users.status_code == 200 and "Member B" in users.text and "Lender A" not in users.text
    member_b = world["member_b"].user_id
    assert (await post_form(client, f"/admin/users/{member_b}/city-admin", {"value": "1"})).status_code == 303
    assert (await load(app_context, User, id=member_b))[0].is_city_admin
    assert (await post_form(client, f"/admin/users/{member_b}/active", {"value": "0"})).status_code == 303
    assert not (await load(app_context, User, id=member_b))[0].is_active
    # Nobody locks themselves out.
    myself = world["city_admin"].user_id
    assert (await post_form(client, f"/admin/users/{myself}/active", {"value": "0"})).status_code == 403
    assert (await post_form(client, f"/admin/users/{myself}/city-admin", {"value": "0"})).status_code == 403
    deactivated = await client.post("/api/v1/auth/login", json={"email": world.emails["member_b"], "password": "correct-horse-battery"})
    assert deactivated.status_code == 401


async def make_request(app_context, world: World, weeks: int = 2, hour: int = 10) -> Booking:
    start = next_monday(datetime.now(UTC), weeks) + timedelta(hours=hour)
    booking = await bookings.create_booking(
        app_context, world["member_a"],
        bookings.BookingRequest(world.room_approval.id, start, start + timedelta(hours=2), organisation_id=world.org_a.id, title="Chorprobe"),
    )
    assert booking.status == "requested"
    return booking


async def test_lender_approves_and_declines_from_the_inbox(client, world: World, app_context):
    first = await make_request(app_context, world, hour=8)
    second = await make_request(app_context, world, hour=12)
    await login(client, world, "lender_a")
    inbox = await client.get("/lender")
    assert inbox.status_code == 200
    html = inbox.text
    # One form approves the ticked requests; each request has its decline form (collapsed).
    assert html.count('action="/lender/requests/approve"') == 1
    assert html.count('name="selected" value="booking-') == 2
    assert html.count('/decline#request-') == 2
    assert "Chorprobe" in html and "Member A" in html and "Org A" in html
    assert "/lender/today" in html and f"/calendar?site={world.site_a.id}" in html
    # Times in the site's zone: 08:00 UTC in winter or summer is 09:00 or 10:00 in Berlin.
    local_start = first.starts_at.astimezone(BERLIN).strftime("%H:%M")
    assert local_start in html

    approved = await post_form(client, f"/lender/requests/{first.id}/approve", {"view": "inbox"})
    assert approved.status_code == 303 and approved.headers["location"] == "/lender"
    assert (await load(app_context, Booking, id=first.id))[0].status == "confirmed"
    again = await post_form(client, f"/lender/requests/{first.id}/approve", {"view": "inbox"})
    assert again.status_code == 409

    no_reason = await post_form(client, f"/lender/requests/{second.id}/decline", {"view": "inbox", "reason": "  "})
    assert no_reason.status_code == 400
    assert field_error(no_reason.text, f"reason-{second.id}") == "Bitte geben Sie einen Grund für die buchende Person an."
    assert is_marked_invalid(no_reason.text, f"reason-{second.id}")
    assert (await load(app_context, Booking, id=second.id))[0].status == "requested"

    on_detail = await post_form(client, f"/lender/requests/{second.id}/decline", {"view": "detail", "reason": ""})
    assert on_detail.status_code == 400 and field_error(on_detail.text, f"reason-{second.id}")

    asked = await post_form(client, f"/lender/requests/{second.id}/decline", {"view": "detail", "reason": "Der Saal wird renoviert."})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text and "Der Saal wird renoviert." in asked.text
    assert (await load(app_context, Booking, id=second.id))[0].status == "requested"  # a confirmation first
    declined = await post_form(client, f"/lender/requests/{second.id}/decline", {"view": "detail", "reason": "Der Saal wird renoviert.", "confirm": "yes"})
    assert declined.status_code == 303 and declined.headers["location"] == f"/lender/requests/{second.id}"
    [row] = await load(app_context, Booking, id=second.id)
    assert (row.status, row.decision_reason) == ("declined", "Der Saal wird renoviert.")
    detail = await client.get(f"/lender/requests/{second.id}")
    assert detail.status_code == 200 and "Der Saal wird renoviert." in detail.text
    assert 'action="/lender/requests/' not in detail.text  # decided: no more buttons


async def test_lenders_of_other_sites_cannot_decide(client, world: World, app_context):
    request = await make_request(app_context, world)
    await login(client, world, "lender_b")
    inbox = await client.get("/lender")
    assert inbox.status_code == 200 and "Chorprobe" not in inbox.text
    assert (await client.get(f"/lender/requests/{request.id}")).status_code == 403  # the request page (not the booking) is staff-only
    assert (await client.get(f"/lender?site={world.site_a.id}")).status_code == 403
    assert (await post_form(client, f"/lender/requests/{request.id}/approve")).status_code == 404
    assert (await post_form(client, f"/lender/requests/{request.id}/decline", {"reason": "nein"})).status_code == 404
    assert (await load(app_context, Booking, id=request.id))[0].status == "requested"

    await login(client, world, "member_a")
    assert (await client.get("/lender")).status_code == 403
    assert (await post_form(client, f"/lender/requests/{request.id}/approve")).status_code == 403


async def test_pages_in_english(client, world: World, app_context):
    await make_request(app_context, world)
    await login(client, world, "lender_a")
    english = await client.get("/lender", headers={"Accept-Language": "en"})
    # The session language (German, from the account) wins over the browser's.
    assert "Anfragen" in english.text
    async with app_context.database.transaction() as session:
        user = await session.get(User, world["manager_a"].user_id)
        user.language = "en"
        session.add(user)
    await login(client, world, "manager_a")
    page = await client.get(f"/admin/sites/{world.site_a.id}")
    assert page.status_code == 200 and "Closures" in page.text and '<html lang="en">' in page.text
    inbox = await client.get("/lender")
    assert "Waiting for a decision" in inbox.text and "Approve the ticked requests" in inbox.text


async def test_administration_over_json(client, world: World, app_context):
    await login(client, world, "manager_a")
    site_a, site_b = world.site_a.id, world.site_b.id
    body = {"name": "Site A", "contact_email": "a@site.example", "opening_hours": {"mon": [["09:00", "17:00"]], "tue": [[9, 17]]}}
    bad = await client.put(f"/api/v1/admin/sites/{site_a}", json=body)
    assert bad.status_code == 400 and bad.json()["field"] == "opening_tue"
    assert (await client.put(f"/api/v1/admin/sites/{site_b}", json={**body, "name": "Site B"})).status_code == 403
    good = await client.put(f"/api/v1/admin/sites/{site_a}", json={**body, "opening_hours": {"mon": [["9:00", "17:00"]]}})
    assert good.status_code == 200 and good.json()["opening_hours"] == {"mon": [["09:00", "17:00"]]}
    assert (await client.post("/api/v1/admin/sites", json={"name": "Neu", "contact_email": "n@example.org"})).status_code == 403

    made = await client.post(f"/api/v1/admin/sites/{site_a}/resources", json={"kind": "desk", "name": "Desk 1", "capacity": 8})
    assert made.status_code == 201, made.text
    desk = made.json()["id"]
    rules = await client.put(f"/api/v1/admin/resources/{desk}/policy", json={"needs_approval": True, "audience": "organisations", "allowed_organisation_ids": [world.org_a.id]})
    assert rules.status_code == 200 and rules.json()["allowed_organisation_ids"] == [world.org_a.id]
    missing = await client.put(f"/api/v1/admin/resources/{desk}/policy", json={"audience": "organisations"})
    assert missing.status_code == 400 and missing.json()["field"] == "allowed_organisation_ids"

    closure = await client.post(f"/api/v1/admin/sites/{site_a}/blackouts", json={"starts_at": "2031-07-01T08:00:00+02:00", "ends_at": "2031-07-01T07:00:00+02:00"})
    assert closure.status_code == 400 and closure.json()["field"] == "ends_at"
    staff = await client.post(f"/api/v1/admin/sites/{site_a}/staff", json={"email": world.emails["member_b"], "role": "lender"})
    assert staff.status_code == 201 and staff.json()["role"] == "lender"
    assert (await client.get("/api/v1/admin/mail/parked")).status_code == 403
