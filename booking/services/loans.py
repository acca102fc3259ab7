"""Lending things: day spans, kits, hand-out and take-back, overdue loans, repair blocks, history.

Every writing use case is one transaction that locks the resources it touches (in id order,
``db.locking.lock_resources``) before it reads what it decides on, like ``services.bookings``:
two lenders handing out the same thing, or a kit racing a single booking for its screen,
serialise on those locks.

Overdue (checked out, past its end) is derived, never stored. ``load_holdings(..., now=)``
keeps an overdue thing holding its units until it is taken back, so new bookings cannot take
them; ``following_blocked`` finds the bookings already made that can no longer be served and
tells their bookers once; taking the thing back lifts the block.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import can_hand_out, can_see_resource
from booking.auth.principal import Principal
from booking.db.errors import is_overlap_violation
from booking.db.locking import lock_resources
from booking.domain import lending
from booking.domain.availability import Holding, conflicting
from booking.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.lifecycle import Action, Status, is_overdue, next_status
from booking.models import Blackout, Booking, BookingEvent, Loan, Organisation, Resource, Site, User
from booking.services import bookings as booking_service
from booking.services import notifications
from booking.services.alternatives import suggest_alternatives
from booking.services.audit import record_event
from booking.services.bookings import (
    BookingRequest,
    TakenInterval,
    check_booker,
    check_placement,
    lock_for_booking,
    new_booking,
    transition,
)
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_holdings, load_rules

MAX_KIT_PARTS = 20
MAX_NOTE = 2000
MAX_DEPOSIT_NOTE = 500
MAX_REPAIR_REASON = 500
# following_blocked looks this far ahead: a booking starting later may still be served when
# the thing comes back in time; the daily overdue job reaches it on a later day.
FOLLOWING_NOTICE_AHEAD = timedelta(days=3)
MAX_LIST = 500


def _clean(value: str, limit: int, field_name: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field_name)
    return value


# ---------------------------------------------------------------- spans of days


def day_span(site: Site, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """(pick-up, return): opening time of ``first_day`` and closing time of ``last_day``, in UTC.

    Raises PolicyViolation naming the day when the site is closed on the first or last day.
    """
    interval = lending.day_span(site.opening_hours, site.timezone, first_day, last_day)
    return interval.starts_at, interval.ends_at


def whole_days(site: Site, first_day: date, last_day: date) -> Interval:
    """Local midnight of ``first_day`` to local midnight after ``last_day`` (repair blocks)."""
    if last_day < first_day:
        raise InvalidInput("the last day must not be before the first day", field="last_day")
    zone = ZoneInfo(site.timezone)
    return Interval(
        datetime.combine(first_day, time(0), zone), datetime.combine(last_day + timedelta(days=1), time(0), zone)
    ).in_utc()


async def _visible_resource(session: AsyncSession, actor: Principal | None, resource_id: int) -> tuple[Resource, Site]:
    resource = await session.get(Resource, resource_id)
    if resource is None or not resource.is_active or not can_see_resource(actor, resource.visibility, resource.site_id):
        raise NotFound(f"resource {resource_id} does not exist", field="resource_id")
    site = await session.get(Site, resource.site_id)
    assert site is not None
    return resource, site


@dataclass(frozen=True)
class DaySpanRequest:
    resource_id: int
    first_day: date
    last_day: date
    quantity: int = 1
    organisation_id: int | None = None
    title: str = ""
    purpose: str = ""
    is_public: bool = False


async def book_days(app: AppContext, actor: Principal, request: DaySpanRequest) -> Booking:
    """Book ``quantity`` units from pick-up on ``first_day`` to return on ``last_day``.

    The span comes from the site's opening hours (``day_span``); the booking itself is made
    by ``bookings.create_booking`` (locked check, alternatives on conflict, notifications).
    """
    async with app.database.reader() as session:
        _, site = await _visible_resource(session, actor, request.resource_id)
    starts_at, ends_at = day_span(site, request.first_day, request.last_day)
    return await booking_service.create_booking(
        app,
        actor,
        BookingRequest(
            resource_id=request.resource_id, starts_at=starts_at, ends_at=ends_at, quantity=request.quantity,
            organisation_id=request.organisation_id, title=request.title, purpose=request.purpose,
            is_public=request.is_public,
        ),
    )


# ---------------------------------------------------------------- kits


@dataclass(frozen=True)
class KitPart:
    resource_id: int
    quantity: int = 1


@dataclass(frozen=True)
class KitRequest:
    """Several things over one span, all or nothing: exact instants or whole days."""

    parts: tuple[KitPart, ...]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None
    organisation_id: int | None = None
    title: str = ""
    purpose: str = ""
    is_public: bool = False


def _kit_parts(parts: Sequence[KitPart]) -> list[KitPart]:
    if not parts:
        raise InvalidInput("a kit needs at least one part", field="parts")
    if len(parts) > MAX_KIT_PARTS:
        raise InvalidInput(f"a kit has at most {MAX_KIT_PARTS} parts", field="parts")
    ids = [part.resource_id for part in parts]
    if len(set(ids)) != len(ids):
        raise InvalidInput("name each resource once and give its quantity", field="parts")
    return sorted(parts, key=lambda part: part.resource_id)


def _kit_interval(request: KitRequest, site: Site) -> Interval:
    by_days = request.first_day is not None or request.last_day is not None
    by_instants = request.starts_at is not None or request.ends_at is not None
    if by_days == by_instants:
        raise InvalidInput("give either first_day and last_day or starts_at and ends_at", field="starts_at")
    if by_days:
        if request.first_day is None or request.last_day is None:
            raise InvalidInput("give both first_day and last_day", field="last_day")
        starts_at, ends_at = day_span(site, request.first_day, request.last_day)
        return Interval(starts_at, ends_at)
    if request.starts_at is None or request.ends_at is None:
        raise InvalidInput("give both starts_at and ends_at", field="ends_at")
    return Interval(request.starts_at, request.ends_at).in_utc()


async def book_kit(app: AppContext, actor: Principal, request: KitRequest) -> list[Booking]:
    """Book all parts of a kit in one transaction, or none.

    All resources are locked in id order first (no deadlock between two kits), then each part
    is checked like a single booking. A taken part fails the whole kit with a Conflict that
    names every taken part ("Leinwand 2 m is not available at that time") and carries
    alternatives for the first of them; a broken rule names its part too. The bookings share
    a ``group_key``; when one part needs approval, the whole kit is requested.
    """
    parts = _kit_parts(request.parts)
    now = app.now()
    async with app.database.reader() as session:
        found = [await _visible_resource(session, actor, part.resource_id) for part in parts]
    site_ids = {site.id for _, site in found}
    if len(site_ids) > 1:
        raise InvalidInput("all parts of a kit are picked up at one site", field="parts")
    interval = _kit_interval(request, found[0][1])
    group_key = uuid4().hex
    taken: list[tuple[KitPart, Conflict]] = []
    try:
        async with app.database.transaction() as session:
            await lock_resources(session, [part.resource_id for part in parts])
            made: list[Booking] = []
            for part in parts:
                placement = await lock_for_booking(session, actor, part.resource_id)
                try:
                    await check_booker(session, actor, placement, request.organisation_id)
                    decision = await check_placement(session, placement, interval, part.quantity, now=now)
                except Conflict as conflict:
                    taken.append((part, conflict))
                    continue
                except DomainError as error:
                    raise type(error)(f"{placement.resource.name}: {error.message}", field=error.field) from None
                single = BookingRequest(
                    resource_id=part.resource_id, starts_at=interval.starts_at, ends_at=interval.ends_at,
                    quantity=part.quantity, organisation_id=request.organisation_id, title=request.title,
                    purpose=request.purpose, is_public=request.is_public,
                )
                made.append(new_booking(placement, actor, single, interval, decision=decision, group_key=group_key))
            if taken:
                raise Conflict(
                    "; ".join(conflict.message for _, conflict in taken),
                    conflicts=[c for _, conflict in taken for c in conflict.conflicts],
                    field="parts",
                )
            if any(booking.status == Status.REQUESTED for booking in made):
                for booking in made:
                    booking.status = Status.REQUESTED.value
            session.add_all(made)
            await session.flush()
            for booking in made:
                record_event(
                    session, booking, actor_id=actor.user_id, action="created", from_status=None,
                    to_status=booking.status, details={"kit": group_key, "parts": len(made)},
                )
            # One confirmation (or request) naming every part, not one per part.
            await notifications.kit_created(session, app, made)
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        raise Conflict("a part of the kit is not available at that time", field="parts") from None
    except Conflict as conflict:
        if taken:
            first = taken[0][0]
            conflict.alternatives = await suggest_alternatives(
                app, actor, first.resource_id, interval, first.quantity,
                organisation_id=request.organisation_id, now=now,
            )
        raise
    return made


async def kit_of(app: AppContext, booking: Booking) -> list[tuple[Booking, Resource]]:
    """The bookings made together with ``booking`` (itself included), by resource id."""
    if booking.group_key is None:
        async with app.database.reader() as session:
            resource = await session.get(Resource, booking.resource_id)
        assert resource is not None
        return [(booking, resource)]
    async with app.database.reader() as session:
        return await _kit_rows(session, booking.group_key)


async def _kit_rows(session: AsyncSession, group_key: str) -> list[tuple[Booking, Resource]]:
    statement = (
        select(Booking, Resource)
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .where(Booking.group_key == group_key)
        .order_by(col(Booking.resource_id), col(Booking.id))
    )
    return [(b, r) for b, r in (await session.exec(statement)).all()]


# ---------------------------------------------------------------- hand-out and take-back


@dataclass(frozen=True)
class HandOut:
    condition: str = ""
    deposit_note: str = ""  # what was left as a deposit, if anything; no payment is handled


@dataclass(frozen=True)
class TakeBack:
    condition: str = ""
    damage_notes: str = ""
    missing_parts: str = ""


async def _members(app: AppContext, booking_id: int, whole_kit: bool, wanted: str) -> tuple[list[int], list[int]]:
    """(booking ids, resource ids) that one hand-out or take-back of ``booking_id`` covers."""
    async with app.database.reader() as session:
        booking = await session.get(Booking, booking_id)
        if booking is None:
            raise NotFound(f"booking {booking_id} does not exist")
        members = [booking]
        if whole_kit and booking.group_key is not None:
            members += [
                b for b, _ in await _kit_rows(session, booking.group_key) if b.id != booking.id and b.status == wanted
            ]
    return [b.id for b in members], sorted({b.resource_id for b in members})  # type: ignore[misc]


async def _load_locked(session: AsyncSession, booking_ids: Sequence[int], wanted: str) -> list[tuple[Booking, Resource]]:
    """The bookings again, read after their resources were locked: the first one as it is (its
    status decides), the other kit parts only while they are still in the ``wanted`` status."""
    statement = (
        select(Booking, Resource)
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .where(col(Booking.id).in_(list(booking_ids)))
    )
    rows = {b.id: (b, r) for b, r in (await session.exec(statement)).all()}
    first, *others = booking_ids
    return [rows[i] for i in [first] if i in rows] + [rows[i] for i in others if i in rows and rows[i][0].status == wanted]


async def _lock_for_step(
    session: AsyncSession,
    actor: Principal,
    booking_id: int,
    booking_ids: Sequence[int],
    resource_ids: Sequence[int],
    action: Action,
    refusal: str,
) -> list[tuple[Booking, Resource]]:
    """Lock the resources, read the bookings again and check that ``actor`` may take ``action``
    on every one of them and that the state machine allows it — 403/409 before anything is written."""
    wanted = Status.CONFIRMED.value if action == Action.CHECK_OUT else Status.CHECKED_OUT.value
    await lock_resources(session, resource_ids)
    rows = await _load_locked(session, booking_ids, wanted)
    if not rows or rows[0][0].id != booking_id:
        raise NotFound(f"booking {booking_id} does not exist")
    for booking, resource in rows:
        if not can_hand_out(actor, booking_service.facts(booking, resource)):
            raise PermissionDenied(refusal)
        next_status(booking.status, action)
    return rows


# Handing out at most this long before the booked start is "on time"; earlier, the pages ask
# first, because the booking then starts at once (it holds the units from the hand-out on).
EARLY_START_WITHOUT_ASKING = timedelta(minutes=30)


@dataclass(frozen=True)
class EarlyStart:
    """A hand-out now would start the booking early: when it was booked to start, and what."""

    booked_start: datetime
    now: datetime
    timezone: str
    names: tuple[str, ...]


async def early_start(app: AppContext, actor: Principal, booking_id: int, *, whole_kit: bool = True) -> EarlyStart | None:
    """Whether handing out ``booking_id`` now (with its kit) moves its start earlier than
    ``EARLY_START_WITHOUT_ASKING``; None when not. Checks, like ``hand_out`` and under the same
    locks, that the units are free from now until the booked start: a ``Conflict`` (409) says
    the thing is booked by someone else in between. Writes nothing; the hand-out checks again.
    """
    booking_ids, resource_ids = await _members(app, booking_id, whole_kit, Status.CONFIRMED.value)
    now = app.now()
    async with app.database.transaction() as session:
        rows = await _lock_for_step(
            session, actor, booking_id, booking_ids, resource_ids, Action.CHECK_OUT,
            "only lenders of this site may hand things out",
        )
        early = [(booking, resource) for booking, resource in rows if booking.starts_at - now > EARLY_START_WITHOUT_ASKING]
        if not early:
            return None
        own_ids = [booking.id for booking, _ in rows]
        for booking, resource in early:
            if now >= booking.ends_at:
                return None  # hand_out refuses it with its own message
            await _check_units_here(session, booking, resource, now, own_ids)  # type: ignore[arg-type]
        site = await session.get(Site, early[0][1].site_id)
        assert site is not None
        return EarlyStart(min(booking.starts_at for booking, _ in early), now, site.timezone, tuple(r.name for _, r in early))


async def hand_out(
    app: AppContext, actor: Principal, booking_id: int, details: HandOut = HandOut(), *, whole_kit: bool = True
) -> list[tuple[Booking, Loan]]:
    """A lender of the site hands out a confirmed booking (and the other confirmed parts of its kit).

    Records who and when, the condition and an optional deposit note in a Loan row, moves
    the booking to ``checked_out`` and writes the audit entry. Refused with 409 when the
    booking is not confirmed, or when the units are not here (an earlier borrower has not
    brought them back). Handed out before its start, the booking starts now, so nobody else
    can book the units it already holds (the pages ask first: ``early_start``).
    """
    condition = _clean(details.condition, MAX_NOTE, "condition")
    deposit_note = _clean(details.deposit_note, MAX_DEPOSIT_NOTE, "deposit_note")
    booking_ids, resource_ids = await _members(app, booking_id, whole_kit, Status.CONFIRMED.value)
    now = app.now()
    done: list[tuple[Booking, Loan]] = []
    try:
        async with app.database.transaction() as session:
            rows = await _lock_for_step(
                session, actor, booking_id, booking_ids, resource_ids, Action.CHECK_OUT,
                "only lenders of this site may hand things out",
            )
            for booking, resource in rows:
                if now >= booking.ends_at:
                    raise PolicyViolation(f"{resource.name}: the booking has ended, it can no longer be handed out")
            own_ids = [booking.id for booking, _ in rows]
            for booking, resource in rows:
                await _check_units_here(session, booking, resource, now, own_ids)  # type: ignore[arg-type]
            for booking, resource in rows:
                event_details: dict[str, Any] = {"condition": condition, "deposit_note": deposit_note}
                if booking.group_key:
                    event_details["kit"] = booking.group_key
                if now < booking.starts_at:
                    event_details["start_moved_from"] = booking.starts_at.isoformat()
                    booking.starts_at = now
                loan = Loan(
                    booking_id=booking.id,  # type: ignore[arg-type]
                    checked_out_at=now,
                    checked_out_by_id=actor.user_id,
                    condition_out=condition,
                    deposit_note=deposit_note,
                )
                session.add(loan)
                await transition(session, app, actor, booking, Action.CHECK_OUT, details=event_details)
                done.append((booking, loan))
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        raise Conflict("the thing is booked by someone else until its pick-up time") from None
    return done


async def _check_units_here(
    session: AsyncSession, booking: Booking, resource: Resource, now: datetime, own_ids: Sequence[int]
) -> None:
    """The units this booking takes must be here: not out with an (overdue) borrower, and
    when handed out early, not promised to someone else before its start."""
    rules = await load_rules(session, resource)
    effective = Interval(min(now, booking.starts_at), booking.ends_at)
    margin = rules.buffer_before + rules.buffer_after
    holdings = (
        await load_holdings(session, [resource.id], effective.padded(margin, margin), exclude_booking_ids=own_ids, now=now)  # type: ignore[list-item]
    )[resource.id]  # type: ignore[index]
    blocking = conflicting(holdings, effective, booking.quantity, resource.capacity, buffers_of(rules))
    if not blocking:
        return
    taken = [TakenInterval(h.interval.starts_at, h.interval.ends_at, h.quantity) for h in blocking]
    if any(h.status == Status.CHECKED_OUT for h in blocking):
        raise Conflict(
            f"{resource.name} cannot be handed out: not enough units are back from an earlier loan", conflicts=taken
        )
    raise Conflict(f"{resource.name} cannot be handed out before its pick-up time: it is booked until then", conflicts=taken)


async def take_back(
    app: AppContext, actor: Principal, booking_id: int, details: TakeBack = TakeBack(), *, whole_kit: bool = True
) -> list[tuple[Booking, Loan]]:
    """A lender of the site takes a thing back (and the other parts of its kit still out).

    Records the condition, damage and missing parts on the Loan, moves the booking to
    ``returned`` (which lifts any block an overdue return caused) and writes the audit entry.
    """
    condition = _clean(details.condition, MAX_NOTE, "condition")
    damage_notes = _clean(details.damage_notes, MAX_NOTE, "damage_notes")
    missing_parts = _clean(details.missing_parts, MAX_NOTE, "missing_parts")
    booking_ids, resource_ids = await _members(app, booking_id, whole_kit, Status.CHECKED_OUT.value)
    now = app.now()
    done: list[tuple[Booking, Loan]] = []
    async with app.database.transaction() as session:
        rows = await _lock_for_step(
            session, actor, booking_id, booking_ids, resource_ids, Action.RETURN,
            "only lenders of this site may take things back",
        )
        for booking, _resource in rows:
            loan = (await session.exec(select(Loan).where(Loan.booking_id == booking.id))).first()
            if loan is None:  # checked out before loans were recorded: keep the return anyway
                loan = Loan(booking_id=booking.id, checked_out_at=booking.starts_at, checked_out_by_id=actor.user_id)  # type: ignore[arg-type]
            loan.returned_at = now
            loan.returned_by_id = actor.user_id
            loan.condition_in = condition
            loan.damage_notes = damage_notes
            loan.missing_parts = missing_parts
            session.add(loan)
            event_details: dict[str, Any] = {
                "condition": condition, "damage_notes": damage_notes, "missing_parts": missing_parts,
            }
            if is_overdue(booking.status, booking.ends_at, now):
                event_details["overdue_minutes"] = int((now - booking.ends_at).total_seconds() // 60)
            await transition(session, app, actor, booking, Action.RETURN, details=event_details)
            done.append((booking, loan))
    return done


async def get_loan(app: AppContext, actor: Principal, booking_id: int) -> tuple[Booking, Resource, Loan | None]:
    booking, resource = await booking_service.get_booking(app, actor, booking_id)
    async with app.database.reader() as session:
        loan = (await session.exec(select(Loan).where(Loan.booking_id == booking_id))).first()
    return booking, resource, loan


# ---------------------------------------------------------------- what lenders see


@dataclass
class LoanRow:
    """One booking as a lender handles it, with who borrows it (lenders hand it to them)."""

    booking: Booking
    resource: Resource
    site: Site
    booker: User
    organisation: Organisation | None
    loan: Loan | None
    now: datetime
    kit: list[tuple[Booking, Resource]] = field(default_factory=list)

    @property
    def is_overdue(self) -> bool:
        return is_overdue(self.booking.status, self.booking.ends_at, self.now)

    @property
    def overdue_since(self) -> datetime | None:
        return self.booking.ends_at if self.is_overdue else None

    @property
    def kit_others(self) -> list[tuple[Booking, Resource]]:
        return [(b, r) for b, r in self.kit if b.id != self.booking.id]


def _lender_sites(actor: Principal, site_id: int | None) -> list[int] | None:
    """Site ids the actor lends at (None: every site, for city admins)."""
    if site_id is not None:
        if not actor.is_lender_at(site_id):
            raise PermissionDenied("you are not a lender at this site", field="site_id")
        return [site_id]
    if actor.is_city_admin:
        return None
    if not actor.site_roles:
        raise PermissionDenied("only lenders may see this")
    return sorted(actor.site_roles)


async def _loan_rows(
    session: AsyncSession, where: Iterable[Any], now: datetime, sites: list[int] | None, *, order: Any = None
) -> list[LoanRow]:
    statement = (
        select(Booking, Resource, Site, User, Organisation, Loan)
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
        .join(User, User.id == Booking.booker_id)  # type: ignore[arg-type]
        .outerjoin(Organisation, Organisation.id == Booking.organisation_id)  # type: ignore[arg-type]
        .outerjoin(Loan, Loan.booking_id == Booking.id)  # type: ignore[arg-type]
        .where(*where)
        .order_by(order if order is not None else col(Booking.starts_at), col(Booking.id))
        .limit(MAX_LIST)
    )
    if sites is not None:
        statement = statement.where(col(Resource.site_id).in_(sites))
    rows = [
        LoanRow(booking, resource, site, user, organisation, loan, now)
        for booking, resource, site, user, organisation, loan in (await session.exec(statement)).all()
    ]
    keys = {row.booking.group_key for row in rows if row.booking.group_key}
    kits: dict[str, list[tuple[Booking, Resource]]] = {key: await _kit_rows(session, key) for key in keys}
    for row in rows:
        if row.booking.group_key:
            row.kit = kits[row.booking.group_key]
    return rows


async def find_overdue(app: AppContext, now: datetime | None = None, *, site_ids: Sequence[int] | None = None) -> list[LoanRow]:
    """Every booking checked out and not back by its end (all sites, or ``site_ids``), oldest first.

    For the reminder job: each row carries the booking, resource, site, borrower, organisation
    and loan.
    """
    now = now or app.now()
    async with app.database.reader() as session:
        return await _loan_rows(
            session, [Booking.status == Status.CHECKED_OUT.value, Booking.ends_at <= now], now,
            list(site_ids) if site_ids is not None else None, order=col(Booking.ends_at),
        )


async def list_lent_out(app: AppContext, actor: Principal, site_id: int | None = None) -> list[LoanRow]:
    """Everything handed out and not back at the actor's sites: overdue first (they end
    earliest), then by due time."""
    sites = _lender_sites(actor, site_id)
    async with app.database.reader() as session:
        return await _loan_rows(
            session, [Booking.status == Status.CHECKED_OUT.value], app.now(), sites, order=col(Booking.ends_at),
        )


async def list_overdue(app: AppContext, actor: Principal, site_id: int | None = None) -> list[LoanRow]:
    """The overdue loans at the actor's sites (all sites for city admins)."""
    sites = _lender_sites(actor, site_id)
    return await find_overdue(app, app.now(), site_ids=sites)


