"""Publishing volunteer offers: create (with its places resource and optional room reservations),
edit, cancel, and the choices of the form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import HIDDEN_VISIBILITY
from booking.auth.principal import Principal
from booking.domain import offers as rules
from booking.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from booking.domain.intervals import Interval
from booking.domain.lifecycle import HOLDING_VALUES, Action
from booking.domain.recurrence import RecurrenceRule, expand
from booking.models import Booking, Offer, OfferDate, OfferSignup, Organisation, Policy, Resource, Site, WaitingListEntry
from booking.services import notifications
from booking.services.accounts import normalise_email
from booking.services.audit import record_event
from booking.services.bookings import BookingRequest, check_booker, check_placement, lock_for_booking, new_booking, transition
from booking.services.context import AppContext
from booking.services.offer_permissions import may_create_offer, may_manage
from booking.services.offer_places import CONFIRMED, lock_places, most_taken_per_date
from booking.services.offer_signups import _cancel_signup
from booking.services.offer_waiting_list import places_raised


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


def local_schedule(starts_at: datetime, ends_at: datetime, timezone: str) -> tuple[datetime, timedelta]:
    """A first date given as two instants (a form's local times, the API's instants with an
    offset) as ``OfferInput`` takes it: the start's wall time in the site's zone and the length
    (a series repeats that wall time across DST)."""
    from zoneinfo import ZoneInfo

    return starts_at.astimezone(ZoneInfo(timezone)).replace(tzinfo=None), ends_at - starts_at


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
    now = app.now()
    async with app.database.transaction() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or not may_manage(actor, offer):
            raise NotFound("this offer does not exist")  # before any input is looked at: no oracle
        data = _clean(data)
        if data.organisation_id != offer.organisation_id and not may_create_offer(actor, offer.site_id, data.organisation_id):
            raise PermissionDenied("you may publish offers only for your organisation or your site", field="organisation_id")
        placement = await lock_places(session, offer)
        if data.places < offer.places:
            most = await most_taken_per_date(session, offer, now)
            if data.places < most:
                raise InvalidInput("a date already has more sign-ups than that", field="places")
        raised = data.places > offer.places
        for name in ("kind", "title", "description", "category", "location_kind", "address", "online_url", "requirements",
                     "contact_name", "contact_email", "places", "is_published", "organisation_id"):
            setattr(offer, name, getattr(data, name))
        offer.updated_at = now
        placement.resource.capacity = data.places
        session.add_all([offer, placement.resource])
        await session.flush()
        if raised:
            await places_raised(session, app, offer)
    return offer


@dataclass(frozen=True)
class CancelPreview:
    """What cancelling an offer does, for the page that asks "really?"."""

    offer: Offer
    participants: int  # confirmed places on dates still ahead: each is told by mail with a CANCEL invite
    waiting: int  # people on the waiting lists: each is told by mail
    dates: int  # dates still ahead


async def cancel_preview(app: AppContext, actor: Principal, offer_id: int) -> CancelPreview:
    """For the offer's organisers (others: NotFound): how many people a cancel would tell."""
    from booking.domain.waiting_list import OPEN

    now = app.now()
    async with app.database.reader() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or not may_manage(actor, offer):
            raise NotFound("this offer does not exist")
        participants = (await session.exec(
            select(func.count()).select_from(OfferSignup).join(OfferDate, OfferDate.id == OfferSignup.offer_date_id)  # type: ignore[arg-type]
            .where(OfferSignup.offer_id == offer.id, OfferSignup.status == CONFIRMED, OfferDate.ends_at > now)
        )).one()
        waiting = (await session.exec(select(func.count()).select_from(WaitingListEntry).where(
            WaitingListEntry.resource_id == offer.resource_id, col(WaitingListEntry.status).in_(OPEN)))).one()
        dates = (await session.exec(select(func.count()).select_from(OfferDate).where(
            OfferDate.offer_id == offer.id, OfferDate.ends_at > now, col(OfferDate.is_cancelled).is_(False)))).one()
    return CancelPreview(offer, int(participants), int(waiting), int(dates))


async def cancel_offer(app: AppContext, actor: Principal, offer_id: int) -> Offer:
    """Take an offer off the calendar; its participants' places are cancelled with a mail (and
    a CANCEL invite), the people on its waiting lists are taken off them with a mail. Once."""
    from booking.services import waiting_list_staff

    now = app.now()
    async with app.database.transaction() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or not may_manage(actor, offer):
            raise NotFound("this offer does not exist")
        await lock_places(session, offer)
        await session.refresh(offer)
        if offer.cancelled_at is not None:
            raise TransitionNotAllowed("this offer has been cancelled already")
        offer.cancelled_at, offer.updated_at = now, now
        session.add(offer)
        rows = (await session.exec(select(OfferSignup).where(OfferSignup.offer_id == offer.id, OfferSignup.status == CONFIRMED))).all()
        for signup in rows:
            offer_date = await session.get(OfferDate, signup.offer_date_id)
            if offer_date is not None and offer_date.ends_at > now:
                await _cancel_signup(session, app, offer, offer_date, signup, actor_id=actor.user_id, by_organiser=True)
        await waiting_list_staff.close_line(session, app, actor, offer.resource_id)  # type: ignore[arg-type]
        # The rooms and things the task reserved are free again (their booker is told as for
        # any cancel, and their waiting lists get the time).
        if offer.reserved_booking_ids:
            reserved = (await session.exec(
                select(Booking).where(col(Booking.id).in_(list(offer.reserved_booking_ids)),
                                      col(Booking.status).in_(HOLDING_VALUES), Booking.ends_at > now)
                .order_by(col(Booking.resource_id), col(Booking.starts_at))
            )).all()
            for booking in reserved:
                await transition(session, app, actor, booking, Action.CANCEL, reason="offer cancelled")
    return offer


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
