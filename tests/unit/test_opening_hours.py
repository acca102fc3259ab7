"""Opening hours in local wall time: parsing, validation, and the instants they give across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.domain.errors import InvalidInput
from booking.domain.intervals import Interval
from booking.domain.opening_hours import (
    WEEKDAYS,
    endpoints_in_opening_hours,
    is_always_open,
    open_intervals,
    parse_clock,
    validate_opening_hours,
    within_opening_hours,
)

BERLIN_NAME = "Europe/Berlin"
BERLIN = ZoneInfo(BERLIN_NAME)
EVERY_DAY_NINE_TO_FIVE = {day: [["09:00", "17:00"]] for day in WEEKDAYS}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def opening_on(hours: dict, day: datetime) -> list[Interval]:
    """The stretches that start on ``day`` (a local midnight)."""
    window = Interval(day, day + timedelta(hours=12))
    return [s for s in open_intervals(hours, BERLIN_NAME, window) if s.starts_at.astimezone(BERLIN).date() == day.date()]


# --- parse_clock ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:30", time(9, 30)), ("00:00", time(0, 0)), ("23:59", time(23, 59)), ("9:05", time(9, 5)), ("24:00", None)],
)
def test_parse_clock(text: str, expected: time | None) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["24:01", "25:00", "12:60", "-1:00", "9", "nine", "09:30:00", "", "12:ab", "1 2:00:"])
def test_parse_clock_refuses_nonsense(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_clock(text)
    assert caught.value.field == "opening_hours"
    assert "09:30" in caught.value.message


# --- validate_opening_hours ----------------------------------------------------------------


def test_validate_normalises_and_sorts_windows() -> None:
    hours = {"mon": [["14:00", "18:00"], ["08:00", "12:00"]], "sat": [["10:00", "24:00"]], "sun": []}
    assert validate_opening_hours(hours) == {
        "mon": [["08:00", "12:00"], ["14:00", "18:00"]],
        "sat": [["10:00", "24:00"]],
        "sun": [],
    }
    assert validate_opening_hours({}) == {}


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        ({"monday": [["09:00", "17:00"]]}, "unknown weekday"),
        ({"Mon": [["09:00", "17:00"]]}, "unknown weekday"),
        ({"mon": [["09:00"]]}, "[opens, closes]"),
        ({"mon": [["09:00", "12:00", "17:00"]]}, "[opens, closes]"),
        ({"mon": [["17:00", "09:00"]]}, "closes before it opens"),
        ({"mon": [["09:00", "09:00"]]}, "closes before it opens"),
        ({"mon": [["24:00", "24:00"]]}, "closes before it opens"),
        ({"tue": [["08:00", "12:00"], ["18:00", "00:00"]]}, "closes before it opens"),
        ({"mon": [["9am", "5pm"]]}, "not a time of day"),
        ({"mon": [["09:00", "24:30"]]}, "not a time of day"),
    ],
)
def test_validate_refuses_with_a_reason(hours: dict, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_opening_hours(hours)
    assert words in caught.value.message
    assert caught.value.field == "opening_hours"


def test_is_always_open() -> None:
    assert is_always_open({})
    assert not is_always_open({"mon": [["09:00", "17:00"]]})
    # A schedule that names days but has no windows is closed, not open around the clock.
    assert not is_always_open({"mon": []})
    assert not within_opening_hours({"mon": []}, BERLIN_NAME, Interval(local(2026, 5, 4, 10), local(2026, 5, 4, 11)))


# --- open_intervals across DST -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "opens_utc", "closes_utc"),
    [
        (local(2026, 3, 28), utc(2026, 3, 28, 8), utc(2026, 3, 28, 16)),  # Saturday, still CET (+01)
        (local(2026, 3, 29), utc(2026, 3, 29, 7), utc(2026, 3, 29, 15)),  # last Sunday of March: CEST (+02)
        (local(2026, 10, 24), utc(2026, 10, 24, 7), utc(2026, 10, 24, 15)),  # Saturday, still CEST
        (local(2026, 10, 25), utc(2026, 10, 25, 8), utc(2026, 10, 25, 16)),  # last Sunday of October: CET
    ],
)
def test_nine_to_five_stays_nine_to_five_in_wall_time(day: datetime, opens_utc: datetime, closes_utc: datetime) -> None:
    [stretch] = opening_on(EVERY_DAY_NINE_TO_FIVE, day)
    assert stretch.starts_at == opens_utc
    assert stretch.ends_at == closes_utc
    assert stretch.duration == timedelta(hours=8)


@pytest.mark.parametrize(
    ("day", "hours_long"),
    [(local(2026, 3, 29), 23), (local(2026, 10, 25), 25), (local(2026, 5, 3), 24)],
)
def test_a_whole_sunday_lasts_as_long_as_the_day(day: datetime, hours_long: int) -> None:
    hours = {"sun": [["00:00", "24:00"]]}
    window = Interval(day + timedelta(hours=1), day + timedelta(hours=5))
    [stretch] = open_intervals(hours, BERLIN_NAME, window)
    assert stretch.starts_at == day
    assert stretch.ends_at == datetime(day.year, day.month, day.day, tzinfo=BERLIN) + timedelta(days=1)
    assert stretch.ends_at.astimezone(UTC) - stretch.starts_at.astimezone(UTC) == timedelta(hours=hours_long)
    assert stretch.duration == timedelta(hours=hours_long)


def test_within_opening_hours_on_the_dst_sunday_uses_local_time() -> None:
    # 08:30–09:30 UTC on 29 March is 10:30–11:30 CEST: open. The same UTC hours a day
    # earlier are 09:30–10:30 CET: also open; 07:30–08:30 UTC on the Saturday is 08:30 CET: closed.
    assert within_opening_hours(EVERY_DAY_NINE_TO_FIVE, BERLIN_NAME, Interval(utc(2026, 3, 29, 8, 30), utc(2026, 3, 29, 9, 30)))
    assert not within_opening_hours(
        EVERY_DAY_NINE_TO_FIVE, BERLIN_NAME, Interval(utc(2026, 3, 28, 7, 30), utc(2026, 3, 28, 8, 30))
    )
    # 07:00–08:00 UTC is 09:00–10:00 CEST on the Sunday (open) but 08:00–09:00 CET on 25 October (closed).
    assert within_opening_hours(EVERY_DAY_NINE_TO_FIVE, BERLIN_NAME, Interval(utc(2026, 3, 29, 7), utc(2026, 3, 29, 8)))
    assert not within_opening_hours(EVERY_DAY_NINE_TO_FIVE, BERLIN_NAME, Interval(utc(2026, 10, 25, 7), utc(2026, 10, 25, 8)))
    # 15:30 UTC on 25 October is 16:30 CET: still open.
    assert within_opening_hours(EVERY_DAY_NINE_TO_FIVE, BERLIN_NAME, Interval(utc(2026, 10, 25, 15), utc(2026, 10, 25, 16)))


def test_closed_days_have_no_stretches() -> None:
    weekdays_only = {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}
    saturday, sunday, monday = local(2026, 5, 9), local(2026, 5, 10), local(2026, 5, 11)
    assert opening_on(weekdays_only, saturday) == []
    assert opening_on(weekdays_only, sunday) == []
    assert opening_on(weekdays_only, monday) == [Interval(local(2026, 5, 11, 9), local(2026, 5, 11, 17))]
    assert not within_opening_hours(weekdays_only, BERLIN_NAME, Interval(local(2026, 5, 10, 10), local(2026, 5, 10, 11)))


def test_open_intervals_cover_the_window_days_and_one_either_side() -> None:
    window = Interval(local(2026, 5, 6, 12), local(2026, 5, 7, 12))  # Wednesday to Thursday
    days = [s.starts_at.astimezone(BERLIN).date().isoformat() for s in open_intervals(EVERY_DAY_NINE_TO_FIVE, BERLIN_NAME, window)]
    assert days == ["2026-05-05", "2026-05-06", "2026-05-07", "2026-05-08"]


def test_windows_spanning_midnight_are_merged() -> None:
    late = {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:00"], ["10:00", "12:00"]]}
    window = Interval(local(2026, 5, 8, 20), local(2026, 5, 9, 1))  # Friday night
    assert open_intervals(late, BERLIN_NAME, window) == [
        Interval(local(2026, 5, 8, 18), local(2026, 5, 9, 2)),
        Interval(local(2026, 5, 9, 10), local(2026, 5, 9, 12)),
    ]
    assert within_opening_hours(late, BERLIN_NAME, window)
    assert within_opening_hours(late, BERLIN_NAME, Interval(local(2026, 5, 8, 18), local(2026, 5, 9, 2)))
    assert not within_opening_hours(late, BERLIN_NAME, Interval(local(2026, 5, 8, 18), local(2026, 5, 9, 2, 1)))
    # Without the Saturday night window the party has to end at midnight.
    friday_only = {"fri": [["18:00", "24:00"]]}
    assert not within_opening_hours(friday_only, BERLIN_NAME, window)
    assert within_opening_hours(friday_only, BERLIN_NAME, Interval(local(2026, 5, 8, 20), local(2026, 5, 9, 0)))


def test_overlapping_and_touching_windows_of_one_day_merge() -> None:
    hours = {"mon": [["09:00", "12:00"], ["11:00", "13:00"], ["13:00", "15:00"], ["16:00", "17:00"]]}
    window = Interval(local(2026, 5, 4, 10), local(2026, 5, 4, 11))
    assert open_intervals(hours, BERLIN_NAME, window) == [
        Interval(local(2026, 5, 4, 9), local(2026, 5, 4, 15)),
        Interval(local(2026, 5, 4, 16), local(2026, 5, 4, 17)),
    ]
    assert within_opening_hours(hours, BERLIN_NAME, Interval(local(2026, 5, 4, 9), local(2026, 5, 4, 15)))
    # The lunch-free gap 15:00–16:00 splits the day.
    assert not within_opening_hours(hours, BERLIN_NAME, Interval(local(2026, 5, 4, 14), local(2026, 5, 4, 16, 30)))


def test_other_time_zones() -> None:
    hours = {"mon": [["09:00", "17:00"]]}
    request = Interval(utc(2026, 5, 4, 14), utc(2026, 5, 4, 15))  # 10:00–11:00 in New York
    assert within_opening_hours(hours, "America/New_York", request)
    assert not within_opening_hours(hours, "Asia/Tokyo", request)  # 23:00 in Tokyo


def test_always_open_when_no_schedule() -> None:
    request = Interval(local(2026, 5, 10, 3), local(2026, 5, 12, 3))
    assert within_opening_hours({}, BERLIN_NAME, request)
    assert endpoints_in_opening_hours({}, BERLIN_NAME, request) == (True, True)


# --- endpoints_in_opening_hours ------------------------------------------------------------


def test_endpoints_boundaries() -> None:
    hours = {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}

    def endpoints(start: datetime, end: datetime) -> tuple[bool, bool]:
        return endpoints_in_opening_hours(hours, BERLIN_NAME, Interval(start, end))

    # Pick up at opening, return at closing: fine.
    assert endpoints(local(2026, 5, 4, 9), local(2026, 5, 5, 17)) == (True, True)
    # Pick up at closing time: the site is shut; return before opening: shut too.
    assert endpoints(local(2026, 5, 4, 17), local(2026, 5, 5, 10)) == (False, True)
    assert endpoints(local(2026, 5, 4, 10), local(2026, 5, 5, 8, 59)) == (True, False)
    # The night in between does not matter in this mode.
    assert endpoints(local(2026, 5, 4, 16), local(2026, 5, 5, 9, 30)) == (True, True)
    # Wednesday is closed.
    assert endpoints(local(2026, 5, 5, 10), local(2026, 5, 6, 10)) == (True, False)
    assert endpoints(local(2026, 5, 3, 10), local(2026, 5, 4, 10)) == (False, True)


# --- typed opening hours (admin form) ------------------------------------------------------

from booking.domain.opening_hours import add_window, clock_text, parse_day_text, parse_week_text  # noqa: E402


@pytest.mark.parametrize(("text", "windows"), [
    ("9-18 Uhr", [["09:00", "18:00"]]),
    ("9:00–18:00", [["09:00", "18:00"]]),
    ("9 Uhr bis 18 Uhr", [["09:00", "18:00"]]),
    ("9-12 und 14-18 h", [["09:00", "12:00"], ["14:00", "18:00"]]),
    ("18-2", [["18:00", "02:00"]]),
    ("22:30 – 24", [["22:30", "24:00"]]),
    ("geschlossen", []),
])
def test_parse_day_text(text, windows):
    assert parse_day_text(text) == windows


@pytest.mark.parametrize("text", ["9", "18-9", "9-9", "24-2", "25-26", "neun bis zehn", "9-12-15"])
def test_parse_day_text_refuses(text):
    with pytest.raises(InvalidInput) as caught:
        parse_day_text(text, "opening_mon")
    assert caught.value.field == "opening_mon"


def test_clock_text():
    assert [clock_text(t) for t in ("9", "9 Uhr", "9.30", "09:30 h", "24")] == ["09:00", "09:00", "09:30", "09:30", "24:00"]


def test_a_window_past_midnight_continues_on_the_next_day():
    week: dict[str, list[list[str]]] = {}
    add_window(week, "fri", "18:00", "02:00")
    add_window(week, "sun", "20:00", "01:00")
    add_window(week, "sat", "22:00", "00:00")
    assert week == {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:00"], ["22:00", "24:00"]],
                    "sun": [["20:00", "24:00"]], "mon": [["00:00", "01:00"]]}
    # And the stored week opens in one stretch from Friday 18:00 to Saturday 02:00.
    stretches = open_intervals(validate_opening_hours(week), "Europe/Berlin",
                               Interval(datetime(2030, 3, 8, 12, tzinfo=UTC), datetime(2030, 3, 9, 12, tzinfo=UTC)))
    assert Interval(datetime(2030, 3, 8, 17, tzinfo=UTC), datetime(2030, 3, 9, 1, tzinfo=UTC)) in stretches


@pytest.mark.parametrize(("text", "week"), [
    ("Mo-Fr 9-18 Uhr", {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}),
    ("Mo–Do 9–12, 14–18; Sa 10-14", {**{day: [["09:00", "12:00"], ["14:00", "18:00"]] for day in ("mon", "tue", "wed", "thu")},
                                      "sat": [["10:00", "14:00"]]}),
    ("Sa, So: 10-16", {"sat": [["10:00", "16:00"]], "sun": [["10:00", "16:00"]]}),
    ("Fr 18-2\nSa geschlossen", {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:00"]]}),
    ("Fri 18-2", {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:00"]]}),
    ("Sa-Mo 8-9", {"sat": [["08:00", "09:00"]], "sun": [["08:00", "09:00"]], "mon": [["08:00", "09:00"]]}),
])
def test_parse_week_text(text, week):
    assert parse_week_text(text) == week


@pytest.mark.parametrize("text", ["9-18", "Montags 9-18", "Mo-Fr", "Mo-Fr 9"])
def test_parse_week_text_refuses(text):
    with pytest.raises(InvalidInput) as caught:
        parse_week_text(text, "opening_week")
    assert caught.value.field == "opening_week"
