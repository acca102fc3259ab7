"""Check-in and the no-show release: when a booker may check in, and when a booking without
check-in is released. Pure: instants and minutes in, answers out (``now`` is passed in).

The window opens ``opens_minutes`` before the start and closes at the release time,
``release_minutes`` after the start (or at the end, when the booking is shorter than that). A
confirmed booking of a resource that asks for check-in and has none at the release time is a
no-show: it is released (status ``no_show``, which holds no capacity) and the rest of its time
is free again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.domain.intervals import Interval
from booking.domain.lifecycle import Status

MAX_CHECKIN_MINUTES = 24 * 60


@dataclass(frozen=True)
class CheckinRule:
    """The check-in part of a resource's rules (``Policy``)."""

    required: bool
    opens_minutes: int
    release_minutes: int


def release_at(starts_at: datetime, ends_at: datetime, rule: CheckinRule) -> datetime:
    """When a booking without check-in is released (never after its end)."""
    return min(starts_at + timedelta(minutes=rule.release_minutes), ends_at)


def checkin_window(starts_at: datetime, ends_at: datetime, rule: CheckinRule) -> tuple[datetime, datetime]:
    """The half-open span ``[opens, closes)`` in which the booker may check in."""
    return starts_at - timedelta(minutes=rule.opens_minutes), release_at(starts_at, ends_at, rule)


def checkin_refusal(
    status: str, checked_in_at: datetime | None, starts_at: datetime, ends_at: datetime, rule: CheckinRule, now: datetime
) -> str | None:
    """Why the booker cannot check in now (an English message), or None when they can."""
    if not rule.required:
        return "this resource does not ask for check-in"
    if status != Status.CONFIRMED:
        return "only a confirmed booking can be checked in"
    if checked_in_at is not None:
        return "you have checked in already"
    opens, closes = checkin_window(starts_at, ends_at, rule)
    if now < opens:
        return "check-in is not open yet"
    if now >= closes:
        return "the time to check in is over"
    return None


def is_no_show(
    status: str, checked_in_at: datetime | None, starts_at: datetime, ends_at: datetime, rule: CheckinRule, now: datetime
) -> bool:
    """True when the booking must be released now: confirmed, check-in required, none by the release time."""
    return (
        rule.required
        and status == Status.CONFIRMED
        and checked_in_at is None
        and now >= release_at(starts_at, ends_at, rule)
    )


def freed_interval(starts_at: datetime, ends_at: datetime, now: datetime) -> Interval | None:
    """The time a released booking gives back: from now (or its start) to its end."""
    start = max(starts_at, now)
    return Interval(start, ends_at) if start < ends_at else None
