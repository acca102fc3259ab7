"""Waiting lists: who is offered freed capacity, in which order. Pure rules, ``now`` passed in.

An entry waits for ``quantity`` units of one resource over an interval. When capacity frees,
the entries are walked in their order (position, then id); each one that now fits — by the
same availability rule as a new booking (``availability.conflicting``: buffers, pooled
capacity) and outside blackouts — is offered, and its hold counts against capacity for the
entries after it. An entry that does not fit keeps its place for the next time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from booking.domain.availability import Buffers, Holding, conflicting
from booking.domain.intervals import Interval

# Open entries one person may have at once unless the settings say otherwise.
DEFAULT_MAX_ENTRIES = 10


class EntryStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    # Its time began while it was still waiting: it can never be offered any more.
    LAPSED = "lapsed"


#: Entries still in the line: waiting, or holding an offer not yet answered.
OPEN = (EntryStatus.WAITING.value, EntryStatus.OFFERED.value)
#: Entries that ended, one way or another.
ENDED = (EntryStatus.BOOKED.value, EntryStatus.EXPIRED.value, EntryStatus.WITHDRAWN.value, EntryStatus.LAPSED.value)


@dataclass(frozen=True)
class Waiting:
    """One waiting entry as the rule needs it."""

    entry_id: int
    interval: Interval
    quantity: int
    position: int


def in_line_order(entries: Iterable[Waiting]) -> list[Waiting]:
    return sorted(entries, key=lambda entry: (entry.position, entry.entry_id))


def choose_offers(
    entries: Sequence[Waiting],
    holdings: Sequence[Holding],
    *,
    capacity: int,
    buffers: Buffers,
    blackouts: Sequence[Interval] = (),
    now: object,
) -> list[Waiting]:
    """The entries to offer now, in line order. ``holdings``: what holds capacity around the
    entries' intervals (the freed booking no longer among them). Entries whose start has
    passed are never offered."""
    taken = list(holdings)
    chosen: list[Waiting] = []
    for entry in in_line_order(entries):
        if entry.interval.starts_at <= now or entry.quantity > capacity:  # type: ignore[operator]
            continue
        if any(blackout.overlaps(entry.interval) for blackout in blackouts):
            continue
        if conflicting(taken, entry.interval, entry.quantity, capacity, buffers):
            continue
        chosen.append(entry)
        taken.append(Holding(entry.interval, entry.quantity, "held"))
    return chosen


def swapped_positions(ordered_ids: Sequence[int], entry_id: int, direction: str) -> list[int] | None:
    """The line after moving ``entry_id`` one place ``up`` (earlier) or ``down``; None when it
    cannot move that way (already first or last, or not in the line)."""
    if entry_id not in ordered_ids or direction not in ("up", "down"):
        return None
    index = ordered_ids.index(entry_id)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(ordered_ids):
        return None
    line = list(ordered_ids)
    line[index], line[other] = line[other], line[index]
    return line
