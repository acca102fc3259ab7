"""Volunteer offers: create and edit them, sign up (signed in, or by e-mail with double opt-in),
cancel by the mailed link, participants and attendance, the engagement record.

One capacity engine (DESIGN.md): each offer owns a hidden resource (kind ``offer``, capacity =
places per date, at the offer's site) and each sign-up is a Booking of quantity 1 over the
date's ``[starts_at, ends_at)`` made under that resource's lock with the same checks as any
booking (``lock_places`` / ``services.bookings.check_placement``). So "never more sign-ups
than places" is the engine's guarantee on both databases, also under concurrent sign-ups.

Sign-up by e-mail only (tasks): the request writes *pending* ``OfferSignup`` rows (name, address,
the hash of a confirmation link) and mails the link; no place is held and no account made yet.
Clicking it (a POST from the page the link opens: mail scanners fetch links) finds or makes a
passwordless user record for the address — a Booking needs a booker, and the person can later
log in by e-mail link and see their engagement record — and takes the places under the lock.
Why a user record and not only the sign-up row: the booking engine, the privacy export/erasure,
reminders and the engagement record all work per user; a row without a user would need each
of them twice. The record is made only when the address is proven (the click), so typing in a
stranger's address creates nothing but one rate-limited mail.

Waiting list: the one of ``services.waiting_list`` on the offer's resource. A signed-in person
joins the line of a full date (``join_waiting_list``); a freed place is offered to the first in
line as a held booking (``place_freed``); taking it makes them a participant (``hold_taken``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import HIDDEN_VISIBILITY
from booking.auth.principal import Principal
from booking.db.locking import lock_resource_with
from booking.auth.tokens import hash_token, new_token
from booking.domain import offers as rules
from booking.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.lifecycle import HOLDING, Action, Status, next_status
from booking.domain.recurrence import RecurrenceRule, expand
from booking.ical import CalendarEvent
from booking.mail.compose import envelope_sender
from booking.mail.outbox import enqueue
from booking.mail.payload import Invite
from booking.models import Booking, Offer, OfferDate, OfferSignup, Organisation, Policy, Resource, Site, User, WaitingListEntry
from booking.services import notifications
from booking.services.accounts import load_principal, normalise_email
from booking.services.audit import record_event
from booking.services.bookings import (
    BookingRequest, PlacementContext, check_booker, check_placement, lock_for_booking, new_booking,
)
from booking.services.loading import rules_from_policy
from booking.services.context import AppContext

CONFIRM_LINK_LIFETIME = timedelta(hours=48)
PAGE_SIZE = 20
# The public calendar reads at most this many upcoming dates per request (bounded work).
MAX_LISTED_DATES = 1000

PENDING, CONFIRMED, CANCELLED, REFUSED = "pending", "confirmed", "cancelled", "refused"


# --------------------------------------------------------------------------- waiting-list hooks


async def date_is_full(session: AsyncSession, app: AppContext, offer: Offer, offer_date: OfferDate, person: Principal) -> None:
    """A sign-up met a full date (inside its transaction, under the places' lock).

    Nothing happens by itself: waiting is the person's choice ("Auf die Warteliste",
    ``join_waiting_list``, or ``waiting_list: true`` in the API's sign-up).
    """


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
    """A waiting person took the held place (``waiting_list._take``, booking now confirmed):
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


async def _waiting_by_date(session: AsyncSession, offer: Offer, dates: Sequence[Any], now: datetime) -> dict[int, list[Waiter]]:
    """The open waiting-list entries per date of an offer, in line order (names only)."""
    from booking.domain.waiting_list import OPEN

    rows = (await session.exec(
        select(WaitingListEntry, User).join(User, User.id == WaitingListEntry.person_id)  # type: ignore[arg-type]
        .where(WaitingListEntry.resource_id == offer.resource_id, col(WaitingListEntry.status).in_(OPEN),
               WaitingListEntry.ends_at > now)
        .order_by(col(WaitingListEntry.position), col(WaitingListEntry.id)).limit(500)
    )).all()
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


async def lock_places(session: AsyncSession, offer: Offer) -> PlacementContext:
    """Lock the offer's hidden places resource for the rest of the transaction (the same lock as
    every booking of it). Its visibility is ``hidden`` (no listing shows it, nobody books it
    directly), so the visibility check of ``lock_for_booking`` is replaced by the offer's own."""
    found = await lock_resource_with(session, offer.resource_id)  # type: ignore[arg-type]
    if found is None:
        raise NotFound("this offer does not exist")
    resource, site, policy, _organisation, _quotas = found
    return PlacementContext(resource, site, rules_from_policy(policy, resource), is_staff=False)


# --------------------------------------------------------------------------- permissions


def may_create_offer(actor: Principal, site_id: int, organisation_id: int | None) -> bool:
    """Organisation admins (for their organisation, at any site) and the site's staff."""
    if actor.is_city_admin or actor.is_lender_at(site_id):
        return True
    return organisation_id is not None and actor.is_organisation_admin(organisation_id)


def may_manage(actor: Principal | None, offer: Offer) -> bool:
    """Who edits an offer and sees its participants: its organisation's admins, its site's staff."""
    if actor is None:
        return False
    if actor.is_city_admin or actor.is_lender_at(offer.site_id):
        return True
    return offer.organisation_id is not None and actor.is_organisation_admin(offer.organisation_id)


def may_create_any(actor: Principal | None) -> bool:
    return actor is not None and (
        actor.is_city_admin or actor.is_lender_anywhere or any(r == "admin" for r in actor.organisation_roles.values())
    )


# --------------------------------------------------------------------------- create and edit


@dataclass
class OfferInput:
    kind: str
    title: str
    site_id: int
    places: int
    local_start: datetime | None  # naive wall time in the site's zone
    duration: timedelta
    description: str = ""
    category: str = ""
    organisation_id: int | None = None
    location_kind: str = "site"
    address: str = ""
    online_url: str = ""
    requirements: list[str] = field(default_factory=list)
    contact_name: str = ""
    contact_email: str = ""
    repeat: str = "none"
    count: int = 1
    is_published: bool = True
    # Rooms or things of the site a task reserves for all its dates (normal bookings).
    reserve_resource_ids: list[int] = field(default_factory=list)


def _clean(data: OfferInput) -> OfferInput:
    data.kind = rules.clean_choice(data.kind, rules.OFFER_KINDS, "kind")
    data.title = rules.clean_text(data.title, rules.MAX_TITLE, "title", required=True)
    data.description = rules.clean_text(data.description, rules.MAX_DESCRIPTION, "description")
    data.category = rules.clean_text(data.category, rules.MAX_CATEGORY, "category")
    data.location_kind = rules.clean_choice(data.location_kind, rules.LOCATION_KINDS, "location_kind")
    data.address = rules.clean_text(data.address, 500, "address", required=data.location_kind == "address")
    data.online_url = rules.clean_text(data.online_url, 500, "online_url", required=data.location_kind == "online")
    if data.online_url and not data.online_url.startswith(("https://", "http://")):
        raise InvalidInput("a web address starts with https://", field="online_url")
    data.requirements = rules.clean_requirements(data.requirements)
    data.contact_name = rules.clean_text(data.contact_name, 200, "contact_name")
    data.contact_email = normalise_email(data.contact_email) if data.contact_email.strip() else ""
    data.places = rules.clean_places(data.places)
    data.repeat = rules.clean_choice(data.repeat, rules.REPEATS, "repeat")
    if data.reserve_resource_ids and data.kind != "task":
        raise InvalidInput("only a task reserves rooms or things", field="reserve")
    return data


def _dates_of(data: OfferInput, timezone: str, now: datetime) -> list[tuple[datetime, datetime]]:
    """The offer's dates as UTC instants: one, or a series expanded in the site's local time."""
    if data.local_start is None:
        raise InvalidInput("please enter a date and time", field="starts_at")
    rules.check_duration(data.duration)
    if data.repeat == "none":
        rule = RecurrenceRule("daily", count=1)
    else:
        if not 1 <= data.count <= rules.MAX_DATES:
            raise InvalidInput("between 1 and 60 dates", field="count")  # = rules.MAX_DATES
        rule = RecurrenceRule(data.repeat, count=data.count)  # type: ignore[arg-type]
    occurrences = expand(rule, data.local_start, data.duration, timezone)
    dates = [(o.starts_at, o.ends_at) for o in occurrences if o.bookable and o.starts_at is not None and o.ends_at is not None]
    if not dates:
        raise InvalidInput("this local time does not exist (the clocks change)", field="starts_at")
    if dates[0][0] <= now:
        raise InvalidInput("the first date must lie in the future", field="starts_at")
    return dates  # type: ignore[return-value]


async def create_offer(app: AppContext, actor: Principal, data: OfferInput) -> Offer:
    """Publish an offer with its dates and its hidden places resource; optionally reserve rooms or
    things of the site for every date in the same transaction (a conflict refuses all of it)."""
    data = _clean(data)
    if not may_create_offer(actor, data.site_id, data.organisation_id):
        raise PermissionDenied("you may publish offers only for your organisation or your site", field="organisation_id")
    now = app.now()
    async with app.database.transaction() as session:
        site = await session.get(Site, data.site_id)
        if site is None:
            raise NotFound("this site does not exist", field="site_id")
        if data.organisation_id is not None and await session.get(Organisation, data.organisation_id) is None:
            raise NotFound("this organisation does not exist", field="organisation_id")
        dates = _dates_of(data, site.timezone, now)
        offer = Offer(
            kind=data.kind, title=data.title, description=data.description, category=data.category, site_id=site.id,  # type: ignore[arg-type]
            organisation_id=data.organisation_id, location_kind=data.location_kind, address=data.address,
            online_url=data.online_url, requirements=data.requirements, contact_name=data.contact_name,
            contact_email=data.contact_email, places=data.places, is_published=data.is_published,
            created_by_id=actor.user_id, created_at=now, updated_at=now,
        )
        session.add(offer)
        await session.flush()
        resource = Resource(
            site_id=site.id, kind=rules.OFFER_RESOURCE_KIND, name=f"offer-{offer.id}", category="",  # type: ignore[arg-type]
            capacity=data.places, visibility=HIDDEN_VISIBILITY, created_at=now,
        )
        session.add(resource)
        await session.flush()
        # Places are bookable around the clock, up to the offer's last date: no opening hours,
        # lead time or horizon of their own (the offer's dates decide).
        session.add(Policy(resource_id=resource.id, opening_hours_mode="ignore", min_duration_minutes=1,  # type: ignore[arg-type]
                           max_duration_minutes=None, max_horizon_days=None, lead_time_minutes=0))
        offer.resource_id = resource.id
        for starts_at, ends_at in dates:
            session.add(OfferDate(offer_id=offer.id, starts_at=starts_at, ends_at=ends_at))  # type: ignore[arg-type]
        if data.reserve_resource_ids:
            offer.reserved_booking_ids = await _reserve(session, app, actor, site, data, dates, now)
        session.add(offer)
        await session.flush()
    return offer


async def _reserve(
    session: AsyncSession, app: AppContext, actor: Principal, site: Site, data: OfferInput,
    dates: Sequence[tuple[datetime, datetime]], now: datetime,
) -> list[int]:
    """Book the chosen rooms/things of the site for every date through the booking engine."""
    booking_ids: list[int] = []
    for resource_id in sorted(set(data.reserve_resource_ids)):  # one lock order: no deadlocks
        placement = await lock_for_booking(session, actor, resource_id, organisation_id=data.organisation_id)
        if placement.resource.site_id != site.id or placement.resource.kind == rules.OFFER_RESOURCE_KIND:
            raise InvalidInput("reserve rooms or things of the offer's site", field="reserve")
        await check_booker(session, actor, placement, data.organisation_id)
        for starts_at, ends_at in dates:
            interval = Interval(starts_at, ends_at)
            try:
                decision = await check_placement(session, placement, interval, 1, now=now)
            except Conflict as conflict:
                conflict.field = "reserve"
                raise
            except DomainError as error:
                error.field = "reserve"
                raise
            request = BookingRequest(resource_id, starts_at, ends_at, organisation_id=data.organisation_id, title=data.title)
            booking = new_booking(placement, actor, request, interval, decision=decision)
            session.add(booking)
            await session.flush()
            record_event(session, booking, actor_id=actor.user_id, action="created", from_status=None, to_status=booking.status)
            await notifications.booking_created(session, app, booking)
            booking_ids.append(booking.id)  # type: ignore[arg-type]
    return booking_ids


async def update_offer(app: AppContext, actor: Principal, offer_id: int, data: OfferInput) -> Offer:
    """Change what an offer says and its places per date (dates stay: cancel and publish anew).

    Fewer places than a date already has sign-ups for is refused; the capacity changes under
    the resource's lock, so no sign-up slips in between the count and the change.
    """
    data = _clean(data)
    now = app.now()
    async with app.database.transaction() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or not may_manage(actor, offer):
            raise NotFound("this offer does not exist")
        if data.organisation_id != offer.organisation_id and not may_create_offer(actor, offer.site_id, data.organisation_id):
            raise PermissionDenied("you may publish offers only for your organisation or your site", field="organisation_id")
        placement = await lock_places(session, offer)
        if data.places < offer.places:
            most = await _most_taken(session, offer, now)
            if data.places < most:
                raise InvalidInput("a date already has more sign-ups than that", field="places")
        for name in ("kind", "title", "description", "category", "location_kind", "address", "online_url", "requirements",
                     "contact_name", "contact_email", "places", "is_published", "organisation_id"):
            setattr(offer, name, getattr(data, name))
        offer.updated_at = now
        placement.resource.capacity = data.places
        session.add_all([offer, placement.resource])
        await session.flush()
    return offer


async def cancel_offer(app: AppContext, actor: Principal, offer_id: int) -> Offer:
    """Take an offer off the calendar; its participants' places are cancelled with a mail."""
    now = app.now()
    async with app.database.transaction() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or not may_manage(actor, offer):
            raise NotFound("this offer does not exist")
        await lock_places(session, offer)
        offer.cancelled_at, offer.updated_at = now, now
        session.add(offer)
        rows = (await session.exec(select(OfferSignup).where(OfferSignup.offer_id == offer.id, OfferSignup.status == CONFIRMED))).all()
        for signup in rows:
            offer_date = await session.get(OfferDate, signup.offer_date_id)
            if offer_date is not None and offer_date.ends_at > now:
                await _cancel_signup(session, app, offer, offer_date, signup, actor_id=actor.user_id, by_organiser=True)
    return offer


async def _most_taken(session: AsyncSession, offer: Offer, now: datetime) -> int:
    statement = (
        select(func.coalesce(func.sum(Booking.quantity), 0))
        .where(Booking.resource_id == offer.resource_id, col(Booking.status).in_([s.value for s in HOLDING]), Booking.ends_at > now)
        .group_by(Booking.starts_at)
    )
    values = (await session.exec(statement)).all()
    return max((int(v) for v in values), default=0)


@dataclass
class FormChoices:
    sites: list[Site]
    organisations: list[Organisation]
    reservable: list[tuple[int, str, str]]  # resource id, site name, resource name


async def form_choices(app: AppContext, actor: Principal) -> FormChoices:
    """Sites and organisations ``actor`` may publish for, and rooms/things a task may reserve."""
    admin_of = [oid for oid, role in actor.organisation_roles.items() if role == "admin"]
    async with app.database.reader() as session:
        sites_statement = select(Site).order_by(col(Site.name))
        if not actor.is_city_admin and not admin_of:
            sites_statement = sites_statement.where(col(Site.id).in_(list(actor.site_roles)))
        sites = list((await session.exec(sites_statement.limit(500))).all())
        organisations_statement = select(Organisation).order_by(col(Organisation.name))
        if not actor.is_city_admin:
            organisations_statement = organisations_statement.where(col(Organisation.id).in_(admin_of))
        organisations = list((await session.exec(organisations_statement.limit(500))).all())
        site_names = {s.id: s.name for s in sites}
        resources = (await session.exec(
            select(Resource).where(col(Resource.site_id).in_(list(site_names)), col(Resource.kind).in_(("room", "item")),
                                   col(Resource.is_active).is_(True))
            .order_by(col(Resource.site_id), col(Resource.kind), col(Resource.name)).limit(200)
        )).all()
    return FormChoices(sites, organisations, [(r.id, site_names[r.site_id], r.name) for r in resources])  # type: ignore[misc]


async def site_timezone(app: AppContext, site_id: int) -> str:
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("this site does not exist", field="site_id")
    return site.timezone


async def offer_id_of_date(app: AppContext, actor: Principal, date_id: int) -> int:
    """The offer of a date, for its organisers (others: NotFound)."""
    async with app.database.reader() as session:
        offer, _ = await _managed_date(session, actor, date_id)
    return offer.id  # type: ignore[return-value]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class DateView:
    id: int
    starts_at: datetime
    ends_at: datetime
    taken: int
    free: int
    is_cancelled: bool = False


@dataclass
class OfferView:
    offer: Offer
    site: Site
    organisation: Organisation | None
    dates: list[DateView]

    @property
    def next_date(self) -> DateView | None:
        return self.dates[0] if self.dates else None

    @property
    def free_anywhere(self) -> bool:
        return any(d.free > 0 for d in self.dates)


async def _taken_by_date(session: AsyncSession, resource_ids: Sequence[int], since: datetime) -> dict[tuple[int, datetime], int]:
    """Places held per (resource, start): the engine's holding bookings, summed."""
    if not resource_ids:
        return {}
    statement = (
        select(Booking.resource_id, Booking.starts_at, func.sum(Booking.quantity))
        .where(col(Booking.resource_id).in_(list(resource_ids)), col(Booking.status).in_([s.value for s in HOLDING]),
               Booking.ends_at > since)
        .group_by(Booking.resource_id, Booking.starts_at)
    )
    return {(rid, _utc(starts)): int(total) for rid, starts, total in (await session.exec(statement)).all()}


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date_views(offer: Offer, dates: Sequence[OfferDate], taken: dict[tuple[int, datetime], int]) -> list[DateView]:
    views = []
    for d in dates:
        used = taken.get((offer.resource_id, _utc(d.starts_at)), 0)  # type: ignore[arg-type]
        views.append(DateView(d.id, d.starts_at, d.ends_at, used, 0 if d.is_cancelled else rules.free_places(offer.places, used),  # type: ignore[arg-type]
                              d.is_cancelled))
    return views


@dataclass
class OfferPage:
    items: list[OfferView]
    page: int
    pages: int
    total: int
    categories: list[str]
    sites: list[Site]


async def public_offers(app: AppContext, flt: rules.OfferFilter, *, page: int = 1, page_size: int = PAGE_SIZE,
                        now: datetime | None = None) -> OfferPage:
    """Published offers with upcoming dates that pass the filters, paged (bounded: at most
    ``MAX_LISTED_DATES`` upcoming dates are read)."""
    now = now or app.now()
    async with app.database.reader() as session:
        rows = (await session.exec(
            select(OfferDate, Offer, Site)
            .join(Offer, Offer.id == OfferDate.offer_id)  # type: ignore[arg-type]
            .join(Site, Site.id == Offer.site_id)  # type: ignore[arg-type]
            .where(OfferDate.starts_at > now, col(OfferDate.is_cancelled).is_(False), col(Offer.is_published).is_(True),
                   col(Offer.cancelled_at).is_(None))
            .order_by(col(OfferDate.starts_at), col(OfferDate.id))
            .limit(MAX_LISTED_DATES)
        )).all()
        offers = {o.id: o for _, o, _ in rows}
        taken = await _taken_by_date(session, [o.resource_id for o in offers.values() if o.resource_id], now)
        organisation_ids = {o.organisation_id for o in offers.values() if o.organisation_id}
        organisations = {
            org.id: org for org in (await session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids)))).all()
        } if organisation_ids else {}
        all_sites = list((await session.exec(select(Site).where(col(Site.id).in_({s.id for _, _, s in rows})).order_by(col(Site.name)))).all()) if rows else []
    grouped: dict[int, OfferView] = {}
    categories: set[str] = set()
    for offer_date, offer, site in rows:
        if offer.category:
            categories.add(offer.category)
        (view,) = _date_views(offer, [offer_date], taken)
        local_day = offer_date.starts_at.astimezone(ZoneInfo(site.timezone)).date()
        if not rules.matches(flt, kind=offer.kind, category=offer.category, site_id=offer.site_id, requirements=offer.requirements,
                             free=view.free, local_day=local_day):
            continue
        if offer.id not in grouped:
            grouped[offer.id] = OfferView(offer, site, organisations.get(offer.organisation_id), [])  # type: ignore[arg-type]
        grouped[offer.id].dates.append(view)  # type: ignore[index]
    items = list(grouped.values())
    total = len(items)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    return OfferPage(items[(page - 1) * page_size: page * page_size], page, pages, total, sorted(categories, key=str.casefold), all_sites)


