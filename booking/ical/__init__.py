"""ICS building: events with TZID + VTIMEZONE, feeds, free/busy, iMIP REQUEST / CANCEL.

One builder for feeds and invites; pure (plain values in, bytes out).
"""

from booking.ical.builder import (
    CALENDAR_METHODS,
    DEFAULT_PRODID,
    INVITE_METHODS,
    build_calendar,
    build_freebusy,
    build_invite,
    merge_busy,
)
from booking.ical.events import EVENT_STATUSES, CalendarEvent, EventStatus
from booking.ical.timezones import vtimezone

__all__ = [
    "CALENDAR_METHODS",
    "DEFAULT_PRODID",
    "EVENT_STATUSES",
    "INVITE_METHODS",
    "CalendarEvent",
    "EventStatus",
    "build_calendar",
    "build_freebusy",
    "build_invite",
    "merge_busy",
    "vtimezone",
]
