"""What proves who is asking, and how it ends: login sessions and personal API tokens.

A login session is a ``LoginSession`` row; the (encrypted) session cookie carries only a random
id whose SHA-256 the row stores. Every app process checks the row with one query per request,
so logging out (deleting the row) ends the session everywhere at once, and a copied cookie is
worth nothing afterwards. ``last_seen_at`` and the idle expiry move at most once a minute,
so reading a page is not a write.

Personal API tokens (``ApiToken``) have a name, an optional expiry and a last-used time
(also written at most once a minute). Their owner lists and revokes them.

A password change or reset, and the first proof of an address (``end_all``), end every
session and revoke every token of the account; the caller starts a fresh session for the
person in front of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.auth.tokens import hash_token, new_token
from booking.db import direct
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied
from booking.models import ApiToken, LoginSession, User
from booking.services import accounts
from booking.services.context import AppContext

# How stale ``last_seen_at`` / ``last_used_at`` may get before a request writes it again.
TOUCH_INTERVAL = timedelta(minutes=1)
API_TOKEN_PREFIX = "bk_"
MAX_TOKEN_NAME = 200
MAX_TOKEN_DAYS = 3650
MAX_ACTIVE_TOKENS = 50


@dataclass(frozen=True)
class Credential:
    """How the current request proved who it is: ``kind`` is ``session`` or ``token``."""

    kind: str
    id: int


@dataclass(frozen=True)
class ApiTokenView:
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    is_expired: bool


# --------------------------------------------------------------------------- sessions


def _session_lifetime(app: AppContext) -> timedelta:
    return timedelta(days=app.settings.auth.session_idle_days)


async def start_session(app: AppContext, user_id: int) -> str:
    """A new login session for ``user_id``; returns the secret id for the cookie.

    Expired sessions (of everybody) are cleared away on the way, so the table holds only
    sessions that still work: personal data kept no longer than it is of use.
    """
    now = app.now()
    token, digest = new_token()
    async with app.database.transaction() as session:
        await session.exec(delete(LoginSession).where(col(LoginSession.expires_at) <= now))  # type: ignore[call-overload]
        session.add(LoginSession(user_id=user_id, token_hash=digest, created_at=now, last_seen_at=now,
                                 expires_at=now + _session_lifetime(app)))
    return token


async def end_session(app: AppContext, token: str) -> None:
    """Log out: the session stops working on every app process."""
    async with app.database.transaction() as session:
        await session.exec(delete(LoginSession).where(col(LoginSession.token_hash) == hash_token(token)))  # type: ignore[call-overload]


async def user_for_session(app: AppContext, token: str) -> tuple[User, int] | None:
    """The active user of a live session and the session's id, or None. One query, plus a
    write at most once a minute per session to move ``last_seen_at`` and the expiry."""
    found = await _live_session(app, token, with_roles=False)
    return None if found is None else (found[0], found[2])


async def principal_for_session(app: AppContext, token: str) -> tuple[Principal, int] | None:
    """``user_for_session`` with the user's memberships and site roles, as the Principal who
    asks, in the same single query (the request's principal costs one round trip)."""
    found = await _live_session(app, token, with_roles=True)
    return None if found is None else (found[1], found[2])


async def _live_session(app: AppContext, token: str, *, with_roles: bool) -> tuple[User, Principal, int] | None:
    now = app.now()
    found = await _with_user(app, LoginSession, hash_token(token), with_roles=with_roles)
    if found is None:
        return None
    login_session, user, principal = found
    if login_session.expires_at <= now or not user.is_active:
        return None
    if now - login_session.touched_at >= TOUCH_INTERVAL:
        async with app.database.transaction() as session:
            await session.exec(  # type: ignore[call-overload]
                update(LoginSession)
                .where(col(LoginSession.id) == login_session.id)
                .values(last_seen_at=now, expires_at=now + _session_lifetime(app))
            )
    return user, principal, login_session.id  # type: ignore[return-value]


@cache
def _credential_query(model: Any, with_roles: bool) -> Any:
    """The credential row of ``model`` whose hash is the parameter ``token_hash`` (an API token
    also not revoked), with its user and (``with_roles``) the user's roles.

    Built once per process: every request runs it, and building a statement costs more
    Python than running a compiled one (SQLAlchemy caches the compiled form by the statement).
    With roles (every request's principal) it selects plain columns, read on a Core connection:
    no ORM objects to build and forget per request.
    """
    condition = col(model.token_hash) == bindparam("token_hash")
    if model is ApiToken:
        condition = condition & col(ApiToken.revoked_at).is_(None)
    if not with_roles:
        return select(model, User).join(User, col(User.id) == model.user_id).where(condition)
    roles = accounts.roles_relation()
    touched = model.last_used_at if model is ApiToken else model.last_seen_at
    return (
        select(
            model.id, model.expires_at, touched.label("touched_at"), col(User.id).label("user_id"), User.email,
            User.display_name, User.language, User.is_city_admin, User.is_active, roles.c.kind, roles.c.target_id, roles.c.role,
        )
        .join(User, col(User.id) == model.user_id)
        .outerjoin(roles, roles.c.user_id == User.id)
        .where(condition)
    )


@dataclass(frozen=True)
class _CredentialRow:
    """What the checks read of a credential row (``touched_at``: last seen / last used)."""

    id: int
    expires_at: datetime | None
    touched_at: datetime | None


@dataclass(frozen=True)
class _UserRow:
    """What the checks and the Principal read of a user."""

    id: int
    email: str
    display_name: str
    language: str
    is_city_admin: bool
    is_active: bool


async def _with_user(app: AppContext, model: Any, token_hash: str, *, with_roles: bool) -> tuple[Any, Any, Principal] | None:
    """The credential row of ``model`` with this token hash, its user and (``with_roles``) the
    user's roles, in one query; None when there is no such row.

    With roles: plain values (``_CredentialRow``, ``_UserRow``) from a read connection.
    Without: the ORM rows (``LoginSession`` or ``ApiToken``, and ``User``).
    """
    statement = _credential_query(model, with_roles)
    if not with_roles:
        async with app.database.reader() as session:
            found = (await session.exec(statement, params={"token_hash": token_hash})).first()  # type: ignore[call-overload]
        if found is None:
            return None
        row, user = found
        touched = row.last_used_at if model is ApiToken else row.last_seen_at
        return _CredentialRow(row.id, row.expires_at, touched), user, accounts.principal_of(user, [])
    async with app.database.read_connection() as connection:
        rows = await direct.all_rows(connection, statement, {"token_hash": token_hash})
    if not rows:
        return None
    first = rows[0]
    user = _UserRow(first.user_id, first.email, first.display_name, first.language, first.is_city_admin, first.is_active)
    principal = accounts.principal_of(user, [(found.kind, found.target_id, found.role) for found in rows])  # type: ignore[arg-type]
    return _CredentialRow(first.id, first.expires_at, first.touched_at), user, principal


async def end_all(session: AsyncSession, user_id: int, now: datetime) -> None:
    """End every login session and revoke every API token of the user (in the caller's
    transaction): after a password change or reset, and at the first proof of the address."""
    await session.exec(delete(LoginSession).where(col(LoginSession.user_id) == user_id))  # type: ignore[call-overload]
    await session.exec(  # type: ignore[call-overload]
        update(ApiToken).where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None)).values(revoked_at=now)
    )


