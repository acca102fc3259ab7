"""Recurring bookings: rules, their RFC 5545 text form, and expansion in local wall time.

A series is defined in the site's local wall time ("every Tuesday 18:00 in Europe/Berlin").
It is expanded with dateutil's ``rrule`` on *naive* local datetimes, so the wall time stays
18:00 on both sides of a DST switch, and only then is each occurrence converted to UTC.
Expanding in UTC would drift by an hour twice a year (one of indico's mistakes).

Local times that do not exist (02:30 on the spring-forward day) are reported, never moved;
local times that exist twice (the fall-back hour) take the first instant (``fold=0``, still
summer time) and are flagged, because they are bookable but worth a note to the user.

Everything here is pure: no clock, no I/O. Pass the start, the duration and the IANA zone in.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as dateutil_rrule

from booking.domain.errors import InvalidInput

__all__ = [
    "FREQUENCIES",
    "MAX_OCCURRENCES",
    "WEEKDAYS",
    "NonexistentLocalTime",
    "Occurrence",
    "RecurrenceError",
    "RecurrenceRule",
    "expand",
    "local_time_problem",
    "local_to_utc",
    "parse_rrule",
    "zone_for",
]

Frequency = Literal["daily", "weekly", "monthly"]
LocalTimeProblem = Literal["nonexistent", "ambiguous"]

FREQUENCIES: tuple[str, ...] = ("daily", "weekly", "monthly")
#: RFC 5545 weekday codes, Monday first (the RFC's default week start, WKST=MO).
WEEKDAYS: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: Upper bound for one series, by COUNT or by the number of dates an UNTIL yields.
MAX_OCCURRENCES = 500
#: Upper bound for INTERVAL; "every 52 weeks" is already more than anyone books.
MAX_INTERVAL = 99

_WEEKDAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
_DATEUTIL_FREQUENCY = {
    "daily": dateutil_rrule.DAILY,
    "weekly": dateutil_rrule.WEEKLY,
    "monthly": dateutil_rrule.MONTHLY,
}
_DATEUTIL_WEEKDAY = dict(zip(WEEKDAYS, dateutil_rrule.weekdays, strict=True))


class RecurrenceError(InvalidInput, ValueError):
    """A rule, start or time zone that cannot make a series; the message is for people.

    A ``ValueError`` for plain Python callers and an ``InvalidInput`` (HTTP 400 with the
    message, ``field`` naming the form field where there is one) for the web and API layers.
    """


class NonexistentLocalTime(RecurrenceError):
    """The local wall time is skipped by a DST switch (e.g. 02:30 on the spring-forward day)."""


# --------------------------------------------------------------------------- local time


def zone_for(timezone: str) -> ZoneInfo:
    """Return the ``ZoneInfo`` for an IANA name, or raise ``RecurrenceError``."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise RecurrenceError(f"Unknown time zone {timezone!r}.", field="timezone") from error


def local_time_problem(local: datetime, timezone: str) -> LocalTimeProblem | None:
    """Classify a naive wall time in ``timezone``: ``None``, ``"nonexistent"`` or ``"ambiguous"``."""
    if local.tzinfo is not None:
        raise RecurrenceError("A local wall time must not carry a time zone.")
    zone = zone_for(timezone)
    first = local.replace(tzinfo=zone, fold=0)
    # zoneinfo maps a skipped wall time to *some* instant without complaint; only the round
    # trip through UTC shows that no instant has this wall time.
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != local.replace(fold=0):
        return "nonexistent"
    if first.utcoffset() != local.replace(tzinfo=zone, fold=1).utcoffset():
        return "ambiguous"
    return None


