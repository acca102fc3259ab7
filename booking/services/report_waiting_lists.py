"""Waiting-list figures of the report (Umsetzungsbericht), per site, resource kind and local month.

Read straight from ``waiting_list_entry`` in one SQL statement, not through the monthly summary
(``report_summary``): a waiting list holds a few entries per taken slot, so the table stays small
next to the bookings, and its figures are events and a snapshot that the summary's shape
(count and unit-seconds per booking month) does not hold.

Conventions:

* The kind is the resource's: rooms, desks, things (and online rooms) — and ``offer`` for the
  waiting lists of offer dates (their places are a hidden resource of kind ``offer``), which the
  report shows apart.
* The flows are **events**, each in the site's local month in which it happened: *joined* (the
  entry was made), *offered* (a hold was made for it), *took the hold* (it became a booking),
  *let the hold go* (the hold ran out or was declined), *left without an offer* (withdrawn, or
  removed by the staff, before a hold was offered).
* *Waiting at month end* is a **snapshot**, the length of the lists: entries made before the end
  of the month, neither offered nor ended by then, whose slot had not ended yet (an entry whose
  slot passed while waiting stays ``waiting`` in the table, and the pages do not show it either).
  The length at the end of the period is the value of its last month.
* Only counts: no person, title or organisation of an entry reaches the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, literal, or_, union_all
from sqlmodel import col, select

from booking.db.reporting_sql import local_month
from booking.db.types import UTCDateTime
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.domain.waiting_list import EntryStatus
from booking.models import Resource, Site, WaitingListEntry
from booking.services.reporting import Period, _in_period, _site_filter

FLOWS = ("joined", "offered", "took_hold", "let_hold_go", "left_unoffered")
SNAPSHOT = "waiting_at_month_end"
ENDED = (EntryStatus.EXPIRED.value, EntryStatus.WITHDRAWN.value)


@dataclass(frozen=True)
class WaitingListRow:
    site_id: int
    site: str
    kind: str
    month: str
    joined: int = 0
    offered: int = 0
    took_hold: int = 0
    let_hold_go: int = 0
    left_unoffered: int = 0
    waiting_at_month_end: int = 0

    @property
    def is_offer_date(self) -> bool:
        return self.kind == OFFER_RESOURCE_KIND


def _event(dialect: str, name: str, instant, period: Period, site_ids: Sequence[int] | None,  # type: ignore[no-untyped-def]
           zones: Sequence[str], *conditions) -> Select:  # type: ignore[type-arg]
    entry = WaitingListEntry
    return (
        select(Site.id.label("site_id"), Site.name.label("site"), Resource.kind.label("kind"),  # type: ignore[union-attr]
               local_month(dialect, instant, Site.timezone).label("month"), literal(name).label("figure"))
        .select_from(entry).join(Resource, Resource.id == entry.resource_id).join(Site, Site.id == Resource.site_id)
        .where(_site_filter(site_ids), *_in_period(period, instant, Site.timezone, zones), *conditions)
    )


def _month_ends(period: Period, zones: Sequence[str]):  # type: ignore[no-untyped-def]
    """(time zone, month, the month's end as an instant) for every zone in use and month of the
    period: at most 60 × zones constant rows, the snapshot instants of the list lengths."""
    rows = []
    for zone in zones:
        for month in period.months:
            first = date(int(month[:4]), int(month[5:7]), 1)
            _, end = Period(first, first).local_bounds(zone)
            rows.append(select(literal(zone).label("timezone"), literal(month).label("month"),
                               literal(end, type_=UTCDateTime).label("ends_at")))
    return union_all(*rows).subquery("month_ends")


def statement(dialect: str, period: Period, site_ids: Sequence[int] | None, zones: Sequence[str]) -> Select:  # type: ignore[type-arg]
    """Site, site name, kind, month, figure, count: every flow and the snapshot, one statement."""
    entry = WaitingListEntry
    ended = col(entry.status).in_(ENDED)
    branches = [
        _event(dialect, "joined", entry.created_at, period, site_ids, zones),
        _event(dialect, "offered", entry.offered_at, period, site_ids, zones),
        _event(dialect, "took_hold", entry.decided_at, period, site_ids, zones, entry.status == EntryStatus.BOOKED.value),
        _event(dialect, "let_hold_go", entry.decided_at, period, site_ids, zones, ended, col(entry.offered_at).is_not(None)),
        _event(dialect, "left_unoffered", entry.decided_at, period, site_ids, zones, ended, col(entry.offered_at).is_(None)),
    ]
    if zones:
        ends = _month_ends(period, zones)
        period_start = min(period.local_bounds(zone)[0] for zone in zones)
        branches.append(
            select(Site.id.label("site_id"), Site.name.label("site"), Resource.kind.label("kind"),  # type: ignore[union-attr]
                   ends.c.month.label("month"), literal(SNAPSHOT).label("figure"))
            .select_from(entry).join(Resource, Resource.id == entry.resource_id).join(Site, Site.id == Resource.site_id)
            .join(ends, ends.c.timezone == Site.timezone)
            .where(
                _site_filter(site_ids), entry.ends_at > period_start,
                entry.created_at < ends.c.ends_at, entry.ends_at > ends.c.ends_at,
                or_(col(entry.offered_at).is_(None), entry.offered_at >= ends.c.ends_at),
                or_(col(entry.decided_at).is_(None), entry.decided_at >= ends.c.ends_at),
            )
        )
    events = union_all(*branches).subquery("waiting_list_events")
    return (
        select(events.c.site_id, events.c.site, events.c.kind, events.c.month, events.c.figure, func.count())
        .group_by(events.c.site_id, events.c.site, events.c.kind, events.c.month, events.c.figure)
    )


async def waiting_list_rows(session, dialect: str, period: Period, site_ids: Sequence[int] | None,  # type: ignore[no-untyped-def]
                            zones: Sequence[str]) -> list[WaitingListRow]:
    """The waiting-list figures per site, kind and local month (rows with any figure only)."""
    cells: dict[tuple[int, str, str, str], dict[str, int]] = defaultdict(dict)
    for site_id, site, kind, month, figure, count in (await session.exec(statement(dialect, period, site_ids, zones))).all():
        cells[(site_id, site, kind, month)][figure] = int(count)
    return sorted(
        (WaitingListRow(site_id, site, kind, month, **figures) for (site_id, site, kind, month), figures in cells.items()),
        key=lambda row: (row.site, row.kind, row.month),
    )


def totals(rows: Sequence[WaitingListRow], period: Period, *, offer_dates: bool) -> dict[str, int]:
    """The flows summed over the period, and the length at its end, for the lists of rooms, desks
    and things (``offer_dates`` False) or of offer dates."""
    chosen = [row for row in rows if row.is_offer_date == offer_dates]
    result = {name: sum(getattr(row, name) for row in chosen) for name in FLOWS}
    result[SNAPSHOT] = sum(row.waiting_at_month_end for row in chosen if row.month == period.last_month)
    return result


async def joined_per_site_month(session, dialect: str, period: Period, zones: Sequence[str]) -> dict[tuple[str, str], tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(site name, month) → (entries joined, distinct persons who joined), every list: for open
    data, which publishes the entries only where enough persons stand behind them."""
    entry = WaitingListEntry
    month = local_month(dialect, entry.created_at, Site.timezone)
    statement = (
        select(Site.name, month, func.count(), func.count(entry.person_id.distinct()))  # type: ignore[attr-defined]
        .select_from(entry).join(Resource, Resource.id == entry.resource_id).join(Site, Site.id == Resource.site_id)
        .where(*_in_period(period, entry.created_at, Site.timezone, zones))
        .group_by(Site.id, Site.name, month)
    )
    return {(site, bucket): (int(entries), int(persons)) for site, bucket, entries, persons in (await session.exec(statement)).all()}
