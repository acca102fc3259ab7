"""The mails of volunteer offers (through the outbox): the confirmation with its invite and cancel
link, the cancellation with its CANCEL invite, the reminder before a date."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.ical import CalendarEvent
from booking.mail.compose import envelope_sender
from booking.mail.outbox import enqueue
from booking.mail.payload import Invite
from booking.models import Booking, Offer, OfferDate, OfferSignup, Site, User
from booking.services.context import AppContext
from booking.services.offer_places import CONFIRMED


def _location(offer: Offer, site: Site) -> str:
    if offer.location_kind == "online":
        return offer.online_url or "online"
    if offer.location_kind == "address":
        return offer.address
    return ", ".join(part for part in (site.name, site.address) if part)


def _event(app: AppContext, offer: Offer, site: Site, booking: Booking, person: User | Principal, *, status: str) -> CalendarEvent:
    return CalendarEvent(
        uid=f"booking-{booking.id}@{app.settings.host_name}",
        sequence=booking.sequence,
        dtstamp=app.now(),
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        timezone=site.timezone,
        summary=offer.title,
        description=offer.description or None,
        location=_location(offer, site),
        status=status,  # type: ignore[arg-type]
        organizer_email=site.contact_email,
        organizer_name=site.name,
        organizer_sent_by=envelope_sender(app.settings),
        attendee_email=person.email,
        attendee_name=person.display_name,
        url=f"{app.settings.base_url}/mitmachen/{offer.id}",
        last_modified=booking.updated_at,
    )


def _offer_context(offer: Offer, site: Site, offer_date: OfferDate, **extra: Any) -> dict[str, Any]:
    return {
        "offer_title": offer.title, "site_name": site.name, "site_email": site.contact_email, "site_address": _location(offer, site),
        "timezone": site.timezone, "starts_at": offer_date.starts_at, "ends_at": offer_date.ends_at,
        "offer_url": f"/mitmachen/{offer.id}", "contact_name": offer.contact_name or None, **extra,
    }


async def _mail_confirmed(session: AsyncSession, app: AppContext, offer: Offer, offer_date: OfferDate, booking: Booking,
                          person: Principal, cancel_token: str) -> None:
    site = await session.get(Site, offer.site_id)
    assert site is not None
    await enqueue(
        session, settings=app.settings, kind="offer_confirmed", recipient=person.email, language=person.language,
        context=_offer_context(offer, site, offer_date, recipient_name=person.display_name,
                               cancel_url=f"/mitmachen/absagen/{cancel_token}"),
        invite=Invite(_event(app, offer, site, booking, person, status="CONFIRMED"), "REQUEST"),
        booking_id=booking.id, now=app.now(),
    )


async def _mail_cancelled(session: AsyncSession, app: AppContext, offer: Offer, offer_date: OfferDate, booking: Booking,
                          user: User, *, by_organiser: bool) -> None:
    site = await session.get(Site, offer.site_id)
    assert site is not None
    await enqueue(
        session, settings=app.settings, kind="offer_cancelled", recipient=user.email, language=user.language,
        context=_offer_context(offer, site, offer_date, recipient_name=user.display_name, by_organiser=by_organiser),
        invite=Invite(_event(app, offer, site, booking, user, status="CANCELLED"), "CANCEL"),
        booking_id=booking.id, now=app.now(),
    )


async def offer_reminder(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    """The reminder before a date (the reminder machinery calls this for offer places)."""
    signup = (await session.exec(select(OfferSignup).where(OfferSignup.booking_id == booking.id))).first()
    if signup is None or signup.status != CONFIRMED or signup.user_id is None:
        return
    offer = await session.get(Offer, signup.offer_id)
    offer_date = await session.get(OfferDate, signup.offer_date_id)
    user = await session.get(User, signup.user_id)
    if offer is None or offer_date is None or user is None or offer.cancelled_at is not None:
        return
    site = await session.get(Site, offer.site_id)
    assert site is not None
    await enqueue(
        session, settings=app.settings, kind="offer_reminder", recipient=user.email, language=user.language,
        context=_offer_context(offer, site, offer_date, recipient_name=user.display_name),
        booking_id=booking.id, dedupe_key=f"offer-reminder:{booking.id}:{booking.starts_at.isoformat()}", now=app.now(),
    )


async def place_cancelled(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    """The place behind a sign-up was cancelled through the general bookings path
    (``bookings.transition``): the person gets the offer's cancel mail with its CANCEL invite,
    as after a cancel by the mailed link. A hold from the waiting list (no sign-up): nothing."""
    signup = (await session.exec(select(OfferSignup).where(OfferSignup.booking_id == booking.id))).first()
    if signup is None or signup.user_id is None:
        return
    offer = await session.get(Offer, signup.offer_id)
    offer_date = await session.get(OfferDate, signup.offer_date_id)
    user = await session.get(User, signup.user_id)
    if offer is None or offer_date is None or user is None:
        return
    await _mail_cancelled(session, app, offer, offer_date, booking, user, by_organiser=False)