async def get_offer(app: AppContext, actor: Principal | None, offer_id: int, *, upcoming_only: bool = True) -> OfferView:
    """One offer with its dates and free places. Unpublished or cancelled offers only for those
    who manage them (others: NotFound, no existence oracle)."""
    now = app.now()
    async with app.database.reader() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or ((not offer.is_published or offer.cancelled_at is not None) and not may_manage(actor, offer)):
            raise NotFound("this offer does not exist")
        site = await session.get(Site, offer.site_id)
        organisation = await session.get(Organisation, offer.organisation_id) if offer.organisation_id else None
        statement = select(OfferDate).where(OfferDate.offer_id == offer.id)
        if upcoming_only:
            statement = statement.where(OfferDate.ends_at > now)
        dates = list((await session.exec(statement.order_by(col(OfferDate.starts_at)).limit(rules.MAX_DATES * 2))).all())
        taken = await _taken_by_date(session, [offer.resource_id] if offer.resource_id else [], datetime.min.replace(tzinfo=now.tzinfo))
    assert site is not None
    return OfferView(offer, site, organisation, _date_views(offer, dates, taken))


async def site_offers(app: AppContext, site_id: int, *, limit: int = 10) -> list[OfferView]:
    """Upcoming published offers at a site (for its page /orte/<id>)."""
    page = await public_offers(app, rules.OfferFilter(site_id=site_id), page_size=limit)
    return page.items


