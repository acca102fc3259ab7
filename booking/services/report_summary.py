"""The monthly summary behind the report: what a million bookings come to per resource and month.

The report page reads this summary instead of the bookings, so its cost depends on resources ×
months, not on the number of bookings. It holds exactly what the report's figures need and is
computed by the same expressions as the direct figures (``reporting.build_report_direct``), so
the figures do not change; a test compares both on a random data set on both databases.

Tables (``models/reporting.py``):

* ``report_summary``: one row per **figure family**, resource, local month and bucket, with a
  count and unit-seconds. A family is one SQL statement in ``FAMILIES`` (use, declined by reason
  group, cancelled by lead time, unmet demand). A new family over the bookings is one more
  statement and one more entry there. Bookings of offers' places (resources of kind ``offer``)
  are left out of every family and set: they are volunteering, read with no-shows and waiting
  lists straight from their own small tables (``reporting._add_engagement``).
* ``report_month_organisation`` / ``report_month_person``: the *sets* of organisations and
  persons with a use per site and local month. Distinct counts do not add up (a club booking in
  January and March is one organisation in the first quarter, not two), so the sets are kept and
  counted at read time: ``COUNT(DISTINCT)`` over at most sites × months × members rows, which is
  exact for every level (site and month, site, month, all) and for first-time organisations.
* ``report_summary_change``: (resource, start) notes written in the transaction of every change
  (``db/report_changes.py``). ``refresh`` recomputes the local months they name — deletes those
  months' rows and inserts them again from the bookings — and is run by the worker every minute
  and by the report page before it reads (so the page is exact even if the worker is behind).
  ``rebuild`` recomputes everything (``booking report --rebuild-summary``; after raw imports).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, delete, false, func, insert, literal, or_
from sqlmodel import col, select

from booking.db.report_changes import lock_summary
from booking.db.reporting_sql import local_month, seconds_between
from booking.domain.lifecycle import Status
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.models import (
    Booking, BookingEvent, ReportMonthOrganisation, ReportMonthPerson, ReportSummary, ReportSummaryChange, Resource, Site,
    UnmetDemand,
)
from booking.services.context import AppContext
from booking.services.reporting import DAY, USE_STATUSES

CHUNK = 500

# A scope restricts a family's rows to some local months: given the family's instant column and
# the site's time zone column, the WHERE conditions (none: everything).
Scope = Callable[[object, object], list[ColumnElement[bool]]]


def _everything(_instant: object, _timezone: object) -> list[ColumnElement[bool]]:
    return []


@dataclass(frozen=True)
class SummaryFamily:
    """One figure family: ``statement(dialect, scope)`` selects ``resource_id, month, bucket,
    count, unit_seconds`` grouped by the first three, for the rows in ``scope``."""

    name: str
    statement: Callable[[str, Scope], Select]  # type: ignore[type-arg]


def _booking_family(where: Callable[[], ColumnElement[bool]], bucket: Callable[[str], ColumnElement[str]] | None = None,
                    join: Callable[[Select], Select] | None = None) -> Callable[[str, Scope], Select]:  # type: ignore[type-arg]
    def statement(dialect: str, scope: Scope) -> Select:  # type: ignore[type-arg]
        month = local_month(dialect, Booking.starts_at, Site.timezone)
        bucket_of = bucket(dialect) if bucket else literal("")
        rows = (
            select(
                Booking.resource_id.label("resource_id"), month.label("month"), bucket_of.label("bucket"),  # type: ignore[attr-defined]
                func.count().label("count"),
                func.sum(Booking.quantity * seconds_between(dialect, Booking.starts_at, Booking.ends_at)).label("unit_seconds"),
            )
            .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
        )
        if join:
            rows = join(rows)
        return rows.where(where(), _not_offer_places(), *scope(Booking.starts_at, Site.timezone)).group_by(
            Booking.resource_id, month, bucket_of)

    return statement


def _not_offer_places() -> ColumnElement[bool]:
    # An offer's places are bookings of its hidden resource (kind ``offer``): volunteering has
    # its own figures (``report_volunteering``) and must not count as use of rooms, desks or things.
    return Resource.kind != OFFER_RESOURCE_KIND


def _reason_group(_dialect: str) -> ColumnElement[str]:
    # Reasons are free text to a person: the report only knows whether one was given.
    return case((func.length(func.trim(Booking.decision_reason)) > 0, "reason_given"), else_="no_reason")


def _cancelled_at():  # type: ignore[no-untyped-def]
    return (
        select(BookingEvent.booking_id, func.max(BookingEvent.at).label("cancelled_at"))
        .where(BookingEvent.to_status == Status.CANCELLED.value)
        .group_by(BookingEvent.booking_id)
    ).subquery("cancelled_at")


_CANCELLED_AT = _cancelled_at()


def _lead_bucket(dialect: str) -> ColumnElement[str]:
    lead = seconds_between(dialect, _CANCELLED_AT.c.cancelled_at, Booking.starts_at)
    return case((lead < 0, "after_start"), (lead < DAY, "under_1_day"), (lead < 7 * DAY, "1_to_7_days"), else_="over_7_days")


def _unmet_demand(dialect: str, scope: Scope) -> Select:  # type: ignore[type-arg]
    month = local_month(dialect, UnmetDemand.requested_starts_at, Site.timezone)
    return (
        select(
            UnmetDemand.resource_id.label("resource_id"), month.label("month"), literal("").label("bucket"),  # type: ignore[attr-defined]
            func.count().label("count"),
            func.sum(UnmetDemand.quantity * seconds_between(dialect, UnmetDemand.requested_starts_at, UnmetDemand.requested_ends_at)).label("unit_seconds"),
        )
        .select_from(UnmetDemand).join(Resource, Resource.id == UnmetDemand.resource_id).join(Site, Site.id == Resource.site_id)
        .where(_not_offer_places(), *scope(UnmetDemand.requested_starts_at, Site.timezone))
        .group_by(UnmetDemand.resource_id, month)
    )


USE = "use"
DECLINED = "declined"
CANCELLED = "cancelled"
UNMET = "unmet"

#: Every figure family kept in ``report_summary``. Add one: a statement here, read it back with
#: ``family_rows(name)`` in ``reporting.build_report``.
FAMILIES: tuple[SummaryFamily, ...] = (
    SummaryFamily(USE, _booking_family(lambda: col(Booking.status).in_(USE_STATUSES))),
    SummaryFamily(DECLINED, _booking_family(lambda: Booking.status == Status.DECLINED.value, _reason_group)),
    SummaryFamily(CANCELLED, _booking_family(
        lambda: Booking.status == Status.CANCELLED.value, _lead_bucket,
        join=lambda rows: rows.join(_CANCELLED_AT, _CANCELLED_AT.c.booking_id == Booking.id),
    )),
    SummaryFamily(UNMET, _unmet_demand),
)


def _member_set(dialect: str, scope: Scope, member) -> Select:  # type: ignore[no-untyped-def, type-arg]
    """Distinct (site, local month, member) of the uses in ``scope``."""
    month = local_month(dialect, Booking.starts_at, Site.timezone)
    return (
        select(Site.id, month, member)
        .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
        .where(col(Booking.status).in_(USE_STATUSES), col(member).is_not(None), _not_offer_places(),
               *scope(Booking.starts_at, Site.timezone))
        .distinct()
    )


async def _fill(session, dialect: str, scope: Scope) -> None:  # type: ignore[no-untyped-def]
    summary_columns = ["resource_id", "month", "family", "bucket", "count", "unit_seconds"]
    for family in FAMILIES:
        rows = family.statement(dialect, scope).subquery()
        await session.exec(insert(ReportSummary.__table__).from_select(summary_columns, select(  # type: ignore[attr-defined]
            rows.c.resource_id, rows.c.month, literal(family.name), rows.c.bucket, rows.c.count,
            func.coalesce(rows.c.unit_seconds, 0.0),
        )))
    await session.exec(insert(ReportMonthOrganisation.__table__).from_select(  # type: ignore[attr-defined]
        ["site_id", "month", "organisation_id"], _member_set(dialect, scope, Booking.organisation_id)))
    await session.exec(insert(ReportMonthPerson.__table__).from_select(  # type: ignore[attr-defined]
        ["site_id", "month", "person_id"], _member_set(dialect, scope, Booking.booker_id)))


def _month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    year, number = int(month[:4]), int(month[5:7])
    zone = ZoneInfo(timezone)
    following = date(year + number // 12, number % 12 + 1, 1)
    start = datetime.combine(date(year, number, 1), datetime.min.time(), zone).astimezone(UTC)
    return start, datetime.combine(following, datetime.min.time(), zone).astimezone(UTC)


def _months_scope(site_id: int, timezone: str, months: Sequence[str]) -> Scope:
    def scope(instant, _timezone) -> list[ColumnElement[bool]]:  # type: ignore[no-untyped-def]
        return [Site.id == site_id, or_(false(), *[
            and_(instant >= start, instant < end) for start, end in (_month_bounds(month, timezone) for month in months)
        ])]

    return scope


async def rebuild(app: AppContext) -> None:
    """Recompute the whole summary from the bookings (one transaction)."""
    async with app.database.transaction() as session:
        await lock_summary(session, app.database.dialect)
        # Notes first: a change committed after this statement stays noted for the next refresh.
        await session.exec(delete(ReportSummaryChange))  # type: ignore[call-overload]
        for model in (ReportSummary, ReportMonthOrganisation, ReportMonthPerson):
            await session.exec(delete(model))  # type: ignore[call-overload]
        await _fill(session, app.database.dialect, _everything)


async def pending_changes(app: AppContext) -> bool:
    async with app.database.reader() as session:
        return (await session.exec(select(ReportSummaryChange.id).limit(1))).first() is not None


async def refresh(app: AppContext) -> int:
    """Recompute the local months named by the change notes; returns how many (site, month)
    pairs were recomputed (-1: everything). Cheap when nothing changed: one indexed read."""
    if not await pending_changes(app):
        return 0
    dialect = app.database.dialect
    async with app.database.transaction() as session:
        await lock_summary(session, dialect)
        notes = (await session.exec(
            select(ReportSummaryChange.id, ReportSummaryChange.resource_id, ReportSummaryChange.starts_at,
                   Resource.site_id, Site.timezone)
            .select_from(ReportSummaryChange)
            .outerjoin(Resource, Resource.id == ReportSummaryChange.resource_id)
            .outerjoin(Site, Site.id == Resource.site_id)
        )).all()
        if not notes:
            return 0
        if any(resource_id is None for _, resource_id, _, _, _ in notes):
            await session.exec(delete(ReportSummaryChange))  # type: ignore[call-overload]
            for model in (ReportSummary, ReportMonthOrganisation, ReportMonthPerson):
                await session.exec(delete(model))  # type: ignore[call-overload]
            await _fill(session, dialect, _everything)
            return -1
        # Exactly the notes read (their changes are committed, so visible to what follows).
        ids = [note_id for note_id, *_ in notes]
        for start in range(0, len(ids), CHUNK):
            await session.exec(delete(ReportSummaryChange).where(col(ReportSummaryChange.id).in_(ids[start:start + CHUNK])))  # type: ignore[call-overload]
        months: dict[tuple[int, str], set[str]] = defaultdict(set)
        for _, _, starts_at, site_id, timezone in notes:
            if site_id is None or starts_at is None:
                continue  # the resource is gone; its deletion noted "everything"
            months[(site_id, timezone)].add(starts_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m"))
        for (site_id, timezone), site_months in months.items():
            wanted = sorted(site_months)
            site_resources = select(Resource.id).where(Resource.site_id == site_id)
            await session.exec(delete(ReportSummary).where(  # type: ignore[call-overload]
                col(ReportSummary.month).in_(wanted), col(ReportSummary.resource_id).in_(site_resources)))
            for model in (ReportMonthOrganisation, ReportMonthPerson):
                await session.exec(delete(model).where(model.site_id == site_id, col(model.month).in_(wanted)))  # type: ignore[call-overload]
            await _fill(session, dialect, _months_scope(site_id, timezone, wanted))
        return sum(len(value) for value in months.values())
