"""VTIMEZONE components generated from zoneinfo, correct by RFC 5545's reading of onsets.

Why not ``icalendar.Timezone.from_tzid``: icalendar 7.3 writes the onset of a DAYLIGHT
observance as the first wall time *after* the gap (``DTSTART:20260329T030000`` with
``TZOFFSETFROM:+0100`` for Europe/Berlin), but RFC 5545 3.6.5 reads an onset in the time
*before* the change (``TZOFFSETFROM``), so that file moves the switch to summer time from
01:00 UTC to 02:00 UTC; ical.js then shows 01:30 UTC as the nonexistent 02:30. Here each
onset is the UTC instant of the change (found with zoneinfo) plus ``TZOFFSETFROM``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

__all__ = ["vtimezone"]

# Offsets are sampled this far apart, then each change is bisected to the second. No zone
# changes its offset twice within six hours.
_SAMPLE_STEP = timedelta(hours=6)


def _state(zone: ZoneInfo, instant: datetime) -> tuple[timedelta, timedelta, str]:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(0), local.dst() or timedelta(0), local.tzname() or ""


def _changes(zone: ZoneInfo, first: datetime, last: datetime) -> list[datetime]:
    """UTC instants in ``[first, last)`` at which the offset, DST flag or abbreviation changes."""
    changes = []
    before = first
    before_state = _state(zone, before)
    while before < last:
        after = min(before + _SAMPLE_STEP, last)
        after_state = _state(zone, after)
        if after_state != before_state:
            low, high = before, after  # state(low) == before_state != state(high)
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _state(zone, middle) == before_state:
                    low = middle
                else:
                    high = middle
            changes.append(high)
        before, before_state = after, after_state
    return changes


@lru_cache(maxsize=64)
def _vtimezone_text(tzid: str, first_year: int, last_year: int) -> bytes:
    zone = ZoneInfo(tzid)
    # The first observance starts at local midnight on 1 January of first_year: readers such
    # as ical.js use offset 0 for anything before the first onset.
    first = datetime(first_year, 1, 1, tzinfo=zone).astimezone(UTC)
    last = datetime(last_year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    observances: dict[tuple[timedelta, timedelta, str, bool], list[datetime]] = defaultdict(list)

    offset, dst, name = _state(zone, first)
    observances[(offset, offset, name, bool(dst))].append((first + offset).replace(tzinfo=None))
    for change in _changes(zone, first, last):
        previous_offset = _state(zone, change - timedelta(seconds=1))[0]
        offset, dst, name = _state(zone, change)
        # RFC 5545 3.6.5: the onset is a local time in the offset in force *before* it.
        observances[(previous_offset, offset, name, bool(dst))].append(
            (change + previous_offset).replace(tzinfo=None)
        )

    component = Timezone()
    component.add("tzid", tzid)
    for (offset_from, offset_to, name, is_daylight), onsets in observances.items():
        observance = TimezoneDaylight() if is_daylight else TimezoneStandard()
        observance.add("dtstart", onsets[0])
        if onsets[1:]:
            observance.add("rdate", onsets[1:])
        observance.add("tzname", name)
        observance.add("tzoffsetfrom", offset_from)
        observance.add("tzoffsetto", offset_to)
        component.add_component(observance)
    return component.to_ical()


def vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """Return a VTIMEZONE for the IANA zone ``tzid`` covering ``first_year``..``last_year``.

    After ``last_year`` readers keep the last offset, so cover every year a calendar uses.
    Raises ``ValueError`` for an unknown zone.
    """
    try:
        ZoneInfo(tzid)
    except Exception as error:  # ZoneInfoNotFoundError, or ValueError for malformed keys
        raise ValueError(f"Unknown time zone {tzid!r}.") from error
    # Cached as bytes and parsed afresh, because components are mutable and get attached to
    # the calendar being built.
    return Timezone.from_ical(_vtimezone_text(tzid, first_year, last_year))
