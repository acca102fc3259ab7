"""Sessions, API tokens and the first proof of an address, at the service level, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.domain.errors import InvalidInput, NotFound
from booking.models import ApiToken, LoginSession, User
from booking.services import credentials, registration
from booking.services.accounts import load_principal
from tests.support.pages import mail_link, send_outbox
from tests.support.world import PASSWORD

VICTIM = "opfer@example.org"
ATTACKER_PASSWORD = "attackers-own-password"


async def _user(app, email: str) -> User:
    async with app.database.reader() as session:
        return (await session.exec(select(User).where(User.email == email))).one()


async def _principal(app, email: str):
    async with app.database.reader() as session:
        return await load_principal(session, await _user(app, email))


async def _mailed_token(app, email: str, purpose: str) -> str:
    """Tokens are stored hashed: issue a fresh one the way the service does, for the test."""
    async with app.database.transaction() as session:
        user = (await session.exec(select(User).where(User.email == email))).one()
        return await registration._issue_token(session, app, user, purpose, timedelta(hours=1))  # noqa: SLF001


async def test_a_password_set_by_whoever_registered_does_not_survive_the_owners_login_link(app):
    await registration.register(app, email=VICTIM, display_name="Angreifer", password=ATTACKER_PASSWORD, language="de")
    # Somehow the attacker holds a token for the still unconfirmed account (e.g. made by an admin).
    attacker = await _user(app, VICTIM)
    old_token, _ = await credentials.issue_api_token(app, attacker.id, "angreifer")

    link = await _mailed_token(app, VICTIM, registration.PURPOSE_LOGIN)
    owner = await registration.login_with_link(app, link)
    assert owner.email_verified_at is not None and owner.password_hash is None

    with pytest.raises(registration.LoginRefused):
        await registration.password_login(app, VICTIM, ATTACKER_PASSWORD)
    assert await credentials.user_for_api_token(app, old_token) is None


async def test_confirming_in_another_browser_drops_the_password_and_asks_for_a_new_one(app):
    await registration.register(app, email=VICTIM, display_name="Angreifer", password=ATTACKER_PASSWORD, language="de")
    link = await _mailed_token(app, VICTIM, registration.PURPOSE_VERIFY)
    verified = await registration.verify_email(app, link, proof=None)
    assert verified.user.password_hash is None and verified.set_password_token
    with pytest.raises(registration.LoginRefused):
        await registration.password_login(app, VICTIM, ATTACKER_PASSWORD)
    # The owner chooses the password with the token that came back (a reset).
    await registration.reset_password(app, verified.set_password_token, "owners-new-password")
    assert (await registration.password_login(app, VICTIM, "owners-new-password")).email == VICTIM


async def test_confirming_in_the_browser_that_registered_keeps_its_password(app, smtp_server):
    proof = await registration.register(app, email="neu@example.org", display_name="Nele", password="nele-password-1", language="de")
    other = await registration.register(app, email="zwei@example.org", display_name="Zoe", password="zoe-password-12", language="de")
    await send_outbox(app, smtp_server)
    first = mail_link(smtp_server, "neu@example.org", "/verify/").removeprefix("/verify/")
    second = mail_link(smtp_server, "zwei@example.org", "/verify/").removeprefix("/verify/")

    kept = await registration.verify_email(app, first, proof=proof)
    assert kept.set_password_token is None
    assert (await registration.password_login(app, "neu@example.org", "nele-password-1")).email == "neu@example.org"
    # Another registration's proof does not fit.
    dropped = await registration.verify_email(app, second, proof=proof)
    assert dropped.set_password_token is not None and other != proof
    with pytest.raises(registration.LoginRefused):
        await registration.password_login(app, "zwei@example.org", "zoe-password-12")


async def test_password_change_ends_every_session_and_token(app, world):
    email = world.emails["member_a"]
    user = await _user(app, email)
    first, second = await credentials.start_session(app, user.id), await credentials.start_session(app, user.id)
    token, _ = await credentials.issue_api_token(app, user.id, "skript")
    assert await credentials.user_for_session(app, first) and await credentials.user_for_api_token(app, token)

    await registration.change_password(app, await _principal(app, email), PASSWORD, "a-brand-new-secret-42")
    assert await credentials.user_for_session(app, first) is None
    assert await credentials.user_for_session(app, second) is None
    assert await credentials.user_for_api_token(app, token) is None
    assert await credentials.list_api_tokens(app, await _principal(app, email)) == []


async def test_logout_ends_the_session_and_idle_sessions_expire(app, world, clock):
    user = await _user(app, world.emails["member_a"])
    token = await credentials.start_session(app, user.id)
    assert (await credentials.user_for_session(app, token))[0].id == user.id
    await credentials.end_session(app, token)
    assert await credentials.user_for_session(app, token) is None

    idle = await credentials.start_session(app, user.id)
    clock.now += timedelta(days=app.settings.auth.session_idle_days - 1)
    assert await credentials.user_for_session(app, idle) is not None  # a request moves the expiry on
    clock.now += timedelta(days=app.settings.auth.session_idle_days - 1)
    assert await credentials.user_for_session(app, idle) is not None
    clock.now += timedelta(days=app.settings.auth.session_idle_days)
    assert await credentials.user_for_session(app, idle) is None
    # The next login (of anybody) clears expired rows away.
    other = await _user(app, world.emails["member_b"])
    await credentials.start_session(app, other.id)
    async with app.database.reader() as session:
        assert (await session.exec(select(LoginSession.user_id))).all() == [other.id]


async def test_last_seen_and_last_used_are_written_at_most_once_a_minute(app, world, clock):
    user = await _user(app, world.emails["member_a"])
    session_token = await credentials.start_session(app, user.id)
    api_token, view = await credentials.issue_api_token(app, user.id, "skript")
    writes = {"count": 0}
    statements: list[str] = []

    def count_updates(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)
        if statement.lstrip().upper().startswith("UPDATE"):
            writes["count"] += 1

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    # Every engine (on SQLite, reads and writes have one each).
    engine = Engine
    event.listen(engine, "before_cursor_execute", count_updates)
    try:
        for _ in range(5):
            assert await credentials.user_for_api_token(app, api_token) is not None
            assert await credentials.user_for_session(app, session_token) is not None
        assert writes["count"] == 1  # the token's first use; the session is fresh
        statements.clear()
        await credentials.user_for_session(app, session_token)
        assert len(statements) == 1, statements  # the per-request check is one query
        clock.now += timedelta(seconds=61)
        for _ in range(5):
            await credentials.user_for_api_token(app, api_token)
            await credentials.user_for_session(app, session_token)
        assert writes["count"] == 3
    finally:
        event.remove(engine, "before_cursor_execute", count_updates)
    listed = await credentials.list_api_tokens(app, await _principal(app, world.emails["member_a"]))
    assert [t.id for t in listed] == [view.id] and listed[0].last_used_at == clock.now


async def test_expired_revoked_and_foreign_tokens(app, world, clock):
    member = await _principal(app, world.emails["member_a"])
    other = await _principal(app, world.emails["member_b"])
    token, view = await credentials.issue_api_token(app, member.user_id, "kurz", clock.now + timedelta(days=1))
    assert await credentials.user_for_api_token(app, token) is not None
    clock.now += timedelta(days=1)
    assert await credentials.user_for_api_token(app, token) is None
    assert (await credentials.list_api_tokens(app, member))[0].is_expired

    with pytest.raises(NotFound):
        await credentials.revoke_api_token(app, other, view.id)
    await credentials.revoke_api_token(app, member, view.id)
    with pytest.raises(NotFound):
        await credentials.revoke_api_token(app, member, view.id)
    async with app.database.reader() as session:
        assert (await session.get(ApiToken, view.id)).revoked_at == clock.now

    for name, expires_at in (("", None), ("x" * 201, None), ("alt", clock.now - timedelta(seconds=1)),
                             ("ewig", clock.now + timedelta(days=credentials.MAX_TOKEN_DAYS + 1))):
        with pytest.raises(InvalidInput):
            await credentials.issue_api_token(app, member.user_id, name, expires_at)


async def test_a_login_rehashes_a_password_stored_at_another_cost_with_the_configured_one(app, world):
    from argon2 import extract_parameters

    from booking.auth.passwords import HashCost, hash_password

    email = world.emails["member_a"]
    older = HashCost(time_cost=2, memory_kib=2048, parallelism=1)
    async with app.database.transaction() as session:
        user = (await session.exec(select(User).where(User.email == email))).one()
        user.password_hash = hash_password(PASSWORD, older)
    assert extract_parameters((await _user(app, email)).password_hash).time_cost == 2

    await registration.password_login(app, email, PASSWORD)

    stored = extract_parameters((await _user(app, email)).password_hash)
    configured = app.settings.auth.password_cost
    assert (stored.time_cost, stored.memory_cost, stored.parallelism) == (
        configured.time_cost, configured.memory_kib, configured.parallelism)
