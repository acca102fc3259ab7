"""Organisations as their members see them: who belongs, open invitations, which ones I am in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.auth.tokens import new_token
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied
from booking.mail.outbox import enqueue
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


# --------------------------------------------------------------------------- open invitations


async def _open_invitation_of(session: AsyncSession, app: AppContext, actor: Principal, organisation_id: int, invitation_id: int) -> Invitation:
    """An invitation of the organisation that is still open; only its admins may touch it."""
    if not actor.is_organisation_admin(organisation_id):
        raise PermissionDenied("only administrators of the organisation may manage invitations")
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.organisation_id != organisation_id:
        raise NotFound(f"invitation {invitation_id} does not exist")
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvalidInput("this invitation is not open any more", field="invitation")
    return invitation


async def revoke_invitation(app: AppContext, actor: Principal, organisation_id: int, invitation_id: int) -> Invitation:
    """Withdraw an open invitation: its link stops working at once (the page says so)."""
    async with app.database.transaction() as session:
        invitation = await _open_invitation_of(session, app, actor, organisation_id, invitation_id)
        invitation.revoked_at = app.now()
        session.add(invitation)
        return invitation


async def resend_invitation(
    app: AppContext, actor: Principal, organisation_id: int, invitation_id: int, *, language: str | None = None
) -> Invitation:
    """Mail an open (or expired, not used) invitation again with a fresh link and validity.

    Only the token's hash is kept, so the old link cannot be mailed again: it is replaced and
    stops working.
    """
    from booking.services.registration import INVITATION_LIFETIME

    now = app.now()
    async with app.database.transaction() as session:
        invitation = await _open_invitation_of(session, app, actor, organisation_id, invitation_id)
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"organisation {organisation_id} does not exist")
        invitee = (await session.exec(select(User).where(User.email == invitation.email))).first()
        token, digest = new_token()
        invitation.token_hash = digest
        invitation.expires_at = now + INVITATION_LIFETIME
        session.add(invitation)
        await session.flush()
        await enqueue(
            session,
            settings=app.settings,
            kind="invitation",
            recipient=invitation.email,
            language=(invitee.language if invitee is not None else language),
            context={
                "organisation_name": organisation.name,
                "link_url": app.settings.base_url.rstrip("/") + f"/invitations/{token}",
                "expires_in": INVITATION_LIFETIME,
                "recipient_name": invitee.display_name if invitee is not None else None,
            },
            now=now,
        )
        return invitation
