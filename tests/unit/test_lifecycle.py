"""The booking state machine: every (status, action) pair, capacity and overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from booking.domain.errors import TransitionNotAllowed
from booking.domain.lifecycle import (
    CHANGEABLE,
    HOLDING,
    HOLDING_VALUES,
    Action,
    Status,
    allowed_actions,
    hold_expiry,
    holds_capacity,
    initial_status,
    is_overdue,
    next_status,
    status_after_hold,
)

# The machine as DESIGN.md describes it, written out independently of lifecycle.TRANSITIONS.
EXPECTED = {
    ("requested", "approve"): "confirmed",
    ("requested", "decline"): "declined",
    ("requested", "cancel"): "cancelled",
    ("confirmed", "cancel"): "cancelled",
    ("confirmed", "check_out"): "checked_out",
    ("checked_out", "return"): "returned",
    # A waiting list's offer: taken, run out, or declined.
    ("held", "confirm_hold"): "confirmed",
    ("held", "expire"): "expired",
    ("held", "cancel"): "cancelled",
    # Check-in was required and nobody came: released.
    ("confirmed", "release_no_show"): "no_show",
}
STATUSES = ["requested", "confirmed", "declined", "cancelled", "checked_out", "returned", "held", "expired", "no_show"]
ACTIONS = ["approve", "decline", "cancel", "check_out", "return", "release_no_show", "undo_cancel", "confirm_hold", "expire"]  # undo_cancel: see undo_cancel_status


def test_the_enums_name_exactly_the_documented_values() -> None:
    assert sorted(s.value for s in Status) == sorted(STATUSES)
    assert sorted(a.value for a in Action) == sorted(ACTIONS)


@pytest.mark.parametrize(("status", "action"), list(product(STATUSES, ACTIONS)))
def test_every_status_action_pair(status: str, action: str) -> None:
    if (status, action) in EXPECTED:
        result = next_status(status, action)
        assert result == EXPECTED[(status, action)]
        assert isinstance(result, Status)
        # The enums work as well as their string values.
        assert next_status(Status(status), Action(action)) == result
    else:
        with pytest.raises(TransitionNotAllowed) as caught:
            next_status(status, action)
        assert caught.value.status_code == 409
        assert caught.value.code == "transition_not_allowed"
        assert status in caught.value.message


def test_a_returned_item_cannot_be_handed_out_again() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        next_status("returned", "check_out")
    assert caught.value.message == "a booking that is returned cannot be handed out"


def test_a_checked_out_booking_cannot_be_cancelled() -> None:
    with pytest.raises(TransitionNotAllowed, match="checked_out cannot be cancelled"):
        next_status("checked_out", "cancel")


@pytest.mark.parametrize(("status", "action"), [("overdue", "return"), ("confirmed", "lend"), ("", ""), ("Confirmed", "cancel")])
def test_unknown_status_or_action(status: str, action: str) -> None:
    with pytest.raises(TransitionNotAllowed, match="unknown status or action"):
        next_status(status, action)


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_actions_are_the_outgoing_edges(status: str) -> None:
    expected = {action for (from_status, action) in EXPECTED if from_status == status}
    assert set(allowed_actions(status)) == expected
    assert set(allowed_actions(Status(status))) == expected
    for action in allowed_actions(status):
        next_status(status, action)


def test_final_states_have_no_way_out() -> None:
    for status in ("declined", "cancelled", "returned", "expired", "no_show"):
        assert allowed_actions(status) == []
    assert allowed_actions("nonsense") == []


@pytest.mark.parametrize(
    ("status", "holds"),
    [
        ("requested", True),
        ("confirmed", True),
        ("checked_out", True),
        ("held", True),
        ("expired", False),
        ("declined", False),
        ("cancelled", False),
        ("returned", False),
        ("no_show", False),
        ("overdue", False),
        ("", False),
    ],
)
def test_holds_capacity(status: str, holds: bool) -> None:
    assert holds_capacity(status) is holds
    if status in STATUSES:
        assert holds_capacity(Status(status)) is holds


def test_changeable_states() -> None:
    assert CHANGEABLE == {Status.REQUESTED, Status.CONFIRMED}


ENDS_AT = datetime(2026, 5, 8, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "now", "overdue"),
    [
        ("checked_out", ENDS_AT - timedelta(minutes=1), False),
        ("checked_out", ENDS_AT, True),  # half-open: the loan is over at ends_at
        ("checked_out", ENDS_AT + timedelta(days=3), True),
        (Status.CHECKED_OUT, ENDS_AT + timedelta(seconds=1), True),
        ("returned", ENDS_AT + timedelta(days=3), False),
        ("confirmed", ENDS_AT + timedelta(days=3), False),  # never handed out: not a late return
        ("requested", ENDS_AT + timedelta(days=3), False),
        ("cancelled", ENDS_AT + timedelta(days=3), False),
    ],
)
def test_is_overdue(status: str, now: datetime, overdue: bool) -> None:
    assert is_overdue(status, ENDS_AT, now) is overdue


def test_is_overdue_compares_instants_not_wall_clocks() -> None:
    from zoneinfo import ZoneInfo

    # 17:30 in Berlin (CEST) is 15:30 UTC: before the 16:00 UTC end.
    now = datetime(2026, 5, 8, 17, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert not is_overdue("checked_out", ENDS_AT, now)
    assert is_overdue("checked_out", ENDS_AT, now + timedelta(minutes=30))


@pytest.mark.parametrize(("needs_approval", "expected"), [(False, "confirmed"), (True, "requested")])
def test_a_taken_hold_is_confirmed_or_requested_by_the_policy(needs_approval: bool, expected: str) -> None:
    assert status_after_hold("held", needs_approval=needs_approval) == expected
    with pytest.raises(TransitionNotAllowed):
        status_after_hold("expired", needs_approval=needs_approval)


def test_a_new_booking_is_requested_only_where_approval_is_needed_and_not_by_staff() -> None:
    assert initial_status(needs_approval=True, is_staff=False) == Status.REQUESTED
    assert initial_status(needs_approval=True, is_staff=True) == Status.CONFIRMED
    assert initial_status(needs_approval=False, is_staff=False) == Status.CONFIRMED


def test_a_hold_never_lasts_past_the_start() -> None:
    now = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
    assert hold_expiry(now, now + timedelta(days=3), timedelta(hours=24)) == now + timedelta(hours=24)
    assert hold_expiry(now, now + timedelta(hours=5), timedelta(hours=24)) == now + timedelta(hours=5)


def test_holding_values_are_the_holding_set() -> None:
    assert set(HOLDING_VALUES) == {status.value for status in HOLDING}
    assert list(HOLDING_VALUES) == sorted(HOLDING_VALUES)
