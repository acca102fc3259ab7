"""Alternatives on a conflict: the nearest free slot of the same resource, or the same time elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.domain.alternatives import (
    MAX_SEARCH_STEPS,
    Alternative,
    Candidate,
    nearest_free_slots,
    same_time_elsewhere,
    search_reach,
    search_step,
)
from booking.domain.availability import Buffers, Holding, Timeline
from booking.domain.errors import PolicyViolation
from booking.domain.intervals import Interval

BASE = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def span(start: int, end: int) -> Interval:
    return Interval(at(start), at(end))


def hours(start: float, end: float) -> Interval:
    return span(int(start * 60), int(end * 60))


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def candidate(
    holdings: list[Holding],
    *,
    capacity: int = 1,
    buffers: Buffers = Buffers(),
    is_bookable: Callable[[Interval], bool] = lambda _slot: True,
    resource_id: int = 1,
    name: str = "Saal",
) -> Candidate:
    return Candidate(resource_id, name, capacity, buffers, Timeline(holdings), is_bookable)


def slots(alternatives: list[Alternative]) -> list[Interval]:
    return [alternative.interval for alternative in alternatives]


# --- search_step ---------------------------------------------------------------------------


def test_search_step() -> None:
    assert search_step(minutes(30)) == minutes(30)
    assert search_step(timedelta(hours=23, minutes=59)) == minutes(30)
    assert search_step(timedelta(days=1)) == timedelta(days=1)
    assert search_step(timedelta(days=3)) == timedelta(days=1)


# --- nearest_free_slots: examples ----------------------------------------------------------

TAKEN_9_TO_12 = [Holding(hours(9, 12), 1)]
REQUEST = hours(10, 11)


def test_nearest_later_and_earlier_slot() -> None:
    found = nearest_free_slots(candidate(TAKEN_9_TO_12), REQUEST, 1, not_before=at(0), search_until=at(24 * 60))
    # 12:00 (two hours later) and 08:00 (two hours earlier) are equally near; later comes first.
    assert slots(found) == [hours(12, 13), hours(8, 9)]
    assert all(a.kind == "same_resource" and a.resource_id == 1 and a.resource_name == "Saal" for a in found)


def test_the_nearer_side_wins() -> None:
    taken = [Holding(hours(9, 13), 1)]
    found = nearest_free_slots(candidate(taken), hours(9.5, 10.5), 1, not_before=at(0), search_until=at(24 * 60), limit=1)
    assert slots(found) == [hours(8, 9)]  # 1.5 h earlier beats 3.5 h later


def test_buffers_push_the_suggestions_apart() -> None:
    cleaning = Buffers(after=minutes(30))
    found = nearest_free_slots(
        candidate(TAKEN_9_TO_12, buffers=cleaning), REQUEST, 1, not_before=at(0), search_until=at(24 * 60)
    )
    assert slots(found) == [hours(12.5, 13.5), hours(7.5, 8.5)]
    setup = Buffers(before=minutes(30), after=minutes(30))
    found = nearest_free_slots(candidate(TAKEN_9_TO_12, buffers=setup), REQUEST, 1, not_before=at(0), search_until=at(24 * 60))
    assert slots(found) == [hours(13, 14), hours(7, 8)]


def test_not_before_excludes_earlier_slots() -> None:
    found = nearest_free_slots(candidate(TAKEN_9_TO_12), REQUEST, 1, not_before=at(10 * 60), search_until=at(24 * 60))
    assert slots(found) == [hours(12, 13), hours(12.5, 13.5)]
    # A slot starting exactly at not_before is fine.
    found = nearest_free_slots(candidate(TAKEN_9_TO_12), REQUEST, 1, not_before=at(8 * 60), search_until=at(24 * 60))
    assert slots(found) == [hours(12, 13), hours(8, 9)]


def test_search_until_bounds_the_later_slots() -> None:
    found = nearest_free_slots(candidate(TAKEN_9_TO_12), REQUEST, 1, not_before=at(10 * 60), search_until=at(12 * 60))
    assert slots(found) == [hours(12, 13)]  # starting exactly at search_until is still offered
    found = nearest_free_slots(candidate(TAKEN_9_TO_12), REQUEST, 1, not_before=at(10 * 60), search_until=at(12 * 60 - 1))
    assert found == []


def test_nothing_free_in_range_gives_nothing() -> None:
    day_long = [Holding(hours(0, 24), 1)]
    found = nearest_free_slots(candidate(day_long), REQUEST, 1, not_before=at(0), search_until=at(22 * 60))
    assert found == []


def test_is_bookable_filters_slots_and_policy_errors_count_as_no() -> None:
    def afternoon_only(slot: Interval) -> bool:
        if slot.starts_at.hour < 6:
            raise PolicyViolation("the start lies in the past")
        return slot.starts_at.hour >= 14

    found = nearest_free_slots(
        candidate(TAKEN_9_TO_12, is_bookable=afternoon_only), REQUEST, 1, not_before=at(0), search_until=at(24 * 60)
    )
    assert slots(found) == [hours(14, 15), hours(14.5, 15.5)]
    asked: list[Interval] = []

    def never(slot: Interval) -> bool:
        asked.append(slot)
        raise PolicyViolation("closed")

    assert nearest_free_slots(candidate([], is_bookable=never), REQUEST, 1, not_before=at(0), search_until=at(24 * 60)) == []
    assert asked  # the callback is consulted, and its refusal is not an error


def test_pooled_units_and_quantity() -> None:
    benches = [Holding(hours(9, 12), 7), Holding(hours(12, 14), 4)]
    pool = candidate(benches, capacity=10)

    def search(quantity: int) -> list[Interval]:
        return slots(nearest_free_slots(pool, hours(10, 11), quantity, not_before=at(0), search_until=at(24 * 60)))

    assert search(3) == [hours(10.5, 11.5), hours(9.5, 10.5)]  # 7 + 3 fit everywhere
    assert search(5) == [hours(12, 13), hours(8, 9)]  # 4 + 5 fit after noon
    assert search(7) == [hours(8, 9), hours(7.5, 8.5)]  # 4 + 7 do not: only mornings are free


def test_limit() -> None:
    found = nearest_free_slots(candidate([]), REQUEST, 1, not_before=at(0), search_until=at(24 * 60), limit=5)
    assert slots(found) == [hours(10.5, 11.5), hours(9.5, 10.5), hours(11, 12), hours(9, 10), hours(11.5, 12.5)]


def test_day_long_loans_move_in_days() -> None:
    loan = span(0, 3 * 24 * 60)  # Monday to Thursday
    taken = [Holding(span(24 * 60, 5 * 24 * 60), 1)]
    found = nearest_free_slots(candidate(taken), loan, 1, not_before=at(-2 * 24 * 60), search_until=at(30 * 24 * 60))
    # Saturday to Tuesday ends as the other loan starts; the next later one starts when it ends.
    assert slots(found) == [loan.shifted(timedelta(days=-2)), loan.shifted(timedelta(days=5))]


# --- same_time_elsewhere -------------------------------------------------------------------


def test_same_time_elsewhere() -> None:
    busy = candidate(TAKEN_9_TO_12, resource_id=1, name="Saal")
    free = candidate([], resource_id=2, name="Kleiner Saal")
    too_small = candidate([], capacity=1, resource_id=3, name="Kammer")
    pool = candidate([Holding(REQUEST, 2)], capacity=4, resource_id=4, name="Bänke")
    refuses = candidate([], resource_id=5, name="Keller", is_bookable=lambda _slot: False)

    found = same_time_elsewhere([busy, free, too_small, pool, refuses], REQUEST, 2)
    # Only the pool has two units; two of its four are held, two are left.
    assert [(a.resource_id, a.resource_name) for a in found] == [(4, "Bänke")]
    assert all(a.interval == REQUEST and a.kind == "comparable_resource" for a in found)

    found = same_time_elsewhere([busy, free, too_small, pool, refuses], REQUEST, 1)
    assert [a.resource_id for a in found] == [2, 3, 4]
    assert [a.resource_id for a in same_time_elsewhere([busy, free, too_small, pool], REQUEST, 1, limit=2)] == [2, 3]
    assert same_time_elsewhere([pool], REQUEST, 3) == []


def test_same_time_elsewhere_respects_buffers() -> None:
    cleaning = Buffers(after=minutes(30))
    neighbour = candidate([Holding(hours(9, 9.75), 1)], buffers=cleaning, resource_id=2)
    assert same_time_elsewhere([neighbour], REQUEST, 1) == []
    neighbour = candidate([Holding(hours(9, 9.5), 1)], buffers=cleaning, resource_id=2)
    assert [a.resource_id for a in same_time_elsewhere([neighbour], REQUEST, 1)] == [2]


def test_pooled_cleaning_buffers_of_bookings_that_never_meet_leave_a_unit() -> None:
    # Two vans, an hour of cleaning after each trip: one is away 10–11 (clean at 12), the
    # other 12:30–13:30. A trip 11:30–12:30 has a van at every moment of 11:30–13:30.
    vans = candidate(
        [Holding(hours(10, 11), 1), Holding(hours(12.5, 13.5), 1)], capacity=2, buffers=Buffers(after=minutes(60)), resource_id=9
    )
    assert [a.resource_id for a in same_time_elsewhere([vans], hours(11.5, 12.5), 1)] == [9]
    assert same_time_elsewhere([vans], hours(11.5, 12.5), 2) == []


# --- property: the nearest free slots, against brute force -----------------------------------

STEP = 30
SPAN = 16 * 60  # the schedule lies in the first 16 hours


@st.composite
def schedules(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    capacity = draw(st.integers(1, 2))
    holdings = draw(
        st.lists(
            st.builds(
                lambda start, length, quantity: Holding(span(start, start + length), quantity),
                st.integers(0, SPAN // 15).map(lambda k: 15 * k),
                st.sampled_from([15, 30, 60, 120, 240]),
                st.integers(1, capacity),
            ),
            max_size=6,
        )
    )
    buffers = Buffers(draw(st.sampled_from([0, 15, 30]).map(minutes)), draw(st.sampled_from([0, 15, 30]).map(minutes)))
    start = 15 * draw(st.integers(0, SPAN // 15))
    length = draw(st.sampled_from([30, 60, 90, 180]))
    quantity = draw(st.integers(1, capacity))
    not_before = draw(st.integers(-120, start))
    search_until = draw(st.integers(start, SPAN + 240))
    refused_starts = draw(st.sets(st.integers(-300, SPAN + 300).map(lambda m: m - m % STEP + start % STEP), max_size=6))
    limit = draw(st.integers(1, 3))
    return capacity, holdings, buffers, span(start, start + length), quantity, not_before, search_until, refused_starts, limit


def brute_free(holdings: list[Holding], capacity: int, buffers: Buffers, slot_start: int, length: int, quantity: int) -> bool:
    """Every booking occupies its unit from ``before`` ahead of its start to ``after`` past its end."""
    before, after = int(buffers.before.total_seconds() // 60), int(buffers.after.total_seconds() // 60)
    occupied = range(slot_start - before, slot_start + length + after)
    for minute in occupied:
        used = 0
        for holding in holdings:
            start = int((holding.interval.starts_at - BASE).total_seconds() // 60)
            end = int((holding.interval.ends_at - BASE).total_seconds() // 60)
            if start - before <= minute < end + after:
                used += holding.quantity
        if used + quantity > capacity:
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(schedules())
def test_nearest_free_slots_equal_brute_force(schedule) -> None:  # type: ignore[no-untyped-def]
    capacity, holdings, buffers, request, quantity, not_before, search_until, refused_starts, limit = schedule
    start = int((request.starts_at - BASE).total_seconds() // 60)
    length = int(request.duration.total_seconds() // 60)

    def is_bookable(slot: Interval) -> bool:
        minute = int((slot.starts_at - BASE).total_seconds() // 60)
        if minute in refused_starts:
            if minute % 60:
                return False
            raise PolicyViolation("not then")
        return True

    shifts = sorted(
        (k for k in range(-60, 61) if k != 0),
        key=lambda k: (abs(k), k < 0),  # nearest first; later before earlier at the same distance
    )
    expected = [
        span(start + k * STEP, start + k * STEP + length)
        for k in shifts
        if not_before <= start + k * STEP <= search_until
        and start + k * STEP not in refused_starts
        and brute_free(holdings, capacity, buffers, start + k * STEP, length, quantity)
    ][:limit]

    found = nearest_free_slots(
        candidate(holdings, capacity=capacity, buffers=buffers, is_bookable=is_bookable),
        request,
        quantity,
        not_before=at(not_before),
        search_until=at(search_until),
        limit=limit,
    )
    assert slots(found) == expected


# --- bounded work: a request far from the bookable window costs (almost) nothing ------------


class CountingTimeline(Timeline):
    """A timeline that counts the slots a search checks and stops a runaway search."""

    def __init__(self, holdings: list[Holding], ceiling: int) -> None:
        super().__init__(holdings)
        self.checks = 0
        self.ceiling = ceiling

    def overlapping(self, window: Interval, margin: timedelta = timedelta(0)) -> list[Holding]:
        self.checks += 1
        assert self.checks <= self.ceiling, "the search walks further than its bound"
        return super().overlapping(window, margin)


def counting_candidate(holdings: list[Holding], ceiling: int) -> tuple[Candidate, CountingTimeline]:
    timeline = CountingTimeline(holdings, ceiling)
    return Candidate(1, "Saal", 1, Buffers(), timeline, lambda _slot: True), timeline


def test_a_request_far_outside_the_window_is_not_walked_towards_it() -> None:
    window_start, window_end = at(0), at(365 * 24 * 60)
    for far in (datetime(1900, 1, 2, 18, tzinfo=UTC), datetime(3768, 1, 2, 18, tzinfo=UTC), datetime(9999, 12, 30, 18, tzinfo=UTC)):
        own, timeline = counting_candidate([], ceiling=0)
        request = Interval(far, far + timedelta(hours=2))
        assert nearest_free_slots(own, request, 1, not_before=window_start, search_until=window_end) == []
        assert timeline.checks == 0
        assert search_reach(request, not_before=window_start, search_until=window_end) is None


def test_a_fully_booked_year_costs_at_most_the_step_bound() -> None:
    # Everything taken for a year: the search gives up after its steps on both sides.
    year = [Holding(Interval(at(-400 * 24 * 60), at(400 * 24 * 60)), 1)]
    own, timeline = counting_candidate(year, ceiling=2 * MAX_SEARCH_STEPS)
    request = at(180 * 24 * 60)
    assert nearest_free_slots(own, Interval(request, request + timedelta(hours=1)), 1, not_before=at(0), search_until=at(365 * 24 * 60)) == []
    assert timeline.checks == 2 * MAX_SEARCH_STEPS
    # A request just past the horizon searches back into the window, within the same bound.
    own, timeline = counting_candidate([], ceiling=2 * MAX_SEARCH_STEPS)
    late = at(365 * 24 * 60 + 60)
    found = nearest_free_slots(own, Interval(late, late + timedelta(hours=1)), 1, not_before=at(0), search_until=at(365 * 24 * 60), limit=1)
    assert slots(found) == [Interval(late - timedelta(hours=1), late)] and timeline.checks == 1