@dataclass
class LenderDay:
    day: date
    pickups: list[LoanRow]
    returns: list[LoanRow]
    overdue: list[LoanRow]
    sites: list[Site]


async def lender_today(
    app: AppContext, actor: Principal, day: date | None = None, site_id: int | None = None
) -> LenderDay:
    """Hand-outs and returns due on ``day`` (default today) at the actor's sites, and what is overdue.

    Pick-ups: confirmed bookings of things starting that day (today also those whose pick-up
    was missed but which have not ended). Returns: things out that are due back that day.
    Days are each site's local days.
    """
    sites = _lender_sites(actor, site_id)
    now = app.now()
    async with app.database.reader() as session:
        site_statement = select(Site).order_by(col(Site.name))
        if sites is not None:
            site_statement = site_statement.where(col(Site.id).in_(sites))
        site_rows = list((await session.exec(site_statement)).all())
        zone_name = site_rows[0].timezone if site_rows else "Europe/Berlin"
        today = now.astimezone(ZoneInfo(zone_name)).date()
        day = day or today
        # A generous UTC window around the local day; each row is then judged in its site's zone.
        low = datetime.combine(day - timedelta(days=1), time(0), UTC)
        high = datetime.combine(day + timedelta(days=2), time(0), UTC)
        item = Resource.kind == "item"
        pickup_where: list[Any] = [item, Booking.status == Status.CONFIRMED.value, Booking.starts_at < high]
        if day != today:
            pickup_where.append(Booking.starts_at >= low)
        else:
            pickup_where.append(Booking.ends_at > now)
        pickups = await _loan_rows(session, pickup_where, now, sites)
        returns = await _loan_rows(
            session,
            [item, Booking.status == Status.CHECKED_OUT.value, Booking.ends_at >= low, Booking.ends_at < high],
            now, sites, order=col(Booking.ends_at),
        )
        overdue = await _loan_rows(
            session, [Booking.status == Status.CHECKED_OUT.value, Booking.ends_at <= now], now, sites,
            order=col(Booking.ends_at),
        )

    def local_day(instant: datetime, site: Site) -> date:
        return instant.astimezone(ZoneInfo(site.timezone)).date()

    pickups = [
        row for row in pickups
        if local_day(row.booking.starts_at, row.site) == day
        or (day == today and local_day(row.booking.starts_at, row.site) < day)
    ]
    # A return at midnight ("24:00") belongs to the day that ends there.
    returns = [row for row in returns if local_day(row.booking.ends_at - timedelta(microseconds=1), row.site) == day]
    return LenderDay(day, pickups, returns, overdue, site_rows)


