"""Erasure (DSGVO Art. 17): delete a person's account and everything that points to them.

What happens, table by table, follows the registry (``registry.REGISTRY`` ``on_erasure``):

- upcoming bookings (requested, confirmed or held, not ended) are cancelled; the site's lenders get
  the cancellation notice (without the person), the person gets nothing (their mail is dropped);
  their own waiting-list entries end first, then the freed time is offered to the next in line
  (``waiting_list.offer_freed_capacity``) as for any cancel;
- past bookings, their series, loans and audit trail stay for the usage statistics but are
  anonymised: the booker becomes the shared "deleted account" row, titles, purposes, reasons
  and loan notes are emptied, the person's own audit entries lose their actor;
- memberships, site roles, API and feed tokens, e-mail link tokens, invitations to them and
  all mail to them are deleted; mail to others about their bookings loses its text;
- the account row is deleted, so every session and token of it stops working.

Refused (409 with the reason) while the person is the last admin of an organisation (hand over
first) or has a borrowed thing that is not back yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.passwords import verify_password
from booking.auth.principal import Principal
from booking.domain.errors import DomainError, NotFound, PermissionDenied
from booking.domain.intervals import Interval
from booking.domain.lifecycle import Action, Status
from booking.domain.waiting_list import OPEN, EntryStatus
from booking.models import (
    ApiToken, Booking, BookingEvent, EmailToken, FeedDocumentCache, FeedToken, Invitation, JoinRequest, Loan, LoginSession,
    Membership, Organisation,
    OutboxMessage, Series, Site, SiteRole, User, WaitingListEntry,
)
from booking.services import notifications, waiting_list
from booking.services.accounts import normalise_email
from booking.services.context import AppContext

# One shared row stands in for every erased person, so bookings keep their (non-null) booker
# and nothing tells two erased people apart.
ERASED_EMAIL = "deleted-account@invalid"
ERASED_NAME = "—"
UPCOMING = (Status.REQUESTED.value, Status.CONFIRMED.value, Status.HELD.value)
BATCH = 500


class ErasureRefused(DomainError):
    """The account cannot be deleted yet; the message says what to do first."""

    status_code = 409
    code = "erasure_refused"


@dataclass
class ErasureReport:
    cancelled_bookings: list[int] = field(default_factory=list)
    anonymised_bookings: int = 0


async def erased_person_id(session: AsyncSession, now: datetime) -> int:
    """The id of the shared stand-in row for erased people (made on first use)."""
    row = (await session.exec(select(User).where(User.email == ERASED_EMAIL))).first()
    if row is None:
        row = User(email=ERASED_EMAIL, display_name=ERASED_NAME, password_hash=None, is_active=False,
                   email_verified_at=now, created_at=now)
        session.add(row)
        await session.flush()
    return row.id  # type: ignore[return-value]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]


async def anonymise_bookings(session: AsyncSession, booking_ids: Sequence[int], erased_id: int) -> None:
    """Keep the bookings (resource, time, status, organisation, quantity) and remove every trace
    of a person: booker, title, purpose, reasons, audit reasons and details, loan notes, and the
    text of the e-mails about them."""
    for chunk in _chunks(list(booking_ids)):
        await session.exec(update(Booking).where(col(Booking.id).in_(chunk)).values(  # type: ignore[call-overload]
            booker_id=erased_id, title="", purpose="", decision_reason="", checked_in_at=None))
        await session.exec(update(BookingEvent).where(col(BookingEvent.booking_id).in_(chunk)).values(  # type: ignore[call-overload]
            reason="", details={}))
        await session.exec(update(Loan).where(col(Loan.booking_id).in_(chunk)).values(  # type: ignore[call-overload]
            condition_out="", condition_in="", deposit_note="", damage_notes="", missing_parts=""))
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.booking_id).in_(chunk)).values(  # type: ignore[call-overload]
            subject="", raw="", payload=None, last_error=""))
        # A series goes when none of its dates still points to a person.
        series_ids = select(Booking.series_id).where(col(Booking.id).in_(chunk), col(Booking.series_id).is_not(None))
        await session.exec(update(Series).where(col(Series.id).in_(series_ids)).where(  # type: ignore[call-overload]
            ~select(Booking.id).where(Booking.series_id == Series.id, Booking.booker_id != erased_id).exists()
        ).values(booker_id=erased_id, title="", purpose=""))


async def _check_erasable(session: AsyncSession, user: User) -> None:
    admin_of = (await session.exec(
        select(Organisation).join(Membership, Membership.organisation_id == Organisation.id)  # type: ignore[arg-type]
        .where(Membership.user_id == user.id, Membership.role == "admin").order_by(col(Organisation.name))
    )).all()
    sole = []
    for organisation in admin_of:
        others = (await session.exec(select(Membership.id).where(
            Membership.organisation_id == organisation.id, Membership.role == "admin", Membership.user_id != user.id
        ))).first()
        if others is None:
            sole.append(organisation.name)
    if sole:
        raise ErasureRefused(
            "you are the last administrator of " + ", ".join(sole)
            + ": please make another member an administrator first"
        )
    out = (await session.exec(select(Booking.id).where(
        Booking.booker_id == user.id, Booking.status == Status.CHECKED_OUT.value))).first()
    if out is not None:
        raise ErasureRefused("a borrowed thing is not back yet: please return it first")


async def erase_user_in_session(
    session: AsyncSession, app: AppContext, user: User, *, actor_id: int | None, check: bool = True
) -> ErasureReport:
    """Erase ``user`` inside the caller's transaction (see the module docstring)."""
    from booking.services.audit import record_event
    from booking.domain.lifecycle import next_status

    if check:
        await _check_erasable(session, user)
    now = app.now()
    erased_id = await erased_person_id(session, now)
    report = ErasureReport()
    email, user_id = user.email, user.id

    # Drop all mail to the person, queued or sent; mail about their bookings is emptied below.
    await session.exec(delete(OutboxMessage).where(OutboxMessage.recipient == email))  # type: ignore[call-overload]

    own = list((await session.exec(select(Booking).where(Booking.booker_id == user.id).order_by(col(Booking.id)))).all())
    own_ids = [booking.id for booking in own]
    # Queued mail about their bookings to others (requests to decide) is moot now.
    for chunk in _chunks(own_ids):  # type: ignore[arg-type]
        await session.exec(delete(OutboxMessage).where(  # type: ignore[call-overload]
            col(OutboxMessage.booking_id).in_(chunk), OutboxMessage.status == "pending"))
    upcoming = [b for b in own if b.status in UPCOMING and _aware(b.ends_at) > now]
    freed = [(b.resource_id, Interval(max(_aware(b.starts_at), now), _aware(b.ends_at))) for b in upcoming]
    for booking in upcoming:
        old = booking.status
        booking.status = next_status(old, Action.CANCEL).value
        booking.sequence += 1
        booking.updated_at = now
        session.add(booking)
        record_event(session, booking, actor_id=actor_id if actor_id != user.id else None, action=Action.CANCEL.value,
                     from_status=old, to_status=booking.status, reason="")
        report.cancelled_bookings.append(booking.id)  # type: ignore[arg-type]
    await session.flush()
    await anonymise_bookings(session, own_ids, erased_id)  # type: ignore[arg-type]
    report.anonymised_bookings = len(own_ids)
    session.expire_all()
    for booking_id in report.cancelled_bookings:
        booking = await session.get(Booking, booking_id)
        assert booking is not None
        await notifications.booking_cancelled_to_staff(session, app, booking)
    # Their own place in every line ends before the freed time is handed on, so that none of it
    # is offered back to them; the entries themselves are deleted below.
    await session.exec(update(WaitingListEntry).where(  # type: ignore[call-overload]
        WaitingListEntry.person_id == user_id, col(WaitingListEntry.status).in_(OPEN)
    ).values(status=EntryStatus.WITHDRAWN.value, decided_at=now))
    for resource_id, interval in freed:
        await waiting_list.offer_freed_capacity(session, app, resource_id, interval, now=now)
    # Bulk statements below do not autoflush pending rows inside the async bridge: flush first.
    await session.flush()

    # What the person did to other rows stays, without them.
    await session.exec(update(BookingEvent).where(BookingEvent.actor_id == user_id).values(actor_id=None))  # type: ignore[call-overload]
    await session.exec(update(Loan).where(Loan.checked_out_by_id == user_id).values(checked_out_by_id=erased_id))  # type: ignore[call-overload]
    await session.exec(update(Loan).where(Loan.returned_by_id == user_id).values(returned_by_id=erased_id))  # type: ignore[call-overload]
    await session.exec(update(Series).where(Series.booker_id == user_id).values(booker_id=erased_id, title="", purpose=""))  # type: ignore[call-overload]
    await session.exec(update(Invitation).where(Invitation.invited_by_id == user_id).values(invited_by_id=None))  # type: ignore[call-overload]
    await session.exec(update(Invitation).where(Invitation.accepted_by_id == user_id).values(accepted_by_id=None))  # type: ignore[call-overload]
    await session.exec(delete(Invitation).where(Invitation.email == email))  # type: ignore[call-overload]
    await session.exec(update(JoinRequest).where(JoinRequest.decided_by_id == user_id).values(decided_by_id=None))  # type: ignore[call-overload]
    await session.exec(delete(JoinRequest).where(JoinRequest.user_id == user_id))  # type: ignore[call-overload]
    await session.exec(delete(WaitingListEntry).where(WaitingListEntry.person_id == user_id))  # type: ignore[call-overload]
    from booking.models import Offer, OfferSignup

    # Sign-ups (their bookings are cancelled and anonymised above); offers they made or are the
    # contact of stay with the organisation, without them.
    await session.exec(delete(OfferSignup).where((OfferSignup.user_id == user_id) | (OfferSignup.email == email)))  # type: ignore[call-overload]
    await session.exec(update(Offer).where(Offer.created_by_id == user_id).values(created_by_id=None))  # type: ignore[call-overload]
    await session.exec(update(Offer).where(Offer.contact_email == email).values(contact_email="", contact_name=""))  # type: ignore[call-overload]
    await session.exec(update(Organisation).where(Organisation.contact_email == email).values(contact_email=None))  # type: ignore[call-overload]
    await session.exec(update(Site).where(Site.contact_email == email).values(contact_email=""))  # type: ignore[call-overload]
    # Cached documents of the person's feeds (and of feeds of their bookings) go before the tokens:
    # SQLite may run without foreign-key cascades.
    their_feeds = select(FeedToken.id).where(
        (FeedToken.owner_id == user_id)
        | (col(FeedToken.scope).in_(("user", "person")) & (FeedToken.target_id == user_id))
    )
    await session.exec(delete(FeedDocumentCache).where(col(FeedDocumentCache.feed_id).in_(their_feeds)))  # type: ignore[call-overload]
    for model, column in ((Membership, Membership.user_id), (SiteRole, SiteRole.user_id), (ApiToken, ApiToken.user_id),
                          (EmailToken, EmailToken.user_id), (LoginSession, LoginSession.user_id),
                          (FeedToken, FeedToken.owner_id)):
        await session.exec(delete(model).where(column == user_id))  # type: ignore[call-overload]
    # Feeds others made of this person's bookings.
    await session.exec(delete(FeedToken).where(FeedToken.scope.in_(("user", "person")), FeedToken.target_id == user_id))  # type: ignore[call-overload, union-attr]
    await session.exec(delete(User).where(User.id == user_id))  # type: ignore[call-overload]
    return report


