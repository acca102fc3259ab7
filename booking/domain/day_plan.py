"""Free and taken time of resources, day by day, for calendar pages.

Pure: holdings, opening time and closures in; per local day a list of segments (free, taken,
tentative, closed) and a summary out. The calendar service loads everything for a whole page
in a few batch queries, frames the page's days once per site (``frame_days``: day boundaries
in the site's zone, opening time, what is already past) and plans every resource against that
frame (``plan_resource``). ``plan_days`` does both for one resource.

What "free" means here is what a new booking of one unit could use: a holding blocks its time
widened by the resource's buffers (before + after on both sides, as ``availability.conflicting``
decides), time outside the opening hours is not shown, closures (blackouts) are ``closed``,
and the past is not offered. A stretch is ``tentative`` when it is full only because of
requested (not yet confirmed) bookings. Free stretches shorter than ``min_free`` (the
resource's minimum booking length) are not offered. The booking itself is checked again, under
the lock, when someone books: this is a view, not a promise.

Speed: a month page plans 200 resources x 31 days. Inside, instants are POSIX seconds (plain
numbers, no per-step validation), and datetimes are made only for what a page shows.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from booking.domain.availability import Buffers, Holding
from booking.domain.intervals import Interval, merge

__all__ = ["DayFrame", "DayPlan", "Hold", "PackedDay", "Segment", "day_window", "frame_days", "holds_of", "plan_days", "plan_resource"]

STATES = ("free", "tentative", "taken", "closed")

#: A holding as plain numbers: (start, end) in POSIX seconds, units, and whether it is only
#: requested (it then makes a full stretch "tentative" rather than "taken").
Hold = tuple[float, float, int, bool]


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Segment(NamedTuple):
    """A stretch of one state (a tuple: a month page makes tens of thousands of them)."""

    state: str  # free | tentative | taken | closed
    start: float  # POSIX seconds
    end: float
    # For free segments: the fewest units left anywhere in it.
    free_units: int = 0

    @property
    def starts_at(self) -> datetime:
        return _instant(self.start)

    @property
    def ends_at(self) -> datetime:
        return _instant(self.end)

    @property
    def interval(self) -> Interval:
        return Interval(self.starts_at, self.ends_at)


class DayPlan(NamedTuple):
    """One day of one resource."""

    day: date
    # free | tentative | taken | closed (nothing bookable: closed day, closure) | past
    state: str
    segments: tuple[Segment, ...] = ()
    free_time: timedelta = timedelta(0)
    # Free at some time, and taken, closed or with fewer units than the capacity at another.
    partly_used: bool = False
    fewest_free_units: int = 0
    first_free: Segment | None = None

    @classmethod
    def of(cls, packed: PackedDay) -> DayPlan:
        """A ``DayPlan`` from the packed form ``plan_resource(..., packed=True)`` returns."""
        day, state, segments, free_seconds, partly, fewest, first = packed
        return cls(
            day, state, tuple(Segment(_STATE_NAMES[code], start, end, units) for code, start, end, units in segments),
            timedelta(seconds=free_seconds), partly, fewest, None if first is None else Segment("free", *first),
        )


#: A day as a plain tuple: (day, state, segments as (state code, start, end, units) tuples,
#: free seconds, partly used, fewest free units, first free (start, end, units) or None).
#: Plain tuples of plain values are dropped from the garbage collector's watch on its first
#: pass; 6,200 named tuples kept through a page would be walked again and again.
PackedDay = tuple[date, str, tuple[tuple[int, float, float, int], ...], float, bool, int, tuple[float, float, int] | None]


@dataclass(frozen=True)
class DayFrame:
    """The days of a page in one zone: their bounds, their open stretches not yet past."""

    days: tuple[date, ...]
    timezone: str
    # Per day: the open stretches from now on, in POSIX seconds; None for a past day.
    open_parts: tuple[tuple[tuple[float, float], ...] | None, ...]


def day_window(day: date, zone: ZoneInfo) -> Interval:
    """Local midnight to the next local midnight, as instants (23 or 25 hours on DST days)."""
    return Interval(
        datetime.combine(day, time(0), tzinfo=zone), datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    ).in_utc()


QUARTER_HOUR = 15 * 60


def frame_days(days: Sequence[date], *, timezone: str, now: datetime, open_time: Sequence[Interval] | None = None) -> DayFrame:
    """Frame ``days`` (local dates in ``timezone``): ``open_time`` are the instants the site is
    open (None: always open); what lies before ``now`` is left out."""
    zone = ZoneInfo(timezone)
    # Free time starts at the next quarter hour: "free from 16:48" helps nobody.
    now_s = -(-now.timestamp() // QUARTER_HOUR) * QUARTER_HOUR
    opened = [(o.starts_at.timestamp(), o.ends_at.timestamp()) for o in merge(open_time)] if open_time is not None else None
    parts: list[tuple[tuple[float, float], ...] | None] = []
    for day in days:
        start = datetime.combine(day, time(0), tzinfo=zone).timestamp()
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).timestamp()
        if end <= now_s:
            parts.append(None)
            continue
        if opened is None:
            stretches = [(start, end)]
        else:
            stretches = [(max(s, start), min(e, end)) for s, e in opened if s < end and start < e]
        parts.append(tuple((max(s, now_s), e) for s, e in stretches if e > now_s))
    return DayFrame(tuple(days), timezone, tuple(parts))


def holds_of(holdings: Iterable[Holding]) -> list[Hold]:
    return [
        (h.interval.starts_at.timestamp(), h.interval.ends_at.timestamp(), h.quantity, h.status == "requested")
        for h in holdings
    ]


def _usage(holds: Sequence[Hold], margin: float) -> list[tuple[float, float, int, int]]:
    """(start, end, units held, units held firmly) for every stretch where something is held."""
    changes: list[tuple[float, int, int]] = []
    for start, end, quantity, requested in holds:
        firm = 0 if requested else quantity
        changes.append((start - margin, quantity, firm))
        changes.append((end + margin, -quantity, -firm))
    changes.sort(key=lambda change: change[0])
    usage: list[tuple[float, float, int, int]] = []
    used = firm_used = 0
    index, count = 0, len(changes)
    while index < count:
        moment = changes[index][0]
        while index < count and changes[index][0] == moment:
            used += changes[index][1]
            firm_used += changes[index][2]
            index += 1
        if index < count and used > 0:
            usage.append((moment, changes[index][0], used, firm_used))
    return usage


_FREE, _TENTATIVE, _TAKEN, _CLOSED = 0, 1, 2, 3
_STATE_NAMES = ("free", "tentative", "taken", "closed")


def _pieces(start: float, end: float, usage: list, starts: list[float], capacity: int, out: list) -> None:  # type: ignore[type-arg]
    """The stretches of one bookable part, by the usage inside it, appended to ``out`` as
    plain tuples (state code, start, end, free units), merged with the previous one where the
    state continues."""
    cursor = start
    index = max(0, bisect_right(starts, start) - 1)
    count = len(usage)
    while cursor < end:
        if index < count and usage[index][0] < end:
            used_start, used_end, used, firm = usage[index]
            if used_end <= cursor:
                index += 1
                continue
            if used_start > cursor:
                # Free until this usage begins; the usage itself comes next round.
                piece = (_FREE, cursor, used_start, capacity)
                cursor = used_start
            else:
                stop = used_end if used_end < end else end
                if used < capacity:
                    piece = (_FREE, cursor, stop, capacity - used)
                elif firm < capacity:
                    piece = (_TENTATIVE, cursor, stop, 0)
                else:
                    piece = (_TAKEN, cursor, stop, 0)
                cursor = stop
                index += 1
        else:
            piece = (_FREE, cursor, end, capacity)
            cursor = end
        if out and out[-1][0] == piece[0] and out[-1][2] == piece[1]:
            last = out[-1]
            out[-1] = (last[0], last[1], piece[2], min(last[3], piece[3]))
        else:
            out.append(piece)


def plan_resource(
    frame: DayFrame,
    *,
    capacity: int,
    holds: Sequence[Hold],
    buffers: Buffers = Buffers(),
    closures: Sequence[tuple[float, float]] = (),
    min_free: timedelta = timedelta(minutes=15),
    keep_segments: bool = True,
    packed: bool = False,
    booked_times: bool = False,
) -> list[DayPlan] | list[PackedDay]:
    """One ``DayPlan`` per day of ``frame`` for one resource (``holds``: see ``Hold``;
    ``closures``: blackouts of the site or the resource, in POSIX seconds).

    ``keep_segments=False`` keeps only each day's summary and first free stretch (a month
    page); ``packed=True`` returns ``PackedDay`` tuples (``DayPlan.of`` unpacks one). A month
    over 200 resources plans 6,200 days: plain tuples inside and out, so that the garbage
    collector has little to walk while a big page is built.

    ``booked_times=True`` shows a taken or requested stretch with the booked times (18:00–20:00)
    rather than widened by the buffers (17:45–20:15): the free stretches beside it still end
    and start where a new booking may (17:45, 20:15), and the buffer between shows as neither.
    """
    margin = buffers.total.total_seconds()
    usage = _usage(holds, margin)
    starts = [segment[0] for segment in usage]
    closed = sorted(closures)
    shortest = min_free.total_seconds()
    plans: list = []  # type: ignore[type-arg]
    for day, parts in zip(frame.days, frame.open_parts, strict=True):
        if parts is None:
            plans.append((day, "past", (), 0.0, False, 0, None))
            continue
        pieces: list = []  # type: ignore[type-arg]
        for part_start, part_end in parts:
            cursor = part_start
            for hole_start, hole_end in closed:
                if hole_end <= cursor or hole_start >= part_end:
                    continue
                if hole_start > cursor:
                    _pieces(cursor, hole_start, usage, starts, capacity, pieces)
                begin, finish = max(hole_start, cursor), min(hole_end, part_end)
                if pieces and pieces[-1][0] == _CLOSED and pieces[-1][2] == begin:
                    pieces[-1] = (_CLOSED, pieces[-1][1], finish, 0)
                else:
                    pieces.append((_CLOSED, begin, finish, 0))
                cursor = max(cursor, hole_end)
                if cursor >= part_end:
                    break
            if cursor < part_end:
                _pieces(cursor, part_end, usage, starts, capacity, pieces)
        if booked_times and margin and keep_segments:
            pieces = _without_buffers(pieces, margin)
        free_seconds = 0.0
        fewest = capacity
        first_free = None
        seen = [False, False, False, False]
        kept = []
        for piece in pieces:
            code = piece[0]
            if code == _FREE:
                if piece[2] - piece[1] < shortest:
                    continue  # too short to book: not offered
                if first_free is None:
                    first_free = (piece[1], piece[2], piece[3])
                free_seconds += piece[2] - piece[1]
                if piece[3] < fewest:
                    fewest = piece[3]
            seen[code] = True
            if keep_segments:
                kept.append(piece)
        segments = tuple(kept)
        if first_free is not None:
            partly = fewest < capacity or seen[_TENTATIVE] or seen[_TAKEN] or seen[_CLOSED]
            plans.append((day, "free", segments, free_seconds, partly, fewest, first_free))
        else:
            state = "tentative" if seen[_TENTATIVE] else "taken" if seen[_TAKEN] else "closed"
            plans.append((day, state, segments, 0.0, False, 0, None))
    return plans if packed else [DayPlan.of(day) for day in plans]


def _without_buffers(pieces: list, margin: float) -> list:  # type: ignore[type-arg]
    """Full stretches narrowed to the booked time where they meet a free one.

    Where a free stretch meets a full one, the time is a hold's start minus the margin (or its
    end plus the margin): the booked time begins ``margin`` later (ends ``margin`` earlier).
    At the edges of the day, the opening hours or a closure nothing is known, so nothing moves.
    """
    shown = []
    for index, (code, start, end, units) in enumerate(pieces):
        if code in (_TAKEN, _TENTATIVE):
            before = pieces[index - 1] if index else None
            after = pieces[index + 1] if index + 1 < len(pieces) else None
            booked_start = start + margin if before and before[0] == _FREE and before[2] == start else start
            booked_end = end - margin if after and after[0] == _FREE and after[1] == end else end
            if booked_start < booked_end:
                start, end = booked_start, booked_end
        shown.append((code, start, end, units))
    return shown


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
    booked_times: bool = False,
) -> list[DayPlan]:
    """``frame_days`` and ``plan_resource`` for one resource, from domain values."""
    frame = frame_days(days, timezone=timezone, now=now, open_time=open_time)
    return plan_resource(  # type: ignore[return-value]
        frame, capacity=capacity, holds=holds_of(holdings), buffers=buffers,
        closures=[(c.starts_at.timestamp(), c.ends_at.timestamp()) for c in merge(closures)], min_free=min_free,
        booked_times=booked_times,
    )