# ---------------------------------------------------------------- overdue blocks following bookings


async def following_blocked(
    app: AppContext, overdue_booking: Booking | int, *, now: datetime | None = None, ahead: timedelta = FOLLOWING_NOTICE_AHEAD
) -> list[Booking]:
    """Later bookings of the overdue thing's resource that cannot be served while it is out.

    Considers requested and confirmed bookings that have not ended and start within ``ahead``;
    serves them first come first (by start) with the overdue units held indefinitely and
    keeps those that would be served if the thing were back — those are blocked by it. Their
    bookers are told once (outbox dedupe key per blocked/overdue pair) and the booking's
    history notes it once. Empty when the booking is not overdue (e.g. taken back).
    """
    now = now or app.now()
    async with app.database.transaction() as session:
        return await _following_blocked(session, app, overdue_booking, now, ahead)


async def _following_blocked(
    session: AsyncSession, app: AppContext, overdue_booking: Booking | int, now: datetime, ahead: timedelta
) -> list[Booking]:
    booking_id = overdue_booking if isinstance(overdue_booking, int) else overdue_booking.id
    overdue = await session.get(Booking, booking_id)
    if overdue is None:
        raise NotFound(f"booking {booking_id} does not exist")
    resource = (await lock_resources(session, [overdue.resource_id]))[overdue.resource_id]
    await session.refresh(overdue)
    if not is_overdue(overdue.status, overdue.ends_at, now):
        return []
    rules = await load_rules(session, resource)
    horizon = now + ahead
    statement = select(Booking).where(
        Booking.resource_id == resource.id,
        col(Booking.status).in_((Status.REQUESTED.value, Status.CONFIRMED.value, Status.CHECKED_OUT.value)),
        Booking.ends_at > now,
        Booking.starts_at < horizon,
        Booking.id != overdue.id,
    )
    others = list((await session.exec(statement)).all())
    longest_end = max([b.ends_at for b in others] + [horizon])
    before, after = rules.buffer_before, rules.buffer_after

    def held(booking: Booking, stretch_to: datetime | None = None) -> Holding:
        interval = Interval(booking.starts_at, max(booking.ends_at, stretch_to) if stretch_to else booking.ends_at)
        return Holding(interval.padded(before, after), booking.quantity, booking.status)

    out = [b for b in others if b.status == Status.CHECKED_OUT.value]
    fixed_without = [held(b, longest_end + timedelta(seconds=1) if is_overdue(b.status, b.ends_at, now) else None) for b in out]
    fixed_with = [*fixed_without, held(overdue, longest_end + timedelta(seconds=1))]
    candidates = sorted((b for b in others if b.status != Status.CHECKED_OUT.value), key=lambda b: (b.starts_at, b.id or 0))
    keyed = [(b.id, held(b)) for b in candidates]
    refused_anyway = set(lending.unserved(resource.capacity, fixed_without, keyed))
    refused = [key for key in lending.unserved(resource.capacity, fixed_with, keyed) if key not in refused_anyway]
    blocked = [b for b in candidates if b.id in refused]
    for booking in blocked:
        await notifications.blocked_by_overdue(session, app, booking, overdue)
        already = (
            await session.exec(
                select(BookingEvent.id).where(
                    BookingEvent.booking_id == booking.id, BookingEvent.action == "blocked_by_overdue"
                )
            )
        ).all()
        if not already:
            record_event(
                session, booking, actor_id=None, action="blocked_by_overdue", from_status=booking.status,
                to_status=booking.status, details={"overdue_booking_id": overdue.id},
            )
    return blocked


