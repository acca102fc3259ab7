"""Calendar feeds: what a feed may show of a booking, and a fast writer for big feeds.

Pure: plain values in, ``CalendarEvent``s or ``bytes`` out.

Privacy. A *public* feed (of a resource or a site) shows busy time and the resource: the
summary is "Busy – <resource>", never who booked, their e-mail or the purpose. Only a booking
marked ``is_public`` shows its title, purpose and organisation there (never a person's name
or address). Cancelled and declined bookings are left out of public feeds (they are not busy
time). A *private* feed (staff of a site, members of an organisation, a person's own) shows
the details: title, purpose, organisation, the booker's name (and e-mail for site staff), the
status (TENTATIVE for requested and held, CONFIRMED, CANCELLED for cancelled, declined and
expired). Public feeds show ``lifecycle.BUSY``: a waiting list's held offer is busy time
(TENTATIVE) until it is taken, and gone once it expired or was declined.

Series in feeds: every occurrence is written as its own VEVENT with its own stable UID
(``booking-<id>@<host>``, the id of the occurrence's booking row), not as one master with
RRULE/EXDATE plus overrides. Occurrences are independent rows here (each with its own status,
time and SEQUENCE), so the expanded form says exactly what is booked, needs no reader to expand
a rule the same way we do (DST, EXDATE matching), and a feed of a resource never shows the
master of someone else's series. Invitations (mail) use RRULE; feeds do not.

Speed. A feed is written from the text of each VEVENT (``event_text``: the builder's own
VEVENT code, text escaped by icalendar) joined with the calendar's properties and the cached
VTIMEZONE (``assemble_feed``): exactly the bytes ``build_calendar`` writes (tested), but each
event's text can be kept. Serialising a VEVENT with icalendar costs about 0.1 ms; the feed
service keeps the texts by booking row, so a 5,000-booking feed where one booking changed
re-serialises one event. ``build_feed`` does the same for ``CalendarEvent``s (LRU by event).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from zoneinfo import ZoneInfo

from icalendar import Calendar

from booking.domain.lifecycle import BUSY_VALUES
from booking.ical.builder import DEFAULT_PRODID, _is_utc, _new_calendar, _validate, _vevent, _years_used, build_freebusy
from booking.ical.events import CalendarEvent, EventStatus
from booking.ical.text import calendar_text
from booking.ical.timezones import _vtimezone_text

__all__ = [
    "FEED_STATUS", "FeedEntry", "FeedLabels", "assemble_feed", "build_feed", "build_freebusy_calendar", "cached_event_text",
    "event_text", "feed_event", "feed_event_zone_years", "feed_uid",
]

#: Booking status -> iCalendar STATUS.
FEED_STATUS: dict[str, EventStatus] = {
    "requested": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "checked_out": "CONFIRMED",
    "returned": "CONFIRMED",
    "cancelled": "CANCELLED",
    "declined": "CANCELLED",
    # Released because nobody checked in: the time is free again.
    "no_show": "CANCELLED",
    # Offered to the first on a waiting list: busy, but not decided yet.
    "held": "TENTATIVE",
    "expired": "CANCELLED",
}
#: Statuses a public feed shows (busy time): the one list of ``domain.lifecycle``.
PUBLIC_STATUSES = BUSY_VALUES
EVENT_CACHE_SIZE = 32_768


@dataclass(frozen=True)
class FeedEntry:
    """One booking as a feed needs it (plain values; no ORM rows)."""

    booking_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    sequence: int
    updated_at: datetime
    title: str
    purpose: str
    is_public: bool
    resource_name: str
    site_name: str
    site_address: str
    timezone: str
    organisation_name: str | None = None
    booker_name: str | None = None
    booker_email: str | None = None
    series_id: int | None = None
    # Units this booking holds of a pooled resource (10 party benches = capacity 10).
    quantity: int = 1
    capacity: int = 1


@dataclass(frozen=True)
class FeedLabels:
    """The few words a feed writes, already in the feed's language."""

    busy: str = "Busy"
    booked_by: str = "Booked by"
    organisation: str = "Organisation"
    part_of_series: str = "Part of a series"
    # A pooled resource: how many of its units this booking takes ("3 of 10 taken").
    units_taken: str = "%(taken)s of %(capacity)s taken"


