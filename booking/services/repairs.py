"""Repair blocks: a lender blocks one thing for repair over whole days (a Blackout of kind
``repair``), lifts the block early, lists the blocks. Bookings in the period are reported, not
cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.db.locking import lock_resources
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.lifecycle import HOLDING_VALUES, Status
from booking.models import Blackout, Booking, Resource, Site
from booking.services import blackouts
from booking.services.audit import record_event
from booking.services.context import AppContext
from booking.services.lending_common import LoanRow, _clean, _loan_rows


MAX_REPAIR_REASON = 500


def whole_days(site: Site, first_day: date, last_day: date) -> Interval:
    """Local midnight of ``first_day`` to local midnight after ``last_day`` (repair blocks)."""
    if last_day < first_day:
        raise InvalidInput("the last day must not be before the first day", field="last_day")
    zone = ZoneInfo(site.timezone)
    return Interval(
        datetime.combine(first_day, time(0), zone), datetime.combine(last_day + timedelta(days=1), time(0), zone)
    ).in_utc()


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
                col(Booking.status).in_(HOLDING_VALUES),
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
        was = blackouts.closed_before(blackout)
        await session.delete(blackout)
        await session.flush()
        # The thing is back early: who waits for it in that time is offered it.
        await blackouts.offer_reopened_time(session, app, was)


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