async def notify_overdue(app: AppContext, now: datetime | None = None) -> list[LoanRow]:
    """For the scheduled job: overdue notices (borrower and lenders, once a day each) and
    the bookers of following bookings that cannot be served (once). One transaction per loan."""
    now = now or app.now()
    overdue = await find_overdue(app, now)
    for row in overdue:
        async with app.database.transaction() as session:
            booking = await session.get(Booking, row.booking.id)
            if booking is None or not is_overdue(booking.status, booking.ends_at, now):
                continue
            await notifications.overdue_notice(session, app, booking)
            await _following_blocked(session, app, booking, now, FOLLOWING_NOTICE_AHEAD)
    return overdue


# ---------------------------------------------------------------- repair blocks


@dataclass
class RepairReport:
    """A new repair block and the bookings in its period, for the lender to handle."""

    blackout: Blackout
    resource: Resource
    affected: list[LoanRow]


async def block_for_repair(
    app: AppContext, actor: Principal, resource_id: int, interval: Interval, reason: str = ""
) -> RepairReport:
    """Block one resource for repair over ``interval`` (a Blackout of kind ``repair``).

    Nobody can book it in that period any more. Bookings already there are not cancelled:
    they are returned to the lender (and noted in their history) to move or cancel with the
    borrower.
    """
    reason = _clean(reason, MAX_REPAIR_REASON, "reason")
    interval = interval.in_utc()
    now = app.now()
    async with app.database.transaction() as session:
        resource = (await lock_resources(session, [resource_id])).get(resource_id)
        if resource is None:
            raise NotFound(f"resource {resource_id} does not exist", field="resource_id")
        if not actor.is_lender_at(resource.site_id):
            raise PermissionDenied("only lenders of this site may block it for repair")
        if interval.ends_at <= now:
            raise PolicyViolation("the repair period lies in the past", field="ends_at")
        blackout = Blackout(
            site_id=resource.site_id, resource_id=resource.id, starts_at=interval.starts_at, ends_at=interval.ends_at,
            reason=reason, kind="repair", created_at=now,
        )
        session.add(blackout)
        await session.flush()
        affected = await _loan_rows(
            session,
            [
                Booking.resource_id == resource.id,
                col(Booking.status).in_((Status.REQUESTED.value, Status.CONFIRMED.value, Status.CHECKED_OUT.value)),
                Booking.starts_at < interval.ends_at,
                Booking.ends_at > interval.starts_at,
            ],
            now, None,
        )
        for row in affected:
            record_event(
                session, row.booking, actor_id=actor.user_id, action="affected_by_repair",
                from_status=row.booking.status, to_status=row.booking.status, reason=reason,
                details={"blackout_id": blackout.id, "starts_at": interval.starts_at.isoformat(), "ends_at": interval.ends_at.isoformat()},
            )
    return RepairReport(blackout, resource, affected)


