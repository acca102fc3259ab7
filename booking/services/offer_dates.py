"""The dates of a published volunteer offer, changed by its organisers (issue 14): add a one-off
date, move a date, remove a date, change the places per date.

Everything happens in the one capacity engine (DESIGN.md): a date's places are the holding
bookings of the offer's hidden resource over the date's interval, so moving a date moves those
bookings (each participant's invite keeps its UID ``booking-<id>`` and gets SEQUENCE + 1, sent
as METHOD:REQUEST), removing it cancels them (METHOD:CANCEL through the offer's own cancel) and
ends the date's waiting list, and more places offer the new room to the date's waiting list
(``offer_waiting_list.place_freed``). Every change runs under the places resource's lock; a room or thing
the offer reserved for the date is moved or cancelled through the booking engine in the same
transaction (its lock after the places' lock, rooms in id order), so a room that is taken at the
new time refuses the whole move.

Dates of one offer never overlap: they share one resource, whose capacity is the places of
*each* date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.db.errors import is_overlap_violation
from booking.domain import offer_dates as rules
from booking.domain import offers as offer_rules
from booking.domain.errors import Conflict, DomainError, NotFound, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.lifecycle import HOLDING_VALUES, Action, Status
from booking.domain.waiting_list import OPEN, EntryStatus
from booking.mail.outbox import enqueue
from booking.mail.payload import Invite
from booking.models import Booking, Offer, OfferDate, OfferSignup, Resource, Site, User, WaitingListEntry
from booking.services import notifications, offer_mail, offer_permissions, offer_places, offer_signups, offer_waiting_list
from booking.services.audit import record_event
from booking.services.bookings import BookingRequest, check_placement, lock_for_booking, new_booking, transition
from booking.services.context import AppContext

CONFIRMED = offer_places.CONFIRMED


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ManagedDate:
    id: int
    starts_at: datetime
    ends_at: datetime
    participants: int
    waiting: int
    rooms: tuple[str, ...]
    is_changeable: bool  # upcoming: may be moved or removed
    taken: int = 0  # places the engine holds for the date (confirmed places and offered holds)
    free: int = 0


@dataclass
class OfferDates:
    offer: Offer
    site: Site
    dates: list[ManagedDate] = field(default_factory=list)

    @property
    def may_add(self) -> bool:
        return self.offer.cancelled_at is None and len(self.dates) < rules.MAX_DATES_PER_OFFER


async def _managed_offer(session: AsyncSession, actor: Principal, offer_id: int) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None or offer.resource_id is None or not offer_permissions.may_manage(actor, offer):
        raise NotFound("this offer does not exist")
    return offer


async def _managed_date(session: AsyncSession, actor: Principal, date_id: int) -> tuple[Offer, OfferDate]:
    offer_date = await session.get(OfferDate, date_id)
    if offer_date is None:
        raise NotFound("this date does not exist")
    try:
        return await _managed_offer(session, actor, offer_date.offer_id), offer_date
    except NotFound:
        raise NotFound("this date does not exist") from None


async def check_may_manage_offer(app: AppContext, actor: Principal, offer_id: int) -> None:
    """Whether ``actor`` organises the offer (others: NotFound, no oracle), for a caller that must
    answer "does not exist" before it asks a service that answers otherwise."""
    async with app.database.reader() as session:
        await _managed_offer(session, actor, offer_id)


async def check_may_manage_date(app: AppContext, actor: Principal, date_id: int) -> int:
    """The offer id of a date its organisers may change (others: NotFound, no oracle)."""
    async with app.database.reader() as session:
        offer, _ = await _managed_date(session, actor, date_id)
    return offer.id  # type: ignore[return-value]


async def _live_dates(session: AsyncSession, offer: Offer) -> list[OfferDate]:
    """The offer's dates that are not removed, in order (at most ``MAX_DATES_PER_OFFER`` + 1)."""
    return list((await session.exec(
        select(OfferDate).where(OfferDate.offer_id == offer.id, col(OfferDate.is_cancelled).is_(False))
        .order_by(col(OfferDate.starts_at), col(OfferDate.id)).limit(rules.MAX_DATES_PER_OFFER + 1)
    )).all())


