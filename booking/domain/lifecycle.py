"""The booking state machine.

requested → confirmed | declined; confirmed → checked_out → returned;
requested | confirmed → cancelled; confirmed → no_show (released: check-in was required and
nobody checked in in time). ``overdue`` is derived: checked out past the end.
Only requested, confirmed and checked_out hold capacity; ``no_show`` is final and frees the time.
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


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.REQUESTED, Action.APPROVE): Status.CONFIRMED,
    (Status.REQUESTED, Action.DECLINE): Status.DECLINED,
    (Status.REQUESTED, Action.CANCEL): Status.CANCELLED,
    (Status.CONFIRMED, Action.CANCEL): Status.CANCELLED,
    (Status.CONFIRMED, Action.CHECK_OUT): Status.CHECKED_OUT,
    (Status.CHECKED_OUT, Action.RETURN): Status.RETURNED,
    (Status.CONFIRMED, Action.RELEASE_NO_SHOW): Status.NO_SHOW,
}

HOLDING = frozenset({Status.REQUESTED, Status.CONFIRMED, Status.CHECKED_OUT})
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
        Action.RELEASE_NO_SHOW: "released as a no-show",
    }[action]
