"""The history of a thing for lenders of its site (audit trail across its bookings, loans,
repair blocks), and the things at the lender's sites for the history pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import NotFound, PermissionDenied
from booking.domain.lifecycle import Status
from booking.models import Blackout, Booking, BookingEvent, Loan, Organisation, Resource, Site, User
from booking.services.context import AppContext
from booking.services.lending_common import LoanRow, _lender_sites, _loan_rows


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