async def managed_offers(app: AppContext, actor: Principal) -> list[OfferView]:
    """The offers ``actor`` manages (organisation admin, site staff; city admins all), newest first."""
    conditions = []
    async with app.database.reader() as session:
        statement = select(Offer, Site).join(Site, Site.id == Offer.site_id).order_by(col(Offer.id).desc()).limit(200)  # type: ignore[arg-type]
        if not actor.is_city_admin:
            admin_of = [oid for oid, role in actor.organisation_roles.items() if role == "admin"]
            conditions = [col(Offer.site_id).in_(list(actor.site_roles))] + ([col(Offer.organisation_id).in_(admin_of)] if admin_of else [])
            from sqlalchemy import or_

            statement = statement.where(or_(*conditions))
        rows = (await session.exec(statement)).all()
    return [OfferView(offer, site, None, []) for offer, site in rows]


# --------------------------------------------------------------------------- sign-up


@dataclass
class SignupResult:
    confirmed: list[OfferDate] = field(default_factory=list)
    full: list[OfferDate] = field(default_factory=list)
    already: list[OfferDate] = field(default_factory=list)


def _bookable_dates(dates: Sequence[OfferDate], date_id: int | None, now: datetime) -> list[OfferDate]:
    chosen = [d for d in dates if not d.is_cancelled and _utc(d.starts_at) > now and (date_id is None or d.id == date_id)]
    if not chosen:
        raise InvalidInput("this date cannot be signed up for (any more)", field="date_id")
    return chosen


