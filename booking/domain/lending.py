"""Pure rules of lending things and of day-based bookings (items over days, desks per half-day).

- ``day_span``: a loan over whole days picks up when the site opens on the first day and
  returns when it closes on the last one; a closed first or last day is refused with a reason.
- ``day_parts``: a co-working day and its morning and afternoon, derived from opening hours.
- ``unserved``: which later bookings cannot be served while units are still out.

No I/O, no clock: opening hours, time zone and ``now`` come in as values.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from booking.domain.availability import Holding, peak_usage
from booking.domain.errors import InvalidInput, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.opening_hours import WEEKDAYS, OpeningHours, is_always_open, parse_clock

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A loan of things over days lasts at most this long (a guard against typos like 2062).
MAX_SPAN_DAYS = 366
# Half days split here when the site is open across it in one stretch; otherwise in the middle.
MIDDAY = time(13, 0)
PARTS = ("full", "morning", "afternoon")


def _local(day: date, clock: time | None, zone: ZoneInfo) -> datetime:
    if clock is None:  # "24:00": the end of the day
        return datetime.combine(day + timedelta(days=1), time(0), zone)
    return datetime.combine(day, clock, zone)


def opening_windows(hours: OpeningHours, timezone: str, day: date) -> list[Interval]:
    """The opening windows of one local day, in order (empty when closed that day).

    A site without opening hours is always open: the whole day is one window.
    """
    zone = ZoneInfo(timezone)
    if is_always_open(hours):
        return [Interval(_local(day, time(0), zone), _local(day, None, zone))]
    windows = []
    for opens, closes in sorted(hours.get(WEEKDAYS[day.weekday()], ()) or ()):
        start, end = _local(day, parse_clock(opens), zone), _local(day, parse_clock(closes), zone)
        if end > start:
            windows.append(Interval(start, end))
    return windows


def describe_day(day: date) -> str:
    return f"{WEEKDAY_NAMES[day.weekday()]}, {day.isoformat()}"


def day_span(hours: OpeningHours, timezone: str, first_day: date, last_day: date) -> Interval:
    """Pick-up when the site opens on ``first_day``, return when it closes on ``last_day``.

    Raises InvalidInput for a reversed or too long span and PolicyViolation (naming the day)
    when the site is closed on the first or the last day. Closed days in between are fine:
    the thing simply stays with the borrower.
    """
    if last_day < first_day:
        raise InvalidInput("the last day must not be before the first day", field="last_day")
    if (last_day - first_day).days >= MAX_SPAN_DAYS:
        raise InvalidInput(f"a loan lasts at most {MAX_SPAN_DAYS} days", field="last_day")
    first_windows = opening_windows(hours, timezone, first_day)
    if not first_windows:
        raise PolicyViolation(
            f"the site is closed on {describe_day(first_day)}: choose another day for pick-up", field="first_day"
        )
    last_windows = opening_windows(hours, timezone, last_day)
    if not last_windows:
        raise PolicyViolation(
            f"the site is closed on {describe_day(last_day)}: choose another day for the return", field="last_day"
        )
    return Interval(first_windows[0].starts_at, last_windows[-1].ends_at).in_utc()


@dataclass(frozen=True)
class DayParts:
    """A bookable day and its halves; ``None`` where the site is closed."""

    day: date
    full: Interval | None
    morning: Interval | None
    afternoon: Interval | None

    def part(self, name: str) -> Interval:
        if name not in PARTS:
            raise InvalidInput(f"part is one of {', '.join(PARTS)}", field="part")
        interval = getattr(self, name)
        if interval is None:
            raise PolicyViolation(f"the site is closed on {describe_day(self.day)}", field="day")
        return interval

    @property
    def is_open(self) -> bool:
        return self.full is not None


def _round_down_quarter(instant: datetime) -> datetime:
    return instant.replace(minute=instant.minute - instant.minute % 15, second=0, microsecond=0)


def day_parts(hours: OpeningHours, timezone: str, day: date, midday: time = MIDDAY) -> DayParts:
    """The full day (first opening to last closing) and its morning and afternoon.

    Two or more windows (a lunch break): the morning is the first window, the afternoon the
    last. One window: it splits at ``midday`` when open across it, otherwise in its middle
    (rounded down to the quarter hour), so an evening opening still has two halves.
    """
    windows = opening_windows(hours, timezone, day)
    if not windows:
        return DayParts(day, None, None, None)
    full = Interval(windows[0].starts_at, windows[-1].ends_at)
    if len(windows) > 1:
        return DayParts(day, full.in_utc(), windows[0].in_utc(), windows[-1].in_utc())
    zone = ZoneInfo(timezone)
    split = datetime.combine(day, midday, zone)
    if not (full.starts_at < split < full.ends_at):
        middle = full.starts_at.astimezone(zone) + (full.ends_at - full.starts_at) / 2
        split = _round_down_quarter(middle)
        if not (full.starts_at < split < full.ends_at):
            # Too short to halve: both halves are the whole opening.
            return DayParts(day, full.in_utc(), full.in_utc(), full.in_utc())
    return DayParts(day, full.in_utc(), Interval(full.starts_at, split).in_utc(), Interval(split, full.ends_at).in_utc())


K = TypeVar("K", bound=Hashable)


def unserved(capacity: int, fixed: Sequence[Holding], candidates: Sequence[tuple[K, Holding]]) -> list[K]:
    """The candidates that cannot get their units, served first come first (in the given order).

    ``fixed`` holds units no matter what (things out with borrowers, overdue ones stretched to
    the end of the horizon). Each candidate is served when its units fit together with the
    fixed holdings and the candidates served before it.
    """
    served: list[Holding] = list(fixed)
    refused: list[K] = []
    for key, holding in candidates:
        if peak_usage([*served, holding], holding.interval) <= capacity:
            served.append(holding)
        else:
            refused.append(key)
    return refused

