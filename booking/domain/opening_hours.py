"""Opening hours of a site in its local wall time, turned into instants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.domain.errors import InvalidInput
from booking.domain.intervals import Interval, merge

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

OpeningHours = Mapping[str, Sequence[Sequence[str]]]


def parse_clock(text: str) -> time | None:
    """"HH:MM" -> time; "24:00" -> None (end of day)."""
    # Anything that is not a string (JSON numbers, null, lists) is bad input, not a crash.
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) != 2 or not all(part.isascii() and part.isdigit() and len(part) <= 2 for part in parts):
        raise InvalidInput(f"{text!r} is not a time of day like 09:30", field="opening_hours")
    hours, minutes = int(parts[0]), int(parts[1])
    if (hours, minutes) == (24, 0):
        return None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise InvalidInput(f"{text!r} is not a time of day like 09:30", field="opening_hours")
    return time(hours, minutes)


def validate_opening_hours(hours: OpeningHours) -> dict[str, list[list[str]]]:
    """Checks and normalises a weekly schedule; raises InvalidInput with a readable reason."""
    if not isinstance(hours, Mapping):
        raise InvalidInput("opening hours map weekdays to lists of [opens, closes]", field="opening_hours")
    normalised: dict[str, list[list[str]]] = {}
    for day, windows in hours.items():
        if day not in WEEKDAYS:
            raise InvalidInput(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}", field="opening_hours")
        if not isinstance(windows, (list, tuple)):
            raise InvalidInput(f"{day}: give a list of [opens, closes] windows", field="opening_hours")
        cleaned: list[list[str]] = []
        for window in windows:
            if not isinstance(window, (list, tuple)) or len(window) != 2:
                raise InvalidInput("each opening window is [opens, closes]", field="opening_hours")
            opens, closes = parse_clock(window[0]), parse_clock(window[1])
            if opens is None or (closes is not None and closes <= opens):
                raise InvalidInput(f"{day}: {window[0]}–{window[1]} closes before it opens", field="opening_hours")
            # Zero-padded, so that "9:00" sorts before "10:00" and reads like the rest.
            cleaned.append([_clock_text(opens), _clock_text(closes)])
        normalised[day] = sorted(cleaned)
    return normalised


def _clock_text(clock: time | None) -> str:
    return "24:00" if clock is None else clock.strftime("%H:%M")


def _local_instant(day: date, clock: time | None, zone: ZoneInfo) -> datetime:
    if clock is None:
        return datetime.combine(day + timedelta(days=1), time(0), zone)
    return datetime.combine(day, clock, zone)


def open_intervals(hours: OpeningHours, timezone: str, window: Interval) -> list[Interval]:
    """The instants the site is open within ``window``'s days, merged across midnight."""
    zone = ZoneInfo(timezone)
    first = window.starts_at.astimezone(zone).date() - timedelta(days=1)
    last = window.ends_at.astimezone(zone).date() + timedelta(days=1)
    intervals: list[Interval] = []
    day = first
    while day <= last:
        for opens, closes in hours.get(WEEKDAYS[day.weekday()], ()):
            start = _local_instant(day, parse_clock(opens), zone)
            end = _local_instant(day, parse_clock(closes), zone)
            if end > start:
                intervals.append(Interval(start, end))
        day += timedelta(days=1)
    return merge(intervals)


def is_always_open(hours: OpeningHours) -> bool:
    return not hours


def within_opening_hours(hours: OpeningHours, timezone: str, request: Interval) -> bool:
    """The whole request lies inside one stretch of opening time (rooms, desks)."""
    if is_always_open(hours):
        return True
    return any(open_.contains(request) for open_ in open_intervals(hours, timezone, request))


def endpoints_in_opening_hours(hours: OpeningHours, timezone: str, request: Interval) -> tuple[bool, bool]:
    """Whether pick-up (start) and return (end) fall in opening time (things lent for days)."""
    if is_always_open(hours):
        return True, True
    stretches = open_intervals(hours, timezone, request)
    start_ok = any(s.starts_at <= request.starts_at < s.ends_at for s in stretches)
    end_ok = any(s.starts_at < request.ends_at <= s.ends_at for s in stretches)
    return start_ok, end_ok
