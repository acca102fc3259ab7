"""Pure rules of lending: spans of days, parts of a day, who is served while units are out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.domain.availability import Holding
from booking.domain.errors import InvalidInput, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.lending import day_parts, day_span, opening_windows, unserved

BERLIN = "Europe/Berlin"
BERLIN_ZONE = ZoneInfo(BERLIN)
WEEKDAYS_10_18 = {day: [["10:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_span_from_opening_of_first_day_to_closing_of_last():
    span = day_span(WEEKDAYS_10_18, BERLIN, date(2026, 1, 10), date(2026, 1, 12))  # Sat..Mon, Sunday closed
    assert span == Interval(utc(2026, 1, 10, 9), utc(2026, 1, 12, 17))


def test_span_across_the_spring_dst_switch_keeps_wall_times():
    span = day_span(WEEKDAYS_10_18, BERLIN, date(2026, 3, 28), date(2026, 3, 30))
    assert span.starts_at == utc(2026, 3, 28, 9) and span.ends_at == utc(2026, 3, 30, 16)  # 18:00 CEST


@pytest.mark.parametrize(("first", "last", "field"), [(date(2026, 1, 11), date(2026, 1, 12), "first_day"), (date(2026, 1, 10), date(2026, 1, 11), "last_day")])
def test_closed_first_or_last_day_is_named(first, last, field):
    with pytest.raises(PolicyViolation) as error:
        day_span(WEEKDAYS_10_18, BERLIN, first, last)
    assert error.value.field == field and "Sunday, 2026-01-11" in error.value.message


def test_span_input_errors():
    with pytest.raises(InvalidInput):
        day_span(WEEKDAYS_10_18, BERLIN, date(2026, 1, 12), date(2026, 1, 10))
    with pytest.raises(InvalidInput):
        day_span(WEEKDAYS_10_18, BERLIN, date(2026, 1, 12), date(2027, 6, 1))


def test_always_open_site_lends_from_midnight_to_midnight():
    assert day_span({}, BERLIN, date(2026, 1, 11), date(2026, 1, 11)) == Interval(utc(2026, 1, 10, 23), utc(2026, 1, 11, 23))
    assert opening_windows({}, BERLIN, date(2026, 1, 11)) == [Interval(datetime(2026, 1, 11, tzinfo=BERLIN_ZONE), datetime(2026, 1, 12, tzinfo=BERLIN_ZONE))]


def test_day_parts_split_at_one_or_at_the_lunch_break_or_in_the_middle():
    parts = day_parts(WEEKDAYS_10_18, BERLIN, date(2026, 1, 6))
    assert (parts.morning, parts.afternoon) == (Interval(utc(2026, 1, 6, 9), utc(2026, 1, 6, 12)), Interval(utc(2026, 1, 6, 12), utc(2026, 1, 6, 17)))
    lunch = day_parts({"tue": [["09:00", "12:00"], ["14:00", "18:00"]]}, BERLIN, date(2026, 1, 6))
    assert lunch.morning == Interval(utc(2026, 1, 6, 8), utc(2026, 1, 6, 11))
    assert lunch.afternoon == Interval(utc(2026, 1, 6, 13), utc(2026, 1, 6, 17))
    assert lunch.full == Interval(utc(2026, 1, 6, 8), utc(2026, 1, 6, 17))
    evening = day_parts({"tue": [["14:00", "21:00"]]}, BERLIN, date(2026, 1, 6))
    assert evening.morning == Interval(utc(2026, 1, 6, 13), utc(2026, 1, 6, 16, 30))  # 17:30 local
    closed = day_parts(WEEKDAYS_10_18, BERLIN, date(2026, 1, 11))
    assert not closed.is_open
    with pytest.raises(PolicyViolation):
        closed.part("morning")
    with pytest.raises(InvalidInput):
        parts.part("evening")


def test_unserved_serves_first_come_and_keeps_what_no_longer_fits():
    day = Interval(utc(2026, 1, 7, 9), utc(2026, 1, 7, 17))
    next_day = day.shifted(timedelta(days=1))
    overdue = Holding(Interval(utc(2026, 1, 6, 9), utc(2026, 1, 9)), 4, "checked_out")
    candidates = [("a", Holding(day, 6)), ("b", Holding(day, 1)), ("c", Holding(next_day, 7))]
    assert unserved(10, [overdue], candidates) == ["b", "c"]
    assert unserved(10, [], candidates) == []
