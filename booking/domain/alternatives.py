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


def search_step(duration: timedelta) -> timedelta:
    """Hourly bookings move in half hours, day bookings in days."""
    return timedelta(days=1) if duration >= timedelta(days=1) else timedelta(minutes=30)


def nearest_free_slots(
    candidate: Candidate,
    request: Interval,
    quantity: int,
    *,
    not_before: datetime,
    search_until: datetime,
    limit: int = 2,
) -> list[Alternative]:
    """The nearest free slots of the same length, alternating later and earlier, nearest first."""
    step = search_step(request.duration)
    found: list[Alternative] = []
    offset = step
    while len(found) < limit:
        later = request.shifted(offset)
        earlier = request.shifted(-offset)
        if later.starts_at > search_until and earlier.starts_at < not_before:
            break
        for slot in (later, earlier):
            if not (not_before <= slot.starts_at <= search_until):
                continue
            if _is_free(candidate, slot, quantity):
                found.append(Alternative(candidate.resource_id, candidate.resource_name, slot, "same_resource"))
                if len(found) >= limit:
                    break
        offset += step
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
