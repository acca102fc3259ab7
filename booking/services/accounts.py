"""Users and their roles: create, authenticate, the Principal. (Sessions and API tokens:
``services.credentials``.)"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.passwords import hash_password, password_problem, verify_password
from booking.auth.principal import Principal
from booking.domain.errors import InvalidInput
from booking.models import Membership, SiteRole, User
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


async def create_api_token(app: AppContext, email: str, name: str = "", expires_at: datetime | None = None) -> str:
    """A new personal API token for the user; returns the token (shown once)."""
    from booking.services.credentials import create_api_token_for_email

    return await create_api_token_for_email(app, email, name or "API", expires_at)


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


async def principal_for_user_id(app: AppContext, user_id: int) -> Principal | None:
    """The Principal of an active user; None when gone or inactive."""
    async with app.database.reader() as session:
        user = await session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        return await load_principal(session, user)