def feed_uid(booking_id: int, host: str) -> str:
    return f"booking-{booking_id}@{host}"


def feed_event(
    entry: FeedEntry,
    *,
    private: bool,
    host: str,
    labels: FeedLabels = FeedLabels(),
    show_email: bool = False,
    url: str | None = None,
) -> CalendarEvent:
    """The VEVENT of one booking in a public or a private feed (see the module docstring)."""
    location = ", ".join(part for part in (entry.resource_name, entry.site_name, entry.site_address) if part)
    if private:
        summary = entry.title or entry.resource_name
        if entry.title:
            summary = f"{entry.title} – {entry.resource_name}"
        lines = [entry.purpose] if entry.purpose else []
        if entry.booker_name:
            who = entry.booker_name
            if show_email and entry.booker_email:
                who = f"{who} <{entry.booker_email}>"
            lines.append(f"{labels.booked_by}: {who}")
        if entry.organisation_name:
            lines.append(f"{labels.organisation}: {entry.organisation_name}")
        if entry.series_id is not None:
            lines.append(labels.part_of_series)
        description = "\n".join(lines) or None
        event_url = url
    elif entry.is_public:
        summary = f"{entry.title} – {entry.resource_name}" if entry.title else f"{labels.busy} – {entry.resource_name}"
        lines = [entry.purpose] if entry.purpose else []
        if entry.organisation_name:
            lines.append(f"{labels.organisation}: {entry.organisation_name}")
        description = "\n".join(lines) or None
        event_url = None
    else:
        summary = f"{labels.busy} – {entry.resource_name}"
        description = None
        event_url = None
    if not private and entry.capacity > 1:
        # "Busy" alone would hide that 9 of 10 benches are still free.
        taken = labels.units_taken % {"taken": entry.quantity, "capacity": entry.capacity}
        summary = f"{taken} – {entry.resource_name}" if summary.startswith(labels.busy) else f"{summary} ({taken})"
    return CalendarEvent(
        uid=feed_uid(entry.booking_id, host),
        sequence=entry.sequence,
        # The representation changes when the booking does: a stable DTSTAMP keeps the feed's
        # bytes (and its cached VEVENTs) the same until then.
        dtstamp=entry.updated_at,
        starts_at=entry.starts_at,
        ends_at=entry.ends_at,
        timezone=entry.timezone,
        summary=summary,
        description=description,
        location=location or None,
        status=FEED_STATUS.get(entry.status, "CONFIRMED"),
        url=event_url,
        last_modified=entry.updated_at,
    )


def event_text(event: CalendarEvent) -> tuple[bytes, str, tuple[int, ...]]:
    """The VEVENT text of one event, its TZID and the local years its VTIMEZONE must cover
    (empty for UTC events). Not cached: see ``cached_event_text``."""
    zone = _validate(event)
    years = () if _is_utc(zone) else tuple(sorted(_years_used(event, zone)))
    return _vevent(event, zone).to_ical(), event.timezone, years


def feed_event_zone_years(starts_at: datetime, ends_at: datetime, timezone: str) -> tuple[str, tuple[int, ...]]:
    """What ``event_text`` returns besides the text for a feed event (``feed_event``: no
    recurrence, no EXDATE): its TZID and the local years its VTIMEZONE must cover. For a VEVENT
    text kept from an earlier document, without building the event again.

    Called for every event of a feed a process reads back from its stored document: an
    instant's local year is its UTC year unless it falls on 31 December or 1 January in UTC (no
    zone is more than 14 hours off), so only those are converted."""
    zone = _zone(timezone)
    if _is_utc(zone):
        return timezone, ()
    return timezone, _years_covered(_local_year(starts_at, zone), _local_year(ends_at, zone))