# --------------------------------------------------------------------------- API tokens


def _clean_token_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("please give the token a name (what is it for?)", field="name")
    if len(cleaned) > MAX_TOKEN_NAME:
        raise InvalidInput(f"at most {MAX_TOKEN_NAME} characters", field="name")
    return cleaned


def _check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise InvalidInput("the expiry needs a time zone offset", field="expires_at")
    if expires_at <= now:
        raise InvalidInput("the expiry must be in the future", field="expires_at")
    if expires_at > now + timedelta(days=MAX_TOKEN_DAYS):
        raise InvalidInput(f"a token can live at most {MAX_TOKEN_DAYS} days", field="expires_at")


async def issue_api_token(app: AppContext, user_id: int, name: str, expires_at: datetime | None = None) -> tuple[str, ApiTokenView]:
    """A new personal API token; returns the secret (shown once) and its description."""
    now = app.now()
    name = _clean_token_name(name)
    _check_expiry(expires_at, now)
    async with app.database.transaction() as session:
        active = (
            await session.exec(
                select(ApiToken.id).where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
            )
        ).all()
        if len(active) >= MAX_ACTIVE_TOKENS:
            raise InvalidInput("you have too many tokens; please revoke one you no longer use", field="name")
        token, digest = new_token(API_TOKEN_PREFIX)
        row = ApiToken(user_id=user_id, name=name, token_hash=digest, created_at=now, expires_at=expires_at)
        session.add(row)
        await session.flush()
        return token, _view(row, now)