async def remove_repair_block(app: AppContext, actor: Principal, resource_id: int, blackout_id: int) -> None:
    """Lift a repair block early (the thing is fixed)."""
    async with app.database.transaction() as session:
        # The resource decides who may: a lender elsewhere learns nothing about its blocks.
        resource = await session.get(Resource, resource_id)
        if resource is None:
            raise NotFound(f"resource {resource_id} does not exist")
        if not actor.is_lender_at(resource.site_id):
            raise PermissionDenied("only lenders of this site may lift a repair block")
        blackout = await session.get(Blackout, blackout_id)
        if blackout is None or blackout.resource_id != resource_id or blackout.kind != "repair":
            raise NotFound(f"repair block {blackout_id} does not exist")
        await session.delete(blackout)


async def lender_resource(app: AppContext, actor: Principal, resource_id: int) -> tuple[Resource, Site]:
    """The resource and its site, for a lender of that site (PermissionDenied for others)."""
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None:
            raise NotFound(f"resource {resource_id} does not exist")
        if not actor.is_lender_at(resource.site_id):
            raise PermissionDenied("only lenders of this site may do this")
        site = await session.get(Site, resource.site_id)
    assert site is not None
    return resource, site


async def repair_blocks(app: AppContext, resource_id: int, *, current_after: datetime | None = None) -> list[Blackout]:
    async with app.database.reader() as session:
        statement = select(Blackout).where(Blackout.resource_id == resource_id, Blackout.kind == "repair")
        if current_after is not None:
            statement = statement.where(Blackout.ends_at > current_after)
        return list((await session.exec(statement.order_by(col(Blackout.starts_at)))).all())


