"""The organisation directory (/organisationen): profile and opt-in by the organisation's admins,
the list of fields of activity, search, where they meet, the contact form through the outbox,
the JSON for the city's website, and requests to join. Both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

import pytest
from sqlmodel import select

from booking.models import Booking, FieldOfActivity, JoinRequest, Membership, Organisation, OutboxMessage
from booking.services.privacy import registry
from tests.http.conftest import login
from tests.support.pages import csrf_token, field_error, post_form, send_outbox

NOW = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)  # a fixed Monday: the meeting window is around it


@pytest.fixture
async def fields(app_context) -> dict[str, int]:
    async with app_context.database.transaction() as session:
        rows = [FieldOfActivity(name=name, position=n) for n, name in enumerate(("Sport", "Kultur", "Umwelt"))]
        session.add_all(rows)
        await session.flush()
        return {row.name: row.id for row in rows}  # type: ignore[misc]


async def _list(app_context, organisation_id: int, description: str, field_ids: list[int] = ()) -> None:  # type: ignore[assignment]
    from booking.models import OrganisationField

    async with app_context.database.transaction() as session:
        organisation = await session.get(Organisation, organisation_id)
        organisation.listed_in_directory, organisation.description = True, description
        session.add(organisation)
        session.add_all(OrganisationField(organisation_id=organisation_id, field_id=f) for f in field_ids)


async def test_an_organisation_admin_edits_the_profile_and_opts_in(client, world, app_context, fields) -> None:
    page = f"/organisation/{world.org_a.id}"
    await login(client, world, "org_admin_a")
    shown = await client.get(page)
    assert shown.status_code == 200 and 'action="/organisation/%d/profile"' % world.org_a.id in shown.text
    assert "Sport" in shown.text and "Kultur" in shown.text

    # Listed without a description, a bad website, an unknown field: the form again with the reason.
    refused = await post_form(client, f"{page}/profile", {"listed_in_directory": "1", "description": ""}, form_page=page)
    assert refused.status_code == 400 and field_error(refused.text, "description")
    bad_site = await post_form(client, f"{page}/profile", {"description": "Wir turnen.", "website": "nicht eine adresse"}, form_page=page)
    assert bad_site.status_code == 400 and field_error(bad_site.text, "website")
    unknown = await post_form(client, f"{page}/profile", {"description": "Wir turnen.", "field_ids": "999999"}, form_page=page)
    assert unknown.status_code == 400
    assert "0 Organisationen" in (await client.get("/organisationen")).text

    saved = await post_form(client, f"{page}/profile", {
        "listed_in_directory": "1", "description": "Wir turnen dienstags.", "website": "tv-org-a.example",
        "field_ids": [str(fields["Sport"]), str(fields["Umwelt"])]}, form_page=page)
    assert saved.status_code == 303
    async with app_context.database.reader() as session:
        organisation = await session.get(Organisation, world.org_a.id)
        assert organisation.listed_in_directory and organisation.website == "https://tv-org-a.example"
    profile = await client.get(f"/organisationen/{world.org_a.id}")
    assert profile.status_code == 200
    assert "Wir turnen dienstags." in profile.text and "Sport, Umwelt" in profile.text and 'href="https://tv-org-a.example"' in profile.text


async def test_only_the_organisations_admins_edit_its_profile(client, world, app_context) -> None:
    page = f"/organisation/{world.org_a.id}"
    await login(client, world, "member_a")
    member_view = await client.get(page)
    assert member_view.status_code == 200 and f'action="{page}/profile"' not in member_view.text
    refused = await post_form(client, f"{page}/profile", {"listed_in_directory": "1", "description": "x"}, form_page=page)
    assert refused.status_code == 403
    await login(client, world, "member_b")
    other = await post_form(client, f"{page}/profile", {"listed_in_directory": "1", "description": "x"}, form_page="/bookings")
    assert other.status_code == 403
    async with app_context.database.reader() as session:
        assert not (await session.get(Organisation, world.org_a.id)).listed_in_directory


async def test_city_admins_keep_the_list_of_fields(client, world, app_context, fields) -> None:
    await login(client, world, "org_admin_a")
    assert (await client.get("/admin/fields")).status_code == 403
    await login(client, world, "city_admin")
    assert "Kultur" in (await client.get("/admin/fields")).text
    added = await post_form(client, "/admin/fields", {"name": " Bildung "}, form_page="/admin/fields")
    assert added.status_code == 303
    twice = await post_form(client, "/admin/fields", {"name": "bildung"}, form_page="/admin/fields")
    assert twice.status_code == 400 and field_error(twice.text, "name")
    renamed = await post_form(client, f"/admin/fields/{fields['Kultur']}/edit", {"name": "Kunst und Kultur"}, form_page="/admin/fields")
    assert renamed.status_code == 303
    await _list(app_context, world.org_a.id, "Umweltgruppe", [fields["Umwelt"]])
    removed = await post_form(client, f"/admin/fields/{fields['Umwelt']}/delete", {}, form_page="/admin/fields")
    assert removed.status_code == 303
    async with app_context.database.reader() as session:
        names = [row.name for row in (await session.exec(select(FieldOfActivity).order_by(FieldOfActivity.position))).all()]
    assert names == ["Sport", "Kunst und Kultur", "Bildung"]
    assert "Tätigkeitsfelder:" not in (await client.get(f"/organisationen/{world.org_a.id}")).text


async def test_the_directory_lists_opted_in_organisations_searchable_and_paged(client, world, app_context, fields) -> None:
    await _list(app_context, world.org_a.id, "Turnen 100% für alle", [fields["Sport"]])
    async with app_context.database.transaction() as session:
        for n in range(25):
            session.add(Organisation(name=f"Verein {n:02d}", description="Chor und Theater", listed_in_directory=True))
        session.add(Organisation(name="Geheimbund", description="Turnen", listed_in_directory=False))
    first = await client.get("/organisationen")
    assert first.status_code == 200 and "26 Organisationen" in first.text and "Geheimbund" not in first.text
    assert 'href="/organisationen?page=2"' in first.text
    second = await client.get("/organisationen", params={"page": "2"})
    assert "Verein 24" in second.text and "Verein 00" not in second.text
    assert (await client.get("/organisationen", params={"page": "99999999999999999999"})).status_code == 200

    found = await client.get("/organisationen", params={"q": "turnen"})
    assert "Org A" in found.text and "Geheimbund" not in found.text and "Verein 0" not in found.text
    by_field = await client.get("/organisationen", params={"field": str(fields["Sport"])})
    assert "1 Organisation<" in by_field.text and "Org A" in by_field.text
    # % and _ are letters, not wildcards.
    assert "0 Organisationen" in (await client.get("/organisationen", params={"q": "_"})).text
    assert "Org A" in (await client.get("/organisationen", params={"q": "100%"})).text
    assert "0 Organisationen" in (await client.get("/organisationen", params={"q": "1%0"})).text
    long_search = await client.get("/organisationen", params={"q": "x" * 5000, "field": "abc"})
    assert long_search.status_code == 200

    assert (await client.get("/organisationen/999999")).status_code == 404
    async with app_context.database.reader() as session:
        hidden = (await session.exec(select(Organisation).where(Organisation.name == "Geheimbund"))).one()
    assert (await client.get(f"/organisationen/{hidden.id}")).status_code == 404


async def test_where_they_meet_comes_from_public_bookings_only(client, world, app_context) -> None:
    app_context.clock = lambda: NOW
    await _list(app_context, world.org_a.id, "Wir treffen uns")
    async with app_context.database.transaction() as session:
        def booking(resource, days: int, *, public: bool, status: str = "confirmed") -> Booking:
            start = NOW + timedelta(days=days)
            return Booking(resource_id=resource.id, starts_at=start, ends_at=start + timedelta(hours=2), status=status,
                           organisation_id=world.org_a.id, booker_id=world["member_a"].user_id, title="Geheime Vorstandssitzung",
                           is_public=public)
        session.add_all([
            booking(world.room, 7, public=True),
            booking(world.room_b, 8, public=False),  # private: Site B is not shown
            booking(world.comparable_room, -400, public=True),  # long ago: not a usual site any more
            booking(world.room_approval, 9, public=True, status="cancelled"),
        ])
    profile = await client.get(f"/organisationen/{world.org_a.id}")
    assert profile.status_code == 200
    where = profile.text.split('Wo sie sich treffen')[1].split("</ul>")[0]
    assert "Site A" in where and "Site B" not in where
    assert "Geheime Vorstandssitzung" not in profile.text and "Member A" not in profile.text


async def test_the_contact_form_reaches_the_admins_without_revealing_them(client, world, app_context, smtp_server) -> None:
    await _list(app_context, world.org_a.id, "Turnverein")
    page = f"/organisationen/{world.org_a.id}"
    form = await client.get(page)
    assert 'href="/privacy"' in form.text.split('/contact"')[1].split("</form>")[0]
    assert "admin_a@example.org" not in form.text and "Org Admin A" not in form.text

    refused = await client.post(f"{page}/contact", data={"message": "x"})
    assert refused.status_code == 403  # no CSRF token
    bad = await post_form(client, f"{page}/contact", {"name": "Kim", "email": "kein-at", "message": "Hallo"}, form_page=page)
    assert bad.status_code == 400 and field_error(bad.text, "email") and "Hallo" in bad.text
    empty = await post_form(client, f"{page}/contact", {"name": "Kim", "email": "kim@example.org", "message": " "}, form_page=page)
    assert empty.status_code == 400 and field_error(empty.text, "message")
    nameless = await post_form(client, f"{page}/contact", {"name": "", "email": "kim@example.org", "message": "Hallo"}, form_page=page)
    assert nameless.status_code == 400 and field_error(nameless.text, "name")

    sent = await post_form(client, f"{page}/contact", {
        "name": "Kim Sender", "email": "Kim@Example.org", "message": "Kann ich mittwochs mitturnen?"}, form_page=page)
    assert sent.status_code == 303 and sent.headers["location"] == page
    thanks = await client.get(page)
    assert "admin_a@example.org" not in thanks.text
    assert await send_outbox(app_context, smtp_server) == 1
    [received] = smtp_server.messages
    message = received.message
    assert received.rcpt_tos == ["admin_a@example.org"]
    assert message["To"] == "admin_a@example.org" or "admin_a@example.org" in str(message["To"])
    assert "kim@example.org" in str(message["Reply-To"]) and "Kim Sender" in str(message["Reply-To"])
    sender = parseaddr(app_context.settings.mail.sender)[1]
    assert parseaddr(str(message["From"]))[1] == sender and "kim@example.org" not in str(message["From"])
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Kann ich mittwochs mitturnen?" in body and "Kim Sender" in body


async def test_the_contact_form_of_an_unlisted_organisation_does_not_exist(client, world) -> None:
    page = "/organisationen"
    answer = await post_form(client, f"/organisationen/{world.org_b.id}/contact",
                             {"name": "Kim", "email": "kim@example.org", "message": "Hallo"}, form_page="/register")
    assert answer.status_code == 404
    assert (await client.get(page)).status_code == 200


async def test_the_contact_form_is_rate_limited(client, world, app_context) -> None:
    await _list(app_context, world.org_a.id, "Turnverein")
    page = f"/organisationen/{world.org_a.id}"
    limit = app_context.settings.privacy.feedback_per_hour
    token = await csrf_token(client, page)
    answers = []
    for n in range(limit + 1):
        response = await client.post(f"{page}/contact", data={
            "name": "Kim", "email": "kim@example.org", "message": f"Nachricht {n}", "_csrf_token": token})
        answers.append(response.status_code)
    assert answers == [303] * limit + [429]
    assert "Zu viele Nachrichten" in response.text and "Nachricht %d" % limit in response.text
    assert response.headers["Retry-After"].isdigit()
    async with app_context.database.reader() as session:
        assert len((await session.exec(select(OutboxMessage))).all()) == limit


def test_the_contact_message_is_personal_data_with_a_retention() -> None:
    """The message lives only in the outbox row (payload, raw), which the registry lists with its retention."""
    outbox = registry.policy_for("outbox_message")
    assert outbox.columns["payload"] == registry.PERSONAL and outbox.columns["raw"] == registry.PERSONAL
    assert outbox.retention_setting == "delete_mail_bodies_after_days"
    join = registry.policy_for("join_request")
    assert {"message", "decision_reason", "user_id"} <= set(join.personal_columns) and join.retention_setting


async def test_the_directory_json_has_no_personal_data(client, world, app_context, fields) -> None:
    app_context.clock = lambda: NOW
    await _list(app_context, world.org_a.id, "Turnverein", [fields["Sport"]])
    async with app_context.database.transaction() as session:
        org_a = await session.get(Organisation, world.org_a.id)
        org_a.contact_email = "vorstand-privat@example.org"
        session.add(org_a)
        session.add(Booking(resource_id=world.room.id, starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=1),
                            status="confirmed", organisation_id=world.org_a.id, booker_id=world["member_a"].user_id,
                            title="Training", is_public=True))
    answer = await client.get("/api/v1/organisations")
    assert answer.status_code == 200
    data = answer.json()
    assert data["total"] == 1 and [item["name"] for item in data["items"]] == ["Org A"]
    [item] = data["items"]
    assert item["fields_of_activity"] == ["Sport"] and item["meeting_places"][0]["name"] == "Site A"
    assert item["profile_url"].endswith(f"/organisationen/{world.org_a.id}")
    # The one open data licence of the settings, as in the sites' GeoJSON.
    assert data["license"] == {"name": app_context.settings.open_data.licence, "url": app_context.settings.open_data.licence_url}
    text = answer.text.lower()
    for role, email in world.emails.items():
        assert email.lower() not in text, role
        assert world[role].display_name.lower() not in text, role
    assert "vorstand-privat" not in text and "training" not in text
    assert (await client.get("/api/v1/organisations", params={"q": "%"})).json()["total"] == 0
    assert (await client.get("/api/v1/organisations", params={"field": str(fields["Kultur"])})).json()["items"] == []
    assert (await client.get("/api/v1/organisations", params={"page": "0"})).status_code == 400
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/organisations" in schema["paths"]


# --------------------------------------------------------------------------- requests to join


async def test_a_person_asks_to_join_and_an_admin_approves(client, world, app_context, smtp_server) -> None:
    await _list(app_context, world.org_a.id, "Turnverein")
    page = f"/organisationen/{world.org_a.id}"
    anonymous = await client.get(page)
    assert f'action="{page}/join"' not in anonymous.text and "/login?next=" in anonymous.text
    assert (await client.post(f"{page}/join", data={})).status_code in (303, 403)

    await login(client, world, "member_b")
    asked = await post_form(client, f"{page}/join", {"message": "Ich turne gern."}, form_page=page)
    assert asked.status_code == 303
    again = await post_form(client, f"{page}/join", {"message": "Noch einmal"}, form_page=page)
    assert again.status_code == 400
    assert "Sie haben um Aufnahme gebeten" in (await client.get(page)).text
    # Before the approval member_b belongs to another organisation only: Org A's page (and its
    # requests) is hidden from them.
    assert (await client.get(f"/organisation/{world.org_a.id}")).status_code == 404
    async with app_context.database.reader() as session:
        [request] = (await session.exec(select(JoinRequest))).all()
    assert request.status == "pending"
    assert await send_outbox(app_context, smtp_server) == 1
    [to_admin] = smtp_server.messages
    assert to_admin.rcpt_tos == ["admin_a@example.org"]
    assert "Member B" in to_admin.message.get_body(preferencelist=("plain",)).get_content()

    # A member of the organisation who is not its admin sees no requests and cannot decide.
    await login(client, world, "member_a")
    member_page = await client.get(f"/organisation/{world.org_a.id}")
    assert "member_b@example.org" not in member_page.text and "join-requests" not in member_page.text
    decide = f"/organisation/{world.org_a.id}/join-requests/{request.id}/approve"
    assert (await post_form(client, decide, {}, form_page="/bookings")).status_code == 403

    await login(client, world, "org_admin_a")
    admin_page = await client.get(f"/organisation/{world.org_a.id}")
    assert "Member B" in admin_page.text and "Ich turne gern." in admin_page.text
    approved = await post_form(client, decide, {}, form_page=f"/organisation/{world.org_a.id}")
    assert approved.status_code == 303
    twice = await post_form(client, decide, {}, form_page=f"/organisation/{world.org_a.id}")
    assert twice.status_code == 400
    async with app_context.database.reader() as session:
        membership = (await session.exec(select(Membership).where(
            Membership.user_id == world["member_b"].user_id, Membership.organisation_id == world.org_a.id))).one()
    assert membership.role == "member"
    assert await send_outbox(app_context, smtp_server) == 1
    welcome = smtp_server.messages[-1]
    assert welcome.rcpt_tos == ["member_b@example.org"] and "Org A" in str(welcome.message["Subject"])

    await login(client, world, "member_b")
    assert (await client.get(f"/organisation/{world.org_a.id}")).status_code == 200


async def test_an_admin_declines_with_a_reason(client, world, app_context, smtp_server) -> None:
    await _list(app_context, world.org_a.id, "Turnverein")
    await login(client, world, "member_b")
    await post_form(client, f"/organisationen/{world.org_a.id}/join", {}, form_page=f"/organisationen/{world.org_a.id}")
    async with app_context.database.reader() as session:
        [request] = (await session.exec(select(JoinRequest))).all()
    decline = f"/organisation/{world.org_a.id}/join-requests/{request.id}/decline"
    # A stranger (an admin of nothing here) cannot decide; the request stays open.
    await login(client, world, "lender_a")
    assert (await post_form(client, decline, {"reason": "nein"}, form_page="/bookings")).status_code == 403
    # Another organisation's id in the path does not reach this request.
    await login(client, world, "org_admin_a")
    wrong = f"/organisation/{world.org_b.id}/join-requests/{request.id}/decline"
    assert (await post_form(client, wrong, {}, form_page="/bookings")).status_code == 403
    declined = await post_form(client, decline, {"reason": "Die Gruppe ist voll."}, form_page=f"/organisation/{world.org_a.id}")
    assert declined.status_code == 303
    await send_outbox(app_context, smtp_server)
    answer = smtp_server.messages[-1]
    assert answer.rcpt_tos == ["member_b@example.org"]
    assert "Die Gruppe ist voll." in answer.message.get_body(preferencelist=("plain",)).get_content()
    async with app_context.database.reader() as session:
        assert (await session.exec(select(Membership).where(
            Membership.user_id == world["member_b"].user_id, Membership.organisation_id == world.org_a.id))).first() is None
    # Declined: the person may ask again later (no open request any more).
    await login(client, world, "member_b")
    assert (await post_form(client, f"/organisationen/{world.org_a.id}/join", {}, form_page=f"/organisationen/{world.org_a.id}")).status_code == 303


async def test_members_cannot_ask_and_asking_is_rate_limited(client, world, app_context) -> None:
    await _list(app_context, world.org_a.id, "Turnverein")
    page = f"/organisationen/{world.org_a.id}"
    await login(client, world, "member_a")
    member = await post_form(client, f"{page}/join", {}, form_page=page)
    assert member.status_code == 400
    token = await csrf_token(client, page)
    answers = [(await client.post(f"{page}/join", data={"_csrf_token": token})).status_code for _ in range(12)]
    # The first request counted too: 10 an hour, then 429.
    assert answers == [400] * 9 + [429] * 3