def _local_year(instant: datetime, zone: ZoneInfo) -> int:
    if (instant.month == 12 and instant.day == 31) or (instant.month == 1 and instant.day == 1) or instant.utcoffset():
        return instant.astimezone(zone).year
    return instant.year


@lru_cache(maxsize=256)
def _years_covered(first: int, last: int) -> tuple[int, ...]:
    # As _years_used: the year before the first instant as well.
    years = {first, last}
    years.add(min(years) - 1)
    return tuple(sorted(years))


@lru_cache(maxsize=64)
def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


cached_event_text = lru_cache(maxsize=EVENT_CACHE_SIZE)(event_text)


def assemble_feed(
    parts: Iterable[Sequence],  # type: ignore[type-arg]
    *,
    name: str,
    timezone_hint: str | None = None,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """A VCALENDAR from VEVENT texts (``event_text``: text, TZID, years; further items are
    ignored): the calendar's properties, one VTIMEZONE per TZID covering every year used, the
    events — as ``build_calendar`` writes. A feed of thousands of events is assembled again on
    every change, so the per-event work is C-level (itemgetter, set) and the calendar's head is
    written once per name."""
    parts = parts if isinstance(parts, list) else list(parts)
    years_by_zone: dict[str, set[int]] = {}
    for tzid, years in set(map(_ZONE_YEARS, parts)):
        if years:
            years_by_zone.setdefault(tzid, set()).update(years)
    head = _calendar_head(name, timezone_hint, prodid)
    zones = [
        # Every TZID here passed ``event_text``'s validation. The cached text of the same VTIMEZONE ``vtimezone()`` returns (parsed anew there).
        _vtimezone_text(tzid, min(years_by_zone[tzid]), max(years_by_zone[tzid])) for tzid in sorted(years_by_zone)
    ]
    return b"".join([head, *zones, *map(_TEXT, parts), _CLOSING])


_TEXT = itemgetter(0)
_ZONE_YEARS = itemgetter(1, 2)
_CLOSING = b"END:VCALENDAR\r\n"


@lru_cache(maxsize=256)
def _calendar_head(name: str, timezone_hint: str | None, prodid: str) -> bytes:
    """The calendar's properties, without its closing line."""
    head = _new_calendar(name=name, method=None, timezone_hint=timezone_hint, prodid=prodid).to_ical()
    assert head.endswith(_CLOSING)
    return head[: -len(_CLOSING)]


def build_feed(
    events: Iterable[CalendarEvent],
    *,
    name: str,
    timezone_hint: str | None = None,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """The same bytes as ``build_calendar(events, name=…, timezone_hint=…)``, built from cached
    VEVENT texts. Events must be hashable (tuples, not lists, for categories and exdates)."""
    return assemble_feed((cached_event_text(event) for event in events), name=name, timezone_hint=timezone_hint, prodid=prodid)


def build_freebusy_calendar(
    entries: Iterable[tuple[str, str, Iterable[tuple[datetime, datetime]]]],
    *,
    starts_at: datetime,
    ends_at: datetime,
    dtstamp: datetime,
    name: str | None = None,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """A VCALENDAR with one VFREEBUSY per ``(uid, label, busy)`` (e.g. every resource of a
    site), each made by ``build_freebusy`` and labelled with a COMMENT."""
    calendar = _new_calendar(name=name, method=None, timezone_hint=None, prodid=prodid)
    for uid, label, busy in entries:
        single = Calendar.from_ical(build_freebusy(busy, starts_at=starts_at, ends_at=ends_at, dtstamp=dtstamp, uid=uid))
        for component in single.walk("VFREEBUSY"):
            if label:
                component.add("comment", calendar_text(label))
            calendar.add_component(component)
    return calendar.to_ical()


def clear_cache() -> None:
    """Forget cached VEVENT texts (tests and benchmarks of the cold path)."""
    cached_event_text.cache_clear()