async def erase_own_account(app: AppContext, actor: Principal, *, password: str | None, confirmed: bool = False) -> ErasureReport:
    """The signed-in person deletes their account, confirmed by their password, or ``confirmed``
    otherwise (a link mailed to them; an API call with their own credentials)."""
    async with app.database.transaction() as session:
        user = await session.get(User, actor.user_id)
        if user is None:
            raise NotFound("account not found")
        if not confirmed and not verify_password(user.password_hash, password or "", app.settings.auth.password_cost):
            raise DomainError("the password is wrong", field="password")
        return await erase_user_in_session(session, app, user, actor_id=actor.user_id)


async def erase_account(app: AppContext, actor: Principal | None, *, user_id: int | None = None, email: str | None = None) -> ErasureReport:
    """A city admin (or the CLI, ``actor=None``) erases an account on a person's written request."""
    if actor is not None and not actor.is_city_admin:
        raise PermissionDenied("only city administrators may delete other people's accounts")
    async with app.database.transaction() as session:
        if email is not None:
            statement = select(User).where(User.email == normalise_email(email))
        else:
            statement = select(User).where(User.id == user_id)
        user = (await session.exec(statement)).first()
        if user is None or user.email == ERASED_EMAIL:
            raise NotFound("no account with this e-mail address", field="email")
        if actor is not None and user.id == actor.user_id:
            raise ErasureRefused("delete your own account on your profile page")
        return await erase_user_in_session(session, app, user, actor_id=actor.user_id if actor else None)