async def _load_open_offer(session: AsyncSession, offer_id: int) -> tuple[Offer, list[OfferDate]]:
    offer = await session.get(Offer, offer_id)
    if offer is None or not offer.is_published or offer.cancelled_at is not None:
        raise NotFound("this offer does not exist")
    dates = list((await session.exec(select(OfferDate).where(OfferDate.offer_id == offer.id).order_by(col(OfferDate.starts_at)))).all())
    return offer, dates


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
    result = SignupResult()
    for offer_date, pending in wanted:
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
            await date_is_full(session, app, offer, offer_date, person)
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
        offer = await session.get(Offer, signup.offer_id)
        offer_date = await session.get(OfferDate, signup.offer_date_id)
        assert offer is not None and offer_date is not None
        if _utc(offer_date.ends_at) <= now:
            raise PolicyViolation("this date is over")
        await lock_places(session, offer)
        await _cancel_signup(session, app, offer, offer_date, signup, actor_id=signup.user_id)
    return CancelView(offer.title, offer_date.starts_at, offer_date.ends_at)


async def cancel_own_signup(app: AppContext, actor: Principal, signup_id: int) -> None:
    """A signed-in person cancels their own place (the engagement page)."""
    now = app.now()
    async with app.database.transaction() as session:
        signup = await session.get(OfferSignup, signup_id)
        if signup is None or signup.user_id != actor.user_id or signup.status != CONFIRMED:
            raise NotFound("this sign-up does not exist")
        offer = await session.get(Offer, signup.offer_id)
        offer_date = await session.get(OfferDate, signup.offer_date_id)
        assert offer is not None and offer_date is not None
        if _utc(offer_date.ends_at) <= now:
            raise PolicyViolation("this date is over")
        await lock_places(session, offer)
        await _cancel_signup(session, app, offer, offer_date, signup, actor_id=actor.user_id)


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


