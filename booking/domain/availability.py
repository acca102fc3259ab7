"""Capacity over time: how many units of a resource are held at each moment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from booking.domain.intervals import Interval, merge
from booking.domain.lifecycle import HOLDING_VALUES

# The statuses that count against capacity, as strings (the one list: lifecycle.HOLDING).
HOLDING_STATUSES = frozenset(HOLDING_VALUES)


@dataclass(frozen=True)
class Holding:
    """Units of one resource held over an interval (a booking, without whose it is)."""

    interval: Interval
    quantity: int
    status: str = "confirmed"


def peak_usage(holdings: Iterable[Holding], window: Interval) -> int:
    """The largest number of units held at any instant inside ``window`` (sweep line)."""
    changes: list[tuple[object, int]] = []
    for holding in holdings:
        if holding.interval.overlaps(window):
            changes.append((max(holding.interval.starts_at, window.starts_at), holding.quantity))
            changes.append((min(holding.interval.ends_at, window.ends_at), -holding.quantity))
    # Releases sort before acquisitions at the same instant: half-open intervals.
    changes.sort(key=lambda change: (change[0], change[1]))
    usage = peak = 0
    for _, delta in changes:
        usage += delta
        peak = max(peak, usage)
    return peak


def free_units(holdings: Iterable[Holding], window: Interval, capacity: int) -> int:
    return max(0, capacity - peak_usage(holdings, window))


@dataclass(frozen=True)
class Buffers:
    before: timedelta = timedelta(0)
    after: timedelta = timedelta(0)

    @property
    def total(self) -> timedelta:
        return self.before + self.after


def conflicting(
    holdings: Sequence[Holding], request: Interval, quantity: int, capacity: int, buffers: Buffers
) -> list[Holding]:
    """The holdings that make ``quantity`` units over ``request`` impossible (empty when free).

    Every booking of a resource keeps the same buffers: it occupies its units from ``before``
    ahead of its start until ``after`` past its end, and so does the request. A holding is
    nearby when those occupied stretches meet (the same as widening it by before+after on
    both sides against the plain request). Whether the request fits is decided on the
    occupied stretches themselves: widening every holding by the total would add up pooled
    bookings that never meet (one unit still cleaning while another is not yet taken).
    Callers check ``quantity <= capacity`` first (policies.check_quantity).
    """
    margin = buffers.total
    nearby = [h for h in holdings if h.interval.padded(margin, margin).overlaps(request)]
    occupied = (Holding(h.interval.padded(buffers.before, buffers.after), h.quantity, h.status) for h in nearby)
    if peak_usage(occupied, request.padded(buffers.before, buffers.after)) + quantity <= capacity:
        return []
    return nearby


def busy_intervals(holdings: Iterable[Holding], capacity: int, window: Interval) -> list[Interval]:
    """Merged intervals inside ``window`` in which no unit is left."""
    relevant = sorted((h for h in holdings if h.interval.overlaps(window)), key=lambda h: h.interval)
    if capacity <= 1:
        return merge(
            Interval(max(h.interval.starts_at, window.starts_at), min(h.interval.ends_at, window.ends_at))
            for h in relevant
        )
    points = sorted({window.starts_at, window.ends_at} | {
        t for h in relevant for t in (h.interval.starts_at, h.interval.ends_at) if window.starts_at < t < window.ends_at
    })
    full: list[Interval] = []
    for start, end in zip(points, points[1:], strict=False):
        segment = Interval(start, end)
        if peak_usage(relevant, segment) >= capacity:
            full.append(segment)
    return merge(full)


class Timeline:
    """Holdings sorted by start, for fast "what overlaps this window" lookups in searches."""

    def __init__(self, holdings: Iterable[Holding]) -> None:
        self._holdings = sorted(holdings, key=lambda h: h.interval.starts_at)
        self._starts = [h.interval.starts_at for h in self._holdings]
        self._longest = max((h.interval.duration for h in self._holdings), default=timedelta(0))

    def __len__(self) -> int:
        return len(self._holdings)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._holdings)

    def overlapping(self, window: Interval, margin: timedelta = timedelta(0)) -> list[Holding]:
        """Holdings whose interval, widened by ``margin`` on both sides, overlaps ``window``."""
        from bisect import bisect_left, bisect_right

        low = bisect_left(self._starts, window.starts_at - self._longest - margin)
        high = bisect_right(self._starts, window.ends_at + margin)
        return [
            h
            for h in self._holdings[low:high]
            if h.interval.starts_at - margin < window.ends_at and window.starts_at < h.interval.ends_at + margin
        ]


@dataclass(frozen=True)
class HoldingSummary:
    """What a search needs to know of one resource's holdings around a window, counted by the
    database instead of loaded row by row (``services.loading.load_holding_summaries``).

    ``nearby``: holdings overlapping the window widened by a margin at least as wide as the
    resource's buffers; ``overlapping``: those overlapping the window itself; ``largest``: the
    most units one of those holds; ``covering``: units held over the whole window.
    """

    nearby: int = 0
    overlapping: int = 0
    largest: int = 0
    covering: int = 0


class Verdict(StrEnum):
    FREE = "free"
    TAKEN = "taken"
    # The summary cannot tell (pooled units, buffers): the caller runs ``conflicting``.
    UNDECIDED = "undecided"


def quick_verdict(summary: HoldingSummary, capacity: int, quantity: int, buffers: Buffers) -> Verdict:
    """Whether ``quantity`` units are free over the window, from the summary alone when it can
    tell; agrees with ``conflicting`` whenever it does not answer UNDECIDED.

    Free: nothing near the window (with buffers) or nothing in it (without). Taken: one holding
    in the window, or those covering all of it together, leave too few units at some instant
    (with buffers each occupies at least its own interval, so the instant stays shared).
    """
    if quantity > capacity:
        return Verdict.TAKEN
    if summary.nearby == 0 or (summary.overlapping == 0 and buffers.total == timedelta(0)):
        return Verdict.FREE
    if max(summary.largest, summary.covering) + quantity > capacity:
        return Verdict.TAKEN
    return Verdict.UNDECIDED
