"""Export (DSGVO Art. 15 and 20): everything held about one person, machine-readable.

``export_person`` walks the registry (``registry.personal_tables()``): each table's ``export``
names the section its rows go to, and ``SECTIONS`` holds one loader per section. Secrets
(password and token hashes) never leave; API and feed tokens show names and dates only.
The structs below are the documented JSON schema (OpenAPI of ``GET /api/v1/me/export``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.domain.errors import NotFound
from booking.models import (
    ApiToken, Booking, BookingEvent, FeedToken, Invitation, JoinRequest, Loan, Membership, Organisation, OutboxMessage,
    Resource, Series, Site, SiteRole, User, WaitingListEntry,
)
from booking.services.context import AppContext
from booking.services.privacy import registry
from booking.settings import Settings

EXPORT_FORMAT = "booking-personal-data/1"


class ExportAccount(msgspec.Struct):
    id: int
    email: str
    display_name: str
    language: str
    is_city_admin: bool
    is_active: bool
    email_verified_at: datetime | None
    created_at: datetime
    phone: str = ""


class ExportMembership(msgspec.Struct):
    organisation_id: int
    organisation_name: str
    role: str
    since: datetime


class ExportSiteRole(msgspec.Struct):
    site_id: int
    site_name: str
    role: str
    since: datetime


class ExportBooking(msgspec.Struct):
    id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    quantity: int
    title: str
    purpose: str
    is_public: bool
    decision_reason: str
    resource_id: int
    resource_name: str
    site_id: int
    site_name: str
    organisation_name: str | None
    series_id: int | None
    created_at: datetime
    updated_at: datetime
    checked_in_at: datetime | None = None


class ExportSeries(msgspec.Struct):
    id: int
    rrule: str
    timezone: str
    local_start: str
    duration_minutes: int
    title: str
    purpose: str
    resource_name: str
    created_at: datetime


class ExportLoan(msgspec.Struct):
    booking_id: int
    role: str  # borrower | lender
    resource_name: str
    checked_out_at: datetime
    returned_at: datetime | None
    condition_out: str
    condition_in: str
    deposit_note: str
    damage_notes: str
    missing_parts: str


class ExportToken(msgspec.Struct):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ExportFeed(msgspec.Struct):
    id: int
    scope: str
    target_id: int
    is_private: bool
    created_at: datetime
    revoked_at: datetime | None


class ExportEmail(msgspec.Struct):
    kind: str
    subject: str
    status: str
    created_at: datetime
    sent_at: datetime | None


class ExportAuditEntry(msgspec.Struct):
    booking_id: int
    action: str
    from_status: str | None
    to_status: str | None
    reason: str
    at: datetime
    by_this_person: bool


class ExportInvitation(msgspec.Struct):
    organisation_id: int
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    sent_by_this_person: bool


class ExportJoinRequest(msgspec.Struct):
    organisation_id: int
    status: str
    message: str
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None
    decided_by_this_person: bool


class ExportWaitingListEntry(msgspec.Struct):
    id: int
    status: str
    resource_id: int
    resource_name: str
    starts_at: datetime
    ends_at: datetime
    quantity: int
    title: str
    organisation_id: int | None
    booking_id: int | None
    created_at: datetime
    offered_at: datetime | None
    decided_at: datetime | None
class ExportOfferSignup(msgspec.Struct):
    offer_id: int
    offer_title: str
    starts_at: datetime
    ends_at: datetime
    status: str
    attendance: str
    created_at: datetime


class ExportOfferMade(msgspec.Struct):
    offer_id: int
    title: str
    contact_name: str
    contact_email: str
    created_by_this_person: bool


class PersonalDataExport(msgspec.Struct):
    """Everything the service holds about one person (secrets excluded)."""

    format: str
    exported_at: datetime
    account: ExportAccount
    memberships: list[ExportMembership]
    site_roles: list[ExportSiteRole]
    bookings: list[ExportBooking]
    series: list[ExportSeries]
    loans: list[ExportLoan]
    api_tokens: list[ExportToken]
    feeds: list[ExportFeed]
    emails: list[ExportEmail]
    audit: list[ExportAuditEntry]
    invitations: list[ExportInvitation]
    join_requests: list[ExportJoinRequest] = msgspec.field(default_factory=list)
    waiting_list: list[ExportWaitingListEntry] = msgspec.field(default_factory=list)
    offer_signups: list[ExportOfferSignup] = msgspec.field(default_factory=list)
    offers_made: list[ExportOfferMade] = msgspec.field(default_factory=list)


Loader = Callable[[AsyncSession, User], Awaitable[list[Any] | ExportAccount]]


async def _account(session: AsyncSession, user: User) -> ExportAccount:
    return ExportAccount(user.id, user.email, user.display_name, user.language, user.is_city_admin,  # type: ignore[arg-type]
                      user.is_active, user.email_verified_at, user.created_at, user.phone)


async def _memberships(session: AsyncSession, user: User) -> list[ExportMembership]:
    rows = await session.exec(
        select(Membership, Organisation).join(Organisation, Organisation.id == Membership.organisation_id)  # type: ignore[arg-type]
        .where(Membership.user_id == user.id).order_by(col(Membership.id))
    )
    return [ExportMembership(o.id, o.name, m.role, m.created_at) for m, o in rows.all()]  # type: ignore[arg-type]


async def _site_roles(session: AsyncSession, user: User) -> list[ExportSiteRole]:
    rows = await session.exec(
        select(SiteRole, Site).join(Site, Site.id == SiteRole.site_id)  # type: ignore[arg-type]
        .where(SiteRole.user_id == user.id).order_by(col(SiteRole.id))
    )
    return [ExportSiteRole(s.id, s.name, r.role, r.created_at) for r, s in rows.all()]  # type: ignore[arg-type]


async def _bookings(session: AsyncSession, user: User) -> list[ExportBooking]:
    rows = await session.exec(
        select(Booking, Resource, Site, Organisation)
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
        .outerjoin(Organisation, Organisation.id == Booking.organisation_id)  # type: ignore[arg-type]
        .where(Booking.booker_id == user.id).order_by(col(Booking.starts_at), col(Booking.id))
    )
    return [
        ExportBooking(b.id, b.status, b.starts_at, b.ends_at, b.quantity, b.title, b.purpose, b.is_public,  # type: ignore[arg-type]
                   b.decision_reason, r.id, r.name, s.id, s.name, o.name if o else None, b.series_id,  # type: ignore[arg-type]
                   b.created_at, b.updated_at, b.checked_in_at)
        for b, r, s, o in rows.all()
    ]


async def _series(session: AsyncSession, user: User) -> list[ExportSeries]:
    rows = await session.exec(
        select(Series, Resource).join(Resource, Resource.id == Series.resource_id)  # type: ignore[arg-type]
        .where(Series.booker_id == user.id).order_by(col(Series.id))
    )
    return [ExportSeries(s.id, s.rrule, s.timezone, s.local_start, s.duration_minutes, s.title, s.purpose, r.name, s.created_at)  # type: ignore[arg-type]
            for s, r in rows.all()]


async def _loans(session: AsyncSession, user: User) -> list[ExportLoan]:
    rows = await session.exec(
        select(Loan, Booking, Resource)
        .join(Booking, Booking.id == Loan.booking_id)  # type: ignore[arg-type]
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .where(or_(Booking.booker_id == user.id, Loan.checked_out_by_id == user.id, Loan.returned_by_id == user.id))
        .order_by(col(Loan.id))
    )
    return [
        ExportLoan(loan.booking_id, "borrower" if booking.booker_id == user.id else "lender", resource.name,
                loan.checked_out_at, loan.returned_at, loan.condition_out, loan.condition_in, loan.deposit_note,
                loan.damage_notes, loan.missing_parts)
        for loan, booking, resource in rows.all()
    ]


async def _api_tokens(session: AsyncSession, user: User) -> list[ExportToken]:
    rows = await session.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(col(ApiToken.id)))
    return [ExportToken(t.id, t.name, t.created_at, t.last_used_at, t.revoked_at) for t in rows.all()]  # type: ignore[arg-type]


async def _feeds(session: AsyncSession, user: User) -> list[ExportFeed]:
    rows = await session.exec(select(FeedToken).where(FeedToken.owner_id == user.id).order_by(col(FeedToken.id)))
    return [ExportFeed(f.id, f.scope, f.target_id, f.is_private, f.created_at, f.revoked_at) for f in rows.all()]  # type: ignore[arg-type]


async def _emails(session: AsyncSession, user: User, settings: Settings | None = None) -> list[ExportEmail]:
    rows = await session.exec(
        select(OutboxMessage).where(OutboxMessage.recipient == user.email).order_by(col(OutboxMessage.id))
    )
    return [ExportEmail(m.kind, m.subject or _queued_subject(m, settings), m.status, m.created_at, m.sent_at)
            for m in rows.all()]


def _queued_subject(message: OutboxMessage, settings: Settings | None) -> str:
    """The subject of a message the worker has not rendered yet (it records only what happened)."""
    if settings is None or not message.payload:
        return ""
    from booking.mail.payload import render_payload

    try:
        return render_payload(message.payload, settings=settings, kind=message.kind,
                              recipient=message.recipient, message_id=message.message_id).subject
    except Exception:  # noqa: BLE001 - a message the worker would park has no subject to show
        return ""


async def _audit(session: AsyncSession, user: User) -> list[ExportAuditEntry]:
    own_bookings = select(Booking.id).where(Booking.booker_id == user.id)
    rows = await session.exec(
        select(BookingEvent)
        .where(or_(BookingEvent.actor_id == user.id, col(BookingEvent.booking_id).in_(own_bookings)))
        .order_by(col(BookingEvent.id))
    )
    return [ExportAuditEntry(e.booking_id, e.action, e.from_status, e.to_status, e.reason, e.at, e.actor_id == user.id)
            for e in rows.all()]


async def _invitations(session: AsyncSession, user: User) -> list[ExportInvitation]:
    rows = await session.exec(
        select(Invitation)
        .where(or_(Invitation.email == user.email, Invitation.invited_by_id == user.id, Invitation.accepted_by_id == user.id))
        .order_by(col(Invitation.id))
    )
    return [ExportInvitation(i.organisation_id, i.email, i.role, i.created_at, i.expires_at, i.accepted_at,
                          i.invited_by_id == user.id) for i in rows.all()]


async def _join_requests(session: AsyncSession, user: User) -> list[ExportJoinRequest]:
    rows = await session.exec(
        select(JoinRequest).where(or_(JoinRequest.user_id == user.id, JoinRequest.decided_by_id == user.id)).order_by(col(JoinRequest.id))
    )
    return [ExportJoinRequest(r.organisation_id, r.status, r.message if r.user_id == user.id else "", r.decision_reason,
                              r.created_at, r.decided_at, r.decided_by_id == user.id) for r in rows.all()]


async def _waiting_list(session: AsyncSession, user: User) -> list[ExportWaitingListEntry]:
    rows = await session.exec(
        select(WaitingListEntry, Resource)
        .join(Resource, Resource.id == WaitingListEntry.resource_id)  # type: ignore[arg-type]
        .where(WaitingListEntry.person_id == user.id).order_by(col(WaitingListEntry.id))
    )
    return [
        ExportWaitingListEntry(e.id, e.status, r.id, r.name, e.starts_at, e.ends_at, e.quantity, e.title,  # type: ignore[arg-type]
                               e.organisation_id, e.booking_id, e.created_at, e.offered_at, e.decided_at)
        for e, r in rows.all()
    ]
async def _offer_signups(session: AsyncSession, user: User) -> list[ExportOfferSignup]:
    from booking.models import Offer, OfferDate, OfferSignup

    rows = await session.exec(
        select(OfferSignup, Offer, OfferDate)
        .join(Offer, Offer.id == OfferSignup.offer_id)  # type: ignore[arg-type]
        .join(OfferDate, OfferDate.id == OfferSignup.offer_date_id)  # type: ignore[arg-type]
        .where(or_(OfferSignup.user_id == user.id, OfferSignup.email == user.email))
        .order_by(col(OfferSignup.id))
    )
    return [ExportOfferSignup(o.id, o.title, d.starts_at, d.ends_at, s.status, s.attendance, s.created_at)  # type: ignore[arg-type]
            for s, o, d in rows.all()]


async def _offers_made(session: AsyncSession, user: User) -> list[ExportOfferMade]:
    from booking.models import Offer

    rows = await session.exec(
        select(Offer).where(or_(Offer.created_by_id == user.id, Offer.contact_email == user.email)).order_by(col(Offer.id))
    )
    return [ExportOfferMade(o.id, o.title, o.contact_name, o.contact_email, o.created_by_id == user.id) for o in rows.all()]  # type: ignore[arg-type]


SECTIONS: dict[str, Loader] = {
    "account": _account,
    "memberships": _memberships,
    "site_roles": _site_roles,
    "bookings": _bookings,
    "series": _series,
    "loans": _loans,
    "api_tokens": _api_tokens,
    "feeds": _feeds,
    "emails": _emails,
    "audit": _audit,
    "invitations": _invitations,
    "join_requests": _join_requests,
    "waiting_list": _waiting_list,
    "offer_signups": _offer_signups,
    "offers_made": _offers_made,
}


async def export_person(app: AppContext, user_id: int) -> PersonalDataExport:
    """Everything held about the user ``user_id``, section by section as the registry names them."""
    async with app.database.reader() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("account not found")
        sections: dict[str, Any] = {}
        for policy in registry.personal_tables():
            if policy.export and policy.export not in sections:
                loader = SECTIONS[policy.export]
                sections[policy.export] = (
                    await _emails(session, user, app.settings) if loader is _emails else await loader(session, user)
                )
        # Sections of rows owned through another table (series through their booker, site roles).
        for name, loader in SECTIONS.items():
            if name not in sections:
                sections[name] = await loader(session, user)
    return PersonalDataExport(format=EXPORT_FORMAT, exported_at=app.now(), **sections)


def export_json(export: PersonalDataExport) -> bytes:
    """The export as indented JSON, for a download."""
    return msgspec.json.format(msgspec.json.encode(export), indent=2)