# --------------------------------------------------------------------------- mail


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


# --------------------------------------------------------------------------- organisers


@dataclass(frozen=True)
class Participant:
    signup_id: int
    name: str
    email: str  # "" unless the viewer may contact participants
    phone: str
    status: str
    attendance: str


@dataclass
class DateParticipants:
    date: DateView
    participants: list[Participant]
    may_mark: bool
    waiting: list[Waiter] = field(default_factory=list)


async def participants(app: AppContext, actor: Principal, offer_id: int) -> tuple[OfferView, list[DateParticipants]]:
    """Participants per date for the offer's organisers; contact details for them only."""
    view = await get_offer(app, actor, offer_id, upcoming_only=False)
    if not may_manage(actor, view.offer):
        raise NotFound("this offer does not exist")
    now = app.now()
    async with app.database.reader() as session:
        rows = (await session.exec(
            select(OfferSignup, User).join(User, User.id == OfferSignup.user_id)  # type: ignore[arg-type]
            .where(OfferSignup.offer_id == offer_id, col(OfferSignup.status).in_([CONFIRMED, CANCELLED]))
            .order_by(col(User.display_name), col(OfferSignup.id))
        )).all()
        waiting = await _waiting_by_date(session, view.offer, view.dates, now)
    by_date: dict[int, list[Participant]] = defaultdict(list)
    for signup, user in rows:
        by_date[signup.offer_date_id].append(
            Participant(signup.id, user.display_name, user.email, user.phone, signup.status, signup.attendance)  # type: ignore[arg-type]
        )
    return view, [
        DateParticipants(d, by_date.get(d.id, []), rules.may_mark_attendance(_utc(d.starts_at), now), waiting.get(d.id, []))
        for d in view.dates
    ]


