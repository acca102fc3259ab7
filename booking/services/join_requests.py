"""Newcomers ask to join an organisation; its admins approve or decline, and everyone is told by
e-mail. One open request per person and organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied
from booking.mail.outbox import enqueue
from booking.models import JoinRequest, Membership, Organisation, User
from booking.services.context import AppContext

PENDING, APPROVED, DECLINED = "pending", "approved", "declined"
MAX_MESSAGE = 1000
MAX_REASON = 1000
MAX_OPEN_PER_PERSON = 10


@dataclass(frozen=True)
class PendingRequest:
    id: int
    display_name: str
    email: str
    message: str
    created_at: datetime


async def _organisation_admins(session, organisation_id: int) -> list[User]:  # type: ignore[no-untyped-def]
    return list(
        (
            await session.exec(
                select(User)
                .join(Membership, Membership.user_id == User.id)  # type: ignore[arg-type]
                .where(Membership.organisation_id == organisation_id, Membership.role == "admin", col(User.is_active).is_(True))
                .order_by(col(User.id))
            )
        ).all()
    )


async def open_request_of(app: AppContext, actor: Principal, organisation_id: int) -> JoinRequest | None:
    """The actor's own open request to this organisation, if any."""
    async with app.database.reader() as session:
        statement = select(JoinRequest).where(
            JoinRequest.organisation_id == organisation_id, JoinRequest.user_id == actor.user_id, JoinRequest.status == PENDING
        )
        return (await session.exec(statement)).first()


async def ask_to_join(app: AppContext, actor: Principal, organisation_id: int, *, message: str = "") -> JoinRequest:
    """The signed-in actor asks to join an organisation listed in the directory; its admins get an e-mail."""
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(f"at most {MAX_MESSAGE} characters", field="message")
    if actor.is_member_of(organisation_id):
        raise InvalidInput("you are a member of this organisation already", field="message")
    now = app.now()
    async with app.database.transaction() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None or not organisation.listed_in_directory:
            raise NotFound(f"organisation {organisation_id} does not exist")
        open_requests = list(
            (await session.exec(select(JoinRequest).where(JoinRequest.user_id == actor.user_id, JoinRequest.status == PENDING))).all()
        )
        if any(request.organisation_id == organisation_id for request in open_requests):
            raise InvalidInput("you have asked to join already; the organisation will answer by e-mail", field="message")
        if len(open_requests) >= MAX_OPEN_PER_PERSON:
            raise InvalidInput("too many open requests; wait for an answer first", field="message")
        request = JoinRequest(organisation_id=organisation_id, user_id=actor.user_id, message=message, created_at=now)
        session.add(request)
        await session.flush()
        for admin in await _organisation_admins(session, organisation_id):
            await enqueue(
                session, settings=app.settings, kind="join_request_to_admins", recipient=admin.email, language=admin.language,
                context={"organisation_name": organisation.name, "requester_name": actor.display_name,
                         "join_message": message or None, "link_url": f"/organisation/{organisation_id}",
                         "recipient_name": admin.display_name},
                now=now,
            )
        return request


async def pending_requests(app: AppContext, actor: Principal, organisation_id: int) -> list[PendingRequest]:
    """Open requests of an organisation, oldest first; only its admins see them."""
    if not actor.is_organisation_admin(organisation_id):
        raise PermissionDenied("only administrators of the organisation may see requests to join")
    async with app.database.reader() as session:
        rows = (
            await session.exec(
                select(JoinRequest, User)
                .join(User, User.id == JoinRequest.user_id)  # type: ignore[arg-type]
                .where(JoinRequest.organisation_id == organisation_id, JoinRequest.status == PENDING)
                .order_by(col(JoinRequest.created_at), col(JoinRequest.id))
            )
        ).all()
    return [PendingRequest(request.id, user.display_name, user.email, request.message, request.created_at) for request, user in rows]  # type: ignore[arg-type]


async def decide(
    app: AppContext, actor: Principal, organisation_id: int, request_id: int, *, approve: bool, reason: str = ""
) -> JoinRequest:
    """An admin of the organisation approves (the person becomes a member) or declines (with an
    optional reason) an open request; the person gets an e-mail either way."""
    if not actor.is_organisation_admin(organisation_id):
        raise PermissionDenied("only administrators of the organisation may decide requests to join")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"at most {MAX_REASON} characters", field="reason")
    now = app.now()
    async with app.database.transaction() as session:
        request = await session.get(JoinRequest, request_id)
        if request is None or request.organisation_id != organisation_id:
            raise NotFound(f"request {request_id} does not exist")
        if request.status != PENDING:
            raise InvalidInput("this request has been decided already", field="general")
        organisation = await session.get(Organisation, organisation_id)
        person = await session.get(User, request.user_id)
        if organisation is None or person is None:
            raise NotFound(f"request {request_id} does not exist")
        request.status = APPROVED if approve else DECLINED
        request.decision_reason = "" if approve else reason
        request.decided_by_id = actor.user_id
        request.decided_at = now
        session.add(request)
        if approve:
            existing = (
                await session.exec(select(Membership).where(Membership.user_id == person.id, Membership.organisation_id == organisation_id))
            ).first()
            if existing is None:
                session.add(Membership(user_id=person.id, organisation_id=organisation_id, role="member", created_at=now))  # type: ignore[arg-type]
        await enqueue(
            session, settings=app.settings, kind="join_request_approved" if approve else "join_request_declined",
            recipient=person.email, language=person.language,
            context={"organisation_name": organisation.name, "recipient_name": person.display_name,
                     "link_url": f"/organisation/{organisation_id}" if approve else None, "reason": reason or None},
            now=now,
        )
        return request
