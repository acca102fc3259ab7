"""Words for approval decisions and quotas on pages, in the page's language.

The domain gives codes and numbers (``domain.approval.Reason``, ``domain.quotas.QuotaState``);
here they become sentences such as "Ihr Verein hat diesen Monat noch 6 von 10 Stunden."
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from litestar import Request

from booking.domain.approval import Decision, Reason
from booking.domain.quotas import HOURS_PER_MONTH, HOURS_PER_WEEK, LOAN_DAYS_PER_YEAR, QuotaState, hours_text, unit_of
from booking.web.base import page_language
from booking.web.texts import gettext


@dataclass(frozen=True)
class ReasonLine:
    text: str
    holds: bool


@dataclass(frozen=True)
class DecisionView:
    confirm_at_once: bool
    reasons: list[ReasonLine]
    quotas: list[str]


def _number(request: Request, minutes_or_count: int, unit: str) -> str:
    if unit == "hours":
        text = hours_text(minutes_or_count)
        return text.replace(".", ",") if page_language(request) == "de" else text
    return str(minutes_or_count)


def period_words(request: Request, state: QuotaState, timezone: str, now: datetime) -> str:
    """ "this month", "in February 2026", "in the week of 12 Jan 2026", ... """
    metric = state.quota.metric
    period = state.period
    if period is None:
        return ""
    current = period.starts_at <= now < period.ends_at
    start = period.starts_at.astimezone(ZoneInfo(timezone)).date()
    language = page_language(request)
    if metric == HOURS_PER_MONTH:
        if current:
            return gettext(request, "this month")
        return gettext(request, "in %(month)s", month=format_date(start, "LLLL yyyy", locale=language))
    if metric == HOURS_PER_WEEK:
        if current:
            return gettext(request, "this week")
        return gettext(request, "in the week of %(date)s", date=format_date(start, "medium", locale=language))
    if current:
        return gettext(request, "this year")
    return gettext(request, "in %(year)s", year=str(start.year))


def quota_sentence(request: Request, state: QuotaState, timezone: str, now: datetime) -> str:
    """What is left of a quota, e.g. "Ihr Verein hat diesen Monat noch 6 von 10 Stunden." """
    unit = unit_of(state.quota.metric)
    remaining = _number(request, state.remaining, unit)
    limit = str(state.quota.limit)
    organisation = state.quota.subject == "organisation"
    period = period_words(request, state, timezone, now)
    if unit == "bookings":
        if organisation:
            return gettext(request, "Your organisation can make %(remaining)s more of %(limit)s upcoming bookings.", remaining=remaining, limit=limit)
        return gettext(request, "You can make %(remaining)s more of %(limit)s upcoming bookings.", remaining=remaining, limit=limit)
    if state.quota.metric == LOAN_DAYS_PER_YEAR:
        if organisation:
            return gettext(request, "Your organisation has %(remaining)s of %(limit)s loan days left %(period)s.", remaining=remaining, limit=limit, period=period)
        return gettext(request, "You have %(remaining)s of %(limit)s loan days left %(period)s.", remaining=remaining, limit=limit, period=period)
    if organisation:
        return gettext(request, "Your organisation has %(remaining)s of %(limit)s hours left %(period)s.", remaining=remaining, limit=limit, period=period)
    return gettext(request, "You have %(remaining)s of %(limit)s hours left %(period)s.", remaining=remaining, limit=limit, period=period)


def reason_text(request: Request, reason: Reason, timezone: str, now: datetime) -> str:
    params = reason.params
    if reason.code == "quota":
        sentence = quota_sentence(request, params["state"], timezone, now)
        return sentence if reason.holds else gettext(request, "Beyond the quota: %(quota)s", quota=sentence)
    holds = reason.holds
    texts = {
        "staff": lambda: gettext(request, "You book as staff of the site."),
        "always_confirm": lambda: gettext(request, "This resource is confirmed at once when it is free."),
        "always_ask": lambda: gettext(request, "A lender of the site confirms every request for this resource."),
        "trusted_organisation": lambda: gettext(request, "You book for an organisation the site trusts.") if holds else gettext(
            request, "Only bookings for organisations the site trusts are confirmed at once."),
        "opening_hours": lambda: gettext(request, "The time lies within the site's opening hours.") if holds else gettext(
            request, "The time lies outside the site's opening hours."),
        "max_hours": lambda: gettext(request, "At most %(hours)s hours long.", hours=params["hours"]) if holds else gettext(
            request, "Longer than %(hours)s hours.", hours=params["hours"]),
        "max_days_ahead": lambda: gettext(request, "At most %(days)s days ahead.", days=params["days"]) if holds else gettext(
            request, "More than %(days)s days ahead.", days=params["days"]),
        "no_shows": lambda: gettext(request, "Only bookings for an organisation are confirmed at once here.") if not params.get(
            "organisation", True) else gettext(
            request, "Fewer than %(limit)s no-shows in the last %(days)s days.", limit=params["limit"], days=params["days"]
        ) if holds else gettext(
            request, "%(count)s no-shows in the last %(days)s days (bookings nobody came for).", count=params["count"], days=params["days"]),
    }
    make = texts.get(reason.code)
    return make() if make else reason.text


def decision_view(request: Request, decision: Decision, quotas: list[QuotaState], timezone: str, now: datetime) -> DecisionView:
    reasons = [ReasonLine(reason_text(request, reason, timezone, now), reason.holds) for reason in decision.reasons]
    shown = {id(reason.params.get("state")) for reason in decision.reasons if reason.code == "quota"}
    lines = [quota_sentence(request, state, timezone, now) for state in quotas if id(state) not in shown]
    return DecisionView(decision.confirm_at_once, reasons, lines)