async def _managed_date(session: AsyncSession, actor: Principal, date_id: int) -> tuple[Offer, OfferDate]:
    offer_date = await session.get(OfferDate, date_id)
    offer = await session.get(Offer, offer_date.offer_id) if offer_date is not None else None
    if offer is None or offer_date is None or not may_manage(actor, offer):
        raise NotFound("this date does not exist")
    return offer, offer_date


async def mark_attendance(app: AppContext, actor: Principal, date_id: int, marks: dict[int, str]) -> int:
    """Mark confirmed participants of a date present or absent, once the date has begun."""
    now = app.now()
    for value in marks.values():
        rules.clean_choice(value, rules.ATTENDANCE, "attendance")
    async with app.database.transaction() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        if not rules.may_mark_attendance(_utc(offer_date.starts_at), now):
            raise PolicyViolation("attendance can be marked once the date has begun", field="attendance")
        rows = (await session.exec(select(OfferSignup).where(
            OfferSignup.offer_date_id == date_id, OfferSignup.status == CONFIRMED, col(OfferSignup.id).in_(list(marks))))).all()
        for signup in rows:
            signup.attendance = marks[signup.id]  # type: ignore[index]
            session.add(signup)
    return len(rows)


@dataclass
class SignInSheet:
    offer: Offer
    site: Site
    organisation: Organisation | None
    date: OfferDate
    names: list[str]


