"""One builder for every calendar file: feeds, free/busy and iMIP invitations.

Pure: plain values in, ``bytes`` out (UTF-8, CRLF line ends, folded at 75 octets, text
escaped by icalendar, never by hand).

Instants are written with the event's TZID and a VTIMEZONE generated from zoneinfo for the
years the calendar uses (``booking.ical.timezones``). One exception: a single event's start or
end that falls into the repeated hour when clocks go back is written in UTC (``...Z``). The
wall time alone cannot say which of the two instants is meant; RFC 5545 says "the first",
ical.js and libical (Thunderbird, Evolution) take the second, so UTC is the only form every
reader gets right.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule
from icalendar import Calendar, Event, FreeBusy, vCalAddress, vRecur, vText, vUri

from booking.domain.recurrence import local_time_problem
from booking.ical.events import EVENT_STATUSES, CalendarEvent
from booking.ical.text import calendar_text, one_line
from booking.ical.timezones import vtimezone

__all__ = [
    "CALENDAR_METHODS",
    "DEFAULT_PRODID",
    "INVITE_METHODS",
    "build_calendar",
    "build_freebusy",
    "build_invite",
    "merge_busy",
]

DEFAULT_PRODID = "-//booking//booking//DE"
CALENDAR_METHODS: tuple[str, ...] = ("PUBLISH", "REQUEST", "CANCEL")
INVITE_METHODS: tuple[str, ...] = ("REQUEST", "CANCEL")

# A series without COUNT or UNTIL (we never write one, but the type allows it) gets
# VTIMEZONE transitions for this many years after its start.
_OPEN_SERIES_YEARS = 5
_SERIES_SCAN_LIMIT = 2000


# --------------------------------------------------------------------------- public


def build_calendar(
    events: Iterable[CalendarEvent],
    *,
    name: str,
    method: str | None = None,
    timezone_hint: str | None = None,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """Build a VCALENDAR with ``events`` (a feed, or the body of an invite).

    ``name`` becomes X-WR-CALNAME; ``timezone_hint`` (the site's zone) X-WR-TIMEZONE, which
    clients use as the calendar's default zone; ``method`` (PUBLISH, REQUEST or CANCEL) is
    written only when given (feeds need none). One VTIMEZONE is added for every TZID used,
    covering the years of all the instants in the file. Raises ``ValueError`` for invalid
    events (naive instants, end not after start, unknown zone or status).
    """
    return _build(list(events), name=name, method=method, timezone_hint=timezone_hint, prodid=prodid)


def build_invite(
    event: CalendarEvent, method: str, *, overrides: Iterable[CalendarEvent] = (), prodid: str = DEFAULT_PRODID
) -> bytes:
    """Build an iMIP invitation (RFC 6047): ``METHOD:REQUEST`` or ``METHOD:CANCEL``.

    ``overrides``: for a series master (``event.rrule``), the occurrences that differ from the
    rule (each with ``recurrence_id``), sent together with it. RFC 5546 allows several
    components in one REQUEST only when they share the UID (master and its overrides); a
    component of another UID needs its own message.

    Needs an organizer (the site's mailbox) and an attendee (the booker) that differ. CANCEL
    writes ``STATUS:CANCELLED`` and keeps the UID; the caller raises ``sequence`` for every
    change, the cancel included. SEQUENCE is always written. Send the bytes as the inline
    ``text/calendar; method=<METHOD>; charset=UTF-8`` part of a ``multipart/alternative``.
    """
    if method not in INVITE_METHODS:
        raise ValueError(f"An invitation's method must be one of {', '.join(INVITE_METHODS)}, not {method!r}.")
    if not event.organizer_email or not event.attendee_email:
        raise ValueError("An invitation needs both an organizer and an attendee e-mail address.")
    if _normalise_address(event.organizer_email) == _normalise_address(event.attendee_email):
        # Clients treat a message whose recipient is its organizer as their own event and
        # offer no accept/decline.
        raise ValueError("The organizer and the attendee of an invitation must be different addresses.")
    if method == "CANCEL":
        event = dataclasses.replace(event, status="CANCELLED")
    elif event.status == "CANCELLED":
        raise ValueError("A cancelled event is sent with METHOD:CANCEL, not REQUEST.")
    extra = list(overrides)
    for override in extra:
        if override.uid != event.uid or override.recurrence_id is None or event.rrule is None:
            raise ValueError("Overrides in one invitation belong to its series: same UID, with a RECURRENCE-ID.")
    if method == "CANCEL":
        extra = [dataclasses.replace(override, status="CANCELLED") for override in extra]
    return _build([event, *extra], name=None, method=method, timezone_hint=None, prodid=prodid)


def build_freebusy(
    busy: Iterable[tuple[datetime, datetime]],
    *,
    starts_at: datetime,
    ends_at: datetime,
    dtstamp: datetime,
    uid: str,
    name: str | None = None,
    organizer_email: str | None = None,
    organizer_name: str | None = None,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """Build a VCALENDAR with one VFREEBUSY over ``[starts_at, ends_at)``.

    ``busy`` intervals (aware, half-open) are clipped to the window and merged where they
    overlap or touch; FREEBUSY periods are written in UTC as RFC 5545 requires. Nothing about
    who is busy is written: only time.
    """
    for label, value in (("starts_at", starts_at), ("ends_at", ends_at), ("dtstamp", dtstamp)):
        _require_aware(value, label)
    if ends_at <= starts_at:
        raise ValueError("The free/busy window must end after it starts.")
    periods = merge_busy(busy, starts_at, ends_at)

    calendar = _new_calendar(name=name, method=None, timezone_hint=None, prodid=prodid)
    component = FreeBusy()
    component.add("uid", uid)
    component.add("dtstamp", dtstamp.astimezone(UTC))
    component.add("dtstart", starts_at.astimezone(UTC))
    component.add("dtend", ends_at.astimezone(UTC))
    if organizer_email:
        component.add("organizer", _address(organizer_email, organizer_name))
    if periods:
        component.add("freebusy", periods, parameters={"FBTYPE": "BUSY"})
    calendar.add_component(component)
    return calendar.to_ical()


def merge_busy(
    busy: Iterable[tuple[datetime, datetime]], starts_at: datetime, ends_at: datetime
) -> list[tuple[datetime, datetime]]:
    """Clip half-open busy intervals to ``[starts_at, ends_at)``, merge overlapping or touching
    ones, and return them sorted, in UTC. Empty intervals are dropped."""
    clipped = []
    for start, end in busy:
        _require_aware(start, "busy start")
        _require_aware(end, "busy end")
        start, end = max(start, starts_at), min(end, ends_at)
        if start < end:
            clipped.append((start.astimezone(UTC), end.astimezone(UTC)))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(clipped):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# --------------------------------------------------------------------------- internals


def _build(
    events: list[CalendarEvent],
    *,
    name: str | None,
    method: str | None,
    timezone_hint: str | None,
    prodid: str,
) -> bytes:
    if method is not None and method not in CALENDAR_METHODS:
        raise ValueError(f"METHOD must be one of {', '.join(CALENDAR_METHODS)}, not {method!r}.")
    calendar = _new_calendar(name=name, method=method, timezone_hint=timezone_hint, prodid=prodid)

    years_by_zone: dict[str, set[int]] = {}
    for event in events:
        zone = _validate(event)
        calendar.add_component(_vevent(event, zone))
        if not _is_utc(zone):
            years_by_zone.setdefault(event.timezone, set()).update(_years_used(event, zone))

    # VTIMEZONEs first: some readers resolve a TZID only against zones seen before its use.
    for position, tzid in enumerate(sorted(years_by_zone)):
        years = years_by_zone[tzid]
        calendar.subcomponents.insert(position, vtimezone(tzid, min(years), max(years)))
    return calendar.to_ical()


def _new_calendar(*, name: str | None, method: str | None, timezone_hint: str | None, prodid: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method is not None:
        calendar.add("method", method)
    if name is not None:
        # An X- property is written raw unless typed: a line break in the name would end the
        # line there (icalendar refuses, the feed answered 500). As TEXT it is escaped.
        calendar.add("x-wr-calname", vText(one_line(name)))
    if timezone_hint is not None:
        _zone(timezone_hint)
        calendar.add("x-wr-timezone", timezone_hint)
    return calendar


def _vevent(event: CalendarEvent, zone: ZoneInfo) -> Event:
    component = Event()
    component.add("uid", event.uid)
    component.add("sequence", event.sequence)
    component.add("dtstamp", event.dtstamp.astimezone(UTC))
    is_series = event.rrule is not None
    component.add("dtstart", _instant_value(event.starts_at, zone, allow_utc_for_ambiguous=not is_series))
    component.add("dtend", _instant_value(event.ends_at, zone, allow_utc_for_ambiguous=not is_series))
    if event.recurrence_id is not None:
        component.add("recurrence-id", _occurrence_value(event.recurrence_id, zone))
    if event.rrule is not None:
        component.add("rrule", vRecur.from_ical(event.rrule.removeprefix("RRULE:")))
    if event.exdates:
        component.add("exdate", [_occurrence_value(moment, zone) for moment in sorted(event.exdates)])
    component.add("summary", calendar_text(event.summary))
    if event.description:
        component.add("description", calendar_text(event.description))
    if event.location:
        component.add("location", calendar_text(event.location))
    component.add("status", event.status)
    if event.organizer_email:
        organizer = _address(event.organizer_email, event.organizer_name)
        if event.organizer_sent_by and _normalise_address(event.organizer_sent_by) != _normalise_address(event.organizer_email):
            # RFC 5545 3.2.18: the calendar user that acts on behalf of the organizer — the
            # service whose address the invitation's e-mail comes from (see mail/compose.py).
            organizer.params["SENT-BY"] = "mailto:" + event.organizer_sent_by.strip().removeprefix("mailto:")
        component.add("organizer", organizer)
    if event.attendee_email:
        attendee = _address(event.attendee_email, event.attendee_name)
        attendee.params["CUTYPE"] = "INDIVIDUAL"
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "NEEDS-ACTION"
        attendee.params["RSVP"] = "TRUE"
        component.add("attendee", attendee)
    if event.url:
        component.add("url", event.url)
    if event.conference_url:
        # RFC 7986 5.11: how to join an online meeting; clients that know it show a join button.
        component.add("conference", vUri(event.conference_url), parameters={"VALUE": "URI", "FEATURE": "VIDEO"})
    if event.last_modified is not None:
        component.add("last-modified", event.last_modified.astimezone(UTC))
    if event.categories:
        component.add("categories", [calendar_text(category) for category in event.categories])
    return component


def _address(email: str, name: str | None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    name = one_line(name or "")
    if name:
        # icalendar quotes the parameter when it contains , ; or : (RFC 5545 3.2) and writes
        # a double quote as RFC 6868's ^'.
        address.params["CN"] = name
    return address


def _normalise_address(email: str) -> str:
    return email.strip().lower().removeprefix("mailto:")


def _instant_value(instant: datetime, zone: ZoneInfo, *, allow_utc_for_ambiguous: bool) -> datetime:
    """The datetime icalendar should write for a start or end: local in ``zone`` (TZID).

    Falls back to UTC for a wall time in the repeated hour (see the module docstring). A series
    master keeps its TZID: its wall time drives the whole RRULE.
    """
    if _is_utc(zone):
        return instant.astimezone(UTC)
    local = instant.astimezone(zone)
    if allow_utc_for_ambiguous and local_time_problem(local.replace(tzinfo=None), zone.key) == "ambiguous":
        return instant.astimezone(UTC)
    return local


def _occurrence_value(moment: datetime, zone: ZoneInfo) -> datetime:
    """EXDATE / RECURRENCE-ID: the occurrence's wall time in the series' zone.

    Readers match these against the wall times the RRULE produces, so a value already in the
    series' zone keeps its wall time as given (even one skipped by DST); others are converted.
    """
    _require_aware(moment, "exdate/recurrence-id")
    if _is_utc(zone):
        return moment.astimezone(UTC)
    if isinstance(moment.tzinfo, ZoneInfo) and moment.tzinfo.key == zone.key:
        return moment
    return moment.astimezone(zone)


def _validate(event: CalendarEvent) -> ZoneInfo:
    zone = _zone(event.timezone)
    if not event.uid:
        raise ValueError("An event needs a UID.")
    if isinstance(event.sequence, bool) or not isinstance(event.sequence, int) or event.sequence < 0:
        raise ValueError("SEQUENCE must be a whole number of at least 0.")
    for label in ("dtstamp", "starts_at", "ends_at", "last_modified", "recurrence_id"):
        value = getattr(event, label)
        if value is not None:
            _require_aware(value, label)
    if event.ends_at <= event.starts_at:
        raise ValueError(f"Event {event.uid}: the end must be after the start.")
    if event.status not in EVENT_STATUSES:
        raise ValueError(f"STATUS must be one of {', '.join(EVENT_STATUSES)}, not {event.status!r}.")
    return zone


def _years_used(event: CalendarEvent, zone: ZoneInfo) -> set[int]:
    """Local years of every instant in the event, the end of its series included."""
    instants = [event.starts_at, event.ends_at, *event.exdates]
    if event.recurrence_id is not None:
        instants.append(event.recurrence_id)
    years = {instant.astimezone(zone).year for instant in instants}
    if event.rrule is not None:
        years.add(_series_last_year(event, zone))
    # The year before the first instant as well: an event early on 1 January is still in the
    # previous year in UTC, and readers use offset 0 before the first onset.
    years.add(min(years) - 1)
    return years


def _series_last_year(event: CalendarEvent, zone: ZoneInfo) -> int:
    local_start = event.starts_at.astimezone(zone)
    rule = dateutil_rrule.rrulestr(event.rrule.removeprefix("RRULE:"), dtstart=local_start)  # type: ignore[union-attr]
    starts = list(itertools.islice(rule, _SERIES_SCAN_LIMIT + 1))
    if not starts:
        return local_start.year
    if len(starts) > _SERIES_SCAN_LIMIT:
        # Open-ended (or very long): cover some years; readers keep the last offset after.
        return max(starts[-1].year, local_start.year + _OPEN_SERIES_YEARS)
    return (starts[-1] + (event.ends_at - event.starts_at)).year


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except Exception as error:  # ZoneInfoNotFoundError, or ValueError for malformed keys
        raise ValueError(f"Unknown time zone {timezone!r}.") from error


def _is_utc(zone: ZoneInfo) -> bool:
    # Written as "...Z" (no VTIMEZONE needed): exactly what these zones mean.
    return zone.key in {"UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu", "Etc/GMT", "GMT"}


def _require_aware(value: datetime, label: str) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{label} must be a datetime.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{label} must be timezone-aware (store instants in UTC).")
