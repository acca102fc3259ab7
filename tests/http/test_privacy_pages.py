"""Legal pages, the accessibility feedback form, the person's export and erasure over HTTP."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from booking.models import OutboxMessage, User
from booking.services import accounts, bookings, feeds, legal_pages
from tests.http.conftest import login
from tests.support.pages import csrf_token, field_error, post_form, send_outbox
from tests.support.world import PASSWORD, next_monday

CONTACT = "barrierefrei@stadt.example"


@pytest.fixture
def settings(settings, tmp_path):
    """An empty content folder (the shipped templates answer) and the operator's contact address."""
    privacy = dataclasses.replace(settings.privacy, content_dir=str(tmp_path / "content"), contact_email=CONTACT)
    return settings.replace(privacy=privacy)


@pytest.mark.parametrize("path", ["/imprint", "/privacy", "/accessibility"])
async def test_footer_pages_answer_in_both_languages(client, settings, path) -> None:
    template = await client.get(path, headers={"Accept-Language": "en"})
    assert template.status_code == 200 and "<mark>[[" in template.text  # placeholders are shown as such
    legal_pages.install_demo_pages(settings)
    for language, expected in (("de", {"/imprint": "Impressum", "/privacy": "Datenschutzerklärung", "/accessibility": "Erklärung zur Barrierefreiheit"}),
                               ("en", {"/imprint": "Imprint", "/privacy": "Privacy notice", "/accessibility": "Accessibility statement"})):
        page = await client.get(path, headers={"Accept-Language": language})
        assert page.status_code == 200
        assert f"<h1>{expected[path]}</h1>" in page.text
        assert "[[" not in page.text and "Freiwilligenagentur Förde" in page.text
    assert f'href="{path}"' in page.text  # the footer links to it


async def test_storage_periods_on_the_privacy_page_follow_the_settings(client, settings) -> None:
    page = await client.get("/privacy", headers={"Accept-Language": "de"})
    months = settings.privacy.anonymise_bookings_after_months
    assert f"Buchungen werden {months} Monate nach ihrem Ende anonymisiert" in page.text
    assert "ULD" in page.text or "Unabhängiges Landeszentrum für Datenschutz" in page.text


async def test_operator_markdown_is_sanitised(client, settings) -> None:
    folder = legal_pages.content_dir(settings)
    folder.mkdir(parents=True)
    (folder / "imprint.de.md").write_text("# Impressum\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **fett**\n")
    page = await client.get("/imprint", headers={"Accept-Language": "de"})
    article = page.text.split('<article', 1)[1].split("</article>", 1)[0]
    assert "<script" not in article and 'href="javascript' not in article and "<strong>fett</strong>" in article


async def test_feedback_reaches_the_operator_without_login(client, app_context, smtp_server) -> None:
    form = await client.get("/accessibility/feedback")
    assert form.status_code == 200 and 'href="/privacy"' in form.text
    refused = await client.post("/accessibility/feedback", data={"message": "x"})
    assert refused.status_code == 403  # no CSRF token
    empty = await post_form(client, "/accessibility/feedback", {"message": " "}, form_page="/accessibility/feedback")
    assert empty.status_code == 400 and field_error(empty.text, "message")
    sent = await post_form(client, "/accessibility/feedback", {
        "message": "Der Kalender ist mit dem Screenreader nicht bedienbar.", "name": "Kim", "email": "kim@example.org",
        "page_url": "/calendar"}, form_page="/accessibility/feedback")
    assert sent.status_code == 303
    assert await send_outbox(app_context, smtp_server) == 1
    [received] = smtp_server.messages
    assert received.rcpt_tos == [CONTACT]
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    assert "Screenreader nicht bedienbar" in body and "kim@example.org" in body


async def test_feedback_is_rate_limited(client, app_context) -> None:
    limit = app_context.settings.privacy.feedback_per_hour
    token = await csrf_token(client, "/accessibility/feedback")
    answers = [
        (await client.post("/accessibility/feedback", data={"message": f"Nachricht {n}", "_csrf_token": token})).status_code
        for n in range(limit + 1)
    ]
    assert answers == [303] * limit + [429]
    async with app_context.database.reader() as session:
        assert len((await session.exec(select(OutboxMessage))).all()) == limit


async def test_registration_and_invitation_forms_carry_the_privacy_notice(client, world) -> None:
    register = await client.get("/register")
    assert 'href="/privacy"' in register.text.split('action="/register"')[1].split("</form>")[0]
    await login(client, world, "org_admin_a")
    organisation = await client.get(f"/organisation/{world.org_a.id}")
    assert organisation.status_code == 200
    invite_form = organisation.text.split(f'action="/organisation/{world.org_a.id}/invite"')[1].split("</form>")[0]
    assert 'href="/privacy"' in invite_form


async def test_export_api_documented_and_complete(client, world, app_context) -> None:
    start = next_monday(app_context.now()) + timedelta(hours=10)
    await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        world.room.id, start, start + timedelta(hours=1), title="Vorstandssitzung"))
    await login(client, world, "member_a")
    answer = await client.get("/api/v1/me/export")
    assert answer.status_code == 200
    data = answer.json()
    assert data["account"]["email"] == "member_a@example.org"
    assert data["bookings"][0]["title"] == "Vorstandssitzung" and data["bookings"][0]["site_name"] == "Site A"
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/me/export"]["get"]
    assert "PersonalDataExport" in json.dumps(operation["responses"]["200"])
    assert {"ExportBooking", "ExportLoan", "ExportEmail"} <= set(schema["components"]["schemas"])
    download = await client.get("/profile/export")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert json.loads(download.content)["account"]["display_name"] == "Member A"
    assert (await client.get("/profile")).text.count('href="/profile/export"') == 1