# ---------------------------------------------------------------- history of a thing


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: str
    booking_id: int | None
    from_status: str | None
    to_status: str | None
    reason: str
    details: dict[str, Any]
    actor_name: str | None
    booking_starts_at: datetime | None = None
    booking_ends_at: datetime | None = None
    organisation_name: str | None = None
    quantity: int | None = None


@dataclass
class ItemHistory:
    resource: Resource
    site: Site
    entries: list[HistoryEntry]
    loans: list[LoanRow]
    repair_blocks: list[Blackout]
    # Repair blocks not yet over, each with the bookings still in its period (to handle).
    open_blocks: list[tuple[Blackout, list[LoanRow]]] = field(default_factory=list)


async def item_history(app: AppContext, actor: Principal, resource_id: int, *, limit: int = 200) -> ItemHistory:
    """The audit trail of a thing across all its bookings, newest first, with repair blocks.

    For lenders of its site: hand-outs and returns with their condition notes, damage and
    missing parts, requests, decisions, cancellations, blocks.
    """
    now = app.now()
    limit = max(1, min(limit, 1000))
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None:
            raise NotFound(f"resource {resource_id} does not exist")
        if not actor.is_lender_at(resource.site_id):
            raise PermissionDenied("only lenders of this site may see the history of this thing")
        site = await session.get(Site, resource.site_id)
        assert site is not None
        statement = (
            select(BookingEvent, Booking, User, Organisation)
            .join(Booking, Booking.id == BookingEvent.booking_id)  # type: ignore[arg-type]
            .outerjoin(User, User.id == BookingEvent.actor_id)  # type: ignore[arg-type]
            .outerjoin(Organisation, Organisation.id == Booking.organisation_id)  # type: ignore[arg-type]
            .where(Booking.resource_id == resource_id)
            .order_by(col(BookingEvent.at).desc(), col(BookingEvent.id).desc())
            .limit(limit)
        )
        entries = [
            HistoryEntry(
                at=event.at, action=event.action, booking_id=booking.id, from_status=event.from_status,
                to_status=event.to_status, reason=event.reason, details=dict(event.details or {}),
                actor_name=user.display_name if user else None, booking_starts_at=booking.starts_at,
                booking_ends_at=booking.ends_at, organisation_name=organisation.name if organisation else None,
                quantity=booking.quantity,
            )
            for event, booking, user, organisation in (await session.exec(statement)).all()
        ]
        blocks = list(
            (
                await session.exec(
                    select(Blackout).where(Blackout.resource_id == resource_id, Blackout.kind == "repair").order_by(col(Blackout.starts_at).desc())
                )
            ).all()
        )
        loans = await _loan_rows(
            session, [Booking.resource_id == resource_id, col(Loan.id).is_not(None)], now, None,
            order=col(Booking.starts_at).desc(),
        )
        open_blocks = []
        for block in sorted((b for b in blocks if b.ends_at > now), key=lambda b: b.starts_at):
            inside = await _loan_rows(
                session,
                [
                    Booking.resource_id == resource_id,
                    col(Booking.status).in_((Status.REQUESTED.value, Status.CONFIRMED.value, Status.CHECKED_OUT.value)),
                    Booking.starts_at < block.ends_at,
                    Booking.ends_at > block.starts_at,
                ],
                now, None,
            )
            open_blocks.append((block, inside))
    for block in blocks:
        entries.append(
            HistoryEntry(
                at=block.created_at, action="repair_block", booking_id=None, from_status=None, to_status=None,
                reason=block.reason, details={"starts_at": block.starts_at.isoformat(), "ends_at": block.ends_at.isoformat()},
                actor_name=None, booking_starts_at=block.starts_at, booking_ends_at=block.ends_at,
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return ItemHistory(resource, site, entries[:limit], loans, blocks, open_blocks)


async def lender_items(app: AppContext, actor: Principal) -> list[tuple[Site, list[Resource]]]:
    """The things (resources of kind item) at the actor's sites, by site, for the history pages."""
    sites = _lender_sites(actor, None)
    async with app.database.reader() as session:
        statement = (
            select(Site, Resource)
            .join(Resource, Resource.site_id == Site.id)  # type: ignore[arg-type]
            .where(Resource.kind == "item")
            .order_by(col(Site.name), col(Resource.name))
        )
        if sites is not None:
            statement = statement.where(col(Site.id).in_(sites))
        grouped: dict[int, tuple[Site, list[Resource]]] = {}
        for site, resource in (await session.exec(statement)).all():
            grouped.setdefault(site.id, (site, []))[1].append(resource)  # type: ignore[arg-type]
    return list(grouped.values())
