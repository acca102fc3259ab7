"""Account pages on both databases: registration with a real mail, confirmation, login
(password and e-mail link), wrong password, rate limit, password reset, cookies, session
fixation, CSRF, language, profile and invitations."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from booking.app import SESSION_COOKIE, create_app
from booking.models import Membership, User
from tests.support.pages import csrf_token, field_error, is_described_by_error, mail_link, post_form, send_outbox
from tests.support.smtp import SmtpServer
from tests.support.world import PASSWORD

NEW_PASSWORD = "a-brand-new-secret-42"


async def user_by_email(app_context, email: str) -> User | None:
    async with app_context.database.reader() as session:
        return (await session.exec(select(User).where(User.email == email))).first()


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD, next_url: str = "") -> httpx.Response:
    return await post_form(client, "/login", {"email": email, "password": password, "next": next_url}, form_page="/register")


async def is_logged_in(client: httpx.AsyncClient) -> bool:
    response = await client.get("/bookings")
    return response.status_code == 200


async def test_register_confirm_and_log_in(client, app_context, smtp_server: SmtpServer):
    email = "neu@example.org"
    answer = await post_form(client, "/register", {"display_name": "Nele Neu", "email": email, "password": "ein-gutes-passwort",
                                                   "password_repeat": "ein-gutes-passwort"})
    assert answer.status_code == 303 and answer.headers["location"] == "/register/sent"
    assert "E-Mail" in (await client.get("/register/sent")).text

    # Before the address is confirmed: a clear refusal and a way to get the link again.
    refused = await log_in(client, email, "ein-gutes-passwort")
    assert refused.status_code == 400
    assert "bestätigen" in field_error(refused.text, "email")
    assert f'href="/verify/resend?email={email.replace("@", "%40")}"' in refused.text

    assert await send_outbox(app_context, smtp_server) == 1
    (received,) = smtp_server.messages
    assert received.rcpt_tos == [email]
    link = mail_link(smtp_server, email, "/verify/")
    # Opening the link (a mail scanner may) changes nothing; the button on the page confirms.
    page = await client.get(link)
    assert page.status_code == 200
    assert (await user_by_email(app_context, email)).email_verified_at is None
    confirmed = await client.post(link, data={"_csrf_token": await csrf_token(client, link)})
    assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/login?email=")
    assert (await user_by_email(app_context, email)).email_verified_at is not None

    # The token is hashed at rest and the link works once (a second visit is harmless).
    assert (await client.get(link)).status_code == 303
    logged_in = await log_in(client, email, "ein-gutes-passwort")
    assert logged_in.status_code == 303 and logged_in.headers["location"] == "/"
    assert await is_logged_in(client)


async def test_register_bad_input_rerenders_with_field_messages(client, app_context):
    answer = await post_form(client, "/register", {"display_name": "", "email": "not-an-address", "password": "short", "password_repeat": "short"})
    assert answer.status_code == 400
    assert field_error(answer.text, "email") and is_described_by_error(answer.text, "email")
    answer = await post_form(client, "/register", {"display_name": "X", "email": "x@example.org", "password": "long-enough-1", "password_repeat": "other-1234567"})
    assert answer.status_code == 400 and field_error(answer.text, "password_repeat")
    answer = await post_form(client, "/register", {"display_name": "X", "email": "x@example.org", "password": "short", "password_repeat": "short"})
    assert answer.status_code == 400 and "10" in field_error(answer.text, "password")
    assert await user_by_email(app_context, "x@example.org") is None


async def test_email_link_forms_refuse_what_is_no_address(client):
    """Each of the three e-mail-only forms shows a malformed address at the field (400) instead
    of pretending to have sent a mail; an unknown but well-formed address still gets the same
    answer as a known one (303), so the forms tell nobody who has an account."""
    for path in ("/verify/resend", "/login/link", "/password/forgot"):
        for typed in ("", "not-an-address"):
            answer = await post_form(client, path, {"email": typed})
            assert answer.status_code == 400, (path, typed, answer.status_code)
            assert field_error(answer.text, "email") and is_described_by_error(answer.text, "email")
        assert (await post_form(client, path, {"email": "ghost@example.org"})).status_code == 303


async def test_wrong_password_and_unknown_address_look_the_same(client, world):
    wrong = await log_in(client, world.emails["member_a"], "not-the-password")
    unknown = await log_in(client, "nobody@example.org", "not-the-password")
    assert wrong.status_code == unknown.status_code == 400
    assert field_error(wrong.text, "password") == field_error(unknown.text, "password")
    assert is_described_by_error(wrong.text, "password")
    assert not await is_logged_in(client)


@pytest.fixture
async def limited_client(settings, app_context) -> AsyncIterator[httpx.AsyncClient]:
    app_context.settings = dataclasses.replace(settings, login_rate_limit_per_minute=3)
    app = create_app(app_context.settings, app_context=app_context)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as client:
        yield client


async def test_rate_limit_on_login_and_link_requests(limited_client, world):
    email = world.emails["member_a"]
    for _ in range(3):
        assert (await log_in(limited_client, email, "wrong-password-x")).status_code == 400
    blocked = await log_in(limited_client, email, PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert not await is_logged_in(limited_client)
    # Another address from the same client still gets its own attempts.
    assert (await log_in(limited_client, world.emails["member_b"], PASSWORD)).status_code == 303

    for _ in range(3):
        assert (await post_form(limited_client, "/login/link", {"email": "someone@example.org"})).status_code == 303
    assert (await post_form(limited_client, "/login/link", {"email": "someone@example.org"})).status_code == 429


async def test_login_by_email_link(client, app_context, world, smtp_server):
    email = world.emails["member_a"]
    asked = await post_form(client, "/login/link", {"email": email})
    assert asked.status_code == 303
    # Unknown addresses get the same answer and no mail.
    assert (await post_form(client, "/login/link", {"email": "ghost@example.org"})).status_code == 303
    await send_outbox(app_context, smtp_server)
    assert [m.rcpt_tos for m in smtp_server.messages] == [[email]]
    link = mail_link(smtp_server, email, "/login/link/")
    page = await client.get(link)  # opening the link (a mail scanner may) does not log in
    assert page.status_code == 200 and not await is_logged_in(client)
    token = await csrf_token(client, link)
    assert (await client.post(link, data={"_csrf_token": token})).status_code == 303
    assert await is_logged_in(client)
    # Used once.
    await post_form(client, "/logout", {})
    assert (await client.get(link)).status_code == 400


async def test_password_reset_ends_old_sessions(client, settings, app_context, world, smtp_server):
    email = world.emails["member_b"]
    other_device = httpx.AsyncClient(transport=client._transport, base_url="http://testserver.local")  # noqa: SLF001
    async with other_device:
        assert (await log_in(other_device, email)).status_code == 303
        assert await is_logged_in(other_device)

        assert (await post_form(client, "/password/forgot", {"email": email})).status_code == 303
        await send_outbox(app_context, smtp_server)
        link = mail_link(smtp_server, email, "/password/reset/")
        assert (await client.get(link)).status_code == 200
        token = await csrf_token(client, link)
        mismatch = await client.post(link, data={"_csrf_token": token, "password": NEW_PASSWORD, "password_repeat": "other"})
        assert mismatch.status_code == 400 and field_error(mismatch.text, "password_repeat")
        done = await client.post(link, data={"_csrf_token": token, "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
        assert done.status_code == 303
        assert await is_logged_in(client)
        assert not await is_logged_in(other_device), "the old session must end with the reset"

    await post_form(client, "/logout", {})
    assert (await log_in(client, email, PASSWORD)).status_code == 400
    assert (await log_in(client, email, NEW_PASSWORD)).status_code == 303


async def test_session_cookie_flags_and_new_session_on_login(client, world):
    # An anonymous session exists before logging in (the language choice).
    chosen = await post_form(client, "/language", {"lang": "en", "next": "/login"}, form_page="/login")
    assert chosen.status_code == 303
    before = client.cookies.get(SESSION_COOKIE)
    assert before

    answer = await log_in(client, world.emails["member_a"])
    assert answer.status_code == 303
    set_cookie = [value for value in answer.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE + "=")]
    assert set_cookie, "login must set a new session cookie"
    flags = set_cookie[-1].lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    after = client.cookies.get(SESSION_COOKIE)
    assert after and after != before
    assert "Log out" in (await client.get("/")).text  # the language chosen before the login stays

    # The session from before the login (e.g. planted by someone else) stays anonymous.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver.local") as planted:  # noqa: SLF001
        planted.cookies.set(SESSION_COOKIE, before)
        assert not await is_logged_in(planted)


async def test_secure_cookies_when_configured(settings, app_context, world):
    app = create_app(dataclasses.replace(settings, secure_cookies=True), app_context=app_context)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver.local") as client:
        answer = await log_in(client, world.emails["member_a"])
        assert answer.status_code == 303
        cookies = [value.lower() for value in answer.headers.get_list("set-cookie")]
        session = [value for value in cookies if value.startswith(SESSION_COOKIE)]
        assert session and all("secure" in value and "httponly" in value for value in session)
        assert all("secure" in value for value in cookies if value.startswith("booking_csrf"))


async def test_csrf_token_missing_is_refused(client, world):
    await client.get("/login")
    answer = await client.post("/login", data={"email": world.emails["member_a"], "password": PASSWORD})
    assert answer.status_code == 403
    assert not await is_logged_in(client)
    answer = await client.post("/logout", data={})
    assert answer.status_code == 403


async def test_logout_and_language_switch_remembered_on_the_user(client, app_context, world):
    await log_in(client, world.emails["member_a"])
    assert "Abmelden" in (await client.get("/")).text
    switched = await post_form(client, "/language", {"lang": "en", "next": "/bookings"}, form_page="/")
    assert switched.status_code == 303 and switched.headers["location"] == "/bookings"
    assert "My bookings" in (await client.get("/bookings")).text
    assert (await user_by_email(app_context, world.emails["member_a"])).language == "en"
    # Unsafe "next" targets are ignored.
    away = await post_form(client, "/language", {"lang": "de", "next": "https://evil.example/"}, form_page="/")
    assert away.headers["location"] == "/"
    out = await post_form(client, "/logout", {}, form_page="/")
    assert out.status_code == 303
    assert not await is_logged_in(client)


async def test_profile_name_language_and_password(client, app_context, world):
    email = world.emails["member_a"]
    await log_in(client, email)
    assert (await client.get("/profile")).status_code == 200
    bad = await post_form(client, "/profile", {"display_name": "  ", "language": "de"}, form_page="/profile")
    assert bad.status_code == 400 and field_error(bad.text, "display_name")
    saved = await post_form(client, "/profile", {"display_name": "Maria Mitglied", "language": "en"}, form_page="/profile")
    assert saved.status_code == 303
    user = await user_by_email(app_context, email)
    assert (user.display_name, user.language) == ("Maria Mitglied", "en")
    assert "Your profile is saved." in (await client.get("/profile")).text

    wrong = await post_form(client, "/profile/password", {"current_password": "nope-nope-nope", "new_password": NEW_PASSWORD,
                                                          "new_password_repeat": NEW_PASSWORD}, form_page="/profile")
    assert wrong.status_code == 400 and field_error(wrong.text, "current_password")
    changed = await post_form(client, "/profile/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                            "new_password_repeat": NEW_PASSWORD}, form_page="/profile")
    assert changed.status_code == 303
    assert await is_logged_in(client), "the session that changed the password goes on"
    assert (await user_by_email(app_context, email)).session_epoch == user.session_epoch + 1


async def test_invitation_lets_a_new_person_register_and_join(client, app_context, world, smtp_server):
    await log_in(client, world.emails["org_admin_a"])
    organisation_id = world.org_a.id
    assert (await client.get(f"/organisation/{organisation_id}")).status_code == 200
    invited = await post_form(client, f"/organisation/{organisation_id}/invite", {"email": "gast@example.org", "role": "member"},
                              form_page=f"/organisation/{organisation_id}")
    assert invited.status_code == 303
    await send_outbox(app_context, smtp_server)
    link = mail_link(smtp_server, "gast@example.org", "/invitations/")
    await post_form(client, "/logout", {}, form_page="/")

    page = await client.get(link)
    assert page.status_code == 200 and "Org A" in page.text
    token = await csrf_token(client, link)
    joined = await client.post(link + "/register", data={"_csrf_token": token, "display_name": "Gabi Gast",
                                                         "password": "gast-passwort-1", "password_repeat": "gast-passwort-1"})
    assert joined.status_code == 303 and joined.headers["location"] == f"/organisation/{organisation_id}"
    assert (await client.get(f"/organisation/{organisation_id}")).status_code == 200
    user = await user_by_email(app_context, "gast@example.org")
    async with app_context.database.reader() as session:
        membership = (await session.exec(select(Membership).where(Membership.user_id == user.id))).one()
    assert membership.organisation_id == organisation_id and membership.role == "member"
    assert (await client.get(link)).status_code == 400  # used

    # Someone with an account logs in from the link and joins with one button.
    await post_form(client, "/logout", {}, form_page="/")
    await log_in(client, world.emails["org_admin_a"])
    await post_form(client, f"/organisation/{organisation_id}/invite", {"email": world.emails["member_b"], "role": "admin"},
                    form_page=f"/organisation/{organisation_id}")
    await send_outbox(app_context, smtp_server)
    link = mail_link(smtp_server, world.emails["member_b"], "/invitations/")
    await post_form(client, "/logout", {}, form_page="/")
    page = await client.get(link)
    assert f'href="/login?next={link}"' in page.text
    answer = await log_in(client, world.emails["member_b"], next_url=link)
    assert answer.headers["location"] == link
    token = await csrf_token(client, link)
    accepted = await client.post(link + "/accept", data={"_csrf_token": token})
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/organisation/{organisation_id}"
    assert (await client.get(f"/organisation/{organisation_id}")).status_code == 200


async def test_members_only_pages_and_invites_are_guarded(client, world):
    anonymous = await client.get("/organisation/1")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    await log_in(client, world.emails["member_b"])
    assert (await client.get(f"/organisation/{world.org_a.id}")).status_code == 404
    await log_in(client, world.emails["member_a"])
    refused = await post_form(client, f"/organisation/{world.org_a.id}/invite", {"email": "x@example.org", "role": "admin"},
                              form_page=f"/organisation/{world.org_a.id}")
    assert refused.status_code == 403


async def test_org_admin_resends_and_withdraws_an_open_invitation(client, app_context, world, smtp_server):
    from booking.models import Invitation

    organisation_id = world.org_a.id
    page_path = f"/organisation/{organisation_id}"
    await log_in(client, world.emails["org_admin_a"])
    await post_form(client, f"{page_path}/invite", {"email": "gast@example.org", "role": "member"}, form_page=page_path)
    await send_outbox(app_context, smtp_server)
    first_link = mail_link(smtp_server, "gast@example.org", "/invitations/")
    async with app_context.database.reader() as session:
        invitation = (await session.exec(select(Invitation).where(Invitation.email == "gast@example.org"))).one()
    page = await client.get(page_path)
    resend_path = f"{page_path}/invitations/{invitation.id}/resend"
    revoke_path = f"{page_path}/invitations/{invitation.id}/revoke"
    assert f'action="{resend_path}"' in page.text and f'action="{revoke_path}"' in page.text

    # Sent again: a new link works, the old one no longer does.
    resent = await post_form(client, resend_path, {}, form_page=page_path)
    assert resent.status_code == 303
    assert "erneut" in (await client.get(page_path)).text
    await send_outbox(app_context, smtp_server)
    new_link = mail_link(smtp_server, "gast@example.org", "/invitations/")
    assert new_link != first_link
    assert (await client.get(new_link)).status_code == 200
    assert (await client.get(first_link)).status_code == 400

    # A member who is no admin may do neither; nothing changes.
    await post_form(client, "/logout", {}, form_page="/")
    await log_in(client, world.emails["member_a"])
    assert (await post_form(client, revoke_path, {}, form_page=page_path)).status_code == 403
    assert (await post_form(client, resend_path, {}, form_page=page_path)).status_code == 403
    assert (await client.get(new_link)).status_code == 200
    await post_form(client, "/logout", {}, form_page="/")

    # Withdrawn: the link answers with a clear page (410), accepting does not work either.
    await log_in(client, world.emails["org_admin_a"])
    assert (await post_form(client, f"{page_path}/invitations/99999/revoke", {}, form_page=page_path)).status_code == 404
    revoked = await post_form(client, revoke_path, {}, form_page=page_path)
    assert revoked.status_code == 303
    page = await client.get(page_path)
    assert "zurückgezogen" in page.text and f'action="{revoke_path}"' not in page.text
    again = await post_form(client, revoke_path, {}, form_page=page_path)
    assert again.status_code == 400 and "nicht mehr offen" in again.text
    await post_form(client, "/logout", {}, form_page="/")
    gone = await client.get(new_link)
    assert gone.status_code == 410 and "Diese Einladung wurde zurückgezogen" in gone.text
    await log_in(client, world.emails["member_b"])
    token = await csrf_token(client, "/bookings")
    refused = await client.post(new_link + "/accept", data={"_csrf_token": token})
    assert refused.status_code == 410
    async with app_context.database.reader() as session:
        assert (await session.exec(select(Membership).where(Membership.organisation_id == organisation_id))).all()
        row = await session.get(Invitation, invitation.id)
    assert row.revoked_at is not None and row.accepted_at is None
