"""Words for pages written in Python: flash messages and the messages of domain errors.

Domain and service errors carry English messages (the API shows them as they are). Pages
show them in the page's language: fixed messages are gettext ids; the few messages with a
number or a name in them are matched by a pattern and rebuilt from a translated template.
A message without a translation stays English rather than disappearing.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request

from booking.domain.errors import DomainError
from booking.i18n import get_translations
from booking.web.base import FormErrors, page_language

# (pattern of the English message, msgid with %(name)s placeholders for the groups)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (r"^this resource must be booked at least (?P<duration>.+) in advance$", "this resource must be booked at least %(duration)s in advance"),
        (r"^a booking lasts at least (?P<duration>.+)$", "a booking lasts at least %(duration)s"),
        (r"^a booking lasts at most (?P<duration>.+)$", "a booking lasts at most %(duration)s"),
        (r"^bookings open at most (?P<duration>.+) ahead$", "bookings open at most %(duration)s ahead"),
        (r"^quantity (?P<quantity>\d+) is more than the (?P<capacity>\d+) this resource has$", "quantity %(quantity)s is more than the %(capacity)s this resource has"),
        (r"^at least (?P<number>\d+)$", "at least %(number)s"),
        (r"^at most (?P<number>\d+) characters$", "at most %(number)s characters"),
        (r"^(?P<name>.+) is not available at that time$", "%(name)s is not available at that time"),
        (r"^the resource is closed in that period(?P<reason>.*)$", "the resource is closed in that period%(reason)s"),
        (r"^the resource is blocked for repair in that period(?P<reason>.*)$", "the resource is blocked for repair in that period%(reason)s"),
        (r"^(?P<moment>\S+ \S+) does not exist in (?P<zone>\S+): the clocks skip that hour when summer time starts\. Choose another time\.$",
         "%(moment)s does not exist in %(zone)s: the clocks skip that hour when summer time starts. Choose another time."),
        (r"^(?P<moment>\S+ \S+) does not exist in (?P<zone>\S+): the clocks skip that hour when summer time starts\. This date was not booked; choose another time for it\.$",
         "%(moment)s does not exist in %(zone)s: the clocks skip that hour when summer time starts. This date was not booked; choose another time for it."),
        (r"^a booking that is (?P<status>\w+) cannot be changed$", "a booking that is %(status)s cannot be changed"),
        (r"^a booking that is (?P<status>\w+) cannot be (?P<action>[\w ]+)$", "a booking that is %(status)s cannot be %(action)s"),
        (r"^(?P<refused>\d+) of (?P<total>\d+) dates cannot be booked; nothing was booked$", "%(refused)s of %(total)s dates cannot be booked; nothing was booked"),
        (r"^(?P<refused>\d+) of (?P<total>\d+) dates cannot be moved; nothing was changed$", "%(refused)s of %(total)s dates cannot be moved; nothing was changed"),
        (r"^a loan lasts at most (?P<number>\d+) days$", "a loan lasts at most %(number)s days"),
        (r"^the quota allows (?P<limit>\d+) hours per week; (?P<remaining>[\d.]+) hours are left$", "the quota allows %(limit)s hours per week; %(remaining)s hours are left"),
        (r"^the quota allows (?P<limit>\d+) hours per month; (?P<remaining>[\d.]+) hours are left$", "the quota allows %(limit)s hours per month; %(remaining)s hours are left"),
        (r"^the quota allows (?P<limit>\d+) loan days per year; (?P<remaining>\d+) days are left$", "the quota allows %(limit)s loan days per year; %(remaining)s days are left"),
        (r"^the quota allows (?P<limit>\d+) upcoming bookings; (?P<remaining>\d+) are left$", "the quota allows %(limit)s upcoming bookings; %(remaining)s are left"),
        (r"^a kit has at most (?P<number>\d+) parts$", "a kit has at most %(number)s parts"),
        (r"^you can wait for at most (?P<number>\d+) times at once$", "you can wait for at most %(number)s times at once"),
        (r"^at most (?P<number>\d+) feeds per person; revoke one first$", "at most %(number)s feeds per person; revoke one first"),
        (r"^you are the last administrator of (?P<names>.+): please make another member an administrator first$",
         "you are the last administrator of %(names)s: please make another member an administrator first"),
    )
)
_DURATION = re.compile(r"^(?P<number>\d+) (?P<unit>days?|hours?|minutes?)$")
# Messages whose German verb or noun follows a number: (context, group) of the npgettext entry
# that carries the singular and plural (same English id, so English pages read as before).
_COUNTED: dict[str, tuple[str, str]] = {
    "%(refused)s of %(total)s dates cannot be booked; nothing was booked": ("dates", "refused"),
    "%(refused)s of %(total)s dates cannot be moved; nothing was changed": ("dates", "refused"),
}
_STATUS_WORDS = ("requested", "confirmed", "declined", "cancelled", "checked_out", "returned", "held", "expired", "no_show")


def gettext(request: Request, message: str, **params: Any) -> str:
    """``message`` in the page's language, with ``%(name)s`` placeholders filled."""
    text = get_translations(page_language(request)).gettext(message)
    return text % params if params else text


def ngettext(request: Request, singular: str, plural: str, number: int, **params: Any) -> str:
    """The singular or plural form for ``number`` in the page's language; ``%(name)s`` filled."""
    text = get_translations(page_language(request)).ngettext(singular, plural, number)
    return text % params if params else text


def _duration(request: Request, text: str) -> str:
    match = _DURATION.match(text)
    if not match:
        return text
    translations = get_translations(page_language(request))
    number = int(match["number"])
    unit = match["unit"].rstrip("s") + "s"
    singular = {"days": "%(num)d day", "hours": "%(num)d hour", "minutes": "%(num)d minute"}[unit]
    plural = {"days": "%(num)d days", "hours": "%(num)d hours", "minutes": "%(num)d minutes"}[unit]
    return translations.ngettext(singular, plural, number) % {"num": number}


def translate_message(request: Request, message: str) -> str:
    """A domain error's English message in the page's language."""
    translations = get_translations(page_language(request))
    direct = translations.gettext(message)
    if direct != message:
        return direct
    for pattern, msgid in _PATTERNS:
        match = pattern.match(message)
        if match is None:
            continue
        values = dict(match.groupdict())
        if "duration" in values:
            values["duration"] = _duration(request, values["duration"])
        if "status" in values and values["status"] in _STATUS_WORDS:
            values["status"] = translations.pgettext("status", values["status"])
        if "action" in values:
            values["action"] = translations.pgettext("action", values["action"])
        if msgid in _COUNTED:
            context, group = _COUNTED[msgid]
            return translations.npgettext(context, msgid, msgid, int(values[group])) % values
        return translations.gettext(msgid) % values
    return message


def error_fields(request: Request, error: DomainError, default_field: str = "general", known: tuple[str, ...] = ()) -> FormErrors:
    """The error as ``{field: translated message}``; a field the form does not show becomes ``general``."""
    field = error.field or default_field
    if known and field not in known:
        field = "general"
    errors = FormErrors()
    errors[field] = translate_message(request, error.message)
    return errors