async def offer_dates(app: AppContext, actor: Principal, offer_id: int) -> OfferDates:
    """The organisers' list of an offer's dates: participants and waiting people per date, the
    rooms reserved for it. Bounded by ``MAX_DATES_PER_OFFER``."""
    now = app.now()
    async with app.database.reader() as session:
        offer = await _managed_offer(session, actor, offer_id)
        site = await session.get(Site, offer.site_id)
        assert site is not None
        dates = (await _live_dates(session, offer))[: rules.MAX_DATES_PER_OFFER]
        counts = dict((await session.exec(
            select(OfferSignup.offer_date_id, func.count()).where(OfferSignup.offer_id == offer.id, OfferSignup.status == CONFIRMED)
            .group_by(OfferSignup.offer_date_id)
        )).all())
        waiting: dict[datetime, int] = defaultdict(int)
        for starts_at, number in (await session.exec(
            select(WaitingListEntry.starts_at, func.count()).where(
                WaitingListEntry.resource_id == offer.resource_id, col(WaitingListEntry.status).in_(OPEN))
            .group_by(WaitingListEntry.starts_at)
        )).all():
            waiting[_utc(starts_at)] += number
        rooms = await _reserved_by_start(session, offer)
        taken = await offer_places._taken_by_date(session, [offer.resource_id], datetime.min.replace(tzinfo=UTC))  # type: ignore[list-item]  # noqa: SLF001
    views = []
    for d in dates:
        held = taken.get((offer.resource_id, _utc(d.starts_at)), 0)  # type: ignore[arg-type]
        views.append(ManagedDate(
            d.id, d.starts_at, d.ends_at, counts.get(d.id, 0), waiting.get(_utc(d.starts_at), 0),  # type: ignore[arg-type]
            tuple(name for booking, name in rooms.get((_utc(d.starts_at), _utc(d.ends_at)), [])),
            offer.cancelled_at is None and _utc(d.starts_at) > now, held, offer_rules.free_places(offer.places, held),
        ))
    return OfferDates(offer, site, views)


async def _reserved_by_start(session: AsyncSession, offer: Offer) -> dict[tuple[datetime, datetime], list[tuple[Booking, str]]]:
    """The offer's room/thing reservations that still hold, per (start, end) of a date."""
    result: dict[tuple[datetime, datetime], list[tuple[Booking, str]]] = defaultdict(list)
    if not offer.reserved_booking_ids:
        return result
    rows = (await session.exec(
        select(Booking, Resource.name).join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .where(col(Booking.id).in_(list(offer.reserved_booking_ids)), col(Booking.status).in_(HOLDING_VALUES))
        .order_by(col(Booking.resource_id))
    )).all()
    for booking, name in rows:
        result[(_utc(booking.starts_at), _utc(booking.ends_at))].append((booking, name))
    return result


# --------------------------------------------------------------------------- add


def _open_for_changes(offer: Offer) -> None:
    if offer.cancelled_at is not None:
        raise PolicyViolation("this offer has been cancelled", field="general")


async def add_date(app: AppContext, actor: Principal, offer_id: int, starts_at: datetime, ends_at: datetime) -> OfferDate:
    """A one-off date more. Its places are checked like a sign-up's (the places resource's
    rules under its lock); rooms or things the offer reserves are booked for it as well
    (the booking engine's conflict rules: a taken room refuses the date)."""
    now = app.now()
    async with app.database.transaction() as session:
        offer = await _managed_offer(session, actor, offer_id)
        _open_for_changes(offer)
        interval = rules.check_new_date(_utc(starts_at), _utc(ends_at), now=now)
        placement = await offer_places.lock_places(session, offer)
        dates = await _live_dates(session, offer)
        rules.check_room_for_another_date(len(dates))
        rules.check_no_overlap(interval, [Interval(_utc(d.starts_at), _utc(d.ends_at)) for d in dates])
        await _at_field(check_placement(session, placement, interval, 1, now=now))
        offer_date = OfferDate(offer_id=offer.id, starts_at=interval.starts_at, ends_at=interval.ends_at)  # type: ignore[arg-type]
        session.add(offer_date)
        reserved = await _reserve_rooms(session, app, actor, offer, interval, now)
        if reserved:
            offer.reserved_booking_ids = [*offer.reserved_booking_ids, *reserved]
        offer.updated_at = now
        session.add(offer)
        await session.flush()
    return offer_date


async def _at_field(check, name: str = "starts_at"):  # type: ignore[no-untyped-def]
    """Await a booking-engine check; what it refuses belongs to the date's field on the form."""
    try:
        return await check
    except DomainError as error:
        error.field = name
        raise