async def sign_in_sheet(app: AppContext, actor: Principal, date_id: int) -> SignInSheet:
    async with app.database.reader() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        site = await session.get(Site, offer.site_id)
        organisation = await session.get(Organisation, offer.organisation_id) if offer.organisation_id else None
        names = list((await session.exec(
            select(User.display_name).join(OfferSignup, OfferSignup.user_id == User.id)  # type: ignore[arg-type]
            .where(OfferSignup.offer_date_id == date_id, OfferSignup.status == CONFIRMED).order_by(col(User.display_name))
        )).all())
    assert site is not None
    return SignInSheet(offer, site, organisation, offer_date, names)


async def message_participants(app: AppContext, actor: Principal, date_id: int, text: str) -> int:
    """A message to every confirmed participant of a date, one outbox row each (no one sees the
    others' addresses). Returns how many. Rate limits are the caller's (web)."""
    text = rules.clean_text(text, rules.MAX_MESSAGE, "message", required=True)
    now = app.now()
    async with app.database.transaction() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        site = await session.get(Site, offer.site_id)
        assert site is not None
        users = (await session.exec(
            select(User).join(OfferSignup, OfferSignup.user_id == User.id)  # type: ignore[arg-type]
            .where(OfferSignup.offer_date_id == date_id, OfferSignup.status == CONFIRMED)
        )).all()
        for user in users:
            await enqueue(
                session, settings=app.settings, kind="offer_message", recipient=user.email, language=user.language, now=now,
                context=_offer_context(offer, site, offer_date, recipient_name=user.display_name, message_text=text,
                                       sender_name=actor.display_name),
            )
    return len(users)


