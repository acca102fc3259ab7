"""Languages, translations and locale-aware dates for mail and web.

German (``de``) is the default language, English (``en``) the second one. Source strings
(in Python and in templates) are English; the translations live in gettext catalogues::

    booking/translations/de/LC_MESSAGES/messages.po
    booking/translations/en/LC_MESSAGES/messages.po

The ``.po`` files are read with Babel when first needed and compiled in memory into a
``babel.support.Translations`` per language (cached per process, never at import time), so
there is no ``.mo`` compile step at install time and a changed ``.po`` needs only a restart.

Adding or changing strings
--------------------------
1. Templates: wrap text in ``{% trans %}…{% endtrans %}`` (variables as ``{% trans
   name=value %}…{{ name }}…{% endtrans %}``) or ``{{ _("…") }}``. Blocks are *trimmed*
   (line breaks and indentation collapse to one space), so wrap long sentences freely.
   Newstyle gettext is on: write ``_("Hello %(name)s", name=x)``, and a literal percent
   sign as ``%%``. Python: ``get_translations(language).gettext("…")``.
2. Extract and merge (``babel.cfg`` at the repository root lists the sources)::

       .venv/bin/pybabel extract -F babel.cfg -o var/messages.pot .
       .venv/bin/pybabel update -i var/messages.pot -d booking/translations --no-fuzzy-matching

   or simply add the ``msgid``/``msgstr`` pair to both ``.po`` files by hand.
3. Translate: German ``msgstr`` in ``de``; in ``en`` an empty ``msgstr`` falls back to the
   English ``msgid``. Fuzzy entries are ignored, as gettext does.

Per-render language in Jinja (``install_jinja_i18n``)
----------------------------------------------------
One shared Environment serves every language. The installed ``gettext``/``ngettext``/
``pgettext``/``npgettext`` are context functions: they read the template variable
``language`` of the render that calls them, and fall back to the context variable set with
``use_language()`` (a ``contextvars.ContextVar``, so each asyncio task and each thread has its
own), then to German. No global state is switched per render, so concurrent renders in
different languages cannot leak into each other. The mail renderer passes ``language`` and
also wraps the render in ``use_language``. The web layer should set ``use_language(lang)``
once per request (middleware or before-request hook; each request runs in its own task):
macros pulled in with ``{% import %}`` (without ``with context``) do not see the caller's
variables and so rely on that fallback.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    format_interval as babel_format_interval,
    format_skeleton,
    format_time,
    format_timedelta,
    get_datetime_format,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from booking import resources

LANGUAGES: tuple[str, ...] = ("de", "en")
DEFAULT_LANGUAGE = "de"
TRANSLATIONS_DIR = resources.TRANSLATIONS_DIR
DOMAIN = "messages"

_current_language: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "booking_current_language", default=None
)


def normalise_language(value: str | None) -> str:
    """Map anything language-like ("en-GB", "de_DE", "EN", an Accept-Language value) to a
    supported language; unknown or empty values give the default (German)."""
    if not value:
        return DEFAULT_LANGUAGE
    # First entry of an Accept-Language list, without its quality value.
    first = value.split(",")[0].split(";")[0].strip().lower()
    primary = first.replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def get_translations(language: str) -> Translations:
    """The gettext translations of one language, read from its ``.po`` once per process."""
    language = normalise_language(language)
    path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def preload_translations() -> None:
    """Read every language's catalogue now (the app calls it at start): reading one takes up to
    a second on a busy machine, which would otherwise land on the first request that needs it
    (the first changed feed, the first page)."""
    for language in LANGUAGES:
        get_translations(language)


def clear_cache() -> None:
    """Forget the loaded catalogues (tests, or a reload after editing a ``.po``)."""
    get_translations.cache_clear()


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Make ``language`` the current one for templates rendered in this task or thread."""
    normalised = normalise_language(language)
    token = _current_language.set(normalised)
    try:
        yield normalised
    finally:
        _current_language.reset(token)


def current_language() -> str:
    return _current_language.get() or DEFAULT_LANGUAGE


# --- dates and times ------------------------------------------------------------------


def _zone(timezone: str | ZoneInfo) -> ZoneInfo:
    return timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime given where an instant is required")
    return instant


