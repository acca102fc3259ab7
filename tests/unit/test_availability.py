"""Capacity over time, checked against brute force on a minute grid."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from booking.domain.availability import (
    HOLDING_STATUSES,
    HoldingSummary,
    Verdict,
    Buffers,
    Holding,
    Timeline,
    busy_intervals,
    conflicting,
    free_units,
    peak_usage,
    quick_verdict,
)
from booking.domain.intervals import Interval, merge
from booking.domain.lifecycle import HOLDING, Status

BASE = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
GRID = 120

PROPERTY = settings(max_examples=250, deadline=None)


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def span(start: int, end: int) -> Interval:
    return Interval(at(start), at(end))


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


@st.composite
def intervals(draw: st.DrawFn, low: int = 0, high: int = GRID) -> Interval:
    start = draw(st.integers(low, high - 1))
    end = draw(st.integers(start + 1, high))
    return span(start, end)


holdings_strategy = st.lists(
    st.builds(Holding, intervals(), st.integers(1, 3)),
    max_size=7,
)
buffers_strategy = st.builds(Buffers, st.integers(0, 20).map(minutes), st.integers(0, 20).map(minutes))


def cells(interval: Interval) -> range:
    first = int((interval.starts_at - BASE).total_seconds() // 60)
    last = int((interval.ends_at - BASE).total_seconds() // 60)
    return range(first, last)


def usage_at(holdings: list[Holding], minute: int, buffers: Buffers = Buffers()) -> int:
    """Units held during ``[minute, minute+1)``, each holding occupying its buffers too."""
    return sum(
        h.quantity for h in holdings if minute in cells(h.interval.padded(buffers.before, buffers.after))
    )


def brute_peak(holdings: list[Holding], window: Interval, buffers: Buffers = Buffers()) -> int:
    return max((usage_at(holdings, m, buffers) for m in cells(window)), default=0)


# --- peak_usage / free_units -----------------------------------------------------------------


def test_peak_usage_examples() -> None:
    window = span(0, 120)
    assert peak_usage([], window) == 0
    # Back to back: released at 60 before the next is taken at 60.
    assert peak_usage([Holding(span(0, 60), 2), Holding(span(60, 120), 3)], window) == 3
    assert peak_usage([Holding(span(0, 61), 2), Holding(span(60, 120), 3)], window) == 5
    # Only the part inside the window counts.
    assert peak_usage([Holding(span(0, 61), 2), Holding(span(60, 120), 3)], span(61, 120)) == 3
    assert peak_usage([Holding(span(0, 30), 4)], span(30, 60)) == 0


@PROPERTY
@given(holdings_strategy, intervals())
def test_peak_usage_equals_brute_force(holdings: list[Holding], window: Interval) -> None:
    assert peak_usage(holdings, window) == brute_peak(holdings, window)


@PROPERTY
@given(holdings_strategy, intervals(), st.integers(1, 8))
def test_free_units_is_capacity_minus_peak_never_negative(
    holdings: list[Holding], window: Interval, capacity: int
) -> None:
    assert free_units(holdings, window, capacity) == max(0, capacity - brute_peak(holdings, window))


# --- conflicting ---------------------------------------------------------------------------


def test_buffers_total() -> None:
    assert Buffers(minutes(10), minutes(5)).total == minutes(15)
    assert Buffers().total == timedelta(0)


def test_conflicting_single_unit_examples() -> None:
    taken = [Holding(span(60, 90), 1)]
    assert conflicting(taken, span(30, 60), 1, 1, Buffers()) == []  # ends as the other starts
    assert conflicting(taken, span(90, 120), 1, 1, Buffers()) == []  # starts as the other ends
    assert conflicting(taken, span(30, 61), 1, 1, Buffers()) == taken
    # 15 minutes of cleaning after each booking: the next one may start at 105, not earlier.
    cleaning = Buffers(after=minutes(15))
    assert conflicting(taken, span(104, 120), 1, 1, cleaning) == taken
    assert conflicting(taken, span(105, 120), 1, 1, cleaning) == []
    # ... and a booking before must end 15 minutes before the other starts.
    assert conflicting(taken, span(0, 46), 1, 1, cleaning) == taken
    assert conflicting(taken, span(0, 45), 1, 1, cleaning) == []


def test_conflicting_pooled_examples() -> None:
    benches = [Holding(span(0, 60), 6), Holding(span(30, 90), 3)]
    assert conflicting(benches, span(30, 60), 1, 10, Buffers()) == []
    assert conflicting(benches, span(30, 60), 2, 10, Buffers()) == benches
    assert conflicting(benches, span(60, 120), 7, 10, Buffers()) == []
    assert conflicting(benches, span(60, 120), 8, 10, Buffers()) == [benches[1]]


def test_pooled_buffers_do_not_add_up_bookings_that_never_meet() -> None:
    """Two units, an hour of cleaning after each booking. One unit is busy 10–12 (with
    cleaning), the other 12–14; a request 11:30–12:30 needs a unit over 11:30–13:30 and at
    every moment only one of the others is busy, so one unit is always left."""
    holdings = [Holding(span(0, 60), 1), Holding(span(120, 180), 1)]
    request = span(90, 150)
    assert brute_peak(holdings, request.padded(timedelta(0), minutes(60)), Buffers(after=minutes(60))) == 1
    assert conflicting(holdings, request, 1, 2, Buffers(after=minutes(60))) == []
    assert conflicting(holdings, request, 2, 2, Buffers(after=minutes(60))) == holdings


@st.composite
def quantity_and_capacity(draw: st.DrawFn) -> tuple[int, int]:
    """Callers refuse ``quantity > capacity`` before asking (policies.check_quantity)."""
    capacity = draw(st.integers(1, 5))
    return draw(st.integers(1, min(3, capacity))), capacity


@PROPERTY
@given(holdings_strategy, intervals(), quantity_and_capacity())
def test_conflicting_without_buffers_is_empty_iff_capacity_suffices(
    holdings: list[Holding], request: Interval, sizes: tuple[int, int]
) -> None:
    quantity, capacity = sizes
    blocking = conflicting(holdings, request, quantity, capacity, Buffers())
    fits = all(usage_at(holdings, m) + quantity <= capacity for m in cells(request))
    assert (blocking == []) is fits
    if not fits:
        assert blocking == [h for h in holdings if h.interval.overlaps(request)]


@PROPERTY
@given(holdings_strategy, intervals(), quantity_and_capacity(), buffers_strategy)
def test_conflicting_with_buffers_is_empty_iff_capacity_suffices(
    holdings: list[Holding], request: Interval, sizes: tuple[int, int], buffers: Buffers
) -> None:
    """Every booking, the request included, occupies its unit from ``before`` ahead of its
    start to ``after`` past its end."""
    quantity, capacity = sizes
    blocking = conflicting(holdings, request, quantity, capacity, buffers)
    occupied = request.padded(buffers.before, buffers.after)
    fits = all(usage_at(holdings, m, buffers) + quantity <= capacity for m in cells(occupied))
    assert (blocking == []) is fits
    if not fits:
        assert blocking
        assert blocking == [
            h for h in holdings if h.interval.padded(buffers.before, buffers.after).overlaps(occupied)
        ]


quarter_hours = st.integers(0, 16).map(lambda k: 15 * k)
short_bookings = st.builds(
    lambda start, length: span(start, start + length), quarter_hours, st.sampled_from([15, 30, 45, 60])
)


@settings(max_examples=400, deadline=None)
@example(
    holdings=[Holding(span(0, 60), 1), Holding(span(120, 180), 1)],
    request=span(90, 150),
    capacity=2,
    buffers=Buffers(after=minutes(60)),
)
@given(
    st.lists(st.builds(Holding, short_bookings, st.just(1)), max_size=6),
    short_bookings,
    st.integers(1, 3),
    st.builds(Buffers, st.sampled_from([0, 15, 30, 60]).map(minutes), st.sampled_from([0, 15, 30, 60]).map(minutes)),
)
def test_conflicting_pooled_units_with_cleaning_buffers(
    holdings: list[Holding], request: Interval, capacity: int, buffers: Buffers
) -> None:
    """Short single-unit bookings with long buffers: the shape where pooled bookings come
    close without meeting."""
    occupied = request.padded(buffers.before, buffers.after)
    fits = all(usage_at(holdings, m, buffers) + 1 <= capacity for m in cells(occupied))
    assert (conflicting(holdings, request, 1, capacity, buffers) == []) is fits


# --- busy_intervals ------------------------------------------------------------------------


def test_busy_intervals_examples() -> None:
    window = span(0, 120)
    holdings = [Holding(span(-30, 30), 1), Holding(span(20, 50), 1), Holding(span(50, 70), 1)]
    assert busy_intervals(holdings, 1, window) == [span(0, 70)]
    assert busy_intervals(holdings, 2, window) == [span(20, 30)]
    assert busy_intervals(holdings, 3, window) == []
    assert busy_intervals([Holding(span(10, 20), 2)], 2, window) == [span(10, 20)]
    assert busy_intervals([Holding(span(100, 200), 1)], 1, window) == [span(100, 120)]


@PROPERTY
@given(holdings_strategy, intervals(), st.integers(1, 4))
def test_busy_intervals_are_exactly_where_usage_reaches_capacity(
    holdings: list[Holding], window: Interval, capacity: int
) -> None:
    busy = busy_intervals(holdings, capacity, window)
    busy_cells = {m for piece in busy for m in cells(piece)}
    assert busy_cells == {m for m in cells(window) if usage_at(holdings, m) >= capacity}
    assert merge(busy) == busy
    assert all(window.contains(piece) for piece in busy)


# --- Timeline ------------------------------------------------------------------------------


@PROPERTY
@given(holdings_strategy, intervals(-20, GRID + 20), st.integers(0, 30).map(minutes))
def test_timeline_overlapping_equals_the_naive_filter(
    holdings: list[Holding], window: Interval, margin: timedelta
) -> None:
    timeline = Timeline(holdings)
    assert len(timeline) == len(holdings)
    assert Counter(timeline) == Counter(holdings)
    starts = [h.interval.starts_at for h in timeline]
    assert starts == sorted(starts)
    found = timeline.overlapping(window, margin)
    expected = [h for h in holdings if h.interval.padded(margin, margin).overlaps(window)]
    assert Counter(found) == Counter(expected)
    if margin == timedelta(0):
        assert Counter(timeline.overlapping(window)) == Counter(h for h in holdings if h.interval.overlaps(window))


def test_timeline_finds_a_long_holding_that_starts_long_before_the_window() -> None:
    long = Holding(span(-600, 200), 1)
    shorts = [Holding(span(m, m + 5), 1) for m in range(-500, 0, 10)]
    timeline = Timeline([*shorts, long])
    assert timeline.overlapping(span(100, 110)) == [long]
    assert timeline.overlapping(span(-7, 1)) == [long, shorts[-1]]
    assert timeline.overlapping(span(-5, 1)) == [long]  # the last short one ends at -5


def test_timeline_in_local_time_across_the_autumn_switch() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 00:00–04:00 local on the night the clocks go back lasts five hours (22:00Z–03:00Z).
    night = Holding(Interval(datetime(2026, 10, 25, 0, 0, tzinfo=berlin), datetime(2026, 10, 25, 4, 0, tzinfo=berlin)), 1)
    window = Interval(datetime(2026, 10, 25, 2, 30, tzinfo=UTC), datetime(2026, 10, 25, 2, 45, tzinfo=UTC))
    assert Timeline([night]).overlapping(window) == [night]


def test_empty_timeline() -> None:
    timeline = Timeline([])
    assert len(timeline) == 0
    assert timeline.overlapping(span(0, 10), minutes(30)) == []


def test_holding_statuses_match_the_lifecycle() -> None:
    assert HOLDING_STATUSES == {status.value for status in HOLDING}
    assert Status.CANCELLED.value not in HOLDING_STATUSES
    assert Holding(span(0, 1), 1).status == "confirmed"


@pytest.mark.parametrize("capacity", [1, 3])
def test_conflicting_reports_nothing_for_holdings_far_away(capacity: int) -> None:
    far = [Holding(span(500, 600), capacity)]
    assert conflicting(far, span(0, 60), 1, capacity, Buffers(minutes(30), minutes(30))) == []


# --- quick_verdict -------------------------------------------------------------------------


def summary_of(holdings: list[Holding], window: Interval, margin: timedelta) -> HoldingSummary:
    """What load_holding_summaries counts in SQL, counted here."""
    near = [h for h in holdings if h.interval.overlaps(window.padded(margin, margin))]
    inside = [h for h in near if h.interval.overlaps(window)]
    covering = [h for h in inside if h.interval.starts_at <= window.starts_at and h.interval.ends_at >= window.ends_at]
    return HoldingSummary(len(near), len(inside), max((h.quantity for h in inside), default=0), sum(h.quantity for h in covering))


def test_quick_verdict_examples() -> None:
    window = span(60, 120)
    room = Buffers()
    assert quick_verdict(HoldingSummary(), 1, 1, room) is Verdict.FREE
    # Something near, nothing inside, no buffers: free without looking closer.
    assert quick_verdict(HoldingSummary(nearby=2), 1, 1, room) is Verdict.FREE
    # ... with buffers the neighbour may reach into the window: look closer.
    assert quick_verdict(HoldingSummary(nearby=2), 1, 1, Buffers(after=minutes(15))) is Verdict.UNDECIDED
    # A one-unit room with any booking inside the window is taken.
    assert quick_verdict(summary_of([Holding(span(100, 130), 1)], window, timedelta(0)), 1, 1, room) is Verdict.TAKEN
    # Pooled: two bookings of 2 of 3 units that may or may not meet.
    apart = summary_of([Holding(span(60, 80), 2), Holding(span(90, 120), 2)], window, timedelta(0))
    assert quick_verdict(apart, 3, 1, room) is Verdict.UNDECIDED
    assert conflicting([Holding(span(60, 80), 2), Holding(span(90, 120), 2)], window, 1, 3, room) == []
    # ... two covering the whole window add up.
    assert quick_verdict(summary_of([Holding(span(0, 130), 2), Holding(span(50, 120), 1)], window, timedelta(0)), 3, 1, room) is Verdict.TAKEN
    assert quick_verdict(HoldingSummary(), 2, 3, room) is Verdict.TAKEN


@settings(max_examples=400, deadline=None)
@given(holdings_strategy, intervals(), quantity_and_capacity(), buffers_strategy, st.integers(0, 30).map(minutes))
def test_quick_verdict_agrees_with_conflicting_whenever_it_decides(
    holdings: list[Holding], window: Interval, quantity_capacity: tuple[int, int], buffers: Buffers, extra: timedelta
) -> None:
    quantity, capacity = quantity_capacity
    # The search widens by the widest buffers of all resources: at least this one's.
    verdict = quick_verdict(summary_of(holdings, window, buffers.total + extra), capacity, quantity, buffers)
    if verdict is not Verdict.UNDECIDED:
        assert (verdict is Verdict.FREE) == (conflicting(holdings, window, quantity, capacity, buffers) == [])
