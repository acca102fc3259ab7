"""Administration of accounts (city administrators): search, make or unmake city
administrators, deactivate and reactivate."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import NotFound, PermissionDenied
from booking.models import User
from booking.services import credentials
from booking.services.admin_common import require_city_admin
from booking.services.context import AppContext


USERS_PER_PAGE = 50


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    total: int
    page: int
    page_count: int


async def list_users(app: AppContext, actor: Principal, *, text: str = "", page: int = 1) -> UserPage:
    """Accounts, searched by name or e-mail, ``USERS_PER_PAGE`` per page."""
    require_city_admin(actor)
    text = text.strip()[:100]
    statement = select(User)
    if text:
        # autoescape: % and _ in the search are letters to find, not wildcards.
        needle = text.lower()
        statement = statement.where(
            or_(
                func.lower(User.display_name).contains(needle, autoescape=True),
                func.lower(User.email).contains(needle, autoescape=True),
            )
        )
    async with app.database.reader() as session:
        total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
        page_count = max(1, -(-total // USERS_PER_PAGE))
        page = min(max(page, 1), page_count)
        users = list(
            (await session.exec(
                statement.order_by(func.lower(User.display_name), col(User.id))
                .offset((page - 1) * USERS_PER_PAGE).limit(USERS_PER_PAGE)
            )).all()
        )
    return UserPage(users, total, page, page_count)


async def set_city_admin(app: AppContext, actor: Principal, user_id: int, value: bool) -> User:
    """Make someone a city administrator, or take it back (never from oneself: no lock-out)."""
    require_city_admin(actor)
    if user_id == actor.user_id and not value:
        raise PermissionDenied("You cannot take away your own city administration rights.")
    async with app.database.transaction() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("This account does not exist.")
        user.is_city_admin = value
        session.add(user)
    return user


async def set_user_active(app: AppContext, actor: Principal, user_id: int, value: bool) -> User:
    """Deactivate an account (its sessions and API tokens stop working at once) or reactivate it."""
    require_city_admin(actor)
    if user_id == actor.user_id and not value:
        raise PermissionDenied("You cannot deactivate your own account.")
    async with app.database.transaction() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("This account does not exist.")
        user.is_active = value
        if not value:
            user.session_epoch += 1
            # Reactivating later must not bring old sessions and tokens back.
            await credentials.end_all(session, user_id, app.now())
        session.add(user)
    return user