async def _reserved_resources(session: AsyncSession, offer: Offer) -> list[int]:
    """The rooms or things the offer reserves (from its reservations, cancelled ones too)."""
    if not offer.reserved_booking_ids:
        return []
    ids = (await session.exec(select(Booking.resource_id).where(col(Booking.id).in_(list(offer.reserved_booking_ids))))).all()
    return sorted(set(ids))


async def _reserve_rooms(
    session: AsyncSession, app: AppContext, actor: Principal, offer: Offer, interval: Interval, now: datetime
) -> list[int]:
    made: list[int] = []
    for resource_id in await _reserved_resources(session, offer):  # one lock order: no deadlocks
        placement = await _at_field(lock_for_booking(session, actor, resource_id, organisation_id=offer.organisation_id))
        decision = await _at_field(check_placement(session, placement, interval, 1, now=now))
        request = BookingRequest(resource_id, interval.starts_at, interval.ends_at, organisation_id=offer.organisation_id, title=offer.title)
        booking = new_booking(placement, actor, request, interval, decision=decision)
        session.add(booking)
        await _flush_overlap_as_conflict(session)
        record_event(session, booking, actor_id=actor.user_id, action="created", from_status=None, to_status=booking.status)
        await notifications.booking_created(session, app, booking)
        made.append(booking.id)  # type: ignore[arg-type]
    return made


async def _flush_overlap_as_conflict(session: AsyncSession) -> None:
    """PostgreSQL's exclusion constraint is the engine's last word on a capacity-1 room."""
    try:
        await session.flush()
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        raise Conflict("the resource is not available at that time", field="starts_at") from None


# --------------------------------------------------------------------------- move


async def move_date(app: AppContext, actor: Principal, date_id: int, starts_at: datetime, ends_at: datetime) -> OfferDate:
    """Move an upcoming date. Every place on it moves with it (the participant gets a mail with
    the updated invite: same UID, higher SEQUENCE), so do offered holds and the date's waiting
    list; a room reserved for the date moves through the booking engine or, when it is taken at
    the new time, the move is refused (``Conflict`` at ``starts_at``) and nothing changes."""
    now = app.now()
    async with app.database.transaction() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        _open_for_changes(offer)
        rules.check_changeable(_utc(offer_date.starts_at), is_cancelled=offer_date.is_cancelled, now=now)
        interval = rules.check_new_date(_utc(starts_at), _utc(ends_at), now=now)
        previous = Interval(_utc(offer_date.starts_at), _utc(offer_date.ends_at))
        if interval == previous:
            return offer_date
        placement = await offer_places.lock_places(session, offer)
        others = [d for d in await _live_dates(session, offer) if d.id != offer_date.id]
        rules.check_no_overlap(interval, [Interval(_utc(d.starts_at), _utc(d.ends_at)) for d in others])
        places = list((await session.exec(select(Booking).where(
            Booking.resource_id == offer.resource_id, Booking.starts_at == previous.starts_at,
            col(Booking.status).in_(HOLDING_VALUES)))).all())
        await _at_field(check_placement(session, placement, interval, 1, now=now, exclude_booking_ids=[b.id for b in places]))  # type: ignore[misc]
        await _move_rooms(session, app, actor, offer, previous, interval, now)
        for booking in places:
            _shift(session, booking, interval, actor, now)
            if booking.status == Status.HELD.value and booking.hold_expires_at is not None:
                # An offered hold still runs out before its date begins, at the new time too.
                booking.hold_expires_at = min(_utc(booking.hold_expires_at), interval.starts_at)
        entries = (await session.exec(select(WaitingListEntry).where(
            WaitingListEntry.resource_id == offer.resource_id, WaitingListEntry.starts_at == previous.starts_at,
            col(WaitingListEntry.status).in_(OPEN)))).all()
        for entry in entries:
            entry.starts_at, entry.ends_at = interval.starts_at, interval.ends_at
            session.add(entry)
        offer_date.starts_at, offer_date.ends_at = interval.starts_at, interval.ends_at
        offer.updated_at = now
        session.add_all([offer_date, offer])
        await session.flush()
        await _mail_moved(session, app, offer, offer_date, previous)
        await _mail_waiting_moved(session, app, offer, offer_date, previous, {b.id: b for b in places}, now)
    return offer_date


