"""The booking state machine.

requested → confirmed | declined; confirmed → checked_out → returned;
requested | confirmed → cancelled. ``overdue`` is derived: checked out past the end.

A waiting list's offer is a booking ``held`` for the waiting person until ``hold_expires_at``:
held → confirmed (the person takes it; ``requested`` instead where the resource needs approval,
see ``status_after_hold``), held → expired (final, the hold ran out), held → cancelled (the
person declines the offer).

Requested, confirmed, checked_out and held hold capacity: ``HOLDING`` is the one list every
query, overview and the database's constraint are derived from (or checked against); ``BUSY``
(``HOLDING`` and returned) is what calendars, feeds and door signs show as busy time.

confirmed → no_show (released: check-in was required and nobody checked in in time); ``no_show``
is final and frees the time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from booking.domain.errors import TransitionNotAllowed


class Status(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    CHECKED_OUT = "checked_out"
    RETURNED = "returned"
    # Offered to the first person on a waiting list; counts against capacity until decided.
    HELD = "held"
    # A hold that ran out without an answer (final).
    EXPIRED = "expired"
    NO_SHOW = "no_show"


class Action(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    CANCEL = "cancel"
    CHECK_OUT = "check_out"
    RETURN = "return"
    # The no-show job: check-in required, none by the release time (booking.domain.checkin).
    RELEASE_NO_SHOW = "release_no_show"
    # Taking back one's own cancel shortly after it (see ``undo_cancel_status``).
    UNDO_CANCEL = "undo_cancel"
    # The waiting person takes the offered hold (see ``status_after_hold``).
    CONFIRM_HOLD = "confirm_hold"
    # The hold ran out unanswered.
    EXPIRE = "expire"


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.REQUESTED, Action.APPROVE): Status.CONFIRMED,
    (Status.REQUESTED, Action.DECLINE): Status.DECLINED,
    (Status.REQUESTED, Action.CANCEL): Status.CANCELLED,
    (Status.CONFIRMED, Action.CANCEL): Status.CANCELLED,
    (Status.CONFIRMED, Action.CHECK_OUT): Status.CHECKED_OUT,
    (Status.CHECKED_OUT, Action.RETURN): Status.RETURNED,
    (Status.HELD, Action.CONFIRM_HOLD): Status.CONFIRMED,
    (Status.HELD, Action.EXPIRE): Status.EXPIRED,
    # Declining an offer.
    (Status.HELD, Action.CANCEL): Status.CANCELLED,
    (Status.CONFIRMED, Action.RELEASE_NO_SHOW): Status.NO_SHOW,
}

HOLDING = frozenset({Status.REQUESTED, Status.CONFIRMED, Status.CHECKED_OUT, Status.HELD})
#: ``HOLDING`` as plain strings in a fixed order, for SQL ``IN (…)`` lists.
HOLDING_VALUES: tuple[str, ...] = tuple(sorted(status.value for status in HOLDING))
#: What calendars show as busy time — public feeds, door signs, the series page: what holds
#: capacity (``HOLDING``: requested, confirmed, checked out, and a waiting list's ``held``
#: offer, until it is taken, declined or expires) and what was used (returned). Cancelled,
#: declined, expired and no-show bookings are free time.
BUSY = HOLDING | {Status.RETURNED}
#: ``BUSY`` as plain strings in a fixed order, for SQL ``IN (…)`` lists.
BUSY_VALUES: tuple[str, ...] = tuple(sorted(status.value for status in BUSY))
# States in which time and quantity may still be changed.
CHANGEABLE = frozenset({Status.REQUESTED, Status.CONFIRMED})


def next_status(current: str, action: str) -> Status:
    """The status after ``action``; TransitionNotAllowed when the machine has no such edge."""
    try:
        status, act = Status(current), Action(action)
    except ValueError as exc:
        raise TransitionNotAllowed(f"unknown status or action: {current!r}, {action!r}") from exc
    try:
        return TRANSITIONS[(status, act)]
    except KeyError:
        raise TransitionNotAllowed(f"a booking that is {status.value} cannot be {_past(act)}") from None


#: How long a person may take back their own cancel (a mistaken tap on a phone).
UNDO_CANCEL_WINDOW = timedelta(minutes=10)


def undo_cancel_status(
    current: str, before_cancel: str | None, *, cancelled_at: datetime, ends_at: datetime, now: datetime,
    window: timedelta = UNDO_CANCEL_WINDOW,
) -> Status:
    """The status an undone cancel returns to: the one before it (requested or confirmed).

    Only within ``window`` after the cancel and before the booking ends; whether the time is
    still free is the caller's check, under the resource's lock.
    """
    if current != Status.CANCELLED or before_cancel not in (Status.REQUESTED, Status.CONFIRMED):
        raise TransitionNotAllowed("this cancellation cannot be undone")
    if now - cancelled_at > window or now >= ends_at:
        raise TransitionNotAllowed("the time to undo this cancellation is over")
    return Status(before_cancel)


def status_after_hold(current: str, *, needs_approval: bool) -> Status:
    """The status a held booking gets when the waiting person takes it: confirmed, or
    requested where the resource needs approval (the lenders decide as for any request)."""
    confirmed = next_status(current, Action.CONFIRM_HOLD)
    return Status.REQUESTED if needs_approval else confirmed


def initial_status(*, needs_approval: bool, is_staff: bool) -> Status:
    """A new booking's status: requested where the policy asks for approval, unless the site's
    own staff book (they would approve it themselves)."""
    return Status.REQUESTED if needs_approval and not is_staff else Status.CONFIRMED


def hold_expiry(now: datetime, starts_at: datetime, hold_time: timedelta) -> datetime:
    """Until when an offer is held: ``hold_time`` from now, never past the booking's start."""
    return min(now + hold_time, starts_at)


def allowed_actions(current: str) -> list[Action]:
    return [action for (status, action) in TRANSITIONS if status.value == current]


def holds_capacity(status: str) -> bool:
    return status in HOLDING


def is_overdue(status: str, ends_at: datetime, now: datetime) -> bool:
    return status == Status.CHECKED_OUT and now >= ends_at


def _past(action: Action) -> str:
    return {
        Action.APPROVE: "approved",
        Action.DECLINE: "declined",
        Action.CANCEL: "cancelled",
        Action.CHECK_OUT: "handed out",
        Action.RETURN: "taken back",
        Action.UNDO_CANCEL: "restored",
        Action.CONFIRM_HOLD: "taken",
        Action.EXPIRE: "expired",
        Action.RELEASE_NO_SHOW: "released as a no-show",
    }[action]
