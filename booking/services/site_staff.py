"""Staff of a site: making a person a lender or manager of a site, or taking the role away
(the site's managers and city administrators)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from booking.auth.principal import Principal
from booking.domain.errors import NotFound, PermissionDenied
from booking.models import Site, SiteRole
from booking.services.admin_common import (
    InvalidFields,
    _Checks,
    _choice,
    _email,
    _user_by_email,
    require_site_manager,
)
from booking.services.context import AppContext


SITE_ROLES = ("lender", "manager")


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    display_name: str
    email: str
    role: str


async def assign_site_role(app: AppContext, actor: Principal, site_id: int, email: str, role: str) -> StaffMember:
    """Make the person with this e-mail address a lender or manager of the site (or change their role)."""
    require_site_manager(actor, site_id)
    checks = _Checks()
    checks.run(_email, email, "email")
    checks.run(_choice, role, SITE_ROLES, "role")
    checks.raise_if_any()
    async with app.database.transaction() as session:
        if await session.get(Site, site_id) is None:
            raise NotFound("This site does not exist.")
        user = await _user_by_email(session, email)
        if not user.is_active:
            raise InvalidFields({"email": "This account is deactivated."})
        if user.id == actor.user_id and role != "manager" and not actor.is_city_admin:
            raise InvalidFields({"role": "You cannot take away your own manager role; ask another manager or a city administrator."})
        existing = (
            await session.exec(select(SiteRole).where(SiteRole.site_id == site_id, SiteRole.user_id == user.id))
        ).first()
        if existing is None:
            existing = SiteRole(user_id=user.id, site_id=site_id, role=role)  # type: ignore[arg-type]
        existing.role = role
        session.add(existing)
    return StaffMember(user.id, user.display_name, user.email, role)  # type: ignore[arg-type]


async def remove_site_role(app: AppContext, actor: Principal, site_id: int, user_id: int) -> None:
    """Take a person's role at the site away. Managers cannot remove themselves (ask another)."""
    require_site_manager(actor, site_id)
    if user_id == actor.user_id and not actor.is_city_admin:
        raise PermissionDenied("You cannot remove yourself; ask another manager or a city administrator.")
    async with app.database.transaction() as session:
        role = (await session.exec(select(SiteRole).where(SiteRole.site_id == site_id, SiteRole.user_id == user_id))).first()
        if role is None:
            raise NotFound("This person has no role at this site.")
        await session.delete(role)
