"""The booking form of a resource page: its fields, their prefill and their parsing.

One-off bookings become a ``bookings.BookingRequest``; "repeat" makes a
``series.SeriesRequest`` whose rule is in the site's local wall time (weekly every n weeks,
or monthly on the start's weekday, e.g. "every 2nd Tuesday"), ending on a date or after a
number of dates. Parsing collects every field error at once, in the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request

from booking.domain.errors import DomainError
from booking.domain.recurrence import WEEKDAYS, RecurrenceRule
from booking.services.bookings import BookingRequest
from booking.services.series import SeriesRequest
from booking.web.base import FormErrors, form_value, parse_local_datetime
from booking.web.texts import gettext, translate_message

FIELDS = ("starts_at", "ends_at", "quantity", "organisation_id", "title", "purpose", "repeat", "interval", "until", "count", "all_or_nothing")
REPEATS = ("none", "weekly", "monthly")


def local_value(value: str, timezone: str) -> str:
    """A prefill value for ``datetime-local``: ISO instants with an offset are shown in the site's
    zone; local values lose their seconds. Anything unreadable becomes empty."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return moment.strftime("%Y-%m-%dT%H:%M")


def empty_form(starts_at: str = "", ends_at: str = "", timezone: str = "Europe/Berlin") -> dict[str, str]:
    form = {name: "" for name in FIELDS}
    form.update(starts_at=local_value(starts_at, timezone), ends_at=local_value(ends_at, timezone), quantity="1", repeat="none", interval="1")
    return form


def read_form(form: Any) -> dict[str, str]:
    values = {name: form_value(form, name) for name in FIELDS}
    values["repeat"] = values["repeat"] or "none"
    return values


def monthly_position(day: date) -> int:
    """The weekday's position in its month: 1..4, or -1 for a fifth one (then it is the last)."""
    position = (day.day - 1) // 7 + 1
    return -1 if position == 5 else position


@dataclass
class Parsed:
    one_off: BookingRequest | None = None
    series: SeriesRequest | None = None


def parse(request: Request, values: dict[str, str], resource_id: int, timezone: str, capacity: int) -> tuple[Parsed, FormErrors]:
    """Form values -> a booking or series request, or the field errors."""
    errors = FormErrors()
    starts_at = ends_at = None
    for name in ("starts_at", "ends_at"):
        try:
            moment = parse_local_datetime(values[name], timezone, name)
        except DomainError as error:
            errors[name] = translate_message(request, error.message)
            continue
        if name == "starts_at":
            starts_at = moment
        else:
            ends_at = moment
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = gettext(request, "the end must be after the start")
    quantity = 1
    if capacity > 1:
        try:
            quantity = int(values["quantity"] or "1")
            if quantity < 1:
                raise ValueError
        except ValueError:
            errors["quantity"] = gettext(request, "please enter a whole number of at least 1")
    organisation_id = None
    if values["organisation_id"]:
        if values["organisation_id"].isdigit():
            organisation_id = int(values["organisation_id"])
        else:
            errors["organisation_id"] = gettext(request, "please choose from the list")
    repeat = values["repeat"]
    if repeat not in REPEATS:
        errors["repeat"] = gettext(request, "please choose from the list")
    rule = None
    if repeat in ("weekly", "monthly") and not errors:
        rule = _rule(request, values, repeat, starts_at, timezone, errors)  # type: ignore[arg-type]
    if errors:
        return Parsed(), errors
    assert starts_at is not None and ends_at is not None
    common = {"resource_id": resource_id, "quantity": quantity, "organisation_id": organisation_id,
              "title": values["title"], "purpose": values["purpose"]}
    if rule is None:
        return Parsed(one_off=BookingRequest(starts_at=starts_at, ends_at=ends_at, **common)), errors
    local_start = datetime.fromisoformat(values["starts_at"]).replace(second=0, microsecond=0, tzinfo=None)
    return Parsed(series=SeriesRequest(local_start=local_start, duration=ends_at - starts_at, rule=rule, **common)), errors


def _rule(request: Request, values: dict[str, str], repeat: str, starts_at: datetime, timezone: str, errors: FormErrors) -> RecurrenceRule | None:
    interval = 1
    if repeat == "weekly":
        try:
            interval = int(values["interval"] or "1")
        except ValueError:
            errors["interval"] = gettext(request, "please enter a whole number of at least 1")
    until = count = None
    if values["until"]:
        try:
            until = date.fromisoformat(values["until"])
        except ValueError:
            errors["until"] = gettext(request, "please enter a date like 2026-03-31")
    if values["count"]:
        try:
            count = int(values["count"])
        except ValueError:
            errors["count"] = gettext(request, "please enter a whole number of at least 1")
    if errors:
        return None
    if until is None and count is None:
        errors["until"] = gettext(request, "please enter the last date or the number of dates")
        return None
    if until is not None and count is not None:
        errors["count"] = gettext(request, "please enter either the last date or the number of dates, not both")
        return None
    local_day = starts_at.astimezone(ZoneInfo(timezone)).date()
    try:
        if repeat == "weekly":
            return RecurrenceRule(frequency="weekly", interval=interval, until=until, count=count)
        return RecurrenceRule(
            frequency="monthly", weekdays=(WEEKDAYS[local_day.weekday()],), weekday_position=monthly_position(local_day),
            until=until, count=count,
        )
    except DomainError as error:
        field = error.field if error.field in ("interval", "until", "count") else "repeat"
        errors[field] = translate_message(request, error.message)
        return None
