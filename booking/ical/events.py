"""The plain values the calendar builder turns into VEVENTs. No I/O, no ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["EVENT_STATUSES", "CalendarEvent", "EventStatus"]

EventStatus = Literal["TENTATIVE", "CONFIRMED", "CANCELLED"]
EVENT_STATUSES: tuple[str, ...] = ("TENTATIVE", "CONFIRMED", "CANCELLED")


@dataclass(frozen=True)
class CalendarEvent:
    """One VEVENT: a booking, a series master (``rrule``) or an override of one occurrence.

    Instants are aware datetimes (any zone; normally UTC as stored). They are written in
    ``timezone`` (the site's IANA zone) with a TZID and a matching VTIMEZONE, never floating.

    - ``uid``: stable per booking (``booking-<id>@<host>``); ``sequence`` rises with every
      change the attendee sees; ``dtstamp``: when this representation was made.
    - ``status``: ``"TENTATIVE"`` (requested), ``"CONFIRMED"`` or ``"CANCELLED"``.
    - ``organizer_*``: the site's mailbox; ``organizer_sent_by``: the address that sends the
      invitation on the site's behalf (the service's sender; written as SENT-BY when it
      differs from the organizer); ``attendee_*``: the booker. Leave the attendee out
      of public feeds (they show busy time and resource, never who).
    - ``rrule``: an RRULE value for a series master (``RecurrenceRule.to_rrule_string``).
    - ``exdates``: occurrences left out of the series. An instant whose ``tzinfo`` is the
      ZoneInfo of ``timezone`` is written with its own wall time, so a wall time that does not
      exist (a skipped DST hour the rule still produces) can be excluded too.
    - ``recurrence_id``: the original start of the occurrence this event overrides (same rule
      for the wall time as ``exdates``).
    - ``conference_url``: the join link of an online room (RFC 7986 CONFERENCE). Only for the
      booker's own invite; feeds never set it.
    """

    uid: str
    sequence: int
    dtstamp: datetime
    starts_at: datetime
    ends_at: datetime
    timezone: str
    summary: str
    description: str | None = None
    location: str | None = None
    status: EventStatus = "CONFIRMED"
    organizer_email: str | None = None
    organizer_name: str | None = None
    organizer_sent_by: str | None = None
    attendee_email: str | None = None
    attendee_name: str | None = None
    url: str | None = None
    last_modified: datetime | None = None
    categories: Sequence[str] = field(default=())
    rrule: str | None = None
    exdates: Sequence[datetime] = field(default=())
    recurrence_id: datetime | None = None
    conference_url: str | None = None