async def test_delete_me_api_ends_tokens_feeds_and_login(client, world, app_context) -> None:
    token = await accounts.create_api_token(app_context, "member_a@example.org", "script")
    feed = await feeds.create_feed(app_context, world["member_a"], "person", None)
    assert (await client.get(f"/feeds/{feed.token}.ics")).status_code == 200
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await client.delete("/api/v1/me", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (await client.get(f"/feeds/{feed.token}.ics")).status_code == 404
    refused = await client.post("/api/v1/auth/login", json={"email": "member_a@example.org", "password": PASSWORD})
    assert refused.status_code in (400, 401)


async def test_last_admin_gets_409_with_reason(client, world) -> None:
    await login(client, world, "org_admin_a")
    answer = await client.request("DELETE", "/api/v1/me", json={})
    assert answer.status_code == 409 and "Org A" in answer.text


async def test_profile_delete_needs_the_password(client, world, app_context) -> None:
    await login(client, world, "member_a")
    wrong = await post_form(client, "/profile/delete", {"password": "falsch-falsch-falsch"}, form_page="/profile/delete")
    assert wrong.status_code == 400
    done = await post_form(client, "/profile/delete", {"password": PASSWORD}, form_page="/profile/delete")
    assert done.status_code == 303
    async with app_context.database.reader() as session:
        assert (await session.exec(select(User).where(User.email == "member_a@example.org"))).first() is None
    assert (await client.get("/profile")).status_code in (302, 303, 401)


async def test_delete_by_mailed_link(client, world, app_context, smtp_server) -> None:
    await login(client, world, "member_b")
    asked = await post_form(client, "/profile/delete/link", {}, form_page="/profile/delete")
    assert asked.status_code == 303
    await send_outbox(app_context, smtp_server)
    from tests.support.pages import mail_link

    link = mail_link(smtp_server, "member_b@example.org", "/profile/delete/")
    confirm = await client.get(link)
    assert confirm.status_code == 200
    done = await post_form(client, link, {}, form_page=link)
    assert done.status_code == 303
    async with app_context.database.reader() as session:
        assert (await session.exec(select(User).where(User.email == "member_b@example.org"))).first() is None


async def test_city_admin_erases_on_request_and_sees_the_legal_warning(client, world, app_context, settings) -> None:
    await login(client, world, "city_admin")
    overview = await client.get("/admin")
    assert "placeholders" in overview.text or "Platzhalter" in overview.text
    page = await client.get("/admin/privacy")
    assert page.status_code == 200
    unconfirmed = await post_form(client, "/admin/privacy/erase", {"email": "member_b@example.org"}, form_page="/admin/privacy")
    assert unconfirmed.status_code == 400
    done = await post_form(client, "/admin/privacy/erase", {"email": "member_b@example.org", "confirm": "1"}, form_page="/admin/privacy")
    assert done.status_code == 303
    unknown = await post_form(client, "/admin/privacy/erase", {"email": "member_b@example.org", "confirm": "1"}, form_page="/admin/privacy")
    assert unknown.status_code == 404
    legal_pages.install_demo_pages(settings)
    overview = await client.get("/admin")
    assert "placeholders" not in overview.text and "Platzhalter" not in overview.text
    await login(client, world, "member_a")
    assert (await client.get("/admin/privacy")).status_code in (302, 303, 403)


async def test_security_txt_names_the_operators_contact(client, settings):
    """RFC 9116: Contact and Expires are required; Expires lies ahead; the contact is the setting's."""
    from datetime import datetime, timezone

    answer = await client.get("/.well-known/security.txt")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    fields = dict(line.split(": ", 1) for line in answer.text.splitlines())
    assert fields["Contact"] == f"mailto:{settings.privacy.contact_email or settings.mail.sender}"
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert expires > datetime.now(timezone.utc)
    assert fields["Canonical"] == "http://testserver.local/.well-known/security.txt"
    # The policy is the security policy, served as a page (not the imprint).
    assert fields["Policy"] == "http://testserver.local/sicherheit"
    policy = await client.get("/sicherheit")
    assert policy.status_code == 200 and "Reporting a vulnerability" in policy.text
    assert '<article class="app-narrow app-legal" lang="en">' in policy.text
    assert (await client.get("/security")).status_code == 200


def test_the_shipped_security_policy_is_the_repositorys():
    from pathlib import Path

    from booking.services.legal_pages import SECURITY_POLICY

    repository_copy = Path(__file__).resolve().parents[2] / "SECURITY.md"
    assert SECURITY_POLICY.read_text(encoding="utf-8") == repository_copy.read_text(encoding="utf-8"), (
        "copy SECURITY.md to booking/content/SECURITY.md")


async def test_an_operators_security_policy_wins(client, settings):
    from booking.services.legal_pages import content_dir

    folder = content_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "security.de.md").write_text("# Sicherheit bei der Stadt\n\nMelden Sie Lücken an {{ contact_email }}.\n", encoding="utf-8")
    page = await client.get("/sicherheit")
    assert "Sicherheit bei der Stadt" in page.text and "Reporting a vulnerability" not in page.text
