"""Approval rules: is a request confirmed at once, or does a lender decide? And why.

One rule per resource. ``mode``: ``confirm`` (always confirmed at once when free), ``ask``
(a lender decides every request) or ``rules`` (confirmed at once when ALL its conditions
hold, otherwise a lender decides). A condition left empty is not asked. Quotas that ask
(``enforcement == "ask"``) send a request beyond them to the lender in every mode.

``decide`` is the one function the booking preview and the real booking both call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from booking.domain.intervals import Interval
from booking.domain.opening_hours import OpeningHours, endpoints_in_opening_hours, within_opening_hours
from booking.domain.quotas import QuotaState, describe_exceeded

MODES = ("confirm", "ask", "rules")


@dataclass(frozen=True)
class ApprovalRule:
    mode: str = "confirm"
    trusted_organisation_ids: frozenset[int] = field(default_factory=frozenset)
    within_opening_hours: bool = False
    max_hours: int | None = None
    max_days_ahead: int | None = None
    # Fewer than ``max_no_shows`` no-shows of the organisation in the last ``no_show_days``.
    max_no_shows: int | None = None
    no_show_days: int = 365

    @property
    def needs_no_shows(self) -> bool:
        return self.mode == "rules" and self.max_no_shows is not None


@dataclass(frozen=True)
class ApprovalFacts:
    """What the decision needs to know about one request."""

    interval: Interval
    now: datetime
    organisation_id: int | None
    is_staff: bool
    opening_hours: OpeningHours
    timezone: str
    opening_hours_mode: str = "contain"
    quotas: Sequence[QuotaState] = ()
    # No-shows of the organisation in the rule's window (None: not loaded / no organisation).
    no_shows: int | None = None


@dataclass(frozen=True)
class Reason:
    """One reason of a decision: a code, its English words (API) and values for pages."""

    code: str
    text: str
    holds: bool
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    confirm_at_once: bool
    reasons: tuple[Reason, ...]

    @property
    def outcome(self) -> str:
        return "confirmed" if self.confirm_at_once else "requested"


def decide(rule: ApprovalRule, facts: ApprovalFacts) -> Decision:
    """Confirm at once, or ask the lender, with the reasons (the conditions and how they fared)."""
    if facts.is_staff:
        return Decision(True, (Reason("staff", "you book as staff of the site", True),))
    asking_quotas = [state for state in facts.quotas if state.quota.enforcement == "ask"]
    quota_reasons = tuple(_quota_reason(state) for state in asking_quotas)
    quotas_hold = all(reason.holds for reason in quota_reasons)
    if rule.mode == "ask":
        return Decision(False, (Reason("always_ask", "a lender confirms every request of this resource", False),))
    if rule.mode == "confirm":
        if quotas_hold:
            return Decision(True, (Reason("always_confirm", "this resource is confirmed at once when free", True), *quota_reasons))
        return Decision(False, tuple(reason for reason in quota_reasons if not reason.holds))
    reasons: list[Reason] = []
    if rule.trusted_organisation_ids:
        trusted = facts.organisation_id is not None and facts.organisation_id in rule.trusted_organisation_ids
        reasons.append(Reason(
            "trusted_organisation",
            "you book for an organisation the site trusts" if trusted else "only bookings for organisations the site trusts are confirmed at once",
            trusted,
        ))
    if rule.within_opening_hours:
        inside = _inside_opening_hours(facts)
        reasons.append(Reason(
            "opening_hours",
            "the time lies within the site's opening hours" if inside else "the time lies outside the site's opening hours",
            inside,
        ))
    if rule.max_hours is not None:
        short = facts.interval.duration <= timedelta(hours=rule.max_hours)
        reasons.append(Reason(
            "max_hours",
            f"at most {rule.max_hours} hours long" if short else f"longer than {rule.max_hours} hours",
            short, {"hours": rule.max_hours},
        ))
    if rule.max_days_ahead is not None:
        near = facts.interval.starts_at <= facts.now + timedelta(days=rule.max_days_ahead)
        reasons.append(Reason(
            "max_days_ahead",
            f"at most {rule.max_days_ahead} days ahead" if near else f"more than {rule.max_days_ahead} days ahead",
            near, {"days": rule.max_days_ahead},
        ))
    if rule.max_no_shows is not None:
        count = facts.no_shows or 0
        few = facts.organisation_id is not None and count < rule.max_no_shows
        if facts.organisation_id is None:
            text = "only bookings for an organisation with few no-shows are confirmed at once"
        elif few:
            text = f"fewer than {rule.max_no_shows} no-shows in the last {rule.no_show_days} days"
        else:
            text = f"{count} no-shows in the last {rule.no_show_days} days"
        reasons.append(Reason("no_shows", text, few, {
            "count": count, "limit": rule.max_no_shows, "days": rule.no_show_days, "organisation": facts.organisation_id is not None,
        }))
    reasons.extend(quota_reasons)
    confirm = all(reason.holds for reason in reasons)
    if confirm:
        return Decision(True, tuple(reasons) or (Reason("always_confirm", "this resource is confirmed at once when free", True),))
    return Decision(False, tuple(reason for reason in reasons if not reason.holds))


def _inside_opening_hours(facts: ApprovalFacts) -> bool:
    if facts.opening_hours_mode == "endpoints":
        return all(endpoints_in_opening_hours(facts.opening_hours, facts.timezone, facts.interval))
    return within_opening_hours(facts.opening_hours, facts.timezone, facts.interval)


def _quota_reason(state: QuotaState) -> Reason:
    if state.fits:
        return Reason("quota", "within the quota", True, {"state": state})
    return Reason("quota", describe_exceeded(state), False, {"state": state})