__all__ = ["ERASED_EMAIL", "ErasureRefused", "ErasureReport", "anonymise_bookings", "erase_account",
           "erase_own_account", "erase_user_in_session", "erased_person_id"]


ERASE_LINK_PURPOSE = "erase"


async def request_erase_link(app: AppContext, actor: Principal) -> None:
    """Mail the signed-in person a link that confirms the deletion of their account (for accounts
    that log in by e-mail link and have no password)."""
    from datetime import timedelta

    from booking.mail.outbox import enqueue
    from booking.services.registration import _issue_token, _link

    lifetime = timedelta(hours=1)
    async with app.database.transaction() as session:
        user = await session.get(User, actor.user_id)
        if user is None:
            raise NotFound("account not found")
        token = await _issue_token(session, app, user, ERASE_LINK_PURPOSE, lifetime)
        await enqueue(session, settings=app.settings, kind="erase_confirm", recipient=user.email, language=user.language,
                      context={"link_url": _link(app, f"/profile/delete/{token}"), "expires_in": lifetime,
                               "recipient_name": user.display_name}, now=app.now())


async def erase_with_link(app: AppContext, token: str) -> ErasureReport:
    """Delete the account whose erase link this is (the link proves the person asked)."""
    from booking.services.registration import _take_token

    async with app.database.transaction() as session:
        _, user = await _take_token(session, app, token, ERASE_LINK_PURPOSE)
        return await erase_user_in_session(session, app, user, actor_id=user.id)
