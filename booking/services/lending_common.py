"""What the lending modules share: the rows lenders see (``LoanRow``: booking, resource,
site, borrower, organisation, loan and kit), which sites an actor lends at, the parts of a kit,
and trimming of notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.domain.errors import InvalidInput, PermissionDenied
from booking.domain.lifecycle import is_overdue
from booking.models import Booking, Loan, Organisation, Resource, Site, User


MAX_LIST = 500


def _clean(value: str, limit: int, field_name: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field_name)
    return value


async def _kit_rows(session: AsyncSession, group_key: str) -> list[tuple[Booking, Resource]]:
    statement = (
        select(Booking, Resource)
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .where(Booking.group_key == group_key)
        .order_by(col(Booking.resource_id), col(Booking.id))
    )
    return [(b, r) for b, r in (await session.exec(statement)).all()]


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
