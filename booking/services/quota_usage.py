"""Loading what quotas and approval rules count: the bookings that use a quota, no-shows.

Called inside the booking transaction, after the resource's lock and the quota locks
(``db.locking.lock_quotas``), so what is counted cannot change before the insert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.domain.intervals import Interval
from booking.domain.lifecycle import Status
from booking.domain.quotas import COUNTED_STATUSES, CountedBooking, Quota
from booking.models import Booking, Resource
from booking.models import Quota as QuotaRow

#: The status of a booking nobody came for (the check-in's release); counted by approval rules.
NO_SHOW = Status.NO_SHOW.value


def quota_of(row: QuotaRow) -> Quota:
    return Quota(
        id=row.id, site_id=row.site_id, metric=row.metric, subject=row.subject, limit=row.amount,  # type: ignore[arg-type]
        enforcement=row.enforcement, resource_id=row.resource_id, category=row.category,
    )


def lock_keys(quotas: Iterable[Quota], organisation_id: int | None, booker_id: int) -> list[tuple[int, int]]:
    keys = []
    for quota in quotas:
        subject = quota.subject_id(organisation_id, booker_id)
        if subject is not None:
            keys.append((quota.id, subject))
    return keys


async def load_counted(
    session: AsyncSession,
    quotas: Sequence[Quota],
    window: Interval,
    *,
    organisation_id: int | None,
    booker_id: int,
    exclude_booking_ids: Iterable[int] = (),
) -> list[CountedBooking]:
    """Bookings overlapping ``window`` that may count against ``quotas`` for this booker: of
    their resources (or categories) and of the organisation or the person. One query."""
    applying = [quota for quota in quotas if quota.subject_id(organisation_id, booker_id) is not None]
    if not applying:
        return []
    resource_ids = sorted({quota.resource_id for quota in applying if quota.resource_id is not None})
    categories = sorted({quota.category for quota in applying if quota.resource_id is None and quota.category})
    site_ids = sorted({quota.site_id for quota in applying})
    scope = []
    if resource_ids:
        scope.append(col(Booking.resource_id).in_(resource_ids))
    if categories:
        scope.append(and_(col(Resource.site_id).in_(site_ids), col(Resource.category).in_(categories)))
    subjects = []
    if any(quota.subject == "organisation" for quota in applying) and organisation_id is not None:
        subjects.append(Booking.organisation_id == organisation_id)
    if any(quota.subject == "person" for quota in applying):
        subjects.append(Booking.booker_id == booker_id)
    statement = (
        select(Booking.starts_at, Booking.ends_at, Booking.resource_id, Resource.category, Booking.organisation_id,
               Booking.booker_id, Booking.status)
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .where(
            or_(*scope), or_(*subjects), col(Booking.status).in_(sorted(COUNTED_STATUSES)),
            Booking.starts_at < window.ends_at, Booking.ends_at > window.starts_at,
        )
    )
    excluded = list(exclude_booking_ids)
    if excluded:
        statement = statement.where(col(Booking.id).not_in(excluded))
    return [
        CountedBooking(Interval(starts_at, ends_at), resource_id, category, org, booker, status)
        for starts_at, ends_at, resource_id, category, org, booker, status in (await session.exec(statement)).all()
    ]


async def count_no_shows(session: AsyncSession, organisation_id: int, *, days: int, now: datetime) -> int:
    """No-shows of the organisation's bookings that started in the last ``days`` days."""
    statement = select(func.count()).select_from(Booking).where(
        Booking.organisation_id == organisation_id, Booking.status == NO_SHOW,
        Booking.starts_at >= now - timedelta(days=days), Booking.starts_at <= now,
    )
    return int((await session.exec(statement)).one())
