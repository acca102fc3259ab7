"""Half-open time intervals ``[starts_at, ends_at)`` over aware instants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from booking.domain.errors import InvalidInput


@dataclass(frozen=True, order=True)
class Interval:
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise InvalidInput(f"{name} needs a time zone (e.g. 2026-03-03T18:00:00+01:00)", field=name)
        if self.ends_at <= self.starts_at:
            raise InvalidInput("the end must be after the start", field="ends_at")

    @property
    def duration(self) -> timedelta:
        # Elapsed time: subtracting two datetimes of the same ZoneInfo gives wall-clock time,
        # one hour off across a DST switch.
        return self.ends_at.astimezone(UTC) - self.starts_at.astimezone(UTC)

    def overlaps(self, other: Interval) -> bool:
        """Half-open: back-to-back intervals do not overlap."""
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at

    def contains(self, other: Interval) -> bool:
        return self.starts_at <= other.starts_at and other.ends_at <= self.ends_at

    def padded(self, before: timedelta, after: timedelta) -> Interval:
        return Interval(self.starts_at - before, self.ends_at + after)

    def shifted(self, delta: timedelta) -> Interval:
        return Interval(self.starts_at + delta, self.ends_at + delta)

    def in_utc(self) -> Interval:
        return Interval(self.starts_at.astimezone(UTC), self.ends_at.astimezone(UTC))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals as sorted, non-overlapping, non-touching intervals."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.starts_at <= merged[-1].ends_at:
            last = merged[-1]
            if interval.ends_at > last.ends_at:
                merged[-1] = Interval(last.starts_at, interval.ends_at)
        else:
            merged.append(interval)
    return merged


def subtract(base: Interval, holes: Iterable[Interval]) -> list[Interval]:
    """The parts of ``base`` not covered by any of ``holes``."""
    free: list[Interval] = []
    cursor = base.starts_at
    for hole in merge(h for h in holes if h.overlaps(base)):
        if hole.starts_at > cursor:
            free.append(Interval(cursor, hole.starts_at))
        cursor = max(cursor, hole.ends_at)
    if cursor < base.ends_at:
        free.append(Interval(cursor, base.ends_at))
    return free
