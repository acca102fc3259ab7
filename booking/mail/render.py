"""Render one e-mail (subject, plain text, HTML) in the recipient's language.

Templates live in ``templates/mail/``: ``<kind>.subject.txt``, ``<kind>.txt`` and
``<kind>.html`` per kind; HTML extends ``mail/_layout.html``, text extends ``mail/_layout.txt``;
both include the booking facts from ``mail/_details.*``. Strings are English gettext
``msgid``s, translated through ``booking/i18n.py`` (see there for how to add strings).
The environment trims blocks, so a text line that ends in a tag loses its newline: write
``{% endtrans +%}`` at the end of such a line to keep it.

The context is a plain dict. Keys every kind may use (all optional):

    recipient_name   the recipient's own name for the greeting ("Guten Tag Frau X,")
    site_name        the site (signature, details)
    site_address     one-line address of the site
    site_email       the site's contact mailbox (footer, "write to …")
    booking_url      the booking's page (relative paths get ``settings.base_url`` prefixed)
    timezone         IANA zone for the derived times below (default: settings.default_timezone)

Derived here in the recipient's language (pass the datetimes, not strings):

    starts_at, ends_at                     -> interval          "Di., 3. Feb. 2026, 18:00–20:00 Uhr"
    previous_starts_at, previous_ends_at   -> previous_interval
    ends_at                                -> ends_at_text      "Di., 3. Feb. 2026, 20:00"
    expires_in (timedelta)                 -> expires_in_text   "30 Minuten"
    booking_id (request_to_decide)         -> decide_url        "<base_url>/lender/requests/<id>"
    series_rrule, series_local_start (naive wall time), series_duration (timedelta),
    occurrence_count                       -> rule_text  "jeden Dienstag, 18:00–20:00 Uhr, 8 Termine"
    dates (list of (starts_at, ends_at))   -> date_lines ["Di., 3. Feb. 2026, 18:00–20:00 Uhr", …]

Series and kits (one message per decision, see booking/services/notifications.py):

    occurrence_count  how many dates of a series the message is about; the confirmed,
                      declined, cancelled and changed texts then speak of the series
    rule_text         shown as "When" instead of the single interval
    date_lines        the dates concerned, listed under the details
    parts             a kit's parts: [{"name": …, "quantity": …}], listed as "What"

Every key that ends in ``_url`` and starts with "/" is made absolute with ``base_url``.
``KINDS`` lists the keys each kind requires; a missing one raises ``MissingMailContext``.
The context must never carry another person's personal data (name, e-mail, phone): a lender
sees the organisation, a borrower sees the site — the templates show nothing else.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from booking.i18n import (
    format_duration,
    format_interval,
    format_moment,
    get_translations,
    install_jinja_i18n,
    normalise_language,
    use_language,
)
from booking.mail.compose import header_text, service_name
from booking.mail.series_text import describe_series
from booking.resources import TEMPLATES_DIR
from booking.settings import Settings

_BOOKING = ("booking_title", "resource_name", "site_name", "interval")

# kind -> context keys it requires (after derivation). Optional keys: see the docstring and
# the per-kind notes.
KINDS: dict[str, tuple[str, ...]] = {
    # to the booker, after a request that needs approval; optional booking_url
    "request_received": _BOOKING,
    # to the lenders of the site; optional organisation_name, quantity
    "request_to_decide": (*_BOOKING, "decide_url"),
    # to the booker, with the invite (REQUEST); optional site_address, booking_url
    "confirmed": _BOOKING,
    # to the booker (CANCEL when a calendar went out before); optional reason
    "declined": _BOOKING,
    # to the booker, with the invite (REQUEST, higher SEQUENCE); optional previous_interval
    "changed": _BOOKING,
    # to the booker (CANCEL); optional reason
    "cancelled": _BOOKING,
    # to the booker (CANCEL): check-in was required and nobody checked in in time
    "no_show_released": _BOOKING,
    # to the booker, reminder_hours_before the start; optional site_address, booking_url
    "reminder": _BOOKING,
    # to the borrower of an item; optional site_address, opening_hours, booking_url
    "pickup_reminder": ("resource_name", "site_name", "interval"),
    # to the borrower, the loan ended and the item is not back; optional site_address
    "overdue_borrower": ("resource_name", "site_name", "ends_at_text"),
    # to the lenders; optional organisation_name, booking_url
    "overdue_lender": ("resource_name", "site_name", "ends_at_text"),
    # to the next booker of an item that is not back yet
    "blocked_by_overdue": ("resource_name", "site_name", "interval"),
    # account mails: link_url is the one-time link; optional expires_in
    "verify_email": ("link_url",),
    "login_link": ("link_url",),
    "password_reset": ("link_url",),
    # to join an organisation; optional expires_in
    "invitation": ("organisation_name", "link_url"),
    # to the lenders of the site: a booking was cancelled without a person in it (the booker
    # deleted their account); optional organisation_name, quantity
    "cancelled_to_staff": ("resource_name", "site_name", "interval"),
    # to the operator's contact address: feedback on accessibility (the feedback form);
    # optional sender_name, sender_email, page_url
    "accessibility_feedback": ("feedback_message",),
    # to a person who asked to delete their account: the confirming link; optional expires_in
    "erase_confirm": ("link_url",),
    # to the admins of an organisation listed in the directory: a visitor's message through the
    # contact form; reply_to is the visitor's address (only in Reply-To, the visitor sees none)
    "organisation_contact": ("organisation_name", "contact_message", "sender_name", "reply_to"),
    # to the admins of an organisation: someone asks to join; requester_name, link_url (the
    # organisation page); optional join_message
    "join_request_to_admins": ("organisation_name", "requester_name", "link_url"),
    # to the person who asked to join: approved (optional link_url) or declined (optional reason)
    "join_request_approved": ("organisation_name",),
    "join_request_declined": ("organisation_name",),
    # to the city administrators: a person registered a new association (requester_name) that
    # waits for confirmation; link_url is its administration page
    "organisation_to_confirm": ("organisation_name", "requester_name", "link_url"),
    # to the administrators of an association the city confirmed: it can book now; optional link_url
    "organisation_confirmed": ("organisation_name",),
    # to the first person on a waiting list for whom a freed slot fits: a booking is held for
    # them until hold_expires_at; waiting_entry_id and booking_id -> offer_url (signed here, by
    # the worker: the outbox row carries no secret)
    "waiting_list_offer": (*_BOOKING, "offer_url", "hold_expires_text"),
    # to the same person once, some hours before a long hold runs out unanswered (the same link)
    "waiting_list_hold_reminder": (*_BOOKING, "offer_url", "hold_expires_text"),
    # to the same person when the hold ran out unanswered
    "waiting_list_expired": _BOOKING,
    # to a person the site's staff or an offer's organisers took off a waiting list
    "waiting_list_removed": _BOOKING,
    # volunteer offers (services/offer_signups.py): the double opt-in link of a sign-up by e-mail
    # (link_url, optional expires_in, dates); the confirmation with the invite and the one-time
    # cancel_url; the cancel (CANCEL; optional by_organiser); the reminder before the date; an
    # organiser's message (message_text) to the participants of a date
    "offer_signup_confirm": ("offer_title", "link_url"),
    "offer_confirmed": ("offer_title", "interval", "cancel_url"),
    "offer_cancelled": ("offer_title", "interval"),
    "offer_reminder": ("offer_title", "interval"),
    "offer_message": ("offer_title", "interval", "message_text"),
    # volunteer offers (services/offer_dates.py): an organiser moved a date (REQUEST with a
    # higher SEQUENCE; optional previous_interval); removed a date someone waited for
    "offer_date_moved": ("offer_title", "interval"),
    "offer_waiting_ended": ("offer_title", "interval"),
    # moved a date someone waits for: they stay in line (optional previous_interval); one holding
    # an offered place gets hold_expires_text and the signed offer_url as in waiting_list_offer
    "offer_waiting_moved": ("offer_title", "interval"),
}

# Defaults so that templates can test optional keys without StrictUndefined errors.
_OPTIONAL: dict[str, Any] = {
    "recipient_name": None,
    "booking_title": None,
    "site_name": None,
    "site_address": None,
    "site_email": None,
    "booking_url": None,
    "organisation_name": None,
    "quantity": 1,
    "reason": None,
    "previous_interval": None,
    "opening_hours": None,
    "expires_in_text": None,
    "has_calendar": False,
    "occurrence_count": None,
    "rule_text": None,
    "date_lines": (),
    "parts": (),
    "sender_name": None,
    "sender_email": None,
    "page_url": None,
    "reply_to": None,
    "join_message": None,
    "link_url": None,
    "hold_expires_text": None,
    "offer_title": None,
    "offer_url": None,
    "cancel_url": None,
    "contact_name": None,
    "by_organiser": False,
    "message_text": None,
}


class MissingMailContext(KeyError):
    """A template kind was rendered without a key it needs."""


class UnknownMailKind(ValueError):
    """No templates exist for this kind."""


@dataclasses.dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    language: str
    sender_name: str
    # The site's mailbox for Reply-To, or the ``reply_to`` of the context (the sender of a
    # contact message); "" when there is none.
    reply_to: str = ""


@functools.cache
def mail_environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    """The Jinja environment for mail, one per process (made on first use, not at import)."""
    environment = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return install_jinja_i18n(environment)


def prepare_context(
    kind: str, context: Mapping[str, Any], *, settings: Settings, language: str
) -> dict[str, Any]:
    """Defaults + caller's keys + values derived in the recipient's language."""
    if kind not in KINDS:
        raise UnknownMailKind(kind)
    values: dict[str, Any] = {**_OPTIONAL, **context}
    zone = values.get("timezone") or settings.default_timezone
    values["timezone"] = zone
    values["language"] = language
    values["base_url"] = settings.base_url.rstrip("/")

    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if "interval" not in context and isinstance(starts_at, datetime) and isinstance(ends_at, datetime):
        values["interval"] = format_interval(starts_at, ends_at, zone, language)
    before_start, before_end = values.get("previous_starts_at"), values.get("previous_ends_at")
    if not context.get("previous_interval") and isinstance(before_start, datetime) and isinstance(before_end, datetime):
        values["previous_interval"] = format_interval(before_start, before_end, zone, language)
    if "ends_at_text" not in context and isinstance(ends_at, datetime):
        values["ends_at_text"] = format_moment(ends_at, zone, language)
    expires_in = values.get("expires_in")
    if not context.get("expires_in_text") and isinstance(expires_in, timedelta):
        values["expires_in_text"] = format_duration(expires_in, language)
    rrule, series_start, series_duration = (
        values.get("series_rrule"), values.get("series_local_start"), values.get("series_duration")
    )
    if (
        not context.get("rule_text") and isinstance(rrule, str) and isinstance(series_start, datetime)
        and isinstance(series_duration, timedelta) and values.get("occurrence_count")
    ):
        values["rule_text"] = describe_series(
            rrule, series_start, series_duration, int(values["occurrence_count"]), zone, language
        )
    if not context.get("date_lines") and values.get("dates"):
        values["date_lines"] = [format_interval(start, end, zone, language) for start, end in values["dates"]]
    hold_expires_at = values.get("hold_expires_at")
    if "hold_expires_text" not in context and isinstance(hold_expires_at, datetime):
        values["hold_expires_text"] = format_moment(hold_expires_at, zone, language)
    if kind in ("waiting_list_offer", "waiting_list_hold_reminder", "offer_waiting_moved") and values.get("waiting_entry_id") is not None and values.get("booking_id") is not None:
        from booking.auth.tokens import sign_waiting_list_offer

        token = sign_waiting_list_offer(settings.secret_key, int(values["waiting_entry_id"]), int(values["booking_id"]))
        values["offer_url"] = f"/waiting-list/offers/{token}"
    if kind == "request_to_decide" and "decide_url" not in context and values.get("booking_id") is not None:
        values["decide_url"] = f"/lender/requests/{int(values['booking_id'])}"

    for key, value in list(values.items()):
        if key.endswith("_url") and isinstance(value, str) and value.startswith("/"):
            values[key] = values["base_url"] + value

    missing = [key for key in KINDS[kind] if values.get(key) in (None, "")]
    if missing:
        raise MissingMailContext(f"mail {kind!r} needs context keys: {', '.join(missing)}")
    return values


def render_mail(
    kind: str,
    *,
    settings: Settings,
    language: str | None,
    context: Mapping[str, Any],
    has_calendar: bool = False,
    environment: Environment | None = None,
) -> RenderedMail:
    """Subject, text and HTML of one mail of ``kind`` in ``language`` (de if unknown)."""
    language = normalise_language(language)
    values = prepare_context(kind, context, settings=settings, language=language)
    values["has_calendar"] = has_calendar
    environment = environment or mail_environment()
    with use_language(language):
        subject = " ".join(environment.get_template(f"mail/{kind}.subject.txt").render(values).split())
        # The HTML layout shows the subject as its (escaped) title.
        values["subject"] = subject
        text = environment.get_template(f"mail/{kind}.txt").render(values)
        html = environment.get_template(f"mail/{kind}.html").render(values)
    return RenderedMail(
        subject=subject,
        text=_tidy_text(text),
        html=html,
        language=language,
        sender_name=_sender_name(values.get("site_name"), settings, language),
        reply_to=str(values.get("reply_to") or values.get("site_email") or ""),
    )


def _sender_name(site_name: object, settings: Settings, language: str) -> str:
    """The From display name: "<site> via <service>" for mail about a site (the address is
    always the service's, see ``booking.mail.compose``), else the service's name."""
    gettext = get_translations(language).gettext
    service = service_name(settings) or gettext("Booking service")
    site = header_text(str(site_name or ""))
    if not site:
        return service
    return gettext("%(site)s via %(service)s") % {"site": site, "service": service}


def _tidy_text(text: str) -> str:
    """At most one empty line in a row, no trailing spaces, one final newline."""
    # "-- " (with its space) is the signature separator mail clients recognise.
    lines = [line.rstrip() if line.rstrip() != "--" else "-- " for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line == "" and (not tidy or tidy[-1] == ""):
            continue
        tidy.append(line)
    while tidy and tidy[-1] == "":
        tidy.pop()
    return "\n".join(tidy) + "\n"
