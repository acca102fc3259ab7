"""Signing up for a volunteer offer (signed in, or by e-mail with double opt-in) and cancelling.

Sign-up by e-mail only (tasks): the request writes *pending* ``OfferSignup`` rows (name, address,
the hash of a confirmation link) and mails the link; no place is held and no account made yet.
Clicking it (a POST from the page the link opens: mail scanners fetch links) finds or makes a
passwordless user record for the address — a Booking needs a booker, and the person can later
log in by e-mail link and see their engagement record — and takes the places under the lock.
Why a user record and not only the sign-up row: the booking engine, the privacy export/erasure,
reminders and the engagement record all work per user; a row without a user would need each
of them twice. The record is made only when the address is proven (the click), so typing in a
stranger's address creates nothing but one rate-limited mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.auth.tokens import hash_token, new_token
from booking.domain import offers as rules
from booking.domain.errors import Conflict, NotFound, PermissionDenied, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.lifecycle import HOLDING, Action, Status, next_status
from booking.mail.outbox import enqueue
from booking.models import Booking, Offer, OfferDate, OfferSignup, Site, User
from booking.services.accounts import load_principal, normalise_email
from booking.services.audit import record_event
from booking.services.bookings import BookingRequest, check_placement, new_booking
from booking.services.context import AppContext
from booking.services.offer_mail import _mail_cancelled, _mail_confirmed
from booking.services.offer_places import CANCELLED, CONFIRMED, PENDING, REFUSED, _bookable_dates, _load_open_offer, _utc, lock_places
from booking.services.offer_waiting_list import place_freed


CONFIRM_LINK_LIFETIME = timedelta(hours=48)


@dataclass
class SignupResult:
    confirmed: list[OfferDate] = field(default_factory=list)
    full: list[OfferDate] = field(default_factory=list)
    already: list[OfferDate] = field(default_factory=list)


async def sign_up(app: AppContext, actor: Principal, offer_id: int, date_id: int | None) -> SignupResult:
    """A signed-in person takes a place on one date (``date_id``) or on every upcoming date
    (None). Full dates are reported in ``full`` (and handed to the waiting-list hook)."""
    now = app.now()
    async with app.database.transaction() as session:
        offer, dates = await _load_open_offer(session, offer_id)
        chosen = _bookable_dates(dates, date_id, now)
        result = await _take_places(session, app, actor, offer, [(d, None) for d in chosen], now)
    if date_id is not None and result.full:
        raise Conflict("this date is fully booked")
    return result


async def _take_places(
    session: AsyncSession, app: AppContext, person: Principal, offer: Offer,
    wanted: Sequence[tuple[OfferDate, OfferSignup | None]], now: datetime,
) -> SignupResult:
    """Under the offer resource's lock: one booking per date where a place is free."""
    placement = await lock_places(session, offer)
    existing = {
        s.offer_date_id for s in (await session.exec(
            select(OfferSignup).where(OfferSignup.offer_id == offer.id, OfferSignup.user_id == person.user_id,
                                      OfferSignup.status == CONFIRMED)
        )).all()
    }
    # Read the dates again under the lock: on PostgreSQL they were read before it, and an
    # organiser may have moved or removed one in between (SQLite's write transaction had
    # serialised already). A removed or started date is full for this request.
    fresh = {d.id: d for d in (await session.exec(
        select(OfferDate).where(col(OfferDate.id).in_([d.id for d, _ in wanted]))
        .execution_options(populate_existing=True)
    )).all()}
    result = SignupResult()
    for offer_date, pending in wanted:
        current = fresh.get(offer_date.id)
        if current is None or current.is_cancelled or _utc(current.starts_at) <= now:
            result.full.append(offer_date)
            if pending is not None:
                pending.status, pending.confirm_token_hash = REFUSED, None
                session.add(pending)
            continue
        offer_date = current
        if offer_date.id in existing:
            result.already.append(offer_date)
            if pending is not None:
                pending.status, pending.confirm_token_hash = REFUSED, None
                session.add(pending)
            continue
        interval = Interval(_utc(offer_date.starts_at), _utc(offer_date.ends_at))
        try:
            decision = await check_placement(session, placement, interval, 1, now=now)
        except (Conflict, PolicyViolation):
            result.full.append(offer_date)
            if pending is not None:
                pending.status, pending.confirm_token_hash = REFUSED, None
                session.add(pending)
            continue
        booking = new_booking(placement, person, BookingRequest(offer.resource_id, interval.starts_at, interval.ends_at,  # type: ignore[arg-type]
                                                                title=offer.title), interval, decision=decision)
        booking.status = Status.CONFIRMED.value
        session.add(booking)
        await session.flush()
        record_event(session, booking, actor_id=person.user_id, action="created", from_status=None, to_status=booking.status)
        signup = pending or OfferSignup(offer_id=offer.id, offer_date_id=offer_date.id, created_at=now, status=CONFIRMED)  # type: ignore[arg-type]
        cancel_token, cancel_hash = new_token()
        signup.user_id, signup.booking_id, signup.status = person.user_id, booking.id, CONFIRMED
        signup.cancel_token_hash, signup.confirm_token_hash, signup.confirmed_at = cancel_hash, None, now
        # The address lives on the user record now; the sign-up keeps no copy.
        signup.email, signup.name = "", ""
        session.add(signup)
        await session.flush()
        await _mail_confirmed(session, app, offer, offer_date, booking, person, cancel_token)
        result.confirmed.append(offer_date)
    return result