def local_to_utc(local: datetime, timezone: str) -> datetime:
    """Convert a naive wall time in ``timezone`` to an aware UTC instant.

    An ambiguous wall time (the repeated hour when clocks go back) maps to its first instant
    (``fold=0``, still summer time). A wall time that does not exist raises
    ``NonexistentLocalTime`` rather than being shifted by an hour behind the user's back.
    """
    if local_time_problem(local, timezone) == "nonexistent":
        raise NonexistentLocalTime(
            f"{local:%Y-%m-%d %H:%M} does not exist in {timezone}: the clocks skip that hour "
            "when summer time starts. Choose another time.",
            field="starts_at",
        )
    return local.replace(tzinfo=zone_for(timezone), fold=0).astimezone(UTC)


def _end_of_local_day_utc(day: date, timezone: str) -> datetime:
    """The last second of ``day`` in ``timezone``, as a UTC instant.

    Midnight of the next day with ``fold=0`` is the start of that day even where midnight is
    skipped or repeated by a DST switch, so one second before it is the end of ``day``.
    """
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone_for(timezone))
    return next_midnight.astimezone(UTC) - timedelta(seconds=1)


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class RecurrenceRule:
    """A recurrence rule in local wall time, the subset of RFC 5545 RRULE the service offers.

    - ``frequency``: ``"daily"``, ``"weekly"`` or ``"monthly"``; ``interval``: every n-th.
    - ``weekdays``: codes ``"MO"``..``"SU"``. Weekly: the days of the week (empty: the start's
      weekday). Monthly with ``weekday_position``: exactly one weekday.
    - ``weekday_position``: monthly only; 1..5 = first..fifth, -1..-5 = last..fifth-from-last
      occurrence of the weekday in the month ("2nd Thursday" = ``2, ("TH",)``). Without it a
      monthly rule repeats on the start's day of the month (RFC 5545: months without that day,
      e.g. the 31st, are skipped).
    - ``until`` (a local date, inclusive) or ``count``: exactly one of them.
    - ``excluded_dates``: local dates taken out of the series (EXDATE; not part of the RRULE).
      COUNT counts before exclusion, as in RFC 5545.
    """

    frequency: Frequency
    interval: int = 1
    weekdays: tuple[str, ...] = ()
    weekday_position: int | None = None
    until: date | None = None
    count: int | None = None
    excluded_dates: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        # Normalise list inputs so equal rules compare equal and the object stays hashable.
        object.__setattr__(self, "weekdays", tuple(self.weekdays))
        object.__setattr__(self, "excluded_dates", tuple(sorted(set(self.excluded_dates))))
        self._validate()

    def _validate(self) -> None:
        if self.frequency not in FREQUENCIES:
            raise RecurrenceError(
                f"Unknown repetition {self.frequency!r}; choose daily, weekly or monthly.",
                field="frequency",
            )
        if isinstance(self.interval, bool) or not isinstance(self.interval, int):
            raise RecurrenceError("The interval must be a whole number.", field="interval")
        if not 1 <= self.interval <= MAX_INTERVAL:
            raise RecurrenceError(f"The interval must be between 1 and {MAX_INTERVAL}.", field="interval")
        for weekday in self.weekdays:
            if weekday not in WEEKDAYS:
                raise RecurrenceError(
                    f"Unknown weekday {weekday!r}; use one of {', '.join(WEEKDAYS)}.",
                    field="weekdays",
                )
        if len(set(self.weekdays)) != len(self.weekdays):
            raise RecurrenceError("Each weekday may be given only once.", field="weekdays")
        if self.frequency == "daily" and self.weekdays:
            raise RecurrenceError("A daily series cannot be limited to weekdays; use weekly.")
        if self.weekday_position is not None:
            if self.frequency != "monthly":
                raise RecurrenceError("A position in the month (e.g. 2nd Thursday) needs a monthly series.")
            if self.weekday_position == 0 or not -5 <= self.weekday_position <= 5:
                raise RecurrenceError("The position in the month must be 1 to 5, or -1 (last) to -5.")
            if len(self.weekdays) != 1:
                raise RecurrenceError("A position in the month needs exactly one weekday (e.g. 2nd Thursday).")
        elif self.frequency == "monthly" and self.weekdays:
            raise RecurrenceError("A monthly series on a weekday needs its position (e.g. 2nd or last).")
        if (self.until is None) == (self.count is None):
            raise RecurrenceError(
                "Give either an end date or a number of dates, not both and not neither.", field="until"
            )
        if self.count is not None:
            if isinstance(self.count, bool) or not isinstance(self.count, int):
                raise RecurrenceError("The number of dates must be a whole number.", field="count")
            if not 1 <= self.count <= MAX_OCCURRENCES:
                raise RecurrenceError(
                    f"The number of dates must be between 1 and {MAX_OCCURRENCES}.", field="count"
                )
        if self.until is not None and (isinstance(self.until, datetime) or not isinstance(self.until, date)):
            raise RecurrenceError("The end date must be a date without a time.", field="until")

    def to_rrule_string(self, timezone: str) -> str:
        """Return the RFC 5545 RRULE value (without the ``RRULE:`` prefix).

        Example: ``FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;UNTIL=20261124T225959Z``.

        UNTIL is written as the last second of the local ``until`` day converted to UTC (hence
        ``timezone``): RFC 5545 3.3.10 requires a UTC UNTIL when DTSTART carries a TZID, and a
        floating ``...T235959`` would be invalid there. The monthly position is written as
        ``BYDAY=2TH`` rather than ``BYDAY=TH;BYSETPOS=2``: same meaning for one weekday, and
        understood by more clients. Excluded dates are not part of an RRULE (they are EXDATEs).
        """
        parts = [f"FREQ={self.frequency.upper()}", f"INTERVAL={self.interval}"]
        if self.weekday_position is not None:
            parts.append(f"BYDAY={self.weekday_position}{self.weekdays[0]}")
        elif self.weekdays:
            parts.append("BYDAY=" + ",".join(self.weekdays))
        if self.until is not None:
            parts.append(f"UNTIL={_end_of_local_day_utc(self.until, timezone):%Y%m%dT%H%M%SZ}")
        else:
            parts.append(f"COUNT={self.count}")
        return ";".join(parts)

    def _dateutil_rule(self, local_start: datetime) -> dateutil_rrule.rrule:
        if self.weekday_position is not None:
            by_weekday = [_DATEUTIL_WEEKDAY[self.weekdays[0]](self.weekday_position)]
        elif self.weekdays:
            by_weekday = [_DATEUTIL_WEEKDAY[weekday] for weekday in self.weekdays]
        else:
            by_weekday = None
        return dateutil_rrule.rrule(
            _DATEUTIL_FREQUENCY[self.frequency],
            dtstart=local_start,
            interval=self.interval,
            # WKST is fixed to Monday, the RFC default we never write out; dateutil would
            # otherwise take it from the process-wide calendar.firstweekday().
            wkst=dateutil_rrule.MO,
            byweekday=by_weekday,
            count=self.count,
            # The local until-day is inclusive: compare naive wall times up to its last moment.
            until=None if self.until is None else datetime.combine(self.until, time.max),
        )


