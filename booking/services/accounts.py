"""Users, their roles and credentials: create, authenticate, API tokens, the Principal."""

from __future__ import annotations

import unicodedata

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.passwords import hash_password, password_problem, verify_password
from booking.auth.principal import Principal
from booking.auth.tokens import hash_token, new_token
from booking.domain.errors import InvalidInput, NotFound
from booking.models import ApiToken, Membership, SiteRole, User
from booking.services.context import AppContext


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 320:
        raise InvalidInput("this is not an e-mail address", field="email")
    return email


async def create_user(
    app: AppContext,
    *,
    email: str,
    display_name: str,
    password: str | None,
    is_city_admin: bool = False,
    language: str = "de",
    verified: bool = True,
) -> User:
    """Create an account; raises InvalidInput when the address is taken or the password weak."""
    email = normalise_email(email)
    if password is not None and (problem := password_problem(password)):
        raise InvalidInput(problem, field="password")
    # One line, without control characters (see registration._clean_name).
    display_name = " ".join("".join(c for c in display_name if c.isspace() or unicodedata.category(c) != "Cc").split())
    if not display_name:
        raise InvalidInput("a name is required", field="display_name")
    async with app.database.transaction() as session:
        existing = (await session.exec(select(User).where(User.email == email))).first()
        if existing is not None:
            raise InvalidInput("an account with this e-mail address exists already", field="email")
        user = User(
            email=email,
            display_name=display_name.strip(),
            password_hash=hash_password(password) if password else None,
            is_city_admin=is_city_admin,
            language=language,
            email_verified_at=app.now() if verified else None,
        )
        session.add(user)
    return user


async def authenticate(app: AppContext, email: str, password: str) -> User | None:
    """The active, verified user with this e-mail and password, or None."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        verify_password(None, password)
        return None
    async with app.database.reader() as session:
        user = (await session.exec(select(User).where(User.email == email))).first()
    if user is None or not verify_password(user.password_hash, password):
        if user is None:
            verify_password(None, password)
        return None
    if not user.is_active or user.email_verified_at is None:
        return None
    return user


async def create_api_token(app: AppContext, email: str, name: str = "") -> str:
    """A new personal API token for the user; returns the token (shown once)."""
    email = normalise_email(email)
    async with app.database.transaction() as session:
        user = (await session.exec(select(User).where(User.email == email))).first()
        if user is None:
            raise NotFound(f"no user with e-mail {email}", field="email")
        token, digest = new_token("bk_")
        session.add(ApiToken(user_id=user.id, name=name, token_hash=digest))  # type: ignore[arg-type]
    return token


async def user_for_api_token(app: AppContext, token: str) -> User | None:
    async with app.database.reader() as session:
        statement = (
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)  # type: ignore[arg-type]
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
        )
        user = (await session.exec(statement)).first()
    return user if user is not None and user.is_active else None


async def load_principal(session: AsyncSession, user: User) -> Principal:
    memberships = (await session.exec(select(Membership).where(Membership.user_id == user.id))).all()
    site_roles = (await session.exec(select(SiteRole).where(SiteRole.user_id == user.id))).all()
    return Principal(
        user_id=user.id,  # type: ignore[arg-type]
        email=user.email,
        display_name=user.display_name,
        language=user.language,
        is_city_admin=user.is_city_admin,
        organisation_roles={m.organisation_id: m.role for m in memberships},
        site_roles={r.site_id: r.role for r in site_roles},
    )


async def principal_for_user_id(app: AppContext, user_id: int, session_epoch: int | None = None) -> Principal | None:
    """The Principal of an active user; None when gone, inactive or the session is outdated."""
    async with app.database.reader() as session:
        user = await session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        if session_epoch is not None and session_epoch != user.session_epoch:
            return None
        return await load_principal(session, user)
