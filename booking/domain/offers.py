"""Rules of volunteer offers (tasks and trainings): pure functions, no I/O, ``now`` passed in.

Places are the capacity of a hidden resource of kind ``OFFER_RESOURCE_KIND``; how many are free
is decided by the booking engine (holding bookings on that resource), never by a second counter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from booking.domain.errors import InvalidInput

#: The kind of the hidden resource behind an offer's places. Such resources are no rooms, desks
#: or things: catalogue, availability, calendars, maps, admin lists and feeds leave them out.
OFFER_RESOURCE_KIND = "offer"
#: The kinds of resources people book directly (everything but the hidden offer resources).
LISTED_RESOURCE_KINDS = ("room", "desk", "item")

OFFER_KINDS = ("task", "training")
LOCATION_KINDS = ("site", "address", "online")
REPEATS = ("none", "daily", "weekly", "monthly")
ATTENDANCE = ("present", "absent")

MAX_PLACES = 500
MAX_DATES = 60
MAX_REQUIREMENTS = 10
MAX_REQUIREMENT_LENGTH = 100
MAX_TITLE = 200
MAX_DESCRIPTION = 8000
MAX_CATEGORY = 100
MAX_DURATION = timedelta(hours=24)
MAX_MESSAGE = 4000


def clean_text(value: str, limit: int, field: str, *, required: bool = False) -> str:
    value = (value or "").replace("\x00", "").strip()
    if required and not value:
        raise InvalidInput("please fill in this field", field=field)
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field)
    return value


def clean_choice(value: str, choices: Sequence[str], field: str) -> str:
    if value not in choices:
        raise InvalidInput("please choose one of the offered values", field=field)
    return value


def clean_places(value: int) -> int:
    if not 1 <= value <= MAX_PLACES:
        raise InvalidInput("between 1 and 500 places", field="places")  # = MAX_PLACES
    return value


def clean_requirements(lines: Iterable[str]) -> list[str]:
    """One requirement per line ("Führerschein B", "ab 16"); empty lines dropped, duplicates once."""
    result: list[str] = []
    for line in lines:
        text = " ".join(line.split())
        if not text or text in result:
            continue
        if len(text) > MAX_REQUIREMENT_LENGTH:
            raise InvalidInput("each requirement at most 100 characters", field="requirements")  # = MAX_REQUIREMENT_LENGTH
        result.append(text)
    if len(result) > MAX_REQUIREMENTS:
        raise InvalidInput("at most 10 requirements", field="requirements")  # = MAX_REQUIREMENTS
    return result


def check_duration(duration: timedelta) -> None:
    if duration <= timedelta(0):
        raise InvalidInput("the end must be after the start", field="ends_at")
    if duration > MAX_DURATION:
        raise InvalidInput("a date lasts at most 24 hours", field="ends_at")


def free_places(places: int, taken: int) -> int:
    """Free places of a date: the capacity minus the places held (never below 0)."""
    return max(0, places - taken)


def hours_of(starts_at: datetime, ends_at: datetime) -> float:
    """Hours a date lasts (elapsed time, so a date across a DST change counts as lived)."""
    return round((ends_at - starts_at).total_seconds() / 3600, 2)


@dataclass(frozen=True)
class AttendedDate:
    offer_title: str
    organisation_name: str
    starts_at: datetime
    ends_at: datetime
    attendance: str


def attended_hours(dates: Iterable[AttendedDate]) -> float:
    """The engagement record: hours of the dates marked present, nothing else."""
    return round(sum(hours_of(d.starts_at, d.ends_at) for d in dates if d.attendance == "present"), 2)


def may_mark_attendance(starts_at: datetime, now: datetime) -> bool:
    """Attendance is marked once the date has begun (not in advance)."""
    return now >= starts_at


@dataclass(frozen=True)
class OfferFilter:
    """The public calendar's filters."""

    from_day: date | None = None
    category: str = ""
    kind: str = ""
    site_id: int | None = None
    free_only: bool = False
    without_requirements: bool = False


def matches(
    flt: OfferFilter, *, kind: str, category: str, site_id: int, requirements: Sequence[str], free: int, local_day: date
) -> bool:
    """Whether one upcoming date of an offer passes the filters."""
    if flt.kind and kind != flt.kind:
        return False
    if flt.category and category.casefold() != flt.category.casefold():
        return False
    if flt.site_id is not None and site_id != flt.site_id:
        return False
    if flt.without_requirements and requirements:
        return False
    if flt.free_only and free <= 0:
        return False
    if flt.from_day is not None and local_day < flt.from_day:
        return False
    return True
