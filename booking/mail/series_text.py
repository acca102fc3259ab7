"""A series in words, in the reader's language: "jeden Dienstag, 18:00–20:00 Uhr, 8 Termine".

Used by the mail renderer (``rule_text``) so that one decision about a whole series reads as
one sentence instead of a list of dates. Pure: plain values in, a string out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_interval as babel_format_interval
from babel.dates import get_day_names

from booking.i18n import get_translations, normalise_language

_WEEKDAY_INDEX = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def _rule_parts(rrule: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in rrule.removeprefix("RRULE:").split(";"):
        if "=" in item:
            key, value = item.split("=", 1)
            parts[key.upper()] = value
    return parts


def _join(names: list[str], language: str) -> str:
    gettext = get_translations(language).gettext
    if len(names) <= 1:
        return "".join(names)
    return gettext("%(items)s and %(last)s") % {"items": ", ".join(names[:-1]), "last": names[-1]}


def _ordinal(position: int, language: str) -> str:
    gettext = get_translations(language).gettext
    if position == -1:
        return gettext("last")
    if position == -2:
        return gettext("second to last")
    words = {1: gettext("first"), 2: gettext("second"), 3: gettext("third"), 4: gettext("fourth"), 5: gettext("fifth")}
    if position > 0:
        return words.get(position, str(position))
    return gettext("%(position)s from last") % {"position": words.get(-position, str(-position))}


def describe_rule(rrule: str, local_start: datetime, language: str) -> str:
    """The repetition alone: "jeden Dienstag", "every 2 weeks on Monday and Thursday"."""
    language = normalise_language(language)
    translations = get_translations(language)
    gettext, ngettext = translations.gettext, translations.ngettext
    parts = _rule_parts(rrule)
    frequency = parts.get("FREQ", "WEEKLY").upper()
    interval = int(parts.get("INTERVAL", "1") or 1)
    day_names = get_day_names("wide", locale=language)
    byday = [code for code in parts.get("BYDAY", "").split(",") if code]
    if frequency == "DAILY":
        if interval == 1:
            return gettext("every day")
        return ngettext("every %(num)s day", "every %(num)s days", interval) % {"num": interval}
    if frequency == "WEEKLY":
        codes = [code[-2:] for code in byday] or [list(_WEEKDAY_INDEX)[local_start.weekday()]]
        names = _join([day_names[_WEEKDAY_INDEX[code]] for code in codes if code in _WEEKDAY_INDEX], language)
        if interval == 1:
            return gettext("every %(weekdays)s") % {"weekdays": names}
        return ngettext(
            "every %(num)s week on %(weekdays)s", "every %(num)s weeks on %(weekdays)s", interval
        ) % {"num": interval, "weekdays": names}
    if frequency == "MONTHLY":
        every = (
            gettext("every month")
            if interval == 1
            else ngettext("every %(num)s month", "every %(num)s months", interval) % {"num": interval}
        )
        if byday:
            code = byday[0]
            position_text = parts.get("BYSETPOS") or code[:-2] or "1"
            weekday = day_names[_WEEKDAY_INDEX.get(code[-2:], local_start.weekday())]
            return gettext("%(every)s on the %(ordinal)s %(weekday)s") % {
                "every": every, "ordinal": _ordinal(int(position_text), language), "weekday": weekday,
            }
        return gettext("%(every)s on day %(day)s") % {"every": every, "day": local_start.day}
    return gettext("repeatedly")


def describe_series(
    rrule: str, local_start: datetime, duration: timedelta, count: int, timezone: str, language: str
) -> str:
    """Rule, local time of day and the number of dates: "jeden Dienstag, 18:00–20:00 Uhr, 8 Termine"."""
    language = normalise_language(language)
    translations = get_translations(language)
    locale = Locale.parse(language)
    start = local_start.replace(tzinfo=ZoneInfo(timezone)) if local_start.tzinfo is None else local_start
    end = start + duration
    pattern = str(locale.time_formats["short"].pattern)
    skeleton = "hm" if "h" in pattern else "Hm"
    if end.date() == start.date():
        times = babel_format_interval(start.time(), end.time(), skeleton, locale=locale)
    else:
        times = babel_format_interval(start, end, "MMMEd" + skeleton, locale=locale)
    dates = translations.ngettext("%(num)s date", "%(num)s dates", count) % {"num": count}
    return f"{describe_rule(rrule, start, language)}, {times}, {dates}"


__all__ = ["describe_rule", "describe_series"]
