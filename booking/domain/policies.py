"""Whether a request fits the rules of a resource: lead time, duration, horizon, hours, blackouts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from booking.domain.errors import InvalidInput, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.opening_hours import OpeningHours, endpoints_in_opening_hours, within_opening_hours


@dataclass(frozen=True)
class Rules:
    """The booking rules of one resource, as plain values."""

    needs_approval: bool = False
    lead_time: timedelta = timedelta(0)
    min_duration: timedelta = timedelta(minutes=15)
    max_duration: timedelta | None = None
    max_horizon: timedelta | None = timedelta(days=365)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    opening_hours_mode: str = "contain"  # contain | endpoints | ignore
    audience: str = "public"  # public | organisations
    allowed_organisation_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Blackout:
    interval: Interval
    reason: str = ""
    kind: str = "closed"


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes >= 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes % 60 == 0 and minutes >= 60:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


def check_quantity(quantity: int, capacity: int) -> None:
    if quantity < 1:
        raise InvalidInput("quantity must be at least 1", field="quantity")
    if quantity > capacity:
        raise InvalidInput(f"quantity {quantity} is more than the {capacity} this resource has", field="quantity")


def check_request(
    rules: Rules,
    request: Interval,
    *,
    now: datetime,
    opening_hours: OpeningHours,
    timezone: str,
    blackouts: Sequence[Blackout] = (),
    bypass_lead_time: bool = False,
) -> None:
    """Raise PolicyViolation (with the field it concerns) when ``request`` breaks a rule."""
    if request.starts_at < now:
        raise PolicyViolation("the start lies in the past", field="starts_at")
    if not bypass_lead_time and request.starts_at < now + rules.lead_time:
        raise PolicyViolation(
            f"this resource must be booked at least {_minutes(rules.lead_time)} in advance", field="starts_at"
        )
    if request.duration < rules.min_duration:
        raise PolicyViolation(f"a booking lasts at least {_minutes(rules.min_duration)}", field="ends_at")
    if rules.max_duration is not None and request.duration > rules.max_duration:
        raise PolicyViolation(f"a booking lasts at most {_minutes(rules.max_duration)}", field="ends_at")
    if rules.max_horizon is not None and request.starts_at > now + rules.max_horizon:
        raise PolicyViolation(
            f"bookings open at most {_minutes(rules.max_horizon)} ahead", field="starts_at"
        )
    if rules.opening_hours_mode == "contain":
        if not within_opening_hours(opening_hours, timezone, request):
            raise PolicyViolation("the time lies outside the site's opening hours", field="starts_at")
    elif rules.opening_hours_mode == "endpoints":
        start_ok, end_ok = endpoints_in_opening_hours(opening_hours, timezone, request)
        if not start_ok:
            raise PolicyViolation("pick-up must be within the site's opening hours", field="starts_at")
        if not end_ok:
            raise PolicyViolation("return must be within the site's opening hours", field="ends_at")
    for blackout in blackouts:
        if blackout.interval.overlaps(request):
            reason = f": {blackout.reason}" if blackout.reason else ""
            what = "blocked for repair" if blackout.kind == "repair" else "closed"
            raise PolicyViolation(f"the resource is {what} in that period{reason}", field="starts_at")


def may_book(rules: Rules, organisation_id: int | None, member_of: frozenset[int]) -> bool:
    """Audience rule: everyone signed in, or members booking for one of the listed organisations."""
    if rules.audience == "public":
        return True
    return organisation_id is not None and organisation_id in rules.allowed_organisation_ids and (
        organisation_id in member_of
    )
