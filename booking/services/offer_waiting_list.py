"""The waiting list of a volunteer offer's dates: the one of ``services.waiting_list`` on the
offer's resource. A signed-in person joins the line of a full date (``join_waiting_list``); a
freed place is offered to the first in line as a held booking (``place_freed``); taking it makes
them a participant (``hold_taken``). The offer's organisers order each date's line and take
people off it (``move_entry`` / ``remove_entry`` over ``waiting_list_staff.move`` / ``remove``); the
site's staff page links the dates (``site_waiting_dates``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.auth.tokens import new_token
from booking.domain.errors import Conflict, DomainError, NotFound, PermissionDenied, PolicyViolation
from booking.domain.intervals import Interval
from booking.models import Booking, Offer, OfferDate, OfferSignup, Site, User, WaitingListEntry
from booking.services.bookings import check_placement
from booking.services.context import AppContext
from booking.services.offer_mail import _mail_confirmed
from booking.services.offer_permissions import may_manage
from booking.services.offer_places import CANCELLED, CONFIRMED, _bookable_dates, _load_open_offer, _utc, lock_places


async def places_raised(session: AsyncSession, app: AppContext, offer: Offer) -> None:
    """The offer has more places per date now (its edit form or its dates page; inside that
    transaction, under the places' lock): each upcoming date with people waiting offers them
    the new places at once, as for a freed place."""
    from booking.domain.waiting_list import EntryStatus

    now = app.now()
    waiting_starts = select(WaitingListEntry.starts_at).where(
        WaitingListEntry.resource_id == offer.resource_id, WaitingListEntry.status == EntryStatus.WAITING.value,
        WaitingListEntry.starts_at > now).distinct()
    dates = (await session.exec(
        select(OfferDate).where(OfferDate.offer_id == offer.id, col(OfferDate.is_cancelled).is_(False),
                                col(OfferDate.starts_at).in_(waiting_starts))
        .order_by(col(OfferDate.starts_at))
    )).all()
    for offer_date in dates:
        await place_freed(session, app, offer, offer_date)


async def place_freed(session: AsyncSession, app: AppContext, offer: Offer, offer_date: OfferDate) -> None:
    """A place of ``offer_date`` became free (a sign-up cancelled by its link, the engagement
    page or the organiser; inside that transaction, under the places' lock): the first in line
    gets a held booking and the offer mail. The general bookings cancel goes through
    ``bookings.transition``, which offers the place itself (``waiting_list.capacity_released``);
    ``_cancel_signup`` changes the status without it, so the place is offered here exactly once."""
    from booking.services import waiting_list

    now = app.now()
    ends_at = _utc(offer_date.ends_at)
    if ends_at <= now or offer.cancelled_at is not None or offer_date.is_cancelled:
        return
    await waiting_list.offer_freed_capacity(
        session, app, offer.resource_id, Interval(max(_utc(offer_date.starts_at), now), ends_at), now=now,  # type: ignore[arg-type]
    )


async def join_waiting_list(app: AppContext, actor: Principal, offer_id: int, date_id: int) -> WaitingListEntry:
    """Put a signed-in person on the waiting list of a full date of a published offer.

    The offer's places resource is hidden, so the generic ``waiting_list.join`` (which checks
    that the actor may see and book the resource) refuses it; here the offer is the check:
    published, not cancelled, the date upcoming and full, the person not signed up already.
    """
    from booking.services import waiting_list

    now = app.now()
    async with app.database.transaction() as session:
        offer, dates = await _load_open_offer(session, offer_id)
        (offer_date,) = _bookable_dates(dates, date_id, now)
        placement = await lock_places(session, offer)
        signed_up = (await session.exec(select(OfferSignup).where(
            OfferSignup.offer_date_id == offer_date.id, OfferSignup.user_id == actor.user_id, OfferSignup.status == CONFIRMED,
        ))).first()
        if signed_up is not None:
            raise waiting_list.AlreadyWaiting("you are already signed up for this date", field="date_id")
        interval = Interval(_utc(offer_date.starts_at), _utc(offer_date.ends_at))
        try:
            await check_placement(session, placement, interval, 1, now=now)
        except (Conflict, PolicyViolation):
            pass  # full: that is what the waiting list is for
        else:
            raise waiting_list.SlotIsFree("this date has free places: sign up directly", field="date_id")
        try:
            return await waiting_list._add_entry(  # noqa: SLF001 - the offer's own path to the one waiting list
                session, app, actor, None, offer.resource_id, interval, 1, None, offer.title, now=now,  # type: ignore[arg-type]
            )
        except DomainError as error:
            error.field = "date_id"
            raise


async def hold_taken(session: AsyncSession, app: AppContext, booking: Booking, person: Principal) -> None:
    """A waiting person took the held place (``waiting_list_holds._take``, booking now confirmed):
    they become a participant like any sign-up — a confirmed sign-up row linked to the booking,
    the offer's confirmation with its invite and a cancel link."""
    offer = (await session.exec(select(Offer).where(Offer.resource_id == booking.resource_id))).first()
    if offer is None:
        return
    offer_date = (await session.exec(select(OfferDate).where(
        OfferDate.offer_id == offer.id, OfferDate.starts_at == _utc(booking.starts_at)))).first()
    if offer_date is None:
        return
    now = app.now()
    cancel_token, cancel_hash = new_token()
    session.add(OfferSignup(
        offer_id=offer.id, offer_date_id=offer_date.id, user_id=person.user_id, booking_id=booking.id, status=CONFIRMED,  # type: ignore[arg-type]
        cancel_token_hash=cancel_hash, confirmed_at=now, created_at=now,
    ))
    await session.flush()
    await _mail_confirmed(session, app, offer, offer_date, booking, person, cancel_token)


async def booking_released(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    """The booking behind a sign-up stopped holding its place through ``bookings.transition``
    (the general cancel): the sign-up is cancelled too (its cancel link spent). The freed place
    is offered to the waiting list by the caller (``waiting_list.capacity_released``)."""
    signup = (await session.exec(select(OfferSignup).where(OfferSignup.booking_id == booking.id))).first()
    if signup is None or signup.status != CONFIRMED:
        return
    signup.status, signup.cancel_token_hash, signup.cancelled_at = CANCELLED, None, app.now()
    session.add(signup)
    await session.flush()


async def waiting_places(app: AppContext, actor: Principal | None, offer: Offer, dates: Sequence[Any]) -> dict[int, int]:
    """For the offer's page: the dates ``actor`` waits for, each with their place in its line
    (1 = next; an entry offered a hold counts as place 1)."""
    if actor is None or offer.resource_id is None:
        return {}
    from booking.domain.waiting_list import OPEN

    async with app.database.reader() as session:
        waiting = await _waiting_by_date(session, offer, dates, app.now())
        mine = set((await session.exec(select(WaitingListEntry.id).where(
            WaitingListEntry.resource_id == offer.resource_id, WaitingListEntry.person_id == actor.user_id,
            col(WaitingListEntry.status).in_(OPEN)))).all())
    places: dict[int, int] = {}
    for date_id, line in waiting.items():
        in_line = [w for w in line if w.status == "waiting"]
        for w in line:
            if w.entry_id in mine:
                places[date_id] = 1 if w.status != "waiting" else in_line.index(w) + 1
    return places


@dataclass(frozen=True)
class Waiter:
    entry_id: int
    name: str
    status: str  # waiting | offered
    hold_expires_at: datetime | None


async def _waiting_by_date(
    session: AsyncSession, offer: Offer, dates: Sequence[Any], now: datetime, *, starts_at: datetime | None = None
) -> dict[int, list[Waiter]]:
    """The open waiting-list entries per date of an offer, in line order (names only); with
    ``starts_at`` only the line of the date that starts then. At most 500 entries."""
    from booking.domain.waiting_list import OPEN

    statement = (
        select(WaitingListEntry, User).join(User, User.id == WaitingListEntry.person_id)  # type: ignore[arg-type]
        .where(WaitingListEntry.resource_id == offer.resource_id, col(WaitingListEntry.status).in_(OPEN),
               WaitingListEntry.ends_at > now)
    )
    if starts_at is not None:
        statement = statement.where(WaitingListEntry.starts_at == starts_at)
    rows = (await session.exec(statement.order_by(col(WaitingListEntry.position), col(WaitingListEntry.id)).limit(500))).all()
    holds = {}
    hold_ids = [e.booking_id for e, _ in rows if e.booking_id is not None]
    if hold_ids:
        holds = {b.id: b for b in (await session.exec(select(Booking).where(col(Booking.id).in_(hold_ids)))).all()}
    by_start = {_utc(d.starts_at): d.id for d in dates}
    result: dict[int, list[Waiter]] = defaultdict(list)
    for entry, user in rows:
        date_id = by_start.get(_utc(entry.starts_at))
        if date_id is None:
            continue
        hold = holds.get(entry.booking_id) if entry.booking_id else None
        result[date_id].append(Waiter(entry.id, user.display_name or user.email, entry.status,  # type: ignore[arg-type]
                                      hold.hold_expires_at if hold is not None else None))
    return result


# --------------------------------------------------------------------------- the organisers' controls


async def _date_of_entry(app: AppContext, actor: Principal, offer_id: int, entry_id: int) -> int:
    """The date of the offer a waiting entry waits for. Only the offer's organisers learn it
    (others: PermissionDenied, the same answer ``waiting_list`` gives); an entry of another
    offer, or none: NotFound."""
    async with app.database.reader() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or not may_manage(actor, offer):
            raise PermissionDenied("only the offer's organisers order its waiting lists")
        entry = await session.get(WaitingListEntry, entry_id)
        if entry is None or entry.resource_id != offer.resource_id:
            raise NotFound(f"waiting list entry {entry_id} does not exist")
        offer_date = (await session.exec(select(OfferDate).where(
            OfferDate.offer_id == offer.id, OfferDate.starts_at == _utc(entry.starts_at)))).first()
    if offer_date is None:
        raise NotFound(f"waiting list entry {entry_id} does not exist")
    return offer_date.id  # type: ignore[return-value]


async def move_entry(app: AppContext, actor: Principal, offer_id: int, entry_id: int, direction: str) -> int:
    """An organiser moves a waiting person one place up or down in the line of their date
    (``waiting_list_staff.move``, which checks the organiser again under the lock). Returns the date's id."""
    from booking.services import waiting_list_staff

    date_id = await _date_of_entry(app, actor, offer_id, entry_id)
    await waiting_list_staff.move(app, actor, entry_id, direction)
    return date_id


async def remove_entry(app: AppContext, actor: Principal, offer_id: int, entry_id: int) -> int:
    """An organiser takes a person off a date's waiting list; the person is told by mail
    (``waiting_list_staff.remove``). Rate limits are the caller's. Returns the date's id."""
    from booking.services import waiting_list_staff

    date_id = await _date_of_entry(app, actor, offer_id, entry_id)
    await waiting_list_staff.remove(app, actor, entry_id)
    return date_id


@dataclass(frozen=True)
class WaitingDate:
    """A date of an offer at a site with people waiting (the staff's waiting-list page links it)."""

    offer_id: int
    offer_title: str
    date_id: int
    starts_at: datetime
    ends_at: datetime
    waiting: int
    timezone: str


async def site_waiting_dates(app: AppContext, actor: Principal, site_id: int, *, limit: int = 100) -> list[WaitingDate]:
    """The upcoming offer dates at a site with open waiting-list entries, soonest first, for the
    site's staff (the lines themselves are ordered on each offer's organiser page)."""
    from booking.domain.waiting_list import OPEN

    if not actor.is_lender_at(site_id):
        raise PermissionDenied("only the site's lenders and managers see its waiting lists")
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
        if site is None:
            return []
        rows = (await session.exec(
            select(Offer.id, Offer.title, OfferDate.id, OfferDate.starts_at, OfferDate.ends_at, func.count(col(WaitingListEntry.id)))
            .join(OfferDate, OfferDate.offer_id == Offer.id)  # type: ignore[arg-type]
            .join(WaitingListEntry, (WaitingListEntry.resource_id == Offer.resource_id)  # type: ignore[arg-type]
                  & (WaitingListEntry.starts_at == OfferDate.starts_at))
            .where(Offer.site_id == site_id, col(WaitingListEntry.status).in_(OPEN), WaitingListEntry.ends_at > app.now())
            .group_by(Offer.id, Offer.title, OfferDate.id, OfferDate.starts_at, OfferDate.ends_at)
            .order_by(col(OfferDate.starts_at), col(OfferDate.id)).limit(limit)
        )).all()
    return [WaitingDate(*row, timezone=site.timezone) for row in rows]  # type: ignore[arg-type, misc]
