"""Check-in and the release of no-shows.

Resources whose rules ask for check-in (``Policy.checkin_required``): the booker confirms they
came, by scanning the room's door code (``/r/<code>/check-in``) or on their booking page,
within the window of ``booking.domain.checkin``. A periodic job (``release_no_shows``, run by
the mail runner with the reminders) releases confirmed bookings without check-in once the
release time has passed: status ``no_show`` (final, holds no capacity, so the availability
engine sees the time as free), the booker gets a mail with a CANCEL for their calendar, and
the freed time is offered to the waiting list (``offer_freed_time``).

Several workers may run the job at once: per resource it takes the resource's booking lock
(the order every booking change uses: resource, then booking rows), then claims the due
bookings with ``SKIP LOCKED`` on PostgreSQL; a booking a check-in holds is left for the next
run, and a booking already released no longer matches. Running it again releases nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.db.claims import skip_locked
from booking.db.locking import lock_booking, lock_resource
from booking.domain.checkin import CheckinRule, checkin_refusal, checkin_window, freed_interval, is_no_show
from booking.domain.errors import DomainError, NotFound, PermissionDenied
from booking.domain.intervals import Interval
from booking.domain.lifecycle import Action, Status, next_status
from booking.models import Booking, Organisation, Policy, Resource
from booking.services import notifications, resource_codes
from booking.services.audit import record_event
from booking.services.context import AppContext

#: Bookings looked at per run of the job (the rest waits a minute for the next run).
RELEASE_BATCH = 200
#: A booking whose end is longer ago than this is not released any more (the worker was down
#: for days): nothing is freed then, and a late mail would only confuse.
RELEASE_LOOKBACK = timedelta(days=2)
#: The door page looks for the actor's bookings of the room this far around now.
DOOR_LOOKAROUND = timedelta(days=1)


class CheckinRefused(DomainError):
    """Check-in is not possible now (outside the window, not confirmed, already checked in)."""

    status_code = 409
    code = "checkin_refused"


def checkin_rule(policy: Policy | None) -> CheckinRule:
    if policy is None:
        return CheckinRule(required=False, opens_minutes=0, release_minutes=0)
    return CheckinRule(policy.checkin_required, policy.checkin_opens_minutes, policy.checkin_release_minutes)


async def _policy(session: AsyncSession, resource_id: int) -> Policy | None:
    return (await session.exec(select(Policy).where(Policy.resource_id == resource_id))).first()


# --------------------------------------------------------------------------- checking in


@dataclass(frozen=True)
class CheckinState:
    """What a booking page shows about check-in."""

    required: bool
    opens_at: datetime | None
    closes_at: datetime | None
    checked_in_at: datetime | None
    may_check_in_now: bool


async def checkin_state(app: AppContext, booking: Booking) -> CheckinState:
    """Check-in as the booker's page shows it (no permission check: the caller showed the booking)."""
    async with app.database.reader() as session:
        rule = checkin_rule(await _policy(session, booking.resource_id))
    if not rule.required:
        return CheckinState(False, None, None, booking.checked_in_at, False)
    opens, closes = checkin_window(booking.starts_at, booking.ends_at, rule)
    refusal = checkin_refusal(booking.status, booking.checked_in_at, booking.starts_at, booking.ends_at, rule, app.now())
    return CheckinState(True, opens, closes, booking.checked_in_at, refusal is None)


async def _check_in_locked(session: AsyncSession, app: AppContext, actor: Principal, booking: Booking) -> Booking:
    if booking.booker_id != actor.user_id:
        raise PermissionDenied("only the booker can check in")
    rule = checkin_rule(await _policy(session, booking.resource_id))
    now = app.now()
    refusal = checkin_refusal(booking.status, booking.checked_in_at, booking.starts_at, booking.ends_at, rule, now)
    if refusal is not None:
        raise CheckinRefused(refusal)
    booking.checked_in_at = now
    booking.updated_at = now
    session.add(booking)
    record_event(session, booking, actor_id=actor.user_id, action="check_in", from_status=booking.status,
                 to_status=booking.status)
    return booking