# --------------------------------------------------------------------------- engagement record


@dataclass
class EngagementRecord:
    person_name: str
    attended: list[rules.AttendedDate]
    upcoming: list[tuple[int, str, datetime, datetime, str]]  # signup id, title, start, end, timezone
    hours: float
    timezone: str


async def engagement_record(app: AppContext, actor: Principal) -> EngagementRecord:
    """The person's attended dates and hours (only dates marked present count) and upcoming places."""
    now = app.now()
    async with app.database.reader() as session:
        rows = (await session.exec(
            select(OfferSignup, Offer, OfferDate, Site)
            .join(Offer, Offer.id == OfferSignup.offer_id)  # type: ignore[arg-type]
            .join(OfferDate, OfferDate.id == OfferSignup.offer_date_id)  # type: ignore[arg-type]
            .join(Site, Site.id == Offer.site_id)  # type: ignore[arg-type]
            .where(OfferSignup.user_id == actor.user_id, OfferSignup.status == CONFIRMED)
            .order_by(col(OfferDate.starts_at))
        )).all()
        organisation_ids = {o.organisation_id for _, o, _, _ in rows if o.organisation_id}
        organisations = {
            org.id: org.name for org in (await session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids)))).all()
        } if organisation_ids else {}
    attended = [
        rules.AttendedDate(o.title, organisations.get(o.organisation_id, site.name), d.starts_at, d.ends_at, s.attendance)  # type: ignore[arg-type]
        for s, o, d, site in rows if s.attendance == "present"
    ]
    upcoming = [(s.id, o.title, d.starts_at, d.ends_at, site.timezone) for s, o, d, site in rows if _utc(d.ends_at) > now]
    timezone = rows[0][3].timezone if rows else app.settings.default_timezone
    return EngagementRecord(actor.display_name, attended, upcoming, rules.attended_hours(attended), timezone)  # type: ignore[arg-type]


def local_day(value: datetime, timezone: str) -> date:
    return value.astimezone(ZoneInfo(timezone)).date()
