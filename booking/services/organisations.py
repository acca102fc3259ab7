"""Organisations as their members see them: who belongs, open invitations, which ones I am in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import NotFound
from booking.models import Invitation, Membership, Organisation, User
from booking.services.context import AppContext


@dataclass(frozen=True)
class MemberView:
    user_id: int
    display_name: str
    email: str
    role: str
    joined_at: datetime


@dataclass(frozen=True)
class OrganisationOverview:
    organisation: Organisation
    members: list[MemberView]
    open_invitations: list[Invitation]
    may_manage: bool


async def organisation_overview(app: AppContext, actor: Principal, organisation_id: int) -> OrganisationOverview:
    """An organisation with its members (for members) and open invitations (for its admins)."""
    if not (actor.is_member_of(organisation_id) or actor.is_city_admin):
        raise NotFound(f"organisation {organisation_id} does not exist")
    may_manage = actor.is_organisation_admin(organisation_id)
    async with app.database.reader() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"organisation {organisation_id} does not exist")
        rows = (
            await session.exec(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)  # type: ignore[arg-type]
                .where(Membership.organisation_id == organisation_id)
                .order_by(col(User.display_name), col(User.id))
            )
        ).all()
        invitations: list[Invitation] = []
        if may_manage:
            invitations = list(
                (
                    await session.exec(
                        select(Invitation)
                        .where(
                            Invitation.organisation_id == organisation_id,
                            col(Invitation.accepted_at).is_(None),
                            col(Invitation.revoked_at).is_(None),
                            Invitation.expires_at > app.now(),
                        )
                        .order_by(col(Invitation.created_at))
                    )
                ).all()
            )
    members = [MemberView(user.id, user.display_name, user.email, membership.role, membership.created_at) for membership, user in rows]  # type: ignore[arg-type]
    return OrganisationOverview(organisation, members, invitations, may_manage)


async def organisations_of(app: AppContext, actor: Principal) -> list[Organisation]:
    """The organisations the actor belongs to, by name."""
    if not actor.organisation_roles:
        return []
    async with app.database.reader() as session:
        statement = select(Organisation).where(col(Organisation.id).in_(list(actor.organisation_roles))).order_by(col(Organisation.name))
        return list((await session.exec(statement)).all())