async def request_email_signup(
    app: AppContext, offer_id: int, date_id: int | None, *, name: str, email: str, language: str = "de"
) -> None:
    """Sign-up by name and e-mail only (tasks): pending rows and a confirmation link by mail.

    Holds no place until the link is clicked (``confirm_email_signup``). The answer is the same
    whether or not the address has an account (no oracle). Rate limits are the caller's (web).
    """
    name = rules.clean_text(name, 200, "name", required=True)
    address = normalise_email(email)
    now = app.now()
    async with app.database.transaction() as session:
        offer, dates = await _load_open_offer(session, offer_id)
        if offer.kind != "task":
            raise PolicyViolation("for a training please sign in first", field="email")
        chosen = _bookable_dates(dates, date_id, now)
        token, digest = new_token()
        for offer_date in chosen:
            session.add(OfferSignup(
                offer_id=offer.id, offer_date_id=offer_date.id, name=name, email=address, language=language,  # type: ignore[arg-type]
                status=PENDING, confirm_token_hash=digest, confirm_expires_at=now + CONFIRM_LINK_LIFETIME, created_at=now,
            ))
        site = await session.get(Site, offer.site_id)
        assert site is not None
        await enqueue(
            session, settings=app.settings, kind="offer_signup_confirm", recipient=address, language=language, now=now,
            context={
                "link_url": f"/mitmachen/bestaetigen/{token}", "expires_in": CONFIRM_LINK_LIFETIME, "recipient_name": name,
                "offer_title": offer.title, "site_name": site.name, "site_email": site.contact_email, "timezone": site.timezone,
                "dates": [(d.starts_at, d.ends_at) for d in chosen[:60]],
            },
        )


@dataclass(frozen=True)
class PendingView:
    offer_id: int
    offer_title: str
    name: str
    dates: list[tuple[datetime, datetime]]


async def check_confirm_link(app: AppContext, token: str) -> PendingView:
    """What a confirmation link is about (the page shows it before the person confirms)."""
    async with app.database.reader() as session:
        rows = await _pending_rows(session, token, app.now())
        offer = await session.get(Offer, rows[0].offer_id)
        dates = [await session.get(OfferDate, r.offer_date_id) for r in rows]
    assert offer is not None
    return PendingView(offer.id, offer.title, rows[0].name, [(d.starts_at, d.ends_at) for d in dates if d is not None])  # type: ignore[arg-type]


async def _pending_rows(session: AsyncSession, token: str, now: datetime) -> list[OfferSignup]:
    if not token or len(token) > 200:
        raise NotFound("this link is not valid (any more)")
    rows = list((await session.exec(
        select(OfferSignup).where(OfferSignup.confirm_token_hash == hash_token(token.strip()), OfferSignup.status == PENDING)
        .order_by(col(OfferSignup.id))
    )).all())
    if not rows or any(r.confirm_expires_at is None or _utc(r.confirm_expires_at) <= now for r in rows):
        raise NotFound("this link is not valid (any more)")
    return rows


