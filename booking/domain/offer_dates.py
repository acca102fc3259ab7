"""Rules for changing the dates of a published volunteer offer (issue 14): which new date is
acceptable, which date may still be moved or removed. Pure: no I/O, ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from booking.domain import offers as offer_rules
from booking.domain.errors import Conflict, InvalidInput, PolicyViolation
from booking.domain.intervals import Interval

# An offer keeps at most this many dates (not removed): the organisers' page lists them all,
# and every change walks them, so the number bounds the work of a request.
MAX_DATES_PER_OFFER = 200


def check_new_date(starts_at: datetime, ends_at: datetime, *, now: datetime) -> Interval:
    """A date an organiser enters (add or move): it starts in the future and lasts a positive
    time of at most a day (the same limit as a new offer's dates)."""
    offer_rules.check_duration(ends_at - starts_at)
    if starts_at <= now:
        raise InvalidInput("the date must lie in the future", field="starts_at")
    return Interval(starts_at, ends_at)


def check_changeable(starts_at: datetime, *, is_cancelled: bool, now: datetime) -> None:
    """Only upcoming dates change: one that has begun is history (attendance, certificates)."""
    if is_cancelled:
        raise InvalidInput("this date has been removed", field="general")
    if starts_at <= now:
        raise PolicyViolation("a date that has begun cannot be changed any more", field="general")


def check_room_for_another_date(count: int) -> None:
    """Whether an offer with ``count`` dates may get one more."""
    if count >= MAX_DATES_PER_OFFER:
        raise PolicyViolation(f"an offer has at most {MAX_DATES_PER_OFFER} dates", field="starts_at")


def check_no_overlap(interval: Interval, others: Iterable[Interval]) -> None:
    """Two dates of one offer must not overlap: their places are one resource's capacity, so
    overlapping dates would share (and silently halve) their places."""
    for other in others:
        if interval.starts_at < other.ends_at and other.starts_at < interval.ends_at:
            raise Conflict("another date of this offer overlaps this time", field="starts_at")