def parse_rrule(text: str, timezone: str, excluded_dates: tuple[date, ...] = ()) -> RecurrenceRule:
    """Parse an RRULE value (as written by ``to_rrule_string``) back into a ``RecurrenceRule``.

    Accepts an optional ``RRULE:`` prefix, UNTIL in UTC (converted to the local date in
    ``timezone``), as a local date-time or as a date, and ``BYDAY=TH;BYSETPOS=2`` as well as
    ``BYDAY=2TH``. Anything outside the supported subset raises ``RecurrenceError``.
    ``parse_rrule(rule.to_rrule_string(zone), zone, rule.excluded_dates) == rule``.
    """
    value = text.strip()
    if value.upper().startswith("RRULE:"):
        value = value[len("RRULE:") :]
    parts: dict[str, str] = {}
    for part in value.split(";"):
        if not part:
            continue
        name, separator, part_value = part.partition("=")
        name = name.strip().upper()
        if not separator or not part_value:
            raise RecurrenceError(f"Cannot read the rule part {part!r}.")
        if name in parts:
            raise RecurrenceError(f"The rule part {name} appears twice.")
        parts[name] = part_value.strip().upper()

    unsupported = set(parts) - {"FREQ", "INTERVAL", "BYDAY", "BYSETPOS", "UNTIL", "COUNT", "WKST"}
    if unsupported:
        raise RecurrenceError(f"Unsupported rule part(s): {', '.join(sorted(unsupported))}.")
    if parts.get("WKST", "MO") != "MO":
        # Our expansion fixes the week start to Monday; another WKST changes which weeks
        # "every 2nd week" picks, so refuse rather than expand differently from clients.
        raise RecurrenceError("Only weeks starting on Monday (WKST=MO) are supported.")
    if "FREQ" not in parts:
        raise RecurrenceError("The rule has no FREQ.")
    frequency = parts["FREQ"].lower()
    if frequency not in FREQUENCIES:
        raise RecurrenceError(f"Unsupported repetition FREQ={parts['FREQ']}; use DAILY, WEEKLY or MONTHLY.")

    interval = _parse_int(parts.get("INTERVAL", "1"), "INTERVAL")
    weekdays: list[str] = []
    positions: set[int] = set()
    for entry in filter(None, parts.get("BYDAY", "").split(",")):
        code = entry[-2:]
        prefix = entry[:-2]
        weekdays.append(code)
        if prefix:
            positions.add(_parse_int(prefix, "BYDAY"))
    if len(positions) > 1:
        raise RecurrenceError("Only one position in the month is supported.")
    weekday_position = positions.pop() if positions else None
    if "BYSETPOS" in parts:
        if weekday_position is not None:
            raise RecurrenceError("Give the position either in BYDAY or in BYSETPOS, not both.")
        if len(weekdays) != 1:
            raise RecurrenceError("BYSETPOS is supported only with exactly one weekday.")
        weekday_position = _parse_int(parts["BYSETPOS"], "BYSETPOS")

    count = _parse_int(parts["COUNT"], "COUNT") if "COUNT" in parts else None
    until = _parse_until(parts["UNTIL"], timezone) if "UNTIL" in parts else None
    return RecurrenceRule(
        frequency=frequency,  # type: ignore[arg-type]  # checked against FREQUENCIES above
        interval=interval,
        weekdays=tuple(weekdays),
        weekday_position=weekday_position,
        until=until,
        count=count,
        excluded_dates=tuple(excluded_dates),
    )