def _shift(session: AsyncSession, booking: Booking, interval: Interval, actor: Principal, now: datetime) -> None:
    before = {"starts_at": _utc(booking.starts_at).isoformat(), "ends_at": _utc(booking.ends_at).isoformat()}
    booking.starts_at, booking.ends_at = interval.starts_at, interval.ends_at
    booking.sequence += 1
    booking.updated_at = now
    session.add(booking)
    record_event(session, booking, actor_id=actor.user_id, action="changed", from_status=booking.status,
                 to_status=booking.status, details={"before": before})


async def _move_rooms(
    session: AsyncSession, app: AppContext, actor: Principal, offer: Offer, previous: Interval, interval: Interval, now: datetime
) -> None:
    reserved = (await _reserved_by_start(session, offer)).get((previous.starts_at, previous.ends_at), [])
    for booking, _name in sorted(reserved, key=lambda pair: pair[0].resource_id):  # one lock order
        placement = await _at_field(lock_for_booking(session, actor, booking.resource_id, organisation_id=offer.organisation_id))
        placement.organisation_id, placement.booker_id = booking.organisation_id, booking.booker_id
        await _at_field(check_placement(session, placement, interval, booking.quantity, now=now, exclude_booking_ids=[booking.id]))  # type: ignore[list-item]
        _shift(session, booking, interval, actor, now)
        await _flush_overlap_as_conflict(session)
        await notifications.booking_changed(session, app, booking, previous=(previous.starts_at, previous.ends_at))


async def _confirmed_participants(session: AsyncSession, offer_date: OfferDate) -> list[tuple[OfferSignup, User, Booking]]:
    return list((await session.exec(
        select(OfferSignup, User, Booking)
        .join(User, User.id == OfferSignup.user_id)  # type: ignore[arg-type]
        .join(Booking, Booking.id == OfferSignup.booking_id)  # type: ignore[arg-type]
        .where(OfferSignup.offer_date_id == offer_date.id, OfferSignup.status == CONFIRMED)
        .order_by(col(OfferSignup.id))
    )).all())


async def _mail_moved(session: AsyncSession, app: AppContext, offer: Offer, offer_date: OfferDate, previous: Interval) -> None:
    """One mail per participant with the updated invite (REQUEST, same UID, SEQUENCE + 1)."""
    site = await session.get(Site, offer.site_id)
    assert site is not None
    for _signup, user, booking in await _confirmed_participants(session, offer_date):
        await enqueue(
            session, settings=app.settings, kind="offer_date_moved", recipient=user.email, language=user.language,
            context=offer_mail._offer_context(  # noqa: SLF001 - the offer mails' one context
                offer, site, offer_date, recipient_name=user.display_name,
                previous_starts_at=previous.starts_at, previous_ends_at=previous.ends_at),
            invite=Invite(offer_mail._event(app, offer, site, booking, user, status="CONFIRMED"), "REQUEST"),  # noqa: SLF001
            booking_id=booking.id, now=app.now(),
        )


async def _open_line(session: AsyncSession, offer: Offer, offer_date: OfferDate) -> list[tuple[WaitingListEntry, User]]:
    """The date's open waiting-list entries (waiting or offered) in line order, with their people."""
    return list((await session.exec(
        select(WaitingListEntry, User).join(User, User.id == WaitingListEntry.person_id)  # type: ignore[arg-type]
        .where(WaitingListEntry.resource_id == offer.resource_id, WaitingListEntry.starts_at == _utc(offer_date.starts_at),
               col(WaitingListEntry.status).in_(OPEN))
        .order_by(col(WaitingListEntry.position), col(WaitingListEntry.id))
    )).all())


async def _mail_waiting_moved(
    session: AsyncSession, app: AppContext, offer: Offer, offer_date: OfferDate, previous: Interval,
    places: dict[int | None, Booking], now: datetime,
) -> None:
    """One mail per person on the moved date's waiting list: they keep their place in the line
    at the new time; a person holding an offered place is told until when it is still held,
    with the same confirm-or-decline link as the offer itself."""
    site = await session.get(Site, offer.site_id)
    assert site is not None
    rows = await _open_line(session, offer, offer_date)
    for entry, user in rows:
        hold = places.get(entry.booking_id) if entry.booking_id is not None else None
        held = hold is not None and hold.status == Status.HELD.value
        extra = {"hold_expires_at": hold.hold_expires_at, "waiting_entry_id": entry.id, "booking_id": hold.id} if held else {}
        await enqueue(
            session, settings=app.settings, kind="offer_waiting_moved", recipient=user.email, language=user.language,
            context=offer_mail._offer_context(  # noqa: SLF001 - the offer mails' one context
                offer, site, offer_date, recipient_name=user.display_name,
                previous_starts_at=previous.starts_at, previous_ends_at=previous.ends_at, **extra),
            dedupe_key=f"offer-waiting-moved:{entry.id}:{offer_date.starts_at.isoformat()}", now=now,
        )