async def check_in(app: AppContext, actor: Principal, booking_id: int) -> Booking:
    """The booker checks in to their booking (from the booking page).

    Someone else's booking: NotFound when they may not see it, PermissionDenied otherwise;
    outside the window or not confirmed: ``CheckinRefused``."""
    from booking.auth.permissions import can_view_booking
    from booking.services.bookings import facts

    async with app.database.transaction() as session:
        booking = await lock_booking(session, booking_id)
        resource = await session.get(Resource, booking.resource_id) if booking is not None else None
        if booking is None or resource is None or not can_view_booking(actor, facts(booking, resource)):
            raise NotFound(f"booking {booking_id} does not exist")
        return await _check_in_locked(session, app, actor, booking)


@dataclass(frozen=True)
class DoorCheckin:
    """The check-in page behind a door code: the public door sign, and for a signed-in booker
    their booking of this room that can be checked in now (or was, or the next one)."""

    sign: resource_codes.DoorSign
    required: bool
    booking: Booking | None
    may_check_in_now: bool
    opens_at: datetime | None


async def door_checkin(app: AppContext, actor: Principal | None, code: str) -> DoorCheckin:
    """The door page of a room for ``actor`` (anyone: the door sign; the booker: check-in)."""
    sign = await resource_codes.door_sign(app, actor, code)
    now = app.now()
    async with app.database.reader() as session:
        rule = checkin_rule(await _policy(session, sign.resource.id))  # type: ignore[arg-type]
        mine: Booking | None = None
        if actor is not None and rule.required:
            mine = await _current_booking_of(session, actor, sign.resource.id, now)  # type: ignore[arg-type]
    if mine is None:
        return DoorCheckin(sign, rule.required, None, False, None)
    opens, _closes = checkin_window(mine.starts_at, mine.ends_at, rule)
    refusal = checkin_refusal(mine.status, mine.checked_in_at, mine.starts_at, mine.ends_at, rule, now)
    return DoorCheckin(sign, True, mine, refusal is None, opens)


async def _current_booking_of(session: AsyncSession, actor: Principal, resource_id: int, now: datetime) -> Booking | None:
    """The actor's confirmed booking of the resource that is going on or comes next today-ish."""
    return (await session.exec(
        select(Booking)
        .where(
            Booking.resource_id == resource_id,
            Booking.booker_id == actor.user_id,
            Booking.status == Status.CONFIRMED.value,
            Booking.ends_at > now,
            Booking.starts_at < now + DOOR_LOOKAROUND,
        )
        .order_by(col(Booking.starts_at), col(Booking.id))
        .limit(1)
    )).first()


async def check_in_by_code(app: AppContext, actor: Principal, code: str) -> Booking:
    """One tap at the door: check in to the actor's current booking of the room with ``code``.

    No booking of theirs to check in: ``CheckinRefused`` (the page shows the door sign again)."""
    sign = await resource_codes.door_sign(app, actor, code)
    async with app.database.transaction() as session:
        mine = await _current_booking_of(session, actor, sign.resource.id, app.now())  # type: ignore[arg-type]
        if mine is None:
            raise CheckinRefused("you have no booking of this room to check in to now")
        booking = await lock_booking(session, mine.id)  # type: ignore[arg-type]
        assert booking is not None
        return await _check_in_locked(session, app, actor, booking)


# --------------------------------------------------------------------------- the no-show job


async def offer_freed_time(session: AsyncSession, app: AppContext, resource_id: int, interval: Interval, now: datetime) -> None:
    """Offer time a no-show released to the people waiting for this resource.

    The one place the release hands freed capacity on, called in the release's transaction
    (the resource is locked): the first person in line for whom it fits gets a hold, as after
    a cancel (``waiting_list.offer_freed_capacity``).
    """
    from booking.services import waiting_list

    await waiting_list.offer_freed_capacity(session, app, resource_id, interval, now=now)