def _parse_int(text: str, part: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RecurrenceError(f"{part} must be a whole number, not {text!r}.") from None


def _parse_until(text: str, timezone: str) -> date:
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()
        if text.endswith("Z"):
            instant = datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return instant.astimezone(zone_for(timezone)).date()
        return datetime.strptime(text, "%Y%m%dT%H%M%S").date()
    except ValueError:
        raise RecurrenceError(f"Cannot read the end date UNTIL={text}.") from None


# --------------------------------------------------------------------------- expansion


@dataclass(frozen=True)
class Occurrence:
    """One date of a series.

    ``local_start`` is the naive wall time the rule produced. ``starts_at``/``ends_at`` are
    aware UTC instants; the end is ``starts_at + duration`` in elapsed time, which is what
    RFC 5545 clients do with DTSTART/DTEND of a recurring event ("the same exact duration").

    ``problem``:
    - ``None``: an ordinary date.
    - ``"ambiguous"``: the wall time occurs twice (clocks go back); ``starts_at`` is the first
      instant (``fold=0``, summer time). Bookable; worth showing.
    - ``"nonexistent"``: the wall time is skipped (clocks go forward). ``starts_at`` and
      ``ends_at`` are ``None`` so that no caller can store a silently shifted time; the caller
      refuses the date (or lets the user choose another time) and, when the series is
      published with an RRULE, excludes it with an EXDATE.
    """

    local_start: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    problem: LocalTimeProblem | None = None

    @property
    def bookable(self) -> bool:
        """True unless the local time does not exist."""
        return self.problem != "nonexistent"


def expand(
    rule: RecurrenceRule,
    local_start: datetime,
    duration: timedelta,
    timezone: str,
) -> list[Occurrence]:
    """Expand ``rule`` from ``local_start`` (naive wall time in ``timezone``) into occurrences.

    The first occurrence is ``local_start`` itself, which must therefore be one of the rule's
    dates (RFC 5545 leaves a DTSTART outside its own rule undefined, and clients disagree).
    Excluded dates are removed; nonexistent local times are kept and flagged, never shifted.
    Raises ``RecurrenceError`` with a message for people when the input cannot make a series.
    """
    if not isinstance(local_start, datetime):
        raise RecurrenceError("The start must be a date and time.")
    if local_start.tzinfo is not None:
        raise RecurrenceError("The start must be a local wall time without a time zone.")
    if duration <= timedelta(0):
        raise RecurrenceError("The end must be after the start.", field="ends_at")
    zone_for(timezone)
    local_start = local_start.replace(fold=0)
    if rule.until is not None and rule.until < local_start.date():
        raise RecurrenceError("The end date of the series must not be before its first date.", field="until")

    # One more than allowed tells "too many" apart from "exactly the maximum".
    local_starts = list(itertools.islice(rule._dateutil_rule(local_start), MAX_OCCURRENCES + 1))
    if len(local_starts) > MAX_OCCURRENCES:
        raise RecurrenceError(
            f"The series would have more than {MAX_OCCURRENCES} dates; choose an earlier end date.",
            field="until",
        )
    if not local_starts or local_starts[0] != local_start:
        raise RecurrenceError(_start_mismatch_message(rule, local_start), field="starts_at")

    excluded = set(rule.excluded_dates)
    try:
        occurrences = [
            _occurrence(moment, duration, timezone) for moment in local_starts if moment.date() not in excluded
        ]
    except OverflowError:
        # Dates near the end of the calendar (year 9999) have no instant after them.
        raise RecurrenceError("The series reaches beyond the calendar; choose an earlier end.", field="until") from None
    if not occurrences:
        raise RecurrenceError("All dates of the series are excluded.")
    return occurrences


def _occurrence(local_start: datetime, duration: timedelta, timezone: str) -> Occurrence:
    problem = local_time_problem(local_start, timezone)
    if problem == "nonexistent":
        return Occurrence(local_start=local_start, starts_at=None, ends_at=None, problem=problem)
    starts_at = local_to_utc(local_start, timezone)
    return Occurrence(local_start=local_start, starts_at=starts_at, ends_at=starts_at + duration, problem=problem)


def _start_mismatch_message(rule: RecurrenceRule, local_start: datetime) -> str:
    start_weekday = WEEKDAYS[local_start.weekday()]
    if rule.weekday_position is not None:
        position = rule.weekday_position
        ordinal = "last" if position == -1 else f"{position}." if position > 0 else f"{-position}. from last"
        return (
            f"The first date {local_start:%Y-%m-%d} is not the {ordinal} "
            f"{_WEEKDAY_NAMES[rule.weekdays[0]]} of its month."
        )
    if rule.weekdays and start_weekday not in rule.weekdays:
        days = ", ".join(_WEEKDAY_NAMES[code] for code in rule.weekdays)
        return f"The first date {local_start:%Y-%m-%d} is a {_WEEKDAY_NAMES[start_weekday]}, not one of: {days}."
    return f"The first date {local_start:%Y-%m-%d} is not one of the series' dates."
