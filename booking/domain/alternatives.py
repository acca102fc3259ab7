"""Suggestions when a request collides: another time for the same resource, or the same time
for a comparable resource of the same site."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.domain.availability import Buffers, Timeline, conflicting
from booking.domain.errors import DomainError
from booking.domain.intervals import Interval


@dataclass(frozen=True)
class Alternative:
    resource_id: int
    resource_name: str
    interval: Interval
    kind: str  # same_resource | comparable_resource


@dataclass(frozen=True)
class Candidate:
    """A resource to try, with what it already holds around the requested time."""

    resource_id: int
    resource_name: str
    capacity: int
    buffers: Buffers
    timeline: Timeline
    # Policy check for this resource; returns False when a slot breaks its rules.
    is_bookable: Callable[[Interval], bool]


#: How many steps the nearest-slot search takes at most on each side of the request: two weeks
#: of half hours for hourly bookings, 672 days (more than any horizon allows) for day-long ones.
#: Together with the bookable window (lead time to horizon) it bounds the work of one search,
#: whatever the request: a date in 1900 or 3768 costs no more than one next week.
MAX_SEARCH_STEPS = 14 * 48


def search_step(duration: timedelta) -> timedelta:
    """Hourly bookings move in half hours, day bookings in days."""
    return timedelta(days=1) if duration >= timedelta(days=1) else timedelta(minutes=30)


def _ceil_steps(delta: timedelta, step: timedelta) -> int:
    return -((-delta) // step)


def search_reach(request: Interval, *, not_before: datetime, search_until: datetime, max_steps: int = MAX_SEARCH_STEPS) -> Interval | None:
    """The starts the nearest-slot search may try: inside ``[not_before, search_until]`` and at
    most ``max_steps`` steps from the request; None when no step lands there."""
    reach = max_steps * search_step(request.duration)
    start = request.starts_at
    # Compared as differences: a start near year 1 or 9999 plus the reach would overflow.
    earliest = not_before if start - not_before <= reach else start - reach
    latest = search_until if search_until - start <= reach else start + reach
    if earliest > latest:
        return None
    return Interval(earliest, latest + timedelta(microseconds=1))


def nearest_free_slots(
    candidate: Candidate,
    request: Interval,
    quantity: int,
    *,
    not_before: datetime,
    search_until: datetime,
    limit: int = 2,
    max_steps: int = MAX_SEARCH_STEPS,
) -> list[Alternative]:
    """The nearest free slots of the same length, alternating later and earlier, nearest first.

    Only slots starting in ``[not_before, search_until]`` and at most ``max_steps`` steps away
    are tried, and steps that cannot land there are skipped by arithmetic, not by walking: the
    work is at most ``2 * max_steps`` slot checks for any request, however far in the past or
    future it lies.
    """
    step = search_step(request.duration)
    start = request.starts_at
    # Step numbers k (1..max_steps) whose later slot (start + k*step) or earlier slot
    # (start - k*step) starts inside the window.
    later = (max(1, _ceil_steps(not_before - start, step)), min(max_steps, (search_until - start) // step))
    earlier = (max(1, _ceil_steps(start - search_until, step)), min(max_steps, (start - not_before) // step))
    first = min(later[0] if later[0] <= later[1] else max_steps + 1, earlier[0] if earlier[0] <= earlier[1] else max_steps + 1)
    last = max(later[1] if later[0] <= later[1] else 0, earlier[1] if earlier[0] <= earlier[1] else 0)
    found: list[Alternative] = []
    for k in range(first, last + 1):
        for low, high, sign in (later + (1,), earlier + (-1,)):
            if not low <= k <= high:
                continue
            slot = request.shifted(sign * k * step)
            if _is_free(candidate, slot, quantity):
                found.append(Alternative(candidate.resource_id, candidate.resource_name, slot, "same_resource"))
                if len(found) >= limit:
                    return found
    return found


def same_time_elsewhere(
    candidates: Sequence[Candidate], request: Interval, quantity: int, *, limit: int = 3
) -> list[Alternative]:
    found: list[Alternative] = []
    for candidate in candidates:
        if candidate.capacity >= quantity and _is_free(candidate, request, quantity):
            found.append(Alternative(candidate.resource_id, candidate.resource_name, request, "comparable_resource"))
            if len(found) >= limit:
                break
    return found


def _is_free(candidate: Candidate, slot: Interval, quantity: int) -> bool:
    nearby = candidate.timeline.overlapping(slot, candidate.buffers.total)
    if conflicting(nearby, slot, quantity, candidate.capacity, candidate.buffers):
        return False
    try:
        return candidate.is_bookable(slot)
    except DomainError:
        return False
