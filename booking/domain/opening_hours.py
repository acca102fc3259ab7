"""Opening hours of a site in its local wall time, turned into instants."""

from __future__ import annotations

import re
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


# --- typed opening hours ("9-18 Uhr", "Mo–Fr 9–18; Sa 10–14", "18-2") ----------------------
#
# Pure functions for the admin form: they turn what people type into the stored week. A window
# whose end is not after its start runs past midnight ("18-2": 18:00 to 02:00 the next day); it
# is stored as two windows, [18:00, 24:00] on the day and [00:00, 02:00] on the next, which
# open_intervals joins again.

_WINDOW_SEPARATOR = re.compile(r"\s*(?:–|—|-|\bbis\b|\bto\b|\buntil\b)\s*", re.IGNORECASE)
_CLOCK_WORDS = re.compile(r"\s*(?:uhr|h|o'clock)\.?\s*$", re.IGNORECASE)
_CLOSED_WORDS = frozenset({"", "closed", "geschlossen", "zu", "-", "–"})
_DAY_NAMES: dict[str, str] = {}
for _day, _names in (
    ("mon", ("mo", "mon", "montag", "monday")), ("tue", ("di", "tu", "tue", "dienstag", "tuesday")),
    ("wed", ("mi", "we", "wed", "mittwoch", "wednesday")), ("thu", ("do", "th", "thu", "donnerstag", "thursday")),
    ("fri", ("fr", "fri", "freitag", "friday")), ("sat", ("sa", "sat", "samstag", "sonnabend", "saturday")),
    ("sun", ("so", "su", "sun", "sonntag", "sunday")),
):
    for _name in _names:
        _DAY_NAMES[_name] = _day
_DAY = r"(?:%s)(?![a-zäöüß])\.?" % "|".join(sorted(_DAY_NAMES, key=len, reverse=True))
_DAYS_PREFIX = re.compile(rf"^\s*({_DAY}(?:\s*(?:–|—|-|,|\+|/|\bbis\b|\bund\b|\band\b|\bto\b)\s*{_DAY})*)\s*:?\s*", re.IGNORECASE)

TIMES_LIKE = "Please enter times like 09:00–18:00."
CLOSES_BEFORE_OPENS = "The closing time must be after the opening time."
# A window may run past midnight until this hour ("18-2"); "18-9" is more likely a slip.
LATEST_CLOSING_AFTER_MIDNIGHT = "06:00"
DAYS_LIKE = "Please name the days like Mo–Fr 9–18; Sa 10–14."


def clock_text(text: str, field: str = "opening_hours") -> str:
    """"9", "9 Uhr", "9.30", "9:30 h" -> "09:00"/"09:30"; "24" -> "24:00". Bad input: InvalidInput."""
    cleaned = _CLOCK_WORDS.sub("", text.strip()).replace(".", ":")
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?", cleaned)
    if match is None:
        raise InvalidInput(TIMES_LIKE, field=field)
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if (hours, minutes) != (24, 0) and not (0 <= hours < 24 and 0 <= minutes < 60):
        raise InvalidInput(TIMES_LIKE, field=field)
    return f"{hours:02d}:{minutes:02d}"


def parse_day_text(text: str, field: str = "opening_hours") -> list[list[str]]:
    """One day's times: "09:00–18:00", "9-12, 14-18 Uhr", "18-2" (past midnight), "geschlossen".

    Returns [opens, closes] windows in the order typed; a window past midnight (ending by
    06:00) keeps its end (["18:00", "02:00"]) for ``add_window`` to split."""
    text = text.strip()
    if text.lower() in _CLOSED_WORDS:
        return []
    windows: list[list[str]] = []
    for piece in re.split(r"[,;/]|\bund\b|\band\b", text):
        piece = _CLOCK_WORDS.sub("", piece.strip())
        if not piece:
            continue
        parts = _WINDOW_SEPARATOR.split(piece)
        if len(parts) != 2 or not all(part.strip() for part in parts):
            raise InvalidInput(TIMES_LIKE, field=field)
        opens, closes = clock_text(parts[0], field), clock_text(parts[1], field)
        if opens == "24:00" or opens == closes:
            raise InvalidInput(TIMES_LIKE, field=field)
        if closes != "24:00" and closes < opens and closes > LATEST_CLOSING_AFTER_MIDNIGHT:
            raise InvalidInput(CLOSES_BEFORE_OPENS, field=field)
        windows.append([opens, closes])
    return windows


def add_window(week: dict[str, list[list[str]]], day: str, opens: str, closes: str) -> None:
    """Adds [opens, closes] to ``day``; past midnight the rest goes to the next day."""
    if closes == "24:00" or closes > opens:
        week.setdefault(day, []).append([opens, closes])
        return
    week.setdefault(day, []).append([opens, "24:00"])
    if closes != "00:00":
        following = WEEKDAYS[(WEEKDAYS.index(day) + 1) % 7]
        week.setdefault(following, []).append(["00:00", closes])


def _day_span(spec: str, field: str) -> list[str]:
    days: list[str] = []
    for group in re.split(r"\s*(?:,|\+|/|\bund\b|\band\b)\s*", spec.strip(), flags=re.IGNORECASE):
        ends = [_DAY_NAMES[name.strip().rstrip(".").lower()] for name in re.split(r"\s*(?:–|—|-|\bbis\b|\bto\b)\s*", group, flags=re.IGNORECASE) if name.strip()]
        if len(ends) == 1:
            days.append(ends[0])
        elif len(ends) == 2:
            first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[1])
            days.extend(WEEKDAYS[(first + step) % 7] for step in range((last - first) % 7 + 1))
        else:
            raise InvalidInput(DAYS_LIKE, field=field)
    return days


def parse_week_text(text: str, field: str = "opening_hours") -> dict[str, list[list[str]]]:
    """Several days at once: "Mo–Fr 9–18 Uhr; Sa 10–14", "Mo-Do 9-12, 14-18; Fr 18-2".

    Parts are separated by ";" or new lines; each starts with its days (a day, a range
    "Mo–Fr", or a list "Sa, So"). Returns the named days only (others are not touched)."""
    week: dict[str, list[list[str]]] = {}
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        match = _DAYS_PREFIX.match(part)
        if match is None or not part[match.end():].strip():
            raise InvalidInput(DAYS_LIKE, field=field)
        windows = parse_day_text(part[match.end():], field)
        for day in _day_span(match.group(1), field):
            week.setdefault(day, [])
            for opens, closes in windows:
                add_window(week, day, opens, closes)
    return week
