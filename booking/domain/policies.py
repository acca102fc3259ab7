"""Whether a request fits the rules of a resource: lead time, duration, horizon, hours, blackouts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from booking.domain.approval import ApprovalRule
from booking.domain.errors import InvalidInput, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.opening_hours import OpeningHours, endpoints_in_opening_hours, within_opening_hours


@dataclass(frozen=True)
class Rules:
    """The booking rules of one resource, as plain values."""

    approval: ApprovalRule = field(default_factory=ApprovalRule)
    lead_time: timedelta = timedelta(0)
    min_duration: timedelta = timedelta(minutes=15)
    max_duration: timedelta | None = None
    max_horizon: timedelta | None = timedelta(days=365)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    opening_hours_mode: str = "contain"  # contain | endpoints | ignore
    audience: str = "public"  # public | organisations
    allowed_organisation_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def always_asks(self) -> bool:
        """A lender decides every request (the old "needs approval" switch)."""
        return self.approval.mode == "ask"


#: How far in the past a start may lie and still be judged by the rules (a form sent a minute
#: late, clocks a little apart): it is refused as "in the past" like any other rule. Anything
#: earlier is refused up front as invalid input, before any search or expansion is done.
PAST_GRACE = timedelta(minutes=5)
#: The farthest ahead anything may be booked, whatever a policy says: a policy without a
#: horizon means "as far as the service allows", never "forever". Equal to the largest
#: horizon an administrator may set.
MAX_HORIZON = timedelta(days=10 * 366)


def horizon_of(rules: Rules) -> timedelta:
    """How far ahead this resource may be booked: its policy's horizon, capped by ``MAX_HORIZON``."""
    return MAX_HORIZON if rules.max_horizon is None else min(rules.max_horizon, MAX_HORIZON)


def check_start_in_window(rules: Rules, starts_at: datetime, *, now: datetime, field: str = "starts_at") -> None:
    """Refuse a start that lies in the past (beyond ``PAST_GRACE``) or beyond the horizon.

    Raised as ``InvalidInput`` (HTTP 400): such a request is refused up front, before the
    per-date checks and the search for alternatives, which are only bounded inside this window.
    """
    if starts_at < now - PAST_GRACE:
        raise InvalidInput("the start lies in the past", field=field)
    horizon = horizon_of(rules)
    if starts_at > now + horizon:
        raise InvalidInput(f"bookings open at most {_minutes(horizon)} ahead", field=field)


def check_day_in_range(day: date, *, today: date, field: str = "day") -> None:
    """Refuse a calendar day further than ``MAX_HORIZON`` from ``today`` (either way).

    Nothing can be booked there, and days near year 1 or 9999 make the local-time arithmetic
    overflow; a plain 400 with the reason is the honest answer.
    """
    if abs(day.toordinal() - today.toordinal()) > MAX_HORIZON.days:
        raise InvalidInput(f"choose a day within {MAX_HORIZON.days // 366} years of today", field=field)


@dataclass(frozen=True)
class Blackout:
    interval: Interval
    reason: str = ""
    kind: str = "closed"


def _minutes(delta: timedelta) -> str:
    """English words for the API ("1 hour", "2 days"); pages translate them (web.texts)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes >= 24 * 60:
        number, unit = minutes // (24 * 60), "day"
    elif minutes % 60 == 0 and minutes >= 60:
        number, unit = minutes // 60, "hour"
    else:
        number, unit = minutes, "minute"
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


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
    if request.duration > MAX_HORIZON:
        # Without a maximum of its own a booking still ends within the service's horizon; the
        # opening-hours check below walks the days of the booking.
        raise PolicyViolation(f"a booking lasts at most {_minutes(MAX_HORIZON)}", field="ends_at")
    if request.starts_at > now + horizon_of(rules):
        raise PolicyViolation(
            f"bookings open at most {_minutes(horizon_of(rules))} ahead", field="starts_at"
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
