"""Hand-out and take-back of things by a lender of the site, one booking or a whole kit.

Each step is one transaction that locks the resources (in id order) before it reads the bookings
again and checks permission and state: two lenders handing out the same thing serialise on those
locks. A ``Loan`` row records who, when, the condition, a deposit note, damage and missing parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import can_hand_out
from booking.auth.principal import Principal
from booking.db.errors import is_overlap_violation
from booking.db.locking import lock_resources
from booking.domain.availability import conflicting
from booking.domain.errors import Conflict, NotFound, PermissionDenied, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.lifecycle import Action, Status, is_overdue, next_status
from booking.models import Booking, Loan, Resource, Site
from booking.services import bookings as booking_service
from booking.services.bookings import TakenInterval, transition
from booking.services.context import AppContext
from booking.services.lending_common import _clean, _kit_rows
from booking.services.loading import buffers_of, load_holdings, load_rules


MAX_NOTE = 2000
MAX_DEPOSIT_NOTE = 500


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