def format_datetime_local(
    instant: datetime, timezone: str | ZoneInfo, language: str, format: str = "medium"
) -> str:
    """An instant in the site's local time, in the language's format ("03.02.2026, 18:00:00")."""
    return format_datetime(
        _aware(instant), format, tzinfo=_zone(timezone), locale=normalise_language(language)
    )


def format_date_local(
    instant: datetime | date, timezone: str | ZoneInfo, language: str, format: str = "medium"
) -> str:
    """The local calendar date of an instant (or a plain date) in the language's format."""
    if isinstance(instant, datetime):
        instant = _aware(instant).astimezone(_zone(timezone)).date()
    return format_date(instant, format, locale=normalise_language(language))


def format_time_local(
    instant: datetime | time, timezone: str | ZoneInfo, language: str, format: str = "short"
) -> str:
    """The local wall-clock time of an instant in the language's format ("18:00", "6:00 PM")."""
    if isinstance(instant, datetime):
        instant = _aware(instant).astimezone(_zone(timezone)).time()
    return format_time(instant, format, locale=normalise_language(language))


def _time_skeleton(locale: Locale) -> str:
    # The locale's own choice between a 24-hour and a 12-hour clock.
    pattern = str(locale.time_formats["short"].pattern)
    return "hm" if "h" in pattern else "Hm"


def format_interval(
    starts_at: datetime, ends_at: datetime, timezone: str | ZoneInfo, language: str
) -> str:
    """A half-open interval in local time, compact when it stays within one day.

    German: "Di., 3. Feb. 2026, 18:00–20:00 Uhr"; across days:
    "Di., 3. Feb. 2026, 18:00 – Do., 5. Feb. 2026, 10:00". English alike in its format.
    """
    zone = _zone(timezone)
    language = normalise_language(language)
    locale = Locale.parse(language)
    start = _aware(starts_at).astimezone(zone)
    end = _aware(ends_at).astimezone(zone)
    if start.date() == end.date():
        glue = str(get_datetime_format("medium", locale=locale))  # "{1}, {0}": date, time
        times = babel_format_interval(start.time(), end.time(), _time_skeleton(locale), locale=locale)
        day = format_skeleton("yMMMEd", start, locale=locale)
        return glue.replace("{1}", day).replace("{0}", times)
    return f"{format_moment(start, zone, language)} – {format_moment(end, zone, language)}"


def format_moment(instant: datetime, timezone: str | ZoneInfo, language: str) -> str:
    """One instant in local time, like ``format_interval``'s ends: "Di., 3. Feb. 2026, 18:00"."""
    language = normalise_language(language)
    locale = Locale.parse(language)
    local = _aware(instant).astimezone(_zone(timezone))
    glue = str(get_datetime_format("medium", locale=locale))
    clock = format_skeleton(_time_skeleton(locale), local, locale=locale)
    return glue.replace("{1}", format_skeleton("yMMMEd", local, locale=locale)).replace("{0}", clock)


def format_duration(delta: timedelta, language: str) -> str:
    """A duration in words ("30 Minuten", "2 days")."""
    return format_timedelta(delta, threshold=1, locale=normalise_language(language))


# --- Jinja ------------------------------------------------------------------------------


def _language_of(context: Context) -> str:
    value = context.get("language")
    if isinstance(value, str) and value:
        return normalise_language(value)
    return current_language()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return get_translations(_language_of(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, number: int) -> str:
    return get_translations(_language_of(context)).ngettext(singular, plural, number)


@pass_context
def _pgettext(context: Context, message_context: str, message: str) -> str:
    return get_translations(_language_of(context)).pgettext(message_context, message)


@pass_context
def _npgettext(context: Context, message_context: str, singular: str, plural: str, number: int) -> str:
    return get_translations(_language_of(context)).npgettext(message_context, singular, plural, number)


def install_jinja_i18n(environment: Environment) -> Environment:
    """Enable ``jinja2.ext.i18n`` (newstyle gettext, trimmed blocks) for per-render languages.

    The language of a render is its ``language`` variable (see the module docstring).
    Returns the environment for chaining.
    """
    environment.add_extension("jinja2.ext.i18n")
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    return environment

