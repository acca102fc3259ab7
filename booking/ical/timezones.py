"""VTIMEZONE components generated from zoneinfo, in the form every reader we test gets right.

Why not ``icalendar.Timezone.from_tzid`` (checked with icalendar 7.3 and ical.js 2.2.1):

- it writes the onset of a DAYLIGHT observance as the first wall time *after* the gap
  (``DTSTART:20260329T030000`` with ``TZOFFSETFROM:+0100`` for Europe/Berlin), but RFC 5545
  3.6.5 reads an onset in the time *before* the change (TZOFFSETFROM; the RFC's own
  America/New_York example has ``DTSTART:19870405T020000``), which moves the switch by an hour;
- it writes one observance per kind with DTSTART + a list of RDATEs; ical.js ignores the
  DTSTART of an observance that has RDATEs and reads only the first value of an RDATE list,
  so in a feed spanning several years it misses most DST switches (instants an hour off).

Here each onset is the UTC instant of the change (found with zoneinfo, to the second) plus
TZOFFSETFROM, and every onset is its own STANDARD/DAYLIGHT with a DTSTART only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    # One STANDARD/DAYLIGHT per onset, each with only a DTSTART. The compact form (one
    # observance with DTSTART + RDATE list, as icalendar writes it) is valid RFC 5545, but
    # ical.js 2.2 ignores the DTSTART of an observance that has RDATEs and reads only the
    # first value of an RDATE list, so it would miss most DST switches of a multi-year feed.
    offset, dst, name = _state(zone, first)
    onsets = [(first + offset, offset, offset, name, bool(dst))]
    for change in _changes(zone, first, last):
        previous_offset = _state(zone, change - timedelta(seconds=1))[0]
        offset, dst, name = _state(zone, change)
        # RFC 5545 3.6.5: the onset is a local time in the offset in force *before* it.
        onsets.append((change + previous_offset, previous_offset, offset, name, bool(dst)))

    component = Timezone()
    component.add("tzid", tzid)
    for onset, offset_from, offset_to, name, is_daylight in onsets:
        observance = TimezoneDaylight() if is_daylight else TimezoneStandard()
        observance.add("dtstart", onset.replace(tzinfo=None))
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