async def confirm_email_signup(app: AppContext, token: str) -> SignupResult:
    """The double opt-in link was clicked: the address is proven. Find or make the passwordless
    user record and take the places (under the lock, like any sign-up). Works once."""
    now = app.now()
    async with app.database.transaction() as session:
        rows = await _pending_rows(session, token, now)
        first = rows[0]
        offer, dates = await _load_open_offer(session, first.offer_id)
        user = (await session.exec(select(User).where(User.email == first.email))).first()
        if user is None:
            user = User(email=first.email, display_name=first.name, password_hash=None, language=first.language,
                        email_verified_at=now, created_at=now)
            session.add(user)
            await session.flush()
        elif not user.is_active:
            raise PermissionDenied("this account is deactivated")
        elif user.email_verified_at is None:
            user.email_verified_at = now
            session.add(user)
        person = await load_principal(session, user)
        by_id = {d.id: d for d in dates}
        wanted = []
        for row in rows:
            offer_date = by_id.get(row.offer_date_id)
            if offer_date is None or offer_date.is_cancelled or _utc(offer_date.starts_at) <= now:
                row.status, row.confirm_token_hash = REFUSED, None
                session.add(row)
                continue
            wanted.append((offer_date, row))
        return await _take_places(session, app, person, offer, wanted, now)


@dataclass(frozen=True)
class CancelView:
    offer_title: str
    starts_at: datetime
    ends_at: datetime


async def check_cancel_link(app: AppContext, token: str) -> CancelView:
    async with app.database.reader() as session:
        signup = await _signup_by_cancel_token(session, token)
        offer = await session.get(Offer, signup.offer_id)
        offer_date = await session.get(OfferDate, signup.offer_date_id)
    assert offer is not None and offer_date is not None
    return CancelView(offer.title, offer_date.starts_at, offer_date.ends_at)


async def _signup_by_cancel_token(session: AsyncSession, token: str) -> OfferSignup:
    if not token or len(token) > 200:
        raise NotFound("this link is not valid (any more)")
    signup = (await session.exec(
        select(OfferSignup).where(OfferSignup.cancel_token_hash == hash_token(token.strip()), OfferSignup.status == CONFIRMED)
    )).first()
    if signup is None:
        raise NotFound("this link is not valid (any more)")
    return signup


async def cancel_with_link(app: AppContext, token: str) -> CancelView:
    """The cancel link of a confirmation mail: frees the place. Works once (the token is spent)."""
    now = app.now()
    async with app.database.transaction() as session:
        signup = await _signup_by_cancel_token(session, token)
        offer, offer_date = await _cancel_before_the_end(session, app, signup, actor_id=signup.user_id, now=now)
    return CancelView(offer.title, offer_date.starts_at, offer_date.ends_at)


async def cancel_own_signup(app: AppContext, actor: Principal, signup_id: int) -> None:
    """A signed-in person cancels their own place (the engagement page)."""
    now = app.now()
    async with app.database.transaction() as session:
        signup = await session.get(OfferSignup, signup_id)
        if signup is None or signup.user_id != actor.user_id or signup.status != CONFIRMED:
            raise NotFound("this sign-up does not exist")
        await _cancel_before_the_end(session, app, signup, actor_id=actor.user_id, now=now)


async def _cancel_before_the_end(
    session: AsyncSession, app: AppContext, signup: OfferSignup, *, actor_id: int | None, now: datetime,
) -> tuple[Offer, OfferDate]:
    """The person's own cancel (link or page): refused once the date is over, else under the lock."""
    offer = await session.get(Offer, signup.offer_id)
    offer_date = await session.get(OfferDate, signup.offer_date_id)
    assert offer is not None and offer_date is not None
    if _utc(offer_date.ends_at) <= now:
        raise PolicyViolation("this date is over")
    await lock_places(session, offer)
    await _cancel_signup(session, app, offer, offer_date, signup, actor_id=actor_id)
    return offer, offer_date


async def _cancel_signup(
    session: AsyncSession, app: AppContext, offer: Offer, offer_date: OfferDate, signup: OfferSignup, *,
    actor_id: int | None, by_organiser: bool = False,
) -> None:
    """Cancel the booking behind a sign-up (caller holds the resource lock) and tell the person."""
    now = app.now()
    booking = await session.get(Booking, signup.booking_id) if signup.booking_id else None
    if booking is not None and booking.status in {s.value for s in HOLDING}:
        old = booking.status
        booking.status = next_status(old, Action.CANCEL).value
        booking.sequence += 1
        booking.updated_at = now
        session.add(booking)
        await session.flush()
        record_event(session, booking, actor_id=actor_id, action=Action.CANCEL.value, from_status=old, to_status=booking.status)
    signup.status, signup.cancel_token_hash, signup.cancelled_at = CANCELLED, None, now
    session.add(signup)
    await session.flush()
    if booking is not None and signup.user_id is not None:
        user = await session.get(User, signup.user_id)
        if user is not None:
            await _mail_cancelled(session, app, offer, offer_date, booking, user, by_organiser=by_organiser)
    await place_freed(session, app, offer, offer_date)
