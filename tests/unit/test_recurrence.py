"""Recurring bookings expand in local wall time and convert to UTC per occurrence."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.domain.errors import InvalidInput
from booking.domain.recurrence import (
    MAX_OCCURRENCES,
    WEEKDAYS,
    NonexistentLocalTime,
    RecurrenceError,
    RecurrenceRule,
    expand,
    local_time_problem,
    local_to_utc,
    parse_rrule,
)

BERLIN = "Europe/Berlin"
TWO_HOURS = timedelta(hours=2)


def tuesday_evenings_2026() -> list:
    """Every Tuesday 18:00–20:00 in Berlin, February to November 2026 (both DST switches)."""
    rule = RecurrenceRule("weekly", weekdays=("TU",), until=date(2026, 11, 24))
    return expand(rule, datetime(2026, 2, 3, 18, 0), TWO_HOURS, BERLIN)


# --------------------------------------------------------------------------- DST


def test_every_tuesday_stays_18_local_across_both_dst_switches():
    occurrences = tuesday_evenings_2026()
    zone = ZoneInfo(BERLIN)

    assert len(occurrences) == 43
    assert occurrences[0].local_start == datetime(2026, 2, 3, 18, 0)
    assert occurrences[-1].local_start == datetime(2026, 11, 24, 18, 0)
    for occurrence in occurrences:
        local = occurrence.starts_at.astimezone(zone)
        assert (local.hour, local.minute, local.weekday()) == (18, 0, 1)
        assert occurrence.ends_at.astimezone(zone).time() == time(20, 0)
        assert occurrence.problem is None

    by_date = {occurrence.local_start.date(): occurrence for occurrence in occurrences}
    # Winter (CET, +01:00) before 29 March, summer (CEST, +02:00) until 25 October, winter after.
    assert by_date[date(2026, 3, 24)].starts_at == datetime(2026, 3, 24, 17, 0, tzinfo=UTC)
    assert by_date[date(2026, 3, 31)].starts_at == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert by_date[date(2026, 10, 20)].starts_at == datetime(2026, 10, 20, 16, 0, tzinfo=UTC)
    assert by_date[date(2026, 10, 27)].starts_at == datetime(2026, 10, 27, 17, 0, tzinfo=UTC)


def test_instants_are_aware_utc():
    for occurrence in tuesday_evenings_2026():
        assert occurrence.local_start.tzinfo is None
        assert occurrence.starts_at.utcoffset() == timedelta(0)
        assert occurrence.ends_at - occurrence.starts_at == TWO_HOURS


def test_spring_forward_0230_is_reported_nonexistent_not_shifted():
    rule = RecurrenceRule("weekly", weekdays=("SU",), count=3)
    occurrences = expand(rule, datetime(2026, 3, 22, 2, 30), timedelta(hours=1), BERLIN)

    skipped = occurrences[1]
    assert skipped.local_start == datetime(2026, 3, 29, 2, 30)
    assert skipped.problem == "nonexistent"
    assert skipped.starts_at is None and skipped.ends_at is None
    assert not skipped.bookable
    assert occurrences[0].starts_at == datetime(2026, 3, 22, 1, 30, tzinfo=UTC)
    assert occurrences[2].starts_at == datetime(2026, 4, 5, 0, 30, tzinfo=UTC)


def test_fall_back_0230_is_ambiguous_and_takes_the_first_summer_time_instant():
    rule = RecurrenceRule("daily", count=3)
    occurrences = expand(rule, datetime(2026, 10, 24, 2, 30), timedelta(hours=1), BERLIN)

    assert [occurrence.problem for occurrence in occurrences] == [None, "ambiguous", None]
    assert occurrences[1].bookable
    assert occurrences[1].starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST


def test_local_to_utc():
    assert local_to_utc(datetime(2026, 7, 1, 12, 0), BERLIN) == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    with pytest.raises(NonexistentLocalTime, match="does not exist"):
        local_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert local_time_problem(datetime(2026, 3, 29, 2, 0), BERLIN) == "nonexistent"
    assert local_time_problem(datetime(2026, 3, 29, 3, 0), BERLIN) is None
    assert local_time_problem(datetime(2026, 10, 25, 2, 59), BERLIN) == "ambiguous"
    assert local_time_problem(datetime(2026, 10, 25, 3, 0), BERLIN) is None


# --------------------------------------------------------------------------- rules


def test_second_thursday_monthly():
    rule = RecurrenceRule("monthly", weekdays=("TH",), weekday_position=2, count=6)
    occurrences = expand(rule, datetime(2026, 1, 8, 19, 0), TWO_HOURS, BERLIN)
    assert [occurrence.local_start.date() for occurrence in occurrences] == [
        date(2026, 1, 8),
        date(2026, 2, 12),
        date(2026, 3, 12),
        date(2026, 4, 9),
        date(2026, 5, 14),
        date(2026, 6, 11),
    ]
    assert rule.to_rrule_string(BERLIN) == "FREQ=MONTHLY;INTERVAL=1;BYDAY=2TH;COUNT=6"


def test_last_friday_monthly():
    rule = RecurrenceRule("monthly", weekdays=("FR",), weekday_position=-1, until=date(2026, 4, 30))
    occurrences = expand(rule, datetime(2026, 1, 30, 10, 0), TWO_HOURS, BERLIN)
    assert [occurrence.local_start.date() for occurrence in occurrences] == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
    ]


def test_count_and_until_are_inclusive():
    by_count = RecurrenceRule("weekly", interval=2, weekdays=("MO", "WE"), count=5)
    occurrences = expand(by_count, datetime(2026, 5, 4, 9, 0), TWO_HOURS, BERLIN)
    assert [occurrence.local_start.date() for occurrence in occurrences] == [
        date(2026, 5, 4),
        date(2026, 5, 6),
        date(2026, 5, 18),
        date(2026, 5, 20),
        date(2026, 6, 1),
    ]
    by_until = RecurrenceRule("daily", interval=3, until=date(2026, 5, 10))
    occurrences = expand(by_until, datetime(2026, 5, 1, 23, 30), TWO_HOURS, BERLIN)
    assert [occurrence.local_start.day for occurrence in occurrences] == [1, 4, 7, 10]


def test_excluded_dates_are_removed():
    rule = RecurrenceRule(
        "weekly",
        weekdays=("TU",),
        count=4,
        excluded_dates=(date(2026, 3, 10), date(2026, 3, 24), date(2026, 12, 1)),
    )
    occurrences = expand(rule, datetime(2026, 3, 3, 18, 0), TWO_HOURS, BERLIN)
    # COUNT counts before exclusion, as in RFC 5545.
    assert [occurrence.local_start.date() for occurrence in occurrences] == [date(2026, 3, 3), date(2026, 3, 17)]


def test_rrule_string_uses_utc_until_valid_with_a_tzid_start():
    rule = RecurrenceRule("weekly", weekdays=("TU",), until=date(2026, 11, 24))
    # 23:59:59 CET on 24 November is 22:59:59 UTC; RFC 5545 wants UNTIL in UTC here.
    assert rule.to_rrule_string(BERLIN) == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;UNTIL=20261124T225959Z"
    summer = RecurrenceRule("daily", until=date(2026, 7, 1))
    assert summer.to_rrule_string(BERLIN).endswith("UNTIL=20260701T215959Z")


def test_parse_accepts_other_spellings():
    assert parse_rrule("RRULE:FREQ=MONTHLY;BYDAY=TH;BYSETPOS=2;COUNT=3", BERLIN) == RecurrenceRule(
        "monthly", weekdays=("TH",), weekday_position=2, count=3
    )
    assert parse_rrule("FREQ=WEEKLY;BYDAY=TU;UNTIL=20261124", BERLIN).until == date(2026, 11, 24)
    assert parse_rrule("FREQ=WEEKLY;BYDAY=TU;UNTIL=20261124T235959", BERLIN).until == date(2026, 11, 24)
    assert parse_rrule("freq=daily;count=2;wkst=MO", BERLIN) == RecurrenceRule("daily", count=2)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RecurrenceRule("yearly", count=2), "Unknown repetition"),
        (lambda: RecurrenceRule("weekly", interval=0, count=2), "interval"),
        (lambda: RecurrenceRule("weekly", interval=100, count=2), "interval"),
        (lambda: RecurrenceRule("weekly", count=0), "between 1 and 500"),
        (lambda: RecurrenceRule("weekly", count=501), "between 1 and 500"),
        (lambda: RecurrenceRule("weekly"), "either an end date or a number"),
        (lambda: RecurrenceRule("weekly", count=2, until=date(2026, 1, 1)), "either an end date or a number"),
        (lambda: RecurrenceRule("weekly", weekdays=("XX",), count=2), "Unknown weekday"),
        (lambda: RecurrenceRule("weekly", weekdays=("MO", "MO"), count=2), "only once"),
        (lambda: RecurrenceRule("monthly", weekdays=("TH",), weekday_position=0, count=2), "position"),
        (lambda: RecurrenceRule("monthly", weekdays=("TH", "FR"), weekday_position=2, count=2), "exactly one"),
        (lambda: RecurrenceRule("weekly", weekdays=("TH",), weekday_position=2, count=2), "monthly"),
        (lambda: parse_rrule("FREQ=YEARLY;COUNT=2", BERLIN), "Unsupported repetition"),
        (lambda: parse_rrule("FREQ=WEEKLY;BYMONTH=3;COUNT=2", BERLIN), "Unsupported rule part"),
        (lambda: parse_rrule("FREQ=WEEKLY;COUNT=x", BERLIN), "whole number"),
        (lambda: parse_rrule("FREQ=WEEKLY;WKST=SU;COUNT=2", BERLIN), "WKST"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(build, message):
    with pytest.raises(RecurrenceError, match=message) as caught:
        build()
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, InvalidInput)


def test_invalid_expansions_are_refused_with_a_reason():
    weekly = RecurrenceRule("weekly", weekdays=("TU",), until=date(2026, 1, 1))
    with pytest.raises(RecurrenceError, match="before its first date"):
        expand(weekly, datetime(2026, 2, 3, 18), TWO_HOURS, BERLIN)
    with pytest.raises(RecurrenceError, match="is a Wednesday"):
        expand(RecurrenceRule("weekly", weekdays=("TU",), count=2), datetime(2026, 2, 4, 18), TWO_HOURS, BERLIN)
    with pytest.raises(RecurrenceError, match="2. Thursday"):
        rule = RecurrenceRule("monthly", weekdays=("TH",), weekday_position=2, count=2)
        expand(rule, datetime(2026, 1, 1, 18), TWO_HOURS, BERLIN)
    with pytest.raises(RecurrenceError, match=f"more than {MAX_OCCURRENCES}"):
        expand(RecurrenceRule("daily", until=date(2028, 1, 1)), datetime(2026, 1, 1, 8), TWO_HOURS, BERLIN)
    with pytest.raises(RecurrenceError, match="Unknown time zone"):
        expand(RecurrenceRule("daily", count=2), datetime(2026, 1, 1, 8), TWO_HOURS, "Mars/Olympus")
    with pytest.raises(RecurrenceError, match="without a time zone"):
        expand(RecurrenceRule("daily", count=2), datetime(2026, 1, 1, 8, tzinfo=UTC), TWO_HOURS, BERLIN)
    with pytest.raises(RecurrenceError, match="after the start"):
        expand(RecurrenceRule("daily", count=2), datetime(2026, 1, 1, 8), timedelta(0), BERLIN)
    with pytest.raises(RecurrenceError, match="All dates"):
        only_date_excluded = RecurrenceRule("daily", count=1, excluded_dates=(date(2026, 1, 1),))
        expand(only_date_excluded, datetime(2026, 1, 1, 8), TWO_HOURS, BERLIN)
    # Exactly the maximum is fine.
    assert len(expand(RecurrenceRule("daily", count=500), datetime(2026, 1, 1, 8), TWO_HOURS, BERLIN)) == 500


# --------------------------------------------------------------------------- properties

ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Europe/London", "Asia/Tokyo"])
WALL_TIMES = st.times(min_value=time(0, 0), max_value=time(23, 45)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)
START_DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def weekly_series(draw):
    start_day = draw(START_DAYS)
    start_weekday = WEEKDAYS[start_day.weekday()]
    others = draw(st.sets(st.sampled_from(WEEKDAYS), max_size=3))
    weekdays = tuple(code for code in WEEKDAYS if code in others | {start_weekday})
    rule = RecurrenceRule(
        "weekly",
        interval=draw(st.integers(1, 3)),
        weekdays=weekdays,
        count=draw(st.integers(1, 120)),
    )
    return rule, datetime.combine(start_day, draw(WALL_TIMES)), draw(ZONES)


@settings(max_examples=150, deadline=None)
@given(weekly_series())
def test_every_occurrence_of_a_weekly_rule_has_the_same_wall_time(series):
    rule, local_start, timezone = series
    zone = ZoneInfo(timezone)
    occurrences = expand(rule, local_start, timedelta(minutes=90), timezone)
    assert len(occurrences) == rule.count
    for occurrence in occurrences:
        assert occurrence.local_start.time() == local_start.time()
        assert WEEKDAYS[occurrence.local_start.weekday()] in rule.weekdays
        if occurrence.problem == "nonexistent":
            assert occurrence.starts_at is None
            continue
        # Round trip: the UTC instant shows the rule's wall time again in the site's zone.
        assert occurrence.starts_at.astimezone(zone).replace(tzinfo=None) == occurrence.local_start
        assert occurrence.ends_at - occurrence.starts_at == timedelta(minutes=90)


@settings(max_examples=60, deadline=None)
@given(WALL_TIMES.filter(lambda moment: moment.hour >= 4), st.integers(2024, 2030))
def test_utc_offsets_differ_across_dst_but_wall_time_does_not(wall_time, year):
    first_monday = date(year, 1, 1) + timedelta(days=(7 - date(year, 1, 1).weekday()) % 7)
    rule = RecurrenceRule("weekly", weekdays=("MO",), count=52)
    occurrences = expand(rule, datetime.combine(first_monday, wall_time), timedelta(hours=1), BERLIN)
    offsets = {occurrence.starts_at.astimezone(ZoneInfo(BERLIN)).utcoffset() for occurrence in occurrences}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}
    assert {occurrence.local_start.time() for occurrence in occurrences} == {wall_time}


@st.composite
def any_rule(draw):
    frequency = draw(st.sampled_from(["daily", "weekly", "monthly"]))
    weekdays: tuple[str, ...] = ()
    position = None
    if frequency == "weekly":
        weekdays = tuple(sorted(draw(st.sets(st.sampled_from(WEEKDAYS), max_size=7)), key=WEEKDAYS.index))
    elif frequency == "monthly" and draw(st.booleans()):
        weekdays = (draw(st.sampled_from(WEEKDAYS)),)
        position = draw(st.sampled_from([1, 2, 3, 4, 5, -1, -2, -5]))
    if draw(st.booleans()):
        ends = {"count": draw(st.integers(1, MAX_OCCURRENCES))}
    else:
        ends = {"until": draw(START_DAYS)}
    return RecurrenceRule(
        frequency,
        interval=draw(st.integers(1, 99)),
        weekdays=weekdays,
        weekday_position=position,
        excluded_dates=tuple(draw(st.lists(START_DAYS, max_size=3))),
        **ends,
    )


@settings(max_examples=300, deadline=None)
@given(any_rule(), ZONES)
def test_parse_and_format_round_trip(rule, timezone):
    text = rule.to_rrule_string(timezone)
    assert parse_rrule(text, timezone, rule.excluded_dates) == rule
    assert parse_rrule("RRULE:" + text, timezone, rule.excluded_dates) == rule
