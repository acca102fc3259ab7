"""Users and their roles: create, authenticate, the Principal. (Sessions and API tokens:
``services.credentials``.)"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import literal, union_all
from sqlmodel import col, select
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
            password_hash=hash_password(password, app.settings.auth.password_cost) if password else None,
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
        verify_password(None, password, app.settings.auth.password_cost)
        return None
    async with app.database.reader() as session:
        user = (await session.exec(select(User).where(User.email == email))).first()
    if user is None or not verify_password(user.password_hash, password, app.settings.auth.password_cost):
        if user is None:
            verify_password(None, password, app.settings.auth.password_cost)
        return None
    if not user.is_active or user.email_verified_at is None:
        return None
    return user


async def create_api_token(app: AppContext, email: str, name: str = "", expires_at: datetime | None = None) -> str:
    """A new personal API token for the user; returns the token (shown once)."""
    from booking.services.credentials import create_api_token_for_email

    return await create_api_token_for_email(app, email, name or "API", expires_at)


def _roles_of_users() -> Any:
    """Memberships and site roles as one relation (user_id, kind, target_id, role)."""
    return union_all(
        select(Membership.user_id, literal("organisation").label("kind"),  # type: ignore[call-overload]
               col(Membership.organisation_id).label("target_id"), Membership.role),
        select(SiteRole.user_id, literal("site").label("kind"),  # type: ignore[call-overload]
               col(SiteRole.site_id).label("target_id"), SiteRole.role),
    ).subquery("roles")


def roles_relation() -> Any:
    """Memberships and site roles as one relation (user_id, kind, target_id, role), to join."""
    return _roles_of_users()


def principal_of(user: User, roles: Iterable[tuple[str | None, int | None, str | None]]) -> Principal:
    """The Principal of ``user`` with ``roles`` rows of ``roles_relation`` (kind, target_id, role)."""
    return _principal(user, roles)


def _principal(user: User, roles: Iterable[tuple[str | None, int | None, str | None]]) -> Principal:
    organisation_roles: dict[int, str] = {}
    site_roles: dict[int, str] = {}
    for kind, target_id, role in roles:
        if kind == "organisation":
            organisation_roles[target_id] = role  # type: ignore[index,assignment]
        elif kind == "site":
            site_roles[target_id] = role  # type: ignore[index,assignment]
    return Principal(
        user_id=user.id,  # type: ignore[arg-type]
        email=user.email,
        display_name=user.display_name,
        language=user.language,
        is_city_admin=user.is_city_admin,
        organisation_roles=organisation_roles,
        site_roles=site_roles,
    )


async def _user_with_roles(session: AsyncSession, condition: Any) -> tuple[User, list[tuple[Any, Any, Any]]] | None:
    """The user matching ``condition`` and their roles, in one query (None: no such user)."""
    roles = _roles_of_users()
    statement = (
        select(User, roles.c.kind, roles.c.target_id, roles.c.role)
        .outerjoin(roles, roles.c.user_id == User.id)  # type: ignore[arg-type]
        .where(condition)
    )
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    if not rows:
        return None
    return rows[0][0], [(kind, target_id, role) for _, kind, target_id, role in rows]


async def load_principal(session: AsyncSession, user: User) -> Principal:
    roles = _roles_of_users()
    statement = select(roles.c.kind, roles.c.target_id, roles.c.role).where(roles.c.user_id == user.id)
    return _principal(user, (await session.exec(statement)).all())  # type: ignore[call-overload]


async def principal_for_user_id(app: AppContext, user_id: int) -> Principal | None:
    """The Principal of an active user; None when gone or inactive. One query: the user with
    their memberships and site roles."""
    async with app.database.reader() as session:
        found = await _user_with_roles(session, User.id == user_id)
    if found is None or not found[0].is_active:
        return None
    return _principal(*found)
