"""Figures for the implementation report (Umsetzungsbericht): aggregates only, computed in SQL.

The page reads a **monthly summary** (``services/report_summary.py``): per figure family,
resource, local month and bucket a count and unit-seconds, and the sets of organisations and
persons per site and month for the distinct counts. It is kept up to date from a change log
written in the transaction of every booking change and is recomputed for the changed months
before the report reads it, so ``build_report`` costs resources × months, not bookings, and
equals ``build_report_direct`` (the same figures straight from the bookings, one SQL statement
per family; kept as the reference for tests and the benchmark). What Python adds is bounded by
sites × months: the hours a site is open (from its weekly opening hours) and the names of sites.

**Adding a figure family**: one ``SummaryFamily`` entry in ``report_summary.FAMILIES`` (its SQL
statement: resource, local month, bucket, count, unit-seconds), then read
``families["<name>"]`` in ``build_report`` into a field of ``Report`` and a ``Table`` in
``report_tables``; run ``booking report --rebuild-summary`` once after the deployment (or let a
migration insert a "recompute everything" change row). A family over a table that stays small
next to the bookings may instead be read directly in both paths, as no-shows, waiting lists and
volunteering are (``_no_shows``, ``_add_engagement``).

Conventions of every figure:

* **Use** means a booking whose status says the resource was (or will be) used: ``confirmed``,
  ``checked_out`` or ``returned``. Requests not decided yet, declined and cancelled bookings are
  not use; they have their own figures (declined, cancellations).
* A booking belongs to the **local month of its start** in its site's time zone, with all its
  hours (a booking across a month's end is rare for rooms and desks; things lent over a month's
  end count as one loan in the month they were handed out).
* **Hours** are unit-hours: ``quantity × (ends_at − starts_at)``, so 3 of 10 desks for 2 hours is
  6 desk-hours. **Loan days** of things are the same unit-time in days (24 h).
* **Utilisation** of rooms and desks: booked unit-hours ÷ (hours the site is open that month ×
  units of that kind at the site). A site without opening hours counts as open around the clock.
* **Reach**: distinct organisations and distinct persons (bookers) with at least one use. These do
  not add up over months or sites, so they are counted per site and month, per site, per month and
  overall in one statement.
* **Declined** requests are grouped into "reason given" / "no reason given": reasons are free text
  written to the person and may hold personal data, so they never appear in the report.
* **Cancellations** are bucketed by the lead time between the cancellation (the audit event) and
  the booked start.
* **Unmet demand**: requests for a new booking that met a taken slot (answered with 409),
  recorded without the person in ``unmet_demand`` by ``services.bookings.place_booking``, and
  every date of a new series refused because it was taken (one request each, whether the rest of
  the series was booked or not; ``services.series``). Not counted: changes of an existing booking
  that met a taken slot (a change is not new demand).
* **Rooms, desks and things only**: an offer's places are bookings of its hidden resource of kind
  ``offer``; every booking figure leaves them out (``_not_offer_places``; a summary filled
  before they were left out needs one ``booking report --rebuild-summary``). They are reported
  as volunteering instead.
* **No-shows**: bookings released because nobody checked in, per organisation, read from the
  bookings in both paths (the status is rare and indexed).
* **Waiting lists** (``services/report_waiting_lists.py``): per site, resource kind and local
  month, the entries joined, offered a hold, that took it, let it go and left without an offer,
  and the length of the lists at each month's end; the lists of offer dates apart.
* **Volunteering** (``services/report_volunteering.py``): offers published by kind, dates held,
  places offered and filled, attended, hours volunteered, distinct and first-time volunteers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, case, cast, false, func, null, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from booking.db.reporting_sql import distinct_rollup, local_month, seconds_between
from booking.domain.errors import InvalidInput
from booking.domain.intervals import Interval
from booking.domain.lifecycle import Status
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.domain.opening_hours import open_intervals
from booking.models import Booking, BookingEvent, Organisation, Resource, Site, UnmetDemand
from booking.services.context import AppContext

if TYPE_CHECKING:
    from booking.services.report_volunteering import VolunteerCount, VolunteeringRow
    from booking.services.report_waiting_lists import WaitingListRow

USE_STATUSES = (Status.CONFIRMED.value, Status.CHECKED_OUT.value, Status.RETURNED.value)
TIME_KINDS = ("room", "desk")
MAX_PERIOD_MONTHS = 60
TOP_RESOURCES = 10
# Lead time buckets of cancellations: (name, lower bound in seconds, inclusive).
LEAD_BUCKETS = ("after_start", "under_1_day", "1_to_7_days", "over_7_days")
DAY = 86400.0


@dataclass(frozen=True)
class Period:
    """Whole local months from ``first`` to ``last`` (both the 1st of a month), inclusive."""

    first: date
    last: date

    @classmethod
    def year(cls, year: int) -> Period:
        return cls.of(date(year, 1, 1), date(year, 12, 1))

    @classmethod
    def of(cls, first: date, last: date) -> Period:
        first, last = first.replace(day=1), last.replace(day=1)
        if last < first:
            raise InvalidInput("the period ends before it starts", field="until")
        if len(_months_between(first, last)) > MAX_PERIOD_MONTHS:
            raise InvalidInput(f"a report covers at most {MAX_PERIOD_MONTHS // 12} years", field="until")
        if not (2000 <= first.year <= 2100 and 2000 <= last.year <= 2100):
            raise InvalidInput("choose a period between 2000 and 2100", field="since")
        return cls(first, last)

    @property
    def months(self) -> list[str]:
        return _months_between(self.first, self.last)

    @property
    def first_month(self) -> str:
        return self.first.strftime("%Y-%m")

    @property
    def last_month(self) -> str:
        return self.last.strftime("%Y-%m")

    def previous_year(self) -> Period:
        return Period(self.first.replace(year=self.first.year - 1), self.last.replace(year=self.last.year - 1))

    def local_bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The period's first and last instant (exclusive) in the local time of ``timezone``."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, datetime.min.time(), zone).astimezone(UTC)
        end = datetime.combine(_next_month(self.last), datetime.min.time(), zone).astimezone(UTC)
        return start, end


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _months_between(first: date, last: date) -> list[str]:
    months = []
    day = first
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = _next_month(day)
    return months


@dataclass(frozen=True)
class UsageRow:
    site_id: int
    site: str
    kind: str
    category: str
    month: str
    bookings: int
    unit_hours: float

    @property
    def loan_days(self) -> float:
        return round(self.unit_hours / 24, 2)


@dataclass(frozen=True)
class UtilisationRow:
    site_id: int
    site: str
    kind: str
    month: str
    booked_hours: float
    available_hours: float

    @property
    def utilisation(self) -> float | None:
        """Share of the available unit-hours booked, 0..1 (None when nothing was available)."""
        return round(self.booked_hours / self.available_hours, 4) if self.available_hours else None


@dataclass(frozen=True)
class ReachRow:
    """Distinct organisations and persons; ``site_id``/``month`` None mean "all"."""

    site_id: int | None
    site: str | None
    month: str | None
    organisations: int
    persons: int


@dataclass(frozen=True)
class CountRow:
    """A count per site, month and a group (a reason group, a lead time bucket)."""

    site_id: int
    site: str
    month: str
    group: str
    count: int


@dataclass(frozen=True)
class UnmetDemandRow:
    site_id: int
    site: str
    kind: str
    month: str
    requests: int
    requested_hours: float


@dataclass(frozen=True)
class TopResourceRow:
    resource_id: int
    resource: str
    site: str
    kind: str
    bookings: int
    unit_hours: float


@dataclass(frozen=True)
class NoShowRow:
    """Bookings of one organisation released because nobody checked in (services.checkin)."""

    organisation_id: int | None
    organisation: str
    count: int


@dataclass
class Report:
    period: Period
    usage: list[UsageRow] = field(default_factory=list)
    utilisation: list[UtilisationRow] = field(default_factory=list)
    reach: list[ReachRow] = field(default_factory=list)
    first_time_organisations: dict[str, int] = field(default_factory=dict)
    declined: list[CountRow] = field(default_factory=list)
    cancellations: list[CountRow] = field(default_factory=list)
    unmet_demand: list[UnmetDemandRow] = field(default_factory=list)
    top_resources: list[TopResourceRow] = field(default_factory=list)
    no_shows: list[NoShowRow] = field(default_factory=list)
    # Waiting lists and volunteering (services/report_waiting_lists.py, report_volunteering.py).
    waiting_lists: list[WaitingListRow] = field(default_factory=list)
    volunteering: list[VolunteeringRow] = field(default_factory=list)
    volunteers: list[VolunteerCount] = field(default_factory=list)
    first_time_volunteers: dict[str, int] = field(default_factory=dict)

    # Key figures (the cards) -------------------------------------------------------------
    @property
    def hours_booked(self) -> float:
        return round(sum(row.unit_hours for row in self.usage if row.kind in TIME_KINDS), 2)

    @property
    def loans(self) -> int:
        return sum(row.bookings for row in self.usage if row.kind == "item")

    @property
    def loan_days(self) -> float:
        return round(sum(row.unit_hours for row in self.usage if row.kind == "item") / 24, 2)

    @property
    def utilisation_share(self) -> float | None:
        available = sum(row.available_hours for row in self.utilisation)
        booked = sum(row.booked_hours for row in self.utilisation)
        return round(booked / available, 4) if available else None

    def _overall_reach(self) -> ReachRow | None:
        return next((row for row in self.reach if row.site_id is None and row.month is None), None)

    @property
    def organisations(self) -> int:
        row = self._overall_reach()
        return row.organisations if row else 0

    @property
    def persons(self) -> int:
        row = self._overall_reach()
        return row.persons if row else 0

    @property
    def new_organisations(self) -> int:
        return sum(self.first_time_organisations.values())

    @property
    def declined_total(self) -> int:
        return sum(row.count for row in self.declined)

    @property
    def cancellations_total(self) -> int:
        return sum(row.count for row in self.cancellations)

    @property
    def unmet_requests(self) -> int:
        return sum(row.requests for row in self.unmet_demand)

    @property
    def no_shows_total(self) -> int:
        return sum(row.count for row in self.no_shows)

    def waiting_totals(self, *, offer_dates: bool) -> dict[str, int]:
        from booking.services.report_waiting_lists import totals

        return totals(self.waiting_lists, self.period, offer_dates=offer_dates)

    def volunteering_total(self, name: str) -> float:
        return round(sum(getattr(row, name) for row in self.volunteering), 2)

    @property
    def volunteers_total(self) -> int:
        return next((row.volunteers for row in self.volunteers if row.site_id is None and row.month is None), 0)

    # Views for charts and tables -------------------------------------------------------------
    def utilisation_by(self, key: str) -> list[tuple[str, float | None, float, float]]:
        """(label, share, booked, available) summed by ``month``, ``site`` or ``kind``."""
        booked: dict[str, float] = defaultdict(float)
        available: dict[str, float] = defaultdict(float)
        labels = self.period.months if key == "month" else []
        for row in self.utilisation:
            label = getattr(row, key)
            booked[label] += row.booked_hours
            available[label] += row.available_hours
            if label not in labels:
                labels.append(label)
        if key != "month":
            labels.sort()
        return [
            (label, round(booked[label] / available[label], 4) if available[label] else None,
             round(booked[label], 2), round(available[label], 2))
            for label in labels
        ]

    def volunteering_by_month(self) -> list[tuple[str, float]]:
        hours: dict[str, float] = defaultdict(float)
        for row in self.volunteering:
            hours[row.month] += row.hours_volunteered
        return [(month, round(hours[month], 2)) for month in self.period.months]

    def unmet_by_month(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = defaultdict(int)
        for row in self.unmet_demand:
            counts[row.month] += row.requests
        return [(month, counts[month]) for month in self.period.months]


def _not_offer_places():  # type: ignore[no-untyped-def]
    """Bookings of rooms, desks and things only: an offer's places are bookings of its hidden
    resource (kind ``offer``) and are reported as volunteering (``report_volunteering``)."""
    return Resource.kind != OFFER_RESOURCE_KIND


def _site_filter(site_ids: Sequence[int] | None):  # type: ignore[no-untyped-def]
    return True if site_ids is None else col(Site.id).in_(list(site_ids))


def _in_period(period: Period, instant, timezone, zones: Sequence[str]) -> list:  # type: ignore[no-untyped-def]
    """The period's exact cut in each site's zone as plain comparisons of instants (one pair per
    time zone in use, usually one): no per-row time zone conversion in WHERE."""
    if not zones:
        return [false()]
    return [or_(*[
        and_(timezone == zone, instant >= start, instant < end)
        for zone in zones for start, end in [period.local_bounds(zone)]
    ])]


async def _bookable_units(session, site_ids: Sequence[int] | None):  # type: ignore[no-untyped-def]
    """Units of rooms and desks per site and kind, and the sites (with their opening hours):
    what could have been booked, the denominator of utilisation."""
    units = (
        select(Resource.site_id, Resource.kind, func.sum(Resource.capacity))
        .where(col(Resource.kind).in_(TIME_KINDS), col(Resource.is_active).is_(True))
        .group_by(Resource.site_id, Resource.kind)
    )
    unit_rows = (await session.exec(units)).all()
    sites = (await session.exec(select(Site).where(_site_filter(site_ids)))).all()
    return unit_rows, sites


async def _no_shows(session, period: Period, site_ids: Sequence[int] | None, zones: Sequence[str]) -> list[NoShowRow]:  # type: ignore[no-untyped-def]
    """No-shows per organisation, read from the bookings themselves in both report paths: the
    status is rare and indexed, so the query stays small without a summary family."""
    no_shows = (
        select(Booking.organisation_id, Organisation.name, func.count())
        .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
        .outerjoin(Organisation, Organisation.id == Booking.organisation_id)
        .where(Booking.status == Status.NO_SHOW.value, _site_filter(site_ids), _not_offer_places(), *_in_period(period, Booking.starts_at, Site.timezone, zones))
        .group_by(Booking.organisation_id, Organisation.name)
    )
    return sorted(
        (NoShowRow(organisation_id, name or "", int(count)) for organisation_id, name, count in (await session.exec(no_shows)).all()),
        key=lambda row: (-row.count, row.organisation),
    )


async def _add_engagement(session, dialect: str, report: Report, site_ids: Sequence[int] | None,  # type: ignore[no-untyped-def]
                          zones: Sequence[str], *, key_figures_only: bool = False) -> None:
    """Waiting-list and volunteering figures, straight from their own tables in both report
    paths: they are small next to the bookings (a few entries per taken slot, a few places per
    offer date), so four bounded statements cost less than keeping them in the summary."""
    from booking.services.report_volunteering import volunteering
    from booking.services.report_waiting_lists import waiting_list_rows

    report.waiting_lists = await waiting_list_rows(session, dialect, report.period, site_ids, zones)
    figures = await volunteering(session, dialect, report.period, site_ids, zones, key_figures_only=key_figures_only)
    report.volunteering, report.volunteers, report.first_time_volunteers = figures.rows, figures.volunteers, figures.first_time


async def _zones(session) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted((await session.exec(select(Site.timezone).distinct())).all())


async def build_report_direct(app: AppContext, period: Period, *, site_ids: Sequence[int] | None = None) -> Report:
    """The report's figures straight from the bookings (no summary): the reference that the
    summary-based ``build_report`` must equal (tests), and the "before" of the benchmark."""
    dialect = app.database.dialect
    report = Report(period)
    month = local_month(dialect, Booking.starts_at, Site.timezone).label("month")
    unit_seconds = func.sum(Booking.quantity * seconds_between(dialect, Booking.starts_at, Booking.ends_at))
    async with app.database.reader() as session:
        zones = await _zones(session)
        used = and_(col(Booking.status).in_(USE_STATUSES), _site_filter(site_ids), _not_offer_places(),
                    *_in_period(period, Booking.starts_at, Site.timezone, zones))
        # 1. Usage per site, kind, category and month.
        usage = (
            select(Site.id, Site.name, Resource.kind, Resource.category, month, func.count(), unit_seconds)
            .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
            .where(used)
            .group_by(Site.id, Site.name, Resource.kind, Resource.category, month)
        )
        for site_id, site, kind, category, bucket, count, seconds in (await session.exec(usage)).all():
            report.usage.append(UsageRow(site_id, site, kind, category, bucket, int(count), round(float(seconds or 0) / 3600, 2)))

        # 2. Reach: distinct organisations and persons at four levels in one statement.
        base = (
            select(Site.id.label("site_id"), month, Booking.organisation_id.label("organisation_id"), Booking.booker_id.label("booker_id"))
            .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
            .where(used)
        ).cte("used_bookings")
        distinct_orgs = func.count(base.c.organisation_id.distinct())
        distinct_people = func.count(base.c.booker_id.distinct())
        # Typed NULLs: PostgreSQL must match the column types of the UNION's branches.
        no_site = cast(null(), Integer).label("site_id")
        no_month = cast(null(), String).label("month")
        reach = union_all(
            select(base.c.site_id, base.c.month, distinct_orgs, distinct_people).group_by(base.c.site_id, base.c.month),
            select(base.c.site_id, no_month, distinct_orgs, distinct_people).group_by(base.c.site_id),
            select(no_site, base.c.month, distinct_orgs, distinct_people).group_by(base.c.month),
            select(no_site, no_month, distinct_orgs, distinct_people).select_from(base),
        )
        reach_rows = (await session.exec(reach)).all()

        # 3. First-time organisations: the local month of an organisation's first use ever.
        # Organisations with use in the period and none before it: the period's rows plus an
        # EXISTS per organisation (index on organisation_id), not a scan of all history.
        earlier_booking, earlier_resource, earlier_site = aliased(Booking), aliased(Resource), aliased(Site)
        used_before = (
            select(earlier_booking.id)
            .join(earlier_resource, earlier_resource.id == earlier_booking.resource_id)
            .join(earlier_site, earlier_site.id == earlier_resource.site_id)
            .where(
                earlier_booking.organisation_id == Booking.organisation_id,
                col(earlier_booking.status).in_(USE_STATUSES), earlier_resource.kind != OFFER_RESOURCE_KIND,
                or_(false(), *[and_(earlier_site.timezone == zone, earlier_booking.starts_at < period.local_bounds(zone)[0]) for zone in zones]),
                True if site_ids is None else col(earlier_site.id).in_(list(site_ids)),
            )
            .exists()
        )
        firsts = (
            select(Booking.organisation_id, func.min(month).label("first_month"))
            .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
            .where(used, col(Booking.organisation_id).is_not(None), ~used_before)
            .group_by(Booking.organisation_id)
        ).subquery()
        first_time = select(firsts.c.first_month, func.count()).group_by(firsts.c.first_month)
        report.first_time_organisations = {bucket: int(count) for bucket, count in (await session.exec(first_time)).all()}

        # 4. Declined requests by site, month and reason group.
        reason_group = case((func.length(func.trim(Booking.decision_reason)) > 0, "reason_given"), else_="no_reason").label("reason_group")
        declined = (
            select(Site.id, Site.name, month, reason_group, func.count())
            .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
            .where(Booking.status == Status.DECLINED.value, _site_filter(site_ids), _not_offer_places(), *_in_period(period, Booking.starts_at, Site.timezone, zones))
            .group_by(Site.id, Site.name, month, reason_group)
        )
        report.declined = [CountRow(*row[:4], int(row[4])) for row in (await session.exec(declined)).all()]

        # 5. Cancellations by lead time (cancellation event to booked start).
        cancelled_at = (
            select(BookingEvent.booking_id, func.max(BookingEvent.at).label("cancelled_at"))
            .where(BookingEvent.to_status == Status.CANCELLED.value)
            .group_by(BookingEvent.booking_id)
        ).subquery()
        lead = seconds_between(dialect, cancelled_at.c.cancelled_at, Booking.starts_at)
        bucket = case(
            (lead < 0, "after_start"), (lead < DAY, "under_1_day"), (lead < 7 * DAY, "1_to_7_days"), else_="over_7_days",
        ).label("lead_bucket")
        cancellations = (
            select(Site.id, Site.name, month, bucket, func.count())
            .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
            .join(cancelled_at, cancelled_at.c.booking_id == Booking.id)
            .where(Booking.status == Status.CANCELLED.value, _site_filter(site_ids), _not_offer_places(), *_in_period(period, Booking.starts_at, Site.timezone, zones))
            .group_by(Site.id, Site.name, month, bucket)
        )
        report.cancellations = [CountRow(*row[:4], int(row[4])) for row in (await session.exec(cancellations)).all()]

        # 6. Unmet demand: requests that met a taken slot.
        demand_month = local_month(dialect, UnmetDemand.requested_starts_at, Site.timezone).label("month")
        demand_seconds = func.sum(
            UnmetDemand.quantity * seconds_between(dialect, UnmetDemand.requested_starts_at, UnmetDemand.requested_ends_at)
        )
        demand = (
            select(Site.id, Site.name, Resource.kind, demand_month, func.count(), demand_seconds)
            .select_from(UnmetDemand).join(Resource, Resource.id == UnmetDemand.resource_id).join(Site, Site.id == Resource.site_id)
            .where(_site_filter(site_ids), _not_offer_places(), *_in_period(period, UnmetDemand.requested_starts_at, Site.timezone, zones))
            .group_by(Site.id, Site.name, Resource.kind, demand_month)
        )
        report.unmet_demand = [
            UnmetDemandRow(site_id, site, kind, bucket_, int(count), round(float(seconds or 0) / 3600, 2))
            for site_id, site, kind, bucket_, count, seconds in (await session.exec(demand)).all()
        ]

        # 7. Top resources by number of uses.
        top = (
            select(Resource.id, Resource.name, Site.name, Resource.kind, func.count().label("uses"), unit_seconds.label("unit_seconds"))
            .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
            .where(used)
            .group_by(Resource.id, Resource.name, Site.name, Resource.kind)
            .order_by(func.count().desc(), unit_seconds.desc(), Resource.id)
            .limit(TOP_RESOURCES)
        )
        report.top_resources = [
            TopResourceRow(resource_id, name, site, kind, int(count), round(float(seconds or 0) / 3600, 2))
            for resource_id, name, site, kind, count, seconds in (await session.exec(top)).all()
        ]

        # 8. No-shows per organisation: bookings released because nobody checked in.
        report.no_shows = await _no_shows(session, period, site_ids, zones)

        # 9. What could have been booked: units of rooms and desks per site, and the sites' hours.
        unit_rows, sites = await _bookable_units(session, site_ids)

        # 10. Waiting lists and volunteering: read directly in both paths (small tables).
        await _add_engagement(session, dialect, report, site_ids, zones)

    site_names = {site.id: site.name for site in sites}
    report.reach = [
        ReachRow(site_id, site_names.get(site_id) if site_id is not None else None, bucket, int(orgs), int(people))
        for site_id, bucket, orgs, people in reach_rows
    ]
    report.utilisation = _utilisation(period, sites, unit_rows, report.usage)
    return report


async def build_report(
    app: AppContext, period: Period, *, site_ids: Sequence[int] | None = None, key_figures_only: bool = False,
) -> Report:
    """All figure families for ``period``, for every site or only ``site_ids`` (site managers),
    read from the monthly summary (``services/report_summary.py``): first the months changed
    since the last refresh are recomputed, then a handful of statements over the summary, whose
    size is resources × months, not bookings. Equal to ``build_report_direct`` (tested).

    ``key_figures_only`` (the yearly page's previous year, which shows only ``key_figures``):
    no top resources, and distinct organisations and persons only over the whole period — the
    distinct counts per site and per month are the most expensive part at scale."""
    from booking.models import ReportMonthOrganisation, ReportMonthPerson, ReportSummary
    from booking.services import report_summary

    await report_summary.refresh(app)
    report = Report(period)
    summary = ReportSummary
    in_period = and_(col(summary.month) >= period.first_month, col(summary.month) <= period.last_month)
    async with app.database.reader() as session:
        # 1. Use per site, kind, category and month; every other family per site, kind, month and
        # bucket (a new family needs no statement here: its rows arrive in ``families``).
        connection = await session.connection()  # plain rows, no ORM loading: thousands of them
        # Offer places are left out when the summary is filled; also here, for rows of a summary
        # filled before that (``booking report --rebuild-summary`` clears them for good).
        in_scope = and_(in_period, _site_filter(site_ids), _not_offer_places())
        usage = (
            select(Site.id, Site.name, Resource.kind, Resource.category, summary.month,
                   func.sum(summary.count), func.sum(summary.unit_seconds))
            .select_from(summary).join(Resource, Resource.id == summary.resource_id).join(Site, Site.id == Resource.site_id)
            .where(summary.family == report_summary.USE, in_scope)
            .group_by(Site.id, Site.name, Resource.kind, Resource.category, summary.month)
        )
        report.usage = [
            UsageRow(site_id, site, kind, category, bucket, int(count), round(float(seconds or 0) / 3600, 2))
            for site_id, site, kind, category, bucket, count, seconds in (await connection.execute(usage)).all()
        ]
        others = (
            select(summary.family, Site.id, Site.name, Resource.kind, summary.month, summary.bucket,
                   func.sum(summary.count), func.sum(summary.unit_seconds))
            .select_from(summary).join(Resource, Resource.id == summary.resource_id).join(Site, Site.id == Resource.site_id)
            .where(summary.family != report_summary.USE, in_scope)
            .group_by(summary.family, Site.id, Site.name, Resource.kind, summary.month, summary.bucket)
        )
        families: dict[str, list[SummaryRow]] = defaultdict(list)
        for family, *cells, count, seconds in (await connection.execute(others)).all():
            families[family].append(SummaryRow(*cells, int(count), float(seconds or 0)))  # type: ignore[arg-type]

        # 2. Top resources by number of uses.
        uses, use_seconds = func.sum(summary.count), func.sum(summary.unit_seconds)
        top = (
            select(Resource.id, Resource.name, Site.name, Resource.kind, uses, use_seconds)
            .select_from(summary).join(Resource, Resource.id == summary.resource_id).join(Site, Site.id == Resource.site_id)
            .where(summary.family == report_summary.USE, in_scope)
            .group_by(Resource.id, Resource.name, Site.name, Resource.kind)
            .order_by(uses.desc(), use_seconds.desc(), Resource.id)
            .limit(TOP_RESOURCES)
        )
        report.top_resources = [] if key_figures_only else [
            TopResourceRow(resource_id, name, site, kind, int(count), round(float(seconds or 0) / 3600, 2))
            for resource_id, name, site, kind, count, seconds in (await session.exec(top)).all()
        ]

        # 3. Reach from the monthly sets: exact distinct counts at every level.
        reach_counts: dict[tuple[int | None, str | None], list[int]] = {}
        for index, (model, member) in enumerate(((ReportMonthOrganisation, ReportMonthOrganisation.organisation_id),
                                                 (ReportMonthPerson, ReportMonthPerson.person_id))):
            members = _distinct_members(model, member, period, site_ids, overall_only=key_figures_only)
            for site_id, bucket, count in (await session.exec(members)).all():
                reach_counts.setdefault((site_id, bucket), [0, 0])[index] = int(count)

        # 4. First-time organisations: first month in the period, no month before it.
        organisations = ReportMonthOrganisation
        earlier = aliased(ReportMonthOrganisation)
        used_before = (
            select(earlier.organisation_id)
            .where(earlier.organisation_id == organisations.organisation_id, earlier.month < period.first_month,
                   True if site_ids is None else col(earlier.site_id).in_(list(site_ids)))
            .exists()
        )
        firsts = (
            select(organisations.organisation_id, func.min(organisations.month).label("first_month"))
            .where(col(organisations.month) >= period.first_month, col(organisations.month) <= period.last_month,
                   True if site_ids is None else col(organisations.site_id).in_(list(site_ids)), ~used_before)
            .group_by(organisations.organisation_id)
        ).subquery()
        first_time = select(firsts.c.first_month, func.count()).group_by(firsts.c.first_month)
        report.first_time_organisations = {bucket: int(count) for bucket, count in (await session.exec(first_time)).all()}

        # 5. What could have been booked: units of rooms and desks per site, and the sites' hours.
        unit_rows, sites = await _bookable_units(session, site_ids)

    report.declined = _counts(families[report_summary.DECLINED])
    report.cancellations = _counts(families[report_summary.CANCELLED])
    unmet: dict[tuple[int, str, str, str], list[float]] = {}
    for row in families[report_summary.UNMET]:
        cell = unmet.setdefault((row.site_id, row.site, row.kind, row.month), [0, 0.0])
        cell[0] += row.count
        cell[1] += row.unit_seconds
    report.unmet_demand = [
        UnmetDemandRow(site_id, site, kind, bucket, int(count), round(seconds / 3600, 2))
        for (site_id, site, kind, bucket), (count, seconds) in unmet.items()
    ]
    site_names = {site.id: site.name for site in sites}
    report.reach = [
        ReachRow(site_id, site_names.get(site_id) if site_id is not None else None, bucket, orgs, people)
        for (site_id, bucket), (orgs, people) in reach_counts.items()
    ]
    if (None, None) not in reach_counts:
        report.reach.append(ReachRow(None, None, None, 0, 0))
    async with app.database.reader() as session:
        zones = await _zones(session)
        report.no_shows = await _no_shows(session, period, site_ids, zones)
        await _add_engagement(session, app.database.dialect, report, site_ids, zones, key_figures_only=key_figures_only)
    report.utilisation = _utilisation(period, sites, unit_rows, report.usage)
    return report


@dataclass(frozen=True)
class SummaryRow:
    """A figure family's count and unit-seconds per site, kind, month and bucket."""

    site_id: int
    site: str
    kind: str
    month: str
    bucket: str
    count: int
    unit_seconds: float


def _counts(rows: list[SummaryRow]) -> list[CountRow]:
    """Counts per site, month and bucket (summed over kinds)."""
    counts: dict[tuple[int, str, str, str], int] = defaultdict(int)
    for row in rows:
        counts[(row.site_id, row.site, row.month, row.bucket)] += row.count
    return [CountRow(site_id, site, bucket, group, count) for (site_id, site, bucket, group), count in counts.items()]


def _distinct_members(model, member, period: Period, site_ids: Sequence[int] | None, *, overall_only: bool = False):  # type: ignore[no-untyped-def]
    """Distinct members per (site, month), site, month and overall, in one statement (only
    overall with ``overall_only``). A (site, month, member) row is unique, so the finest level
    is a plain count."""
    base = (
        select(model.site_id.label("site_id"), model.month.label("month"), member.label("member_id"))
        .where(col(model.month) >= period.first_month, col(model.month) <= period.last_month,
               True if site_ids is None else col(model.site_id).in_(list(site_ids)))
    ).cte(f"{model.__tablename__}_in_period")
    return distinct_rollup(base, base.c.member_id, overall_only=overall_only, unique_per_site_month=True)


def _utilisation(period: Period, sites: Sequence[Site], unit_rows, usage: list[UsageRow]) -> list[UtilisationRow]:  # type: ignore[no-untyped-def]
    booked: dict[tuple[int, str, str], float] = defaultdict(float)
    for row in usage:
        if row.kind in TIME_KINDS:
            booked[(row.site_id, row.kind, row.month)] += row.unit_hours
    units = {(site_id, kind): int(total) for site_id, kind, total in unit_rows}
    rows = []
    for site in sites:
        open_hours = open_hours_per_month(site.opening_hours, site.timezone, period)
        for kind in TIME_KINDS:
            capacity = units.get((site.id, kind), 0)  # type: ignore[arg-type]
            if not capacity:
                continue
            for month in period.months:
                rows.append(UtilisationRow(
                    site.id, site.name, kind, month,  # type: ignore[arg-type]
                    round(booked.get((site.id, kind, month), 0.0), 2),  # type: ignore[arg-type]
                    round(open_hours[month] * capacity, 2),
                ))
    return rows


def open_hours_per_month(hours, timezone: str, period: Period) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Hours a site is open in each local month of ``period`` (no opening hours: around the clock).
    Sites often share their hours and a report asks for the same months again: remembered by
    the hours' content, so a changed week is a new key."""
    return dict(_open_hours_per_month(json.dumps(hours or {}, sort_keys=True), timezone, period))


@lru_cache(maxsize=256)
def _open_hours_per_month(hours_json: str, timezone: str, period: Period) -> tuple[tuple[str, float], ...]:
    hours = json.loads(hours_json)
    zone = ZoneInfo(timezone)
    result = {}
    day = period.first
    while day <= period.last:
        month_start = datetime.combine(day, datetime.min.time(), zone)
        month_end = datetime.combine(_next_month(day), datetime.min.time(), zone)
        if not hours:
            seconds = (month_end.astimezone(UTC) - month_start.astimezone(UTC)).total_seconds()
        else:
            seconds = 0.0
            for stretch in open_intervals(hours, timezone, Interval(month_start, month_end)):
                start, end = max(stretch.starts_at, month_start), min(stretch.ends_at, month_end)
                if end > start:
                    seconds += (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
        result[day.strftime("%Y-%m")] = round(seconds / 3600, 2)
        day = _next_month(day)
    return tuple(result.items())


async def record_unmet_demand(app: AppContext, resource_id: int, interval: Interval, quantity: int) -> None:
    """Count a request that met a taken slot, in its own short transaction (the request's own
    transaction was rolled back). Without the person: the report needs how much, not who."""
    async with app.database.transaction() as session:
        session.add(UnmetDemand(
            resource_id=resource_id, requested_starts_at=interval.starts_at,
            requested_ends_at=interval.ends_at, quantity=max(1, quantity),
        ))


def unmet_demand_of_refused_dates(resource_id: int, refused, quantity: int) -> list[UnmetDemand]:  # type: ignore[no-untyped-def]
    """Unmet demand rows for the dates of a new series that were refused because they were taken
    (``code == "conflict"``; dates refused by a rule of the resource or skipped by a clock change
    are not demand that met a taken slot). Each counts as one request, like a 409 of a single
    booking; without the person."""
    return [
        UnmetDemand(resource_id=resource_id, requested_starts_at=item.starts_at, requested_ends_at=item.ends_at,
                    quantity=max(1, quantity))
        for item in refused
        if item.code == "conflict" and item.starts_at is not None and item.ends_at is not None
    ]


async def record_unmet_demand_rows(app: AppContext, rows: list[UnmetDemand]) -> None:
    """Store unmet demand in its own short transaction (the request's own was rolled back)."""
    if not rows:
        return
    async with app.database.transaction() as session:
        session.add_all(rows)


# --- the report as tables: one shape for the page, CSV and JSON ------------------------------


@dataclass(frozen=True)
class Table:
    """One table of the report. ``columns`` are stable machine names (CSV headers, JSON keys);
    pages translate them. Cells are plain values: str, int, float or None."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def key_figures(report: Report) -> list[tuple[str, object]]:
    """Every key figure: the booking figures, then waiting lists, then volunteering (the pages
    show the three groups in their own sections; exports and the comparison take them all)."""
    return booking_key_figures(report) + waiting_list_key_figures(report) + volunteering_key_figures(report)


def waiting_list_key_figures(report: Report) -> list[tuple[str, object]]:
    resources, offer_dates = report.waiting_totals(offer_dates=False), report.waiting_totals(offer_dates=True)
    return [
        ("waiting_joined", resources["joined"]),
        ("waiting_took_hold", resources["took_hold"]),
        ("waiting_at_period_end", resources["waiting_at_month_end"]),
        ("offer_waiting_joined", offer_dates["joined"]),
        ("offer_waiting_took_hold", offer_dates["took_hold"]),
        ("offer_waiting_at_period_end", offer_dates["waiting_at_month_end"]),
    ]


def volunteering_key_figures(report: Report) -> list[tuple[str, object]]:
    return [
        ("offers_published", int(report.volunteering_total("offers_task") + report.volunteering_total("offers_training"))),
        ("offer_dates_held", int(report.volunteering_total("dates_held"))),
        ("offer_places_offered", int(report.volunteering_total("places_offered"))),
        ("offer_places_filled", int(report.volunteering_total("places_filled"))),
        ("offer_attended", int(report.volunteering_total("attended"))),
        ("hours_volunteered", report.volunteering_total("hours_volunteered")),
        ("volunteers", report.volunteers_total),
        ("new_volunteers", sum(report.first_time_volunteers.values())),
    ]


def booking_key_figures(report: Report) -> list[tuple[str, object]]:
    return [
        ("hours_booked", report.hours_booked),
        ("utilisation_percent", _percent(report.utilisation_share)),
        ("loans", report.loans),
        ("loan_days", report.loan_days),
        ("organisations", report.organisations),
        ("persons", report.persons),
        ("new_organisations", report.new_organisations),
        ("declined", report.declined_total),
        ("cancellations", report.cancellations_total),
        ("unmet_requests", report.unmet_requests),
        ("no_shows", report.no_shows_total),
    ]


def report_tables(report: Report) -> list[Table]:
    """Every table of the report, in the order the page shows them."""
    utilisation_columns = ("booked_hours", "available_hours", "utilisation_percent")

    def utilisation(key: str) -> Table:
        return Table(
            f"utilisation_by_{key}", (key, *utilisation_columns),
            [(label, booked, available, _percent(share)) for label, share, booked, available in report.utilisation_by(key)],
        )

    return [
        Table("key_figures", ("figure", "value"), list(key_figures(report))),
        utilisation("month"),
        utilisation("site"),
        utilisation("kind"),
        Table(
            "usage", ("site", "kind", "category", "month", "bookings", "unit_hours", "loan_days"),
            [(r.site, r.kind, r.category, r.month, r.bookings, r.unit_hours, r.loan_days if r.kind == "item" else None)
             for r in sorted(report.usage, key=lambda r: (r.site, r.kind, r.category, r.month))],
        ),
        Table(
            "reach", ("site", "month", "organisations", "persons"),
            [(r.site or "", r.month or "", r.organisations, r.persons)
             for r in sorted(report.reach, key=lambda r: (r.site is None, r.site or "", r.month is None, r.month or ""))],
        ),
        Table("first_time_organisations", ("month", "organisations"),
              [(month, report.first_time_organisations.get(month, 0)) for month in report.period.months]),
        Table("declined", ("site", "month", "reason", "requests"),
              [(r.site, r.month, r.group, r.count) for r in sorted(report.declined, key=lambda r: (r.site, r.month, r.group))]),
        Table("cancellations", ("site", "month", "lead_time", "cancellations"),
              [(r.site, r.month, r.group, r.count)
               for r in sorted(report.cancellations, key=lambda r: (r.site, r.month, LEAD_BUCKETS.index(r.group)))]),
        Table("unmet_demand", ("site", "kind", "month", "requests", "requested_hours"),
              [(r.site, r.kind, r.month, r.requests, r.requested_hours)
               for r in sorted(report.unmet_demand, key=lambda r: (r.site, r.kind, r.month))]),
        Table("top_resources", ("resource", "site", "kind", "bookings", "unit_hours"),
              [(r.resource, r.site, r.kind, r.bookings, r.unit_hours) for r in report.top_resources]),
        # Bookings without an organisation count under "" (the page says "without organisation").
        Table("no_shows", ("organisation", "no_shows"), [(r.organisation, r.count) for r in report.no_shows]),
        *engagement_tables(report),
    ]


WAITING_LIST_COLUMNS = ("joined", "offered", "took_hold", "let_hold_go", "left_unoffered", "waiting_at_month_end")
VOLUNTEERING_COLUMNS = ("offers_task", "offers_training", "dates_held", "places_offered", "places_filled", "attended",
                        "hours_volunteered", "volunteers")


def engagement_tables(report: Report) -> list[Table]:
    """Waiting lists (rooms, desks and things; offer dates apart) and volunteering."""
    def waiting(rows) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
        return [(r.site, r.kind, r.month, *(getattr(r, name) for name in WAITING_LIST_COLUMNS)) for r in rows]

    return [
        Table("waiting_lists", ("site", "kind", "month", *WAITING_LIST_COLUMNS),
              waiting(row for row in report.waiting_lists if not row.is_offer_date)),
        Table("offer_waiting_lists", ("site", "month", *WAITING_LIST_COLUMNS),
              [(site, month, *cells) for site, _, month, *cells in waiting(row for row in report.waiting_lists if row.is_offer_date)]),
        Table("volunteering", ("site", "month", *VOLUNTEERING_COLUMNS),
              [(r.site, r.month, *(getattr(r, name) for name in VOLUNTEERING_COLUMNS)) for r in report.volunteering]),
        Table("volunteers", ("site", "month", "volunteers"),
              [(r.site or "", r.month or "", r.volunteers)
               for r in sorted(report.volunteers, key=lambda r: (r.site is None, r.site or "", r.month is None, r.month or ""))]),
        Table("first_time_volunteers", ("month", "volunteers"),
              [(month, report.first_time_volunteers.get(month, 0)) for month in report.period.months]),
    ]


def tables_as_json(report: Report) -> dict[str, object]:
    return {
        "period": {"since": report.period.first_month, "until": report.period.last_month},
        "tables": {table.name: {"columns": list(table.columns), "rows": [list(row) for row in table.rows]}
                   for table in report_tables(report)},
    }


def tables_as_csv(report: Report, *, delimiter: str = ",") -> str:
    """All tables in one CSV text: a line with the table's name, its header, its rows, a blank
    line. Numbers with a dot (machine-readable); the caller adds the BOM for spreadsheets."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for table in report_tables(report):
        writer.writerow([f"# {table.name}"])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow(["" if cell is None else cell for cell in row])
        writer.writerow([])
    return buffer.getvalue()


async def get_introduction(app: AppContext, year: int) -> str:
    from booking.models import ReportIntroduction

    async with app.database.reader() as session:
        row = await session.get(ReportIntroduction, year)
    return row.text if row else ""


MAX_INTRODUCTION = 20000


async def save_introduction(app: AppContext, year: int, text: str) -> None:
    """Store the coordinator's introduction to ``year``'s report (callers check the permission)."""
    from booking.models import ReportIntroduction, utc_now

    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_INTRODUCTION:
        raise InvalidInput(f"the introduction may be at most {MAX_INTRODUCTION} characters long", field="introduction")
    async with app.database.transaction() as session:
        row = await session.get(ReportIntroduction, year)
        if row is None:
            session.add(ReportIntroduction(year=year, text=text))
        else:
            row.text = text
            row.updated_at = utc_now()
            session.add(row)


# --- open data: per site and month, small cells suppressed ------------------------------------

OPEN_DATA_COLUMNS = ("site", "month", "bookings", "hours_booked", "loans", "loan_days", "organisations", "persons",
                     "offer_dates", "places_filled", "hours_volunteered", "volunteers", "waiting_list_joined")


@dataclass(frozen=True)
class OpenDataRow:
    site: str
    month: str
    # None where the cell is suppressed.
    bookings: int | None
    hours_booked: float | None
    loans: int | None
    loan_days: float | None
    organisations: int | None
    persons: int | None
    # Volunteering (report_volunteering), suppressed on its own: None where 0 < volunteers < N.
    offer_dates: int | None = 0
    places_filled: int | None = 0
    hours_volunteered: float | None = 0.0
    volunteers: int | None = 0
    # Entries joined on any waiting list; None where 0 < distinct persons who joined < N.
    waiting_list_joined: int | None = 0

    @property
    def suppressed(self) -> bool:
        return self.bookings is None

    def cells(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in OPEN_DATA_COLUMNS)


def is_small_cell(organisations: int, persons: int, min_cell_size: int) -> bool:
    """A cell is too small to publish when it describes fewer than ``min_cell_size`` persons, or
    fewer than that many organisations (but at least one: figures of one or two organisations
    describe them, however many of their members booked). Bookings of private persons only
    (no organisation) are judged by the persons."""
    return persons < min_cell_size or 0 < organisations < min_cell_size


async def _with_engagement(app: AppContext, period: Period, rows: list[OpenDataRow]) -> list[OpenDataRow]:
    """The open data rows with the volunteering and waiting-list figures of their site and month; a
    site and month with those but no use gets a row of its own (use 0). Volunteering cells are
    suppressed when they describe fewer than ``min_cell_size`` volunteers, the waiting-list cell
    when fewer than that many persons joined (but at least one: no person, no one described)."""
    from dataclasses import replace

    from booking.services.report_volunteering import volunteering
    from booking.services.report_waiting_lists import joined_per_site_month

    minimum = app.settings.open_data.min_cell_size
    async with app.database.reader() as session:
        zones = await _zones(session)
        figures = await volunteering(session, app.database.dialect, period, None, zones)
        joined = await joined_per_site_month(session, app.database.dialect, period, zones)
    by_cell = {(row.site, row.month): row for row in rows}

    def row_of(site: str, month: str) -> OpenDataRow:
        return by_cell.get((site, month)) or OpenDataRow(site, month, 0, 0.0, 0, 0.0, 0, 0)

    for figure in figures.rows:
        small = 0 < figure.volunteers < minimum
        by_cell[(figure.site, figure.month)] = replace(
            row_of(figure.site, figure.month),
            offer_dates=None if small else figure.dates_held, places_filled=None if small else figure.places_filled,
            hours_volunteered=None if small else figure.hours_volunteered, volunteers=None if small else figure.volunteers,
        )
    for (site, month), (entries, persons) in joined.items():
        by_cell[(site, month)] = replace(row_of(site, month), waiting_list_joined=None if 0 < persons < minimum else entries)
    return [by_cell[key] for key in sorted(by_cell)]


async def open_data(app: AppContext, period: Period) -> list[OpenDataRow]:
    """Use per site and local month for the public, from the monthly summary (three statements
    over it, whatever the number of bookings); small cells suppressed. Equal to
    ``open_data_direct`` (tested)."""
    from booking.models import ReportMonthOrganisation, ReportMonthPerson, ReportSummary
    from booking.services import report_summary

    await report_summary.refresh(app)
    minimum = app.settings.open_data.min_cell_size
    summary = ReportSummary
    is_time = col(Resource.kind).in_(TIME_KINDS)
    is_item = Resource.kind == "item"
    use = (
        select(
            Site.id, Site.name, summary.month, func.sum(summary.count),
            func.sum(case((is_time, summary.unit_seconds), else_=0)),
            func.sum(case((is_item, summary.count), else_=0)),
            func.sum(case((is_item, summary.unit_seconds), else_=0)),
        )
        .select_from(summary).join(Resource, Resource.id == summary.resource_id).join(Site, Site.id == Resource.site_id)
        .where(summary.family == report_summary.USE, _not_offer_places(),
               col(summary.month) >= period.first_month, col(summary.month) <= period.last_month)
        .group_by(Site.id, Site.name, summary.month)
        .order_by(Site.name, summary.month)
    )
    async with app.database.reader() as session:
        rows = (await session.exec(use)).all()
        members: list[dict[tuple[int, str], int]] = []
        for model in (ReportMonthOrganisation, ReportMonthPerson):
            counts = (
                select(model.site_id, model.month, func.count())
                .where(col(model.month) >= period.first_month, col(model.month) <= period.last_month)
                .group_by(model.site_id, model.month)
            )
            members.append({(site_id, bucket): int(count) for site_id, bucket, count in (await session.exec(counts)).all()})
    result = []
    for site_id, site, bucket, count, time_seconds, loans, item_seconds in rows:
        organisations, persons = members[0].get((site_id, bucket), 0), members[1].get((site_id, bucket), 0)
        if is_small_cell(organisations, persons, minimum):
            result.append(OpenDataRow(site, bucket, None, None, None, None, None, None))
            continue
        result.append(OpenDataRow(
            site, bucket, int(count), round(float(time_seconds or 0) / 3600, 2), int(loans or 0),
            round(float(item_seconds or 0) / DAY, 2), organisations, persons,
        ))
    return await _with_engagement(app, period, result)


async def open_data_direct(app: AppContext, period: Period) -> list[OpenDataRow]:
    """``open_data`` straight from the bookings (the reference for the summary's test)."""
    dialect = app.database.dialect
    minimum = app.settings.open_data.min_cell_size
    month = local_month(dialect, Booking.starts_at, Site.timezone).label("month")
    unit_seconds = Booking.quantity * seconds_between(dialect, Booking.starts_at, Booking.ends_at)
    is_time = col(Resource.kind).in_(TIME_KINDS)
    is_item = Resource.kind == "item"
    statement = (
        select(
            Site.name, month, func.count(),
            func.sum(case((is_time, unit_seconds), else_=0)),
            func.sum(case((is_item, 1), else_=0)),
            func.sum(case((is_item, unit_seconds), else_=0)),
            func.count(Booking.organisation_id.distinct()),
            func.count(Booking.booker_id.distinct()),
        )
        .select_from(Booking).join(Resource, Resource.id == Booking.resource_id).join(Site, Site.id == Resource.site_id)
        .where(col(Booking.status).in_(USE_STATUSES), _not_offer_places())
        .group_by(Site.id, Site.name, month)
        .order_by(Site.name, month)
    )
    async with app.database.reader() as session:
        zones = await _zones(session)
        rows = (await session.exec(statement.where(*_in_period(period, Booking.starts_at, Site.timezone, zones)))).all()
    result = []
    for site, bucket, count, time_seconds, loans, item_seconds, organisations, persons in rows:
        if is_small_cell(int(organisations), int(persons), minimum):
            result.append(OpenDataRow(site, bucket, None, None, None, None, None, None))
            continue
        result.append(OpenDataRow(
            site, bucket, int(count), round(float(time_seconds or 0) / 3600, 2), int(loans or 0),
            round(float(item_seconds or 0) / DAY, 2), int(organisations), int(persons),
        ))
    return await _with_engagement(app, period, result)
