"""Half-open intervals: construction, overlap, merge and subtract, checked against a minute grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.domain.errors import DomainError, InvalidInput
from booking.domain.intervals import Interval, merge, subtract

BASE = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
GRID = 120  # minutes; all generated endpoints lie on whole minutes in [0, GRID]

PROPERTY = settings(max_examples=300, deadline=None)


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def span(start: int, end: int) -> Interval:
    return Interval(at(start), at(end))


@st.composite
def intervals(draw: st.DrawFn, low: int = 0, high: int = GRID) -> Interval:
    start = draw(st.integers(low, high - 1))
    end = draw(st.integers(start + 1, high))
    return span(start, end)


def cells(interval: Interval) -> set[int]:
    """The whole minutes ``m`` with ``[m, m+1)`` inside the interval (endpoints are whole minutes)."""
    first = int((interval.starts_at - BASE).total_seconds() // 60)
    last = int((interval.ends_at - BASE).total_seconds() // 60)
    return set(range(first, last))


def union_cells(items: list[Interval]) -> set[int]:
    covered: set[int] = set()
    for item in items:
        covered |= cells(item)
    return covered


# --- construction -------------------------------------------------------------------------


def test_naive_datetimes_are_refused_with_the_field_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        Interval(datetime(2026, 5, 4, 8, 0), at(60))
    assert caught.value.field == "starts_at"
    with pytest.raises(InvalidInput) as caught:
        Interval(at(0), datetime(2026, 5, 4, 9, 0))
    assert caught.value.field == "ends_at"


@pytest.mark.parametrize("end", [0, -1, -60])
def test_end_must_be_after_start(end: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        span(0, end)
    assert caught.value.field == "ends_at"
    assert isinstance(caught.value, DomainError)
    assert caught.value.status_code == 400


def test_one_minute_interval_is_fine() -> None:
    assert span(0, 1).duration == timedelta(minutes=1)


def test_instants_in_different_zones_compare_by_instant() -> None:
    in_berlin = Interval(at(0).astimezone(BERLIN), at(60).astimezone(BERLIN))
    assert in_berlin == span(0, 60)
    assert in_berlin.overlaps(span(59, 61))
    assert not in_berlin.overlaps(span(60, 61))
    fixed = timezone(timedelta(hours=5))
    assert Interval(at(0).astimezone(fixed), at(30).astimezone(fixed)).contains(span(10, 20))


def test_in_utc_keeps_the_instants_and_switches_the_zone() -> None:
    local = Interval(datetime(2026, 3, 28, 23, 0, tzinfo=BERLIN), datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN))
    utc = local.in_utc()
    assert utc.starts_at.tzinfo is UTC and utc.ends_at.tzinfo is UTC
    assert utc.starts_at == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert utc.ends_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "elapsed"),
    [
        # Spring forward: 02:00 does not exist, the night is one hour shorter.
        (datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN), datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN), timedelta(hours=3)),
        # Fall back: 02:00–03:00 happens twice, the night is one hour longer.
        (datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN), timedelta(hours=5)),
        (datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 12, 0, tzinfo=BERLIN), timedelta(hours=25)),
    ],
)
def test_duration_is_elapsed_time_across_dst(starts_at: datetime, ends_at: datetime, elapsed: timedelta) -> None:
    interval = Interval(starts_at, ends_at)
    assert interval.duration == elapsed
    assert interval.duration == interval.in_utc().duration


def test_padded_and_shifted() -> None:
    interval = span(30, 60)
    assert interval.padded(timedelta(minutes=10), timedelta(minutes=5)) == span(20, 65)
    assert interval.padded(timedelta(0), timedelta(0)) == interval
    assert interval.shifted(timedelta(minutes=-30)) == span(0, 30)
    assert interval.shifted(timedelta(hours=1)).duration == interval.duration


def test_contains_examples() -> None:
    outer = span(10, 50)
    assert outer.contains(outer)
    assert outer.contains(span(10, 11))
    assert outer.contains(span(49, 50))
    assert not outer.contains(span(9, 20))
    assert not outer.contains(span(40, 51))
    assert not span(20, 30).contains(outer)


# --- overlaps ------------------------------------------------------------------------------


@PROPERTY
@given(intervals(), intervals())
def test_overlaps_is_symmetric_and_matches_the_grid(first: Interval, second: Interval) -> None:
    expected = bool(cells(first) & cells(second))
    assert first.overlaps(second) is expected
    assert second.overlaps(first) is expected


@PROPERTY
@given(intervals(), st.integers(1, GRID))
def test_back_to_back_never_overlap(first: Interval, length: int) -> None:
    following = Interval(first.ends_at, first.ends_at + timedelta(minutes=length))
    assert not first.overlaps(following)
    assert not following.overlaps(first)
    # One minute more and they do.
    assert first.overlaps(following.shifted(timedelta(minutes=-1)))


@PROPERTY
@given(intervals(), intervals())
def test_contains_matches_the_grid(outer: Interval, inner: Interval) -> None:
    assert outer.contains(inner) is (cells(inner) <= cells(outer))


@PROPERTY
@given(intervals())
def test_an_interval_overlaps_itself(interval: Interval) -> None:
    assert interval.overlaps(interval)
    assert interval.contains(interval)


# --- merge ---------------------------------------------------------------------------------


def test_merge_examples() -> None:
    assert merge([]) == []
    # Touching intervals are joined, a gap keeps them apart, nested ones vanish.
    assert merge([span(60, 90), span(0, 30), span(30, 45), span(10, 20), span(91, 95)]) == [
        span(0, 45),
        span(60, 90),
        span(91, 95),
    ]
    assert merge([span(0, 100), span(10, 20)]) == [span(0, 100)]


@PROPERTY
@given(st.lists(intervals(), max_size=8))
def test_merge_is_sorted_disjoint_non_touching_and_covers_the_union(items: list[Interval]) -> None:
    merged = merge(items)
    for left, right in zip(merged, merged[1:], strict=False):
        assert left.ends_at < right.starts_at  # sorted, with a real gap in between
    assert union_cells(merged) == union_cells(items)
    # Each merged piece is a maximal run: its neighbours outside it are not covered.
    union = union_cells(items)
    for piece in merged:
        piece_cells = cells(piece)
        assert min(piece_cells) - 1 not in union
        assert max(piece_cells) + 1 not in union
    assert merge(merged) == merged
    assert merge(reversed(items)) == merged


# --- subtract ------------------------------------------------------------------------------


def test_subtract_examples() -> None:
    base = span(0, 100)
    assert subtract(base, []) == [base]
    assert subtract(base, [span(20, 30), span(50, 60)]) == [span(0, 20), span(30, 50), span(60, 100)]
    assert subtract(base, [span(0, 100)]) == []
    assert subtract(base, [span(-10, 10), span(90, 200)]) == [span(10, 90)]
    assert subtract(base, [span(100, 120)]) == [base]  # touching at the end takes nothing
    assert subtract(base, [span(30, 40), span(35, 45)]) == [span(0, 30), span(45, 100)]


@PROPERTY
@given(intervals(20, 100), st.lists(intervals(), max_size=6))
def test_subtract_and_holes_cover_base_and_are_disjoint(base: Interval, holes: list[Interval]) -> None:
    free = subtract(base, holes)
    free_cells = union_cells(free)
    hole_cells = union_cells(holes)
    assert free_cells == cells(base) - hole_cells
    assert cells(base) <= free_cells | hole_cells
    assert not free_cells & hole_cells
    for piece in free:
        assert base.contains(piece)
        assert not any(piece.overlaps(hole) for hole in holes)
    for left, right in zip(free, free[1:], strict=False):
        assert left.ends_at < right.starts_at
