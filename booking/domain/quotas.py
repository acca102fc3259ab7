"""Quotas: how much one organisation or one person may book of a resource or a category.

A quota counts bookings of its scope (one resource, or every resource of a category at one
site) made for its subject (the organisation booked for, or the person booking) in a period
of the site's local calendar (ISO week, month, year), or the bookings still to come.
Pure functions: bookings and the request in, the state of the quota out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.domain.errors import DomainError
from booking.domain.intervals import Interval

HOURS_PER_WEEK = "hours_per_week"
HOURS_PER_MONTH = "hours_per_month"
UPCOMING_BOOKINGS = "upcoming_bookings"
LOAN_DAYS_PER_YEAR = "loan_days_per_year"
METRICS = (HOURS_PER_WEEK, HOURS_PER_MONTH, UPCOMING_BOOKINGS, LOAN_DAYS_PER_YEAR)
SUBJECTS = ("organisation", "person")
# refuse: a request beyond the quota is refused (the site's staff may still book);
# ask: it goes to the lender instead of being confirmed at once.
ENFORCEMENTS = ("refuse", "ask")
MAX_LIMIT = 10_000

#: Bookings that use up a quota: what holds capacity now, and what was used (returned).
#: Cancelled, declined and no-show bookings give their time back.
#: A waiting list's hold (``held``) counts too: it becomes the person's booking by one click.
COUNTED_STATUSES = frozenset({"requested", "confirmed", "checked_out", "returned", "held"})
#: "Upcoming" counts only what is still to come and still held.
UPCOMING_STATUSES = frozenset({"requested", "confirmed", "checked_out", "held"})


@dataclass(frozen=True)
class Quota:
    """One quota as plain values. Scope: ``resource_id``, or ``category`` at ``site_id``."""

    id: int
    site_id: int
    metric: str
    subject: str
    limit: int
    enforcement: str = "refuse"
    resource_id: int | None = None
    category: str = ""

    def applies_to(self, resource_id: int, category: str) -> bool:
        if self.resource_id is not None:
            return self.resource_id == resource_id
        return bool(self.category) and self.category == category

    def subject_id(self, organisation_id: int | None, booker_id: int) -> int | None:
        """Whose quota a booking counts against; None when it does not apply (a private
        booking is not counted against an organisation's quota)."""
        return organisation_id if self.subject == "organisation" else booker_id


@dataclass(frozen=True)
class CountedBooking:
    """A booking as far as quotas are concerned."""

    interval: Interval
    resource_id: int
    category: str
    organisation_id: int | None
    booker_id: int
    status: str


@dataclass(frozen=True)
class QuotaState:
    """How much of a quota is used in one period, and whether a request still fits.

    Amounts are in the quota's unit: minutes for hours, days for loan days, bookings for the
    number of upcoming bookings. ``period`` is None for upcoming bookings.
    """

    quota: Quota
    period: Interval | None
    limit: int
    used: int
    requested: int = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def fits(self) -> bool:
        return self.used + self.requested <= self.limit


class QuotaExceeded(DomainError):
    """A request beyond a quota that refuses (HTTP 409 with the remaining amount)."""

    status_code = 409
    code = "quota_exceeded"

    def __init__(self, message: str, state: QuotaState, *, field: str | None = "starts_at") -> None:
        super().__init__(message, field=field)
        self.state = state


def unit_of(metric: str) -> str:
    return {HOURS_PER_WEEK: "hours", HOURS_PER_MONTH: "hours", UPCOMING_BOOKINGS: "bookings", LOAN_DAYS_PER_YEAR: "days"}[metric]


def limit_in_units(quota: Quota) -> int:
    """The limit in the counting unit (hours are counted in minutes)."""
    return quota.limit * 60 if unit_of(quota.metric) == "hours" else quota.limit


def periods(metric: str, interval: Interval, timezone: str) -> list[Interval]:
    """The local calendar periods (week, month, year) that ``interval`` touches, in order."""
    zone = ZoneInfo(timezone)
    first = interval.starts_at.astimezone(zone).date()
    last = (interval.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
    found: list[Interval] = []
    start = _period_start(metric, first)
    while start <= last:
        end = _next_period(metric, start)
        found.append(Interval(_instant(start, zone), _instant(end, zone)))
        start = end
    return found


def _period_start(metric: str, day: date) -> date:
    if metric == HOURS_PER_WEEK:
        return day - timedelta(days=day.weekday())
    if metric == HOURS_PER_MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _next_period(metric: str, start: date) -> date:
    if metric == HOURS_PER_WEEK:
        return start + timedelta(days=7)
    if metric == HOURS_PER_MONTH:
        return date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


def _instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def amount_in(metric: str, interval: Interval, period: Interval | None) -> int:
    """What ``interval`` uses of a quota in ``period``: minutes, started days, or one booking."""
    if metric == UPCOMING_BOOKINGS:
        return 1
    assert period is not None
    starts_at, ends_at = max(interval.starts_at, period.starts_at), min(interval.ends_at, period.ends_at)
    if ends_at <= starts_at:
        return 0
    seconds = (ends_at - starts_at).total_seconds()
    if metric == LOAN_DAYS_PER_YEAR:
        return math.ceil(seconds / 86400)
    return math.ceil(seconds / 60)


def counting_window(quotas: Iterable[Quota], intervals: Sequence[Interval], timezone: str, now: datetime) -> Interval | None:
    """The stretch of time whose bookings the quotas need for checking ``intervals``."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for quota in quotas:
        if quota.metric == UPCOMING_BOOKINGS:
            starts.append(now)
            ends.append(max(interval.ends_at for interval in intervals) + timedelta(days=MAX_LIMIT))
            continue
        for interval in intervals:
            touched = periods(quota.metric, interval, timezone)
            starts.append(touched[0].starts_at)
            ends.append(touched[-1].ends_at)
    if not starts:
        return None
    return Interval(min(starts), max(ends))


def state_for(
    quota: Quota,
    counted: Iterable[CountedBooking],
    request: Interval,
    *,
    organisation_id: int | None,
    booker_id: int,
    timezone: str,
    now: datetime,
) -> QuotaState | None:
    """The state of ``quota`` for one request (the tightest period it touches), or None when
    the quota does not concern this booker (an organisation's quota, a private booking)."""
    subject = quota.subject_id(organisation_id, booker_id)
    if subject is None:
        return None
    mine = [
        booking for booking in counted
        if quota.applies_to(booking.resource_id, booking.category)
        and quota.subject_id(booking.organisation_id, booking.booker_id) == subject
    ]
    limit = limit_in_units(quota)
    if quota.metric == UPCOMING_BOOKINGS:
        used = sum(1 for booking in mine if booking.status in UPCOMING_STATUSES and booking.interval.ends_at > now)
        return QuotaState(quota, None, limit, used, 1)
    tightest: QuotaState | None = None
    for period in periods(quota.metric, request, timezone):
        used = sum(
            amount_in(quota.metric, booking.interval, period) for booking in mine if booking.status in COUNTED_STATUSES
        )
        state = QuotaState(quota, period, limit, used, amount_in(quota.metric, request, period))
        if tightest is None or state.limit - state.used - state.requested < tightest.limit - tightest.used - tightest.requested:
            tightest = state
    return tightest


def current_state(
    quota: Quota, counted: Iterable[CountedBooking], *, organisation_id: int | None, booker_id: int, timezone: str, now: datetime
) -> QuotaState | None:
    """The state of ``quota`` in the period containing ``now`` (for showing what is left)."""
    probe = Interval(now, now + timedelta(minutes=1))
    state = state_for(quota, counted, probe, organisation_id=organisation_id, booker_id=booker_id, timezone=timezone, now=now)
    return None if state is None else QuotaState(state.quota, state.period, state.limit, state.used, 0)


def describe_exceeded(state: QuotaState) -> str:
    """English words for the API; pages rebuild them in their language (web.texts)."""
    unit = unit_of(state.quota.metric)
    if unit == "hours":
        remaining = _hours(state.remaining)
        return f"the quota allows {state.quota.limit} hours {_per(state.quota.metric)}; {remaining} hours are left"
    if unit == "days":
        return f"the quota allows {state.quota.limit} loan days per year; {state.remaining} days are left"
    return f"the quota allows {state.quota.limit} upcoming bookings; {state.remaining} are left"


def _per(metric: str) -> str:
    return "per week" if metric == HOURS_PER_WEEK else "per month"


def _hours(minutes: int) -> str:
    hours = minutes / 60
    return str(int(hours)) if hours == int(hours) else f"{hours:.1f}"


def hours_text(minutes: int) -> str:
    return _hours(minutes)