async def release_no_shows(app: AppContext, now: datetime | None = None) -> list[int]:
    """Release every due no-show (see the module docstring); returns the released booking ids."""
    now = now or app.now()
    async with app.database.reader() as session:
        candidates = (await session.exec(
            select(Booking.resource_id)
            .join(Policy, Policy.resource_id == Booking.resource_id)  # type: ignore[arg-type]
            .where(
                col(Policy.checkin_required).is_(True),
                Booking.status == Status.CONFIRMED.value,
                col(Booking.checked_in_at).is_(None),
                Booking.starts_at <= now,
                Booking.ends_at > now - RELEASE_LOOKBACK,
            )
            .group_by(col(Booking.resource_id))
            .order_by(func.min(Booking.starts_at))
            .limit(RELEASE_BATCH)
        )).all()
    released: list[int] = []
    for resource_id in candidates:
        released.extend(await _release_resource(app, resource_id, now))
    return released


async def _release_resource(app: AppContext, resource_id: int, now: datetime) -> list[int]:
    released: list[int] = []
    async with app.database.transaction() as session:
        resource = await lock_resource(session, resource_id)
        policy = await _policy(session, resource_id)
        rule = checkin_rule(policy)
        if resource is None or not rule.required:
            return []
        statement = (
            select(Booking)
            .where(
                Booking.resource_id == resource_id,
                Booking.status == Status.CONFIRMED.value,
                col(Booking.checked_in_at).is_(None),
                Booking.starts_at <= now,
                Booking.ends_at > now - RELEASE_LOOKBACK,
            )
            .order_by(col(Booking.starts_at), col(Booking.id))
            .limit(RELEASE_BATCH)
        )
        for booking in (await session.exec(skip_locked(statement, session, of=Booking))).all():
            if not is_no_show(booking.status, booking.checked_in_at, booking.starts_at, booking.ends_at, rule, now):
                continue
            await _release(session, app, booking, now)
            released.append(booking.id)  # type: ignore[arg-type]
    return released


async def _release(session: AsyncSession, app: AppContext, booking: Booking, now: datetime) -> None:
    old_status = booking.status
    booking.status = next_status(old_status, Action.RELEASE_NO_SHOW).value
    booking.sequence += 1
    booking.updated_at = now
    session.add(booking)
    await session.flush()
    record_event(session, booking, actor_id=None, action=Action.RELEASE_NO_SHOW.value, from_status=old_status,
                 to_status=booking.status)
    await notifications.no_show_released(session, app, booking)
    freed = freed_interval(booking.starts_at, booking.ends_at, now)
    if freed is not None:
        await offer_freed_time(session, app, booking.resource_id, freed, now)


# --------------------------------------------------------------------------- counting


@dataclass(frozen=True)
class NoShowCount:
    organisation_id: int | None
    organisation_name: str
    count: int


async def no_show_counts(session: AsyncSession, starts_at: datetime, ends_at: datetime,
                         organisation_id: int | None = None) -> list[NoShowCount]:
    """Released no-shows per organisation among bookings starting in ``[starts_at, ends_at)``,
    most first (bookings without an organisation under ``None``)."""
    statement = (
        select(Booking.organisation_id, Organisation.name, func.count(col(Booking.id)))
        .outerjoin(Organisation, Organisation.id == Booking.organisation_id)  # type: ignore[arg-type]
        .where(Booking.status == Status.NO_SHOW.value, Booking.starts_at >= starts_at, Booking.starts_at < ends_at)
        .group_by(col(Booking.organisation_id), col(Organisation.name))
    )
    if organisation_id is not None:
        statement = statement.where(Booking.organisation_id == organisation_id)
    rows = (await session.exec(statement)).all()
    counted = [NoShowCount(org_id, name or "", int(count)) for org_id, name, count in rows]
    return sorted(counted, key=lambda row: (-row.count, row.organisation_name))


async def organisation_no_shows(app: AppContext, organisation_id: int, starts_at: datetime, ends_at: datetime) -> int:
    """How many bookings of one organisation were released as no-shows in the period."""
    async with app.database.reader() as session:
        rows = await no_show_counts(session, starts_at, ends_at, organisation_id)
    return sum(row.count for row in rows)


__all__ = [
    "CheckinRefused", "CheckinState", "DoorCheckin", "NoShowCount", "check_in", "check_in_by_code", "checkin_rule",
    "checkin_state", "door_checkin", "no_show_counts", "offer_freed_time", "organisation_no_shows", "release_no_shows",
]