# --------------------------------------------------------------------------- remove


async def remove_date(app: AppContext, actor: Principal, date_id: int) -> int:
    """Take an upcoming date off the offer. Its participants' places are cancelled (a mail with
    METHOD:CANCEL each), its waiting list ends (a mail each, an offered hold withdrawn), a room
    reserved for it is cancelled. Returns how many participants were told."""
    now = app.now()
    async with app.database.transaction() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        _open_for_changes(offer)
        rules.check_changeable(_utc(offer_date.starts_at), is_cancelled=offer_date.is_cancelled, now=now)
        await offer_places.lock_places(session, offer)
        # Removed first: the cancels below then offer no freed place to this date's line.
        offer_date.is_cancelled = True
        offer.updated_at = now
        session.add_all([offer_date, offer])
        await session.flush()
        await _end_waiting_list(session, app, actor, offer, offer_date, now)
        participants = await _confirmed_participants(session, offer_date)
        for signup, _user, _booking in participants:
            await offer_signups._cancel_signup(  # noqa: SLF001 - the offer's one cancel (CANCEL invite, mail)
                session, app, offer, offer_date, signup, actor_id=actor.user_id, by_organiser=True)
        reserved = (await _reserved_by_start(session, offer)).get((_utc(offer_date.starts_at), _utc(offer_date.ends_at)), [])
        for booking, _name in sorted(reserved, key=lambda pair: pair[0].resource_id):
            await transition(session, app, actor, booking, Action.CANCEL, reason="offer date removed")
    return len(participants)


async def _end_waiting_list(
    session: AsyncSession, app: AppContext, actor: Principal, offer: Offer, offer_date: OfferDate, now: datetime
) -> None:
    site = await session.get(Site, offer.site_id)
    assert site is not None
    rows = await _open_line(session, offer, offer_date)
    # Every entry ends before any hold is cancelled: a cancelled hold offers its time to the
    # line (``waiting_list.capacity_released``), which must be empty by then.
    holds = [entry.booking_id for entry, _user in rows if entry.booking_id is not None]
    for entry, user in rows:
        entry.status, entry.decided_at = EntryStatus.WITHDRAWN.value, now
        session.add(entry)
        await enqueue(
            session, settings=app.settings, kind="offer_waiting_ended", recipient=user.email, language=user.language,
            context=offer_mail._offer_context(offer, site, offer_date, recipient_name=user.display_name),  # noqa: SLF001
            dedupe_key=f"offer-waiting-ended:{entry.id}", now=now,
        )
    await session.flush()
    for booking_id in holds:
        hold = await session.get(Booking, booking_id)
        if hold is not None and hold.status == Status.HELD.value:
            await transition(session, app, actor, hold, Action.CANCEL, notify=False, details={"offer_date_removed": offer_date.id})


# --------------------------------------------------------------------------- places


async def change_places(app: AppContext, actor: Principal, offer_id: int, places: int) -> int:
    """Set the places per date. Fewer than a date already holds is refused; more are offered to
    each upcoming date's waiting list at once (``offer_waiting_list.place_freed``, the freed-place path).
    Returns how many waiting people got a place offered."""
    places = offer_rules.clean_places(places)
    now = app.now()
    async with app.database.transaction() as session:
        offer = await _managed_offer(session, actor, offer_id)
        _open_for_changes(offer)
        placement = await offer_places.lock_places(session, offer)
        if places < await offer_places.most_taken_per_date(session, offer, now):
            raise PolicyViolation("a date already has more sign-ups than that", field="places")
        raised = places > offer.places
        offer.places, offer.updated_at = places, now
        placement.resource.capacity = places
        session.add_all([offer, placement.resource])
        await session.flush()
        if not raised:
            return 0
        before = await _offered_count(session, offer)
        await offer_waiting_list.places_raised(session, app, offer)
        return await _offered_count(session, offer) - before


async def _offered_count(session: AsyncSession, offer: Offer) -> int:
    return int((await session.exec(select(func.count()).select_from(WaitingListEntry).where(
        WaitingListEntry.resource_id == offer.resource_id, WaitingListEntry.status == EntryStatus.OFFERED.value))).one())
