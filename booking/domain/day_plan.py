"""Free and taken time of one resource, day by day, for calendar pages.

Pure: holdings, opening time and closures in; per local day a list of segments (free, taken,
tentative, closed) and a summary out. The calendar service loads everything for a whole page
in a few batch queries and calls ``plan_days`` once per resource.

What "free" means here is what a new booking of one unit could use: a holding blocks its time
widened by the resource's buffers (before + after on both sides, as ``availability.conflicting``
decides), time outside the opening hours is not shown, closures (blackouts) are ``closed``,
and the past is not offered. A stretch is ``tentative`` when it is full only because of
requested (not yet confirmed) bookings. Free stretches shorter than ``min_free`` (the
resource's minimum booking length) are not offered. The booking itself is checked again, under
the lock, when someone books: this is a view, not a promise.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.domain.availability import Buffers, Holding
from booking.domain.intervals import Interval, merge, subtract

__all__ = ["DayPlan", "Segment", "day_window", "plan_days"]

STATES = ("free", "tentative", "taken", "closed")


@dataclass(frozen=True)
class Segment:
    state: str  # free | tentative | taken | closed
    interval: Interval
    # For free segments: the fewest units left anywhere in it.
    free_units: int = 0


@dataclass(frozen=True)
class DayPlan:
    day: date
    # free | tentative | taken | closed (nothing bookable: closed day, closure) | past
    state: str
    segments: list[Segment] = field(default_factory=list)
    free_time: timedelta = timedelta(0)
    # Free at some time, with fewer units than the capacity at some point of the day.
    partly_used: bool = False
    fewest_free_units: int = 0

    @property
    def first_free(self) -> Segment | None:
        return next((s for s in self.segments if s.state == "free"), None)


def day_window(day: date, zone: ZoneInfo) -> Interval:
    """Local midnight to the next local midnight, as instants (23 or 25 hours on DST days)."""
    return Interval(
        datetime.combine(day, time(0), tzinfo=zone), datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    ).in_utc()


def _usage_segments(holdings: Sequence[Holding], buffers: Buffers) -> list[tuple[datetime, datetime, int, int]]:
    """(start, end, units held, units held firmly) for every stretch where something is held."""
    margin = buffers.total
    changes: list[tuple[datetime, int, int]] = []
    for holding in holdings:
        blocked = holding.interval.padded(margin, margin)
        firm = 0 if holding.status == "requested" else holding.quantity
        changes.append((blocked.starts_at, holding.quantity, firm))
        changes.append((blocked.ends_at, -holding.quantity, -firm))
    changes.sort(key=lambda change: change[0])
    segments: list[tuple[datetime, datetime, int, int]] = []
    used = firm_used = 0
    index = 0
    while index < len(changes):
        moment = changes[index][0]
        while index < len(changes) and changes[index][0] == moment:
            used += changes[index][1]
            firm_used += changes[index][2]
            index += 1
        if index < len(changes) and used > 0:
            segments.append((moment, changes[index][0], used, firm_used))
    return segments


def _state(used: int, firm_used: int, capacity: int) -> str:
    if used + 1 <= capacity:
        return "free"
    if firm_used + 1 <= capacity:
        return "tentative"
    return "taken"


def _split(part: Interval, usage: list[tuple[datetime, datetime, int, int]], starts: list[datetime], capacity: int) -> list[Segment]:
    """Segments of one bookable stretch, by the usage inside it."""
    pieces: list[Segment] = []
    cursor = part.starts_at
    index = max(0, bisect_right(starts, part.starts_at) - 1)
    while index < len(usage) and usage[index][0] < part.ends_at:
        start, end, used, firm = usage[index]
        index += 1
        if end <= cursor:
            continue
        start = max(start, cursor)
        if start > cursor:
            pieces.append(Segment("free", Interval(cursor, start), capacity))
        end = min(end, part.ends_at)
        state = _state(used, firm, capacity)
        pieces.append(Segment(state, Interval(start, end), capacity - used if state == "free" else 0))
        cursor = end
        if cursor >= part.ends_at:
            break
    if cursor < part.ends_at:
        pieces.append(Segment("free", Interval(cursor, part.ends_at), capacity))
    return pieces


def _merged(pieces: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for piece in sorted(pieces, key=lambda p: p.interval.starts_at):
        last = merged[-1] if merged else None
        if last and last.state == piece.state and last.interval.ends_at == piece.interval.starts_at:
            merged[-1] = Segment(
                piece.state, Interval(last.interval.starts_at, piece.interval.ends_at),
                min(last.free_units, piece.free_units),
            )
        else:
            merged.append(piece)
    return merged


def plan_days(
    days: Sequence[date],
    *,
    timezone: str,
    capacity: int,
    holdings: Sequence[Holding],
    buffers: Buffers = Buffers(),
    open_time: Sequence[Interval] | None = None,
    closures: Sequence[Interval] = (),
    now: datetime,
    min_free: timedelta = timedelta(minutes=15),
) -> list[DayPlan]:
    """One ``DayPlan`` per day in ``days`` (local dates in ``timezone``).

    ``open_time``: the instants the site is open (None: always open); ``closures``: blackouts
    of the site or the resource; ``holdings``: capacity-holding bookings around the days.
    """
    zone = ZoneInfo(timezone)
    usage = _usage_segments(holdings, buffers)
    starts = [segment[0] for segment in usage]
    opened = merge(open_time) if open_time is not None else None
    closed = merge(closures)
    plans: list[DayPlan] = []
    for day in days:
        window = day_window(day, zone)
        if window.ends_at <= now:
            plans.append(DayPlan(day, "past"))
            continue
        open_parts = (
            [window] if opened is None
            else [Interval(max(o.starts_at, window.starts_at), min(o.ends_at, window.ends_at)) for o in opened if o.overlaps(window)]
        )
        upcoming = [
            Interval(max(part.starts_at, now), part.ends_at) for part in open_parts if part.ends_at > now
        ]
        pieces: list[Segment] = []
        for part in upcoming:
            for hole in closed:
                if hole.overlaps(part):
                    pieces.append(Segment("closed", Interval(max(hole.starts_at, part.starts_at), min(hole.ends_at, part.ends_at))))
            for bookable in subtract(part, closed):
                pieces.extend(_split(bookable, usage, starts, capacity))
        segments = [
            s for s in _merged(pieces) if not (s.state == "free" and s.interval.duration < min_free)
        ]
        free = [s for s in segments if s.state == "free"]
        free_time = sum((s.interval.duration for s in free), timedelta(0))
        if free:
            fewest = min(s.free_units for s in free)
            partly_used = fewest < capacity or any(s.state != "free" for s in segments)
            plans.append(DayPlan(day, "free", segments, free_time, partly_used, fewest))
        elif any(s.state == "tentative" for s in segments):
            plans.append(DayPlan(day, "tentative", segments))
        elif any(s.state == "taken" for s in segments):
            plans.append(DayPlan(day, "taken", segments))
        else:
            plans.append(DayPlan(day, "closed", segments))
    return plans
