"""The rules of a resource: lead time, durations, horizon, opening hours modes, blackouts, audience."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.policies import Blackout, Rules, check_quantity, check_request, may_book

BERLIN_NAME = "Europe/Berlin"
BERLIN = ZoneInfo(BERLIN_NAME)
# Monday to Saturday 09:00–18:00; Sunday closed.
SHOP_HOURS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # Monday 10:00 in Berlin


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def check(rules: Rules, start: datetime, end: datetime, **kwargs) -> None:  # type: ignore[no-untyped-def]
    arguments = {"now": NOW, "opening_hours": SHOP_HOURS, "timezone": BERLIN_NAME, **kwargs}
    check_request(rules, Interval(start, end), **arguments)


def refused(rules: Rules, start: datetime, end: datetime, **kwargs) -> PolicyViolation:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyViolation) as caught:
        check(rules, start, end, **kwargs)
    assert caught.value.status_code == 422
    return caught.value


# --- time rules ----------------------------------------------------------------------------


def test_a_plain_request_passes() -> None:
    check(Rules(), local(2026, 5, 5, 10), local(2026, 5, 5, 12))


def test_start_in_the_past_is_refused_even_for_staff() -> None:
    error = refused(Rules(), NOW - timedelta(minutes=1), NOW + timedelta(hours=1), opening_hours={})
    assert error.field == "starts_at"
    assert "past" in error.message
    error = refused(Rules(), NOW - timedelta(minutes=1), NOW + timedelta(hours=1), opening_hours={}, bypass_lead_time=True)
    assert "past" in error.message
    check(Rules(), NOW, NOW + timedelta(hours=1), opening_hours={})  # starting right now is fine


def test_lead_time() -> None:
    rules = Rules(lead_time=timedelta(days=2))
    start = NOW + timedelta(days=2)
    check(rules, start, start + timedelta(hours=1), opening_hours={})  # exactly two days ahead
    error = refused(rules, start - timedelta(minutes=1), start + timedelta(hours=1), opening_hours={})
    assert error.field == "starts_at"
    assert "at least 2 days in advance" in error.message
    # Staff may book at short notice.
    check(rules, NOW + timedelta(hours=1), NOW + timedelta(hours=2), opening_hours={}, bypass_lead_time=True)


@pytest.mark.parametrize(
    ("lead_time", "words"),
    [(timedelta(hours=3), "3 hours"), (timedelta(minutes=90), "90 minutes"), (timedelta(minutes=45), "45 minutes")],
)
def test_lead_time_message_in_readable_units(lead_time: timedelta, words: str) -> None:
    error = refused(Rules(lead_time=lead_time), NOW + timedelta(minutes=10), NOW + timedelta(hours=5), opening_hours={})
    assert f"at least {words} in advance" in error.message


def test_minimum_duration() -> None:
    start = local(2026, 5, 5, 10)
    check(Rules(), start, start + timedelta(minutes=15))
    error = refused(Rules(), start, start + timedelta(minutes=14))
    assert error.field == "ends_at"
    assert "at least 15 minutes" in error.message
    error = refused(Rules(min_duration=timedelta(hours=2)), start, start + timedelta(minutes=119))
    assert "at least 2 hours" in error.message


def test_maximum_duration() -> None:
    rules = Rules(max_duration=timedelta(hours=4))
    start = local(2026, 5, 5, 10)
    check(rules, start, start + timedelta(hours=4))
    error = refused(rules, start, start + timedelta(hours=4, minutes=1))
    assert error.field == "ends_at"
    assert "at most 4 hours" in error.message
    # No maximum: a whole week is fine in ignore mode.
    check(Rules(max_duration=None, opening_hours_mode="ignore"), start, start + timedelta(days=7))


def test_maximum_duration_counts_elapsed_time_across_dst() -> None:
    # Saturday 22:00 to Sunday 04:00 in the night the clocks go back lasts seven hours.
    rules = Rules(max_duration=timedelta(hours=6), opening_hours_mode="ignore")
    start, end = local(2026, 10, 24, 22), local(2026, 10, 25, 4)
    error = refused(rules, start, end, now=datetime(2026, 10, 1, tzinfo=UTC))
    assert "at most 6 hours" in error.message


def test_horizon() -> None:
    rules = Rules(max_horizon=timedelta(days=30), opening_hours_mode="ignore")
    edge = NOW + timedelta(days=30)
    check(rules, edge, edge + timedelta(hours=1))
    error = refused(rules, edge + timedelta(minutes=1), edge + timedelta(hours=1))
    assert error.field == "starts_at"
    assert "at most 30 days ahead" in error.message
    # The default is a year; None means no limit.
    refused(Rules(opening_hours_mode="ignore"), NOW + timedelta(days=366), NOW + timedelta(days=366, hours=1))
    check(Rules(max_horizon=None, opening_hours_mode="ignore"), NOW + timedelta(days=3000), NOW + timedelta(days=3000, hours=1))


# --- opening hours modes -------------------------------------------------------------------


def test_contain_mode_needs_the_whole_time_inside_opening_hours() -> None:
    rules = Rules()
    check(rules, local(2026, 5, 5, 9), local(2026, 5, 5, 18))
    error = refused(rules, local(2026, 5, 5, 17), local(2026, 5, 5, 18, 30))
    assert "outside the site's opening hours" in error.message
    refused(rules, local(2026, 5, 10, 10), local(2026, 5, 10, 11))  # Sunday
    refused(rules, local(2026, 5, 5, 8, 45), local(2026, 5, 5, 10))


WEEKEND_LOAN = Rules(opening_hours_mode="endpoints", max_duration=timedelta(days=3, hours=2))


def test_item_loan_over_a_weekend_with_sunday_closed_passes_in_endpoints_mode() -> None:
    friday, monday = local(2026, 5, 15, 10), local(2026, 5, 18, 12)
    assert friday.strftime("%a") == "Fri" and monday.strftime("%a") == "Mon"
    check(WEEKEND_LOAN, friday, monday)
    # The same loan in contain mode spans closed nights and Sunday.
    refused(Rules(opening_hours_mode="contain"), friday, monday)
    # Ignore mode does not look at opening hours at all.
    check(Rules(opening_hours_mode="ignore"), local(2026, 5, 17, 3), local(2026, 5, 17, 4))


def test_item_loan_picked_up_on_sunday_is_refused() -> None:
    error = refused(WEEKEND_LOAN, local(2026, 5, 17, 10), local(2026, 5, 19, 12))
    assert error.field == "starts_at"
    assert "pick-up" in error.message


def test_item_loan_returned_on_sunday_is_refused() -> None:
    error = refused(WEEKEND_LOAN, local(2026, 5, 15, 10), local(2026, 5, 17, 12))
    assert error.field == "ends_at"
    assert "return" in error.message


def test_item_loan_picked_up_after_closing_is_refused() -> None:
    error = refused(WEEKEND_LOAN, local(2026, 5, 15, 18), local(2026, 5, 18, 12))
    assert "pick-up" in error.message
    check(WEEKEND_LOAN, local(2026, 5, 15, 17, 59), local(2026, 5, 18, 18))


def test_endpoints_mode_across_the_spring_switch() -> None:
    # Saturday 28 March 17:00 CET to Monday 30 March 09:00 CEST; Sunday closed and one hour short.
    now = datetime(2026, 3, 1, tzinfo=UTC)
    check(WEEKEND_LOAN, local(2026, 3, 28, 17), local(2026, 3, 30, 9, 30), now=now)
    # 07:30 UTC on the Monday is 09:30 CEST (open); on the Saturday before it was 08:30 CET (closed).
    check(WEEKEND_LOAN, datetime(2026, 3, 28, 10, tzinfo=UTC), datetime(2026, 3, 30, 7, 30, tzinfo=UTC), now=now)
    error = refused(WEEKEND_LOAN, datetime(2026, 3, 28, 7, 30, tzinfo=UTC), datetime(2026, 3, 30, 10, tzinfo=UTC), now=now)
    assert "pick-up" in error.message


# --- blackouts -----------------------------------------------------------------------------


def test_blackouts() -> None:
    start, end = local(2026, 5, 5, 10), local(2026, 5, 5, 12)
    repair = Blackout(Interval(local(2026, 5, 5, 11), local(2026, 5, 6, 0)), "new floor", kind="repair")
    closed = Blackout(Interval(local(2026, 5, 5, 0), local(2026, 5, 6, 0)), "Betriebsausflug")
    silent = Blackout(Interval(local(2026, 5, 5, 11, 30), local(2026, 5, 5, 11, 45)))

    error = refused(Rules(), start, end, blackouts=[repair])
    assert error.message == "the resource is blocked for repair in that period: new floor"
    assert error.field == "starts_at"
    error = refused(Rules(), start, end, blackouts=[closed])
    assert error.message == "the resource is closed in that period: Betriebsausflug"
    error = refused(Rules(), start, end, blackouts=[silent])
    assert error.message == "the resource is closed in that period"


def test_blackouts_that_only_touch_do_not_block() -> None:
    start, end = local(2026, 5, 5, 10), local(2026, 5, 5, 12)
    before = Blackout(Interval(local(2026, 5, 5, 0), start), kind="repair")
    after = Blackout(Interval(end, local(2026, 5, 6, 0)))
    check(Rules(), start, end, blackouts=[before, after])


# --- quantity and audience ------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "capacity"), [(1, 1), (3, 10), (10, 10)])
def test_check_quantity_accepts(quantity: int, capacity: int) -> None:
    check_quantity(quantity, capacity)


@pytest.mark.parametrize(("quantity", "capacity", "words"), [(0, 5, "at least 1"), (-2, 5, "at least 1"), (11, 10, "11 is more than the 10")])
def test_check_quantity_refuses(quantity: int, capacity: int, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_quantity(quantity, capacity)
    assert caught.value.field == "quantity"
    assert words in caught.value.message


def test_may_book_public() -> None:
    assert may_book(Rules(), None, frozenset())
    assert may_book(Rules(audience="public"), 7, frozenset())


@pytest.mark.parametrize(
    ("organisation_id", "member_of", "allowed"),
    [
        (1, frozenset({1}), True),
        (2, frozenset({1, 2}), True),
        (1, frozenset(), False),  # allowed organisation, but not a member of it
        (3, frozenset({3}), False),  # a member, but the organisation is not listed
        (None, frozenset({1}), False),  # booking privately
    ],
)
def test_may_book_for_listed_organisations(organisation_id: int | None, member_of: frozenset[int], allowed: bool) -> None:
    rules = Rules(audience="organisations", allowed_organisation_ids=frozenset({1, 2}))
    assert may_book(rules, organisation_id, member_of) is allowed


def test_rules_defaults() -> None:
    rules = Rules()
    assert rules.approval.mode == "confirm"
    assert rules.min_duration == timedelta(minutes=15)
    assert rules.max_horizon == timedelta(days=365)
    assert rules.opening_hours_mode == "contain"
    assert rules.audience == "public"


# --- errors ---------------------------------------------------------------------------------


def test_error_codes_and_status() -> None:
    assert (InvalidInput("x").status_code, InvalidInput("x").code) == (400, "invalid_input")
    assert (PolicyViolation("x").status_code, PolicyViolation("x").code) == (422, "policy_violation")
    assert (NotFound("x").status_code, PermissionDenied("x").status_code) == (404, 403)
    error = PolicyViolation("too early", field="starts_at")
    assert str(error) == "too early" and error.message == "too early" and error.field == "starts_at"


def test_conflict_carries_conflicts_and_alternatives() -> None:
    conflict = Conflict("taken", conflicts=[1], alternatives=[2, 3])
    assert isinstance(conflict, DomainError)
    assert (conflict.status_code, conflict.code) == (409, "conflict")
    assert str(conflict) == "taken"
    assert (conflict.conflicts, conflict.alternatives, conflict.field) == ([1], [2, 3], None)
    assert Conflict("x").conflicts == [] and Conflict("x").conflicts is not Conflict("x").conflicts
    with pytest.raises(Conflict) as caught:
        raise conflict
    assert caught.value.alternatives == [2, 3]
