"""Sessions and tokens that can be ended, and the first proof of an address, over HTTP on both
databases: logout refuses a replayed cookie, a password change ends the other sessions and
every token, tokens expire and are revoked by their owner only, and an attacker's password
set before the owner proved the address stops working."""

from __future__ import annotations

from datetime import timedelta

import httpx

from booking.app import SESSION_COOKIE
from tests.http.conftest import login
from tests.support.pages import csrf_token, mail_link, post_form, send_outbox
from tests.support.world import PASSWORD

NEW_PASSWORD = "a-brand-new-secret-42"


def other_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second browser talking to the same app."""
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver.local")  # noqa: SLF001


async def page_login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await post_form(client, "/login", {"email": email, "password": password}, form_page="/login")


async def test_a_cookie_replayed_after_logout_is_refused(client, world):
    assert (await page_login(client, world.emails["member_a"])).status_code == 303
    stolen = client.cookies.get(SESSION_COOKIE)
    assert (await client.get("/bookings")).status_code == 200
    assert (await post_form(client, "/logout", {}, form_page="/")).status_code == 303

    async with other_client(client) as replay:
        replay.cookies.set(SESSION_COOKIE, stolen)
        assert (await replay.get("/api/v1/me")).status_code == 401
        assert (await replay.get("/bookings")).status_code in (302, 303, 401)


async def test_api_logout_ends_the_session_on_the_server(client, world):
    await login(client, world, "member_a")
    stolen = client.cookies.get(SESSION_COOKIE)
    assert (await client.post("/api/v1/auth/logout", json={})).status_code == 204
    async with other_client(client) as replay:
        replay.cookies.set(SESSION_COOKIE, stolen)
        assert (await replay.get("/api/v1/me")).status_code == 401


async def test_a_password_change_ends_other_sessions_and_every_token(client, world):
    email = world.emails["member_a"]
    async with other_client(client) as laptop:
        assert (await page_login(laptop, email)).status_code == 303
        assert (await page_login(client, email)).status_code == 303
        made = await client.post("/api/v1/me/tokens", json={"name": "Skript"})
        assert made.status_code == 201, made.text
        bearer = {"Authorization": f"Bearer {made.json()['token']}"}
        assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200

        changed = await post_form(client, "/profile/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                                "new_password_repeat": NEW_PASSWORD}, form_page="/profile")
        assert changed.status_code == 303
        assert (await client.get("/api/v1/me")).status_code == 200, "the browser that changed it goes on"
        assert (await laptop.get("/api/v1/me")).status_code == 401
        assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
        assert (await client.get("/api/v1/me/tokens")).json() == []


async def test_token_lifecycle_in_the_api(client, world, app_context):
    await login(client, world, "member_a")
    expires_at = (app_context.now() + timedelta(days=7)).isoformat()
    made = await client.post("/api/v1/me/tokens", json={"name": "Kalender-Sync", "expires_at": expires_at})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["name"] == "Kalender-Sync" and body["token"].startswith("bk_") and body["last_used_at"] is None
    bearer = {"Authorization": f"Bearer {body['token']}"}

    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    listed = (await client.get("/api/v1/me/tokens")).json()
    assert [(t["id"], t["name"]) for t in listed] == [(body["id"], "Kalender-Sync")]
    assert listed[0]["last_used_at"] is not None and "token" not in listed[0]

    # A token cannot make tokens (it must not outlive itself), but it may list and revoke.
    assert (await client.post("/api/v1/me/tokens", json={"name": "noch einer"}, headers=bearer)).status_code == 403
    assert (await client.get("/api/v1/me/tokens", headers=bearer)).status_code == 200
    assert (await client.post("/api/v1/me/tokens", json={"name": ""})).status_code == 400
    assert (await client.post("/api/v1/me/tokens", json={"name": "alt", "expires_at": "2020-01-01T00:00:00+00:00"})).status_code == 400

    assert (await client.delete(f"/api/v1/me/tokens/{body['id']}", headers=bearer)).status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert (await client.get("/api/v1/me/tokens")).json() == []


async def test_an_expired_token_is_refused(client, world, app_context):
    await login(client, world, "member_b")
    made = await client.post("/api/v1/me/tokens", json={"name": "kurz", "expires_at": (app_context.now() + timedelta(hours=1)).isoformat()})
    bearer = {"Authorization": f"Bearer {made.json()['token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    later = app_context.now() + timedelta(hours=1, seconds=1)
    app_context.clock = lambda: later
    answer = await client.get("/api/v1/me", headers=bearer)
    assert answer.status_code == 401 and answer.headers["content-type"].startswith("application/problem+json")


async def test_nobody_revokes_anothers_token(client, world):
    await login(client, world, "member_a")
    mine = (await client.post("/api/v1/me/tokens", json={"name": "meins"})).json()
    await login(client, world, "member_b")
    # With a session cookie, state-changing API calls declare JSON (a cross-site form cannot).
    as_json = {"content-type": "application/json"}
    foreign = await client.delete(f"/api/v1/me/tokens/{mine['id']}", headers=as_json)
    assert foreign.status_code == 404
    assert (await client.delete("/api/v1/me/tokens/999999", headers=as_json)).status_code == 404
    assert (await client.get("/api/v1/me/tokens")).json() == []
    await login(client, world, "member_a")
    assert [t["id"] for t in (await client.get("/api/v1/me/tokens")).json()] == [mine["id"]]
    # Anonymous: 401.
    await client.post("/api/v1/auth/logout", json={})
    assert (await client.get("/api/v1/me/tokens")).status_code == 401


async def test_tokens_on_the_profile_page(client, world):
    await page_login(client, world.emails["member_a"])
    made = await post_form(client, "/profile/tokens", {"name": "Vereinskalender", "expires_days": "90"}, form_page="/profile")
    assert made.status_code == 303
    page = (await client.get("/profile")).text
    assert "Vereinskalender" in page and 'id="new-api-token">bk_' in page
    token = page.split('id="new-api-token">', 1)[1].split("<", 1)[0]
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert 'id="new-api-token"' not in (await client.get("/profile")).text, "shown once"

    bad = await post_form(client, "/profile/tokens", {"name": "", "expires_days": "90"}, form_page="/profile")
    assert bad.status_code == 400
    listed = (await client.get("/api/v1/me/tokens")).json()
    revoked = await post_form(client, f"/profile/tokens/{listed[0]['id']}/revoke", {}, form_page="/profile")
    assert revoked.status_code == 303
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    assert "Vereinskalender" not in (await client.get("/profile")).text


async def test_token_routes_are_in_the_openapi(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/me/tokens"])
    assert "delete" in paths["/api/v1/me/tokens/{token_id}"]


async def test_an_attackers_password_stops_working_when_the_owner_logs_in_by_e_mail(client, app_context, smtp_server):
    victim = "opfer@example.org"
    async with other_client(client) as attacker:
        registered = await post_form(attacker, "/register", {"display_name": "Opfer", "email": victim, "password": "attackers-password",
                                                             "password_repeat": "attackers-password"})
        assert registered.status_code == 303

        # The owner never opens the confirmation mail but logs in with an e-mail link.
        assert (await post_form(client, "/login/link", {"email": victim})).status_code == 303
        await send_outbox(app_context, smtp_server)
        link = mail_link(smtp_server, victim, "/login/link/")
        assert (await client.post(link, data={"_csrf_token": await csrf_token(client, link)})).status_code == 303
        assert (await client.get("/api/v1/me")).json()["email"] == victim

        refused = await page_login(attacker, victim, "attackers-password")
        assert refused.status_code == 400
        assert (await attacker.get("/api/v1/me")).status_code == 401
        # The owner chooses a password on the profile page (no current one to give).
        page = (await client.get("/profile")).text
        assert 'name="current_password"' not in page
        chosen = await post_form(client, "/profile/password", {"new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD},
                                 form_page="/profile")
        assert chosen.status_code == 303
        assert (await page_login(attacker, victim, NEW_PASSWORD)).status_code == 303


async def test_confirming_the_address_in_another_browser_asks_for_a_new_password(client, app_context, smtp_server):
    victim = "opfer@example.org"
    async with other_client(client) as attacker:
        await post_form(attacker, "/register", {"display_name": "Opfer", "email": victim, "password": "attackers-password",
                                                "password_repeat": "attackers-password"})
        await send_outbox(app_context, smtp_server)
        link = mail_link(smtp_server, victim, "/verify/")
        confirmed = await client.post(link, data={"_csrf_token": await csrf_token(client, link)})
        assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/password/reset/")
        assert (await page_login(attacker, victim, "attackers-password")).status_code == 400
        reset_page = confirmed.headers["location"]
        done = await client.post(reset_page, data={"_csrf_token": await csrf_token(client, reset_page), "password": NEW_PASSWORD,
                                                   "password_repeat": NEW_PASSWORD})
        assert done.status_code == 303
        assert (await client.get("/api/v1/me")).json()["email"] == victim