async def create_api_token_for_email(app: AppContext, email: str, name: str, expires_at: datetime | None = None) -> str:
    """A token for the account with this address (the ``booking user token`` command)."""
    from booking.services.accounts import normalise_email

    address = normalise_email(email)
    async with app.database.reader() as session:
        user = (await session.exec(select(User).where(User.email == address))).first()
    if user is None:
        raise NotFound(f"no user with e-mail {address}", field="email")
    token, _ = await issue_api_token(app, user.id, name, expires_at)  # type: ignore[arg-type]
    return token


def _view(row: ApiToken, now: datetime) -> ApiTokenView:
    return ApiTokenView(
        id=row.id, name=row.name, created_at=row.created_at, expires_at=row.expires_at,  # type: ignore[arg-type]
        last_used_at=row.last_used_at, is_expired=row.expires_at is not None and row.expires_at <= now,
    )


async def list_api_tokens(app: AppContext, actor: Principal) -> list[ApiTokenView]:
    """The actor's tokens that are not revoked (expired ones too, marked), newest first."""
    now = app.now()
    async with app.database.reader() as session:
        rows = (
            await session.exec(
                select(ApiToken)
                .where(col(ApiToken.user_id) == actor.user_id, col(ApiToken.revoked_at).is_(None))
                .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
            )
        ).all()
    return [_view(row, now) for row in rows]


async def revoke_api_token(app: AppContext, actor: Principal, token_id: int) -> None:
    """Revoke one of the actor's own tokens. Someone else's token is "not found", as is a
    revoked one: the answer does not tell which ids exist."""
    async with app.database.transaction() as session:
        row = await session.get(ApiToken, token_id)
        if row is None or row.user_id != actor.user_id or row.revoked_at is not None:
            raise NotFound("no such token")
        row.revoked_at = app.now()
        session.add(row)


async def user_for_api_token(app: AppContext, token: str) -> tuple[User, int] | None:
    """The active user of a live (not revoked, not expired) token and the token's id, or None.
    One query, plus a write at most once a minute to record the use."""
    found = await _live_api_token(app, token, with_roles=False)
    return None if found is None else (found[0], found[2])


async def principal_for_api_token(app: AppContext, token: str) -> tuple[Principal, int] | None:
    """``user_for_api_token`` with the user's memberships and site roles, as the Principal who
    asks, in the same single query."""
    found = await _live_api_token(app, token, with_roles=True)
    return None if found is None else (found[1], found[2])


async def _live_api_token(app: AppContext, token: str, *, with_roles: bool) -> tuple[User, Principal, int] | None:
    now = app.now()
    found = await _with_user(app, ApiToken, hash_token(token), with_roles=with_roles)
    if found is None:
        return None
    row, user, principal = found
    if (row.expires_at is not None and row.expires_at <= now) or not user.is_active:
        return None
    if row.touched_at is None or now - row.touched_at >= TOUCH_INTERVAL:
        async with app.database.transaction() as session:
            await session.exec(update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=now))  # type: ignore[call-overload]
    return user, principal, row.id  # type: ignore[return-value]


def require_session(credential: Credential | None) -> None:
    """New tokens only from a login session: a token must not be able to outlive itself."""
    if credential is None or credential.kind != "session":
        raise PermissionDenied("new tokens can only be made when logged in with a password or e-mail link, not with a token")
