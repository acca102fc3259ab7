"""The gettext catalogues: every user-visible string has a German translation.

Strings are extracted the way ``pybabel extract -F babel.cfg`` does (Babel's extraction API
with the method map of ``babel.cfg``), then looked up in the German catalogue. The raw
``.po`` text is checked too, because ``read_po`` merges duplicate entries silently.
"""

from __future__ import annotations

import configparser
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from booking.i18n import TRANSLATIONS_DIR
from booking.web.texts import translate_message

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = {language: TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po" for language in ("de", "en")}

# Contexts used as ``pgettext("context", variable)``: the real ids are the booking statuses and
# action words, checked in test_status_and_action_words. Some Babel releases extract such a call
# as a message whose id is the context itself, newer ones extract nothing; either is fine, so the
# tests below neither require nor forbid that artefact.
VARIABLE_CONTEXTS: frozenset[str] = frozenset({"status", "action"})

# ``pgettext("ctx", something)`` where ``something`` is not a string literal.
_PGETTEXT_WITH_VARIABLE = re.compile(r"""pgettext\(\s*["'](?P<context>\w+)["']\s*,\s*(?![\s"'])""")


def _is_variable_context_artefact(context: str | None, message_id: str) -> bool:
    return context in VARIABLE_CONTEXTS and message_id == context

# A printf placeholder (``%(name)s``, ``%d``, ``%s``); ``%%`` is a literal percent sign.
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?(?P<type>[diouxXeEfFgGcrsa%])")


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "babel.cfg", encoding="utf-8")
    method_map: list[tuple[str, str]] = []
    options_map: dict[str, dict[str, str]] = {}
    for section in parser.sections():
        method, pattern = (part.strip() for part in section.split(":", 1))
        method_map.append((pattern, method))
        options_map[pattern] = dict(parser.items(section))
    return method_map, options_map


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    method_map, options_map = _method_map()
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _catalogue(language: str) -> Catalog:
    with CATALOGUES[language].open("rb") as handle:
        return read_po(handle, locale=language)


def _translated(message: Message | None) -> bool:
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return all(strings)


def _placeholders(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for match in _PLACEHOLDER.finditer(text):
        if match["type"] == "%":
            continue
        found[f"%({match['name']})" if match["name"] is not None else f"%{match['type']}"] += 1
    return found


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


def test_extraction_finds_the_sources(extracted: Catalog) -> None:
    files = {filename for message in extracted for filename, _ in message.locations}
    assert any(name.startswith("templates/") or name.startswith("templates\\") for name in files)
    assert any(name.startswith("booking") for name in files)
    assert len(extracted) > 100


def test_every_extracted_message_has_a_german_translation(extracted: Catalog) -> None:
    german = _catalogue("de")
    missing = []
    for message in extracted:
        if not message.id:
            continue
        key = (message.context, _ids(message)[0])
        if _is_variable_context_artefact(*key):
            continue
        if not _translated(german.get(message.id, context=message.context)):
            where = ", ".join(f"{filename}:{lineno}" for filename, lineno in message.locations[:2])
            missing.append(f"{key!r} ({where})")
    assert not missing, "no German translation for:\n" + "\n".join(missing)


def test_variable_contexts_are_the_ones_the_sources_use() -> None:
    """The list of variable contexts is read from the sources, not from what the extractor makes of them."""
    used = set()
    for path in (ROOT / "booking").rglob("*.py"):
        used |= {match["context"] for match in _PGETTEXT_WITH_VARIABLE.finditer(path.read_text("utf-8"))}
    assert used == set(VARIABLE_CONTEXTS)


def test_variable_context_pattern_finds_calls_with_variables_only() -> None:
    assert _PGETTEXT_WITH_VARIABLE.search('translations.pgettext("status", values["status"])')
    assert not _PGETTEXT_WITH_VARIABLE.search('pgettext("status", "confirmed")')


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_catalogue_parses_without_errors(language: str) -> None:
    with CATALOGUES[language].open("rb") as handle:
        catalog = read_po(handle, locale=language, abort_invalid=True)
    assert len(catalog) > 100


def _raw_entries(text: str) -> list[tuple[str | None, str, int]]:
    """(msgctxt, msgid, line) of every top-level (not obsolete) entry in a .po text."""

    def unquote(literal: str) -> str:
        return literal[1:-1]  # escapes stay escaped: equal ids have equal source text

    entries = []
    lines = text.splitlines()
    context: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        keyword = line.split(" ", 1)[0]
        if keyword in ("msgctxt", "msgid"):
            start = index
            value = unquote(line[len(keyword) + 1 :].strip())
            while index + 1 < len(lines) and lines[index + 1].startswith('"'):
                index += 1
                value += unquote(lines[index].strip())
            if keyword == "msgctxt":
                context = value
            else:
                entries.append((context, value, start + 1))
                context = None
        index += 1
    return entries


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_catalogue_has_no_duplicate_entries(language: str) -> None:
    entries = _raw_entries(CATALOGUES[language].read_text(encoding="utf-8"))
    assert len(entries) > 100
    lines: dict[tuple[str | None, str], list[int]] = {}
    for context, msgid, line in entries:
        lines.setdefault((context, msgid), []).append(line)
    duplicates = {key: where for key, where in lines.items() if len(where) > 1}
    assert not duplicates, f"duplicate entries in {language}: {duplicates}"


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_placeholders_match(language: str) -> None:
    wrong = []
    for message in _catalogue(language):
        if not message.id:
            continue
        ids = _ids(message)
        for index, string in enumerate(_strings(message)):
            if not string:
                continue
            if len(ids) == 1:
                expected = _placeholders(ids[0])
                ok = _placeholders(string) == expected
            else:
                # Plural forms: each form uses the placeholders of the singular or the plural id
                # (a singular form may spell out "one" instead of the number).
                allowed = set(_placeholders(ids[0])) | set(_placeholders(ids[1]))
                names = set(_placeholders(string))
                ok = names <= allowed and (index == 0 or names == set(_placeholders(ids[1])))
            if not ok:
                wrong.append(f"{message.context!r} {ids[0]!r} -> {string!r}")
    assert not wrong, f"placeholders differ in {language}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("context", ["status", "action"])
def test_status_and_action_words(context: str) -> None:
    words = {
        "status": ("requested", "confirmed", "declined", "cancelled", "checked_out", "returned"),
        "action": ("approved", "declined", "cancelled", "handed out", "taken back"),
    }[context]
    german = _catalogue("de")
    for word in words:
        assert _translated(german.get(word, context=context)), (context, word)


def _request(language: str) -> SimpleNamespace:
    return SimpleNamespace(scope={"state": {"language": language}})


# Service and domain error messages that reach pages, in the English the services raise.
PAGE_ERRORS = (
    "the start lies in the past",
    "the time lies outside the site's opening hours",
    "pick-up must be within the site's opening hours",
    "return must be within the site's opening hours",
    "this resource must be booked at least 2 hours in advance",
    "this resource must be booked at least 2 days in advance",
    "at most 5 feeds per person; revoke one first",
    "a booking lasts at least 30 minutes",
    "a booking lasts at most 4 hours",
    "bookings open at most 90 days ahead",
    "the resource is closed in that period",
    "the resource is closed in that period: Sommerferien",
    "the resource is blocked for repair in that period: new tyres",
    "quantity must be at least 1",
    "quantity 3 is more than the 2 this resource has",
    "Lastenrad Emma is not available at that time",
    "the resource is not available at that time",
    "a part of the kit is not available at that time",
    "you may not change this booking",
    "you may not cancel this booking",
    "you are not a member of this organisation",
    "please give a reason for the booker",
    "only lenders of this site may approve",
    "only lenders of this site may decline",
    "only lenders of this site may hand things out",
    "only lenders of this site may take things back",
    "only lenders of this site may do this",
    "you may not cancel this series",
    "you may not change this series",
    "no date of this series is left to change",
    "3 of 10 dates cannot be booked; nothing was booked",
    "1 of 4 dates cannot be moved; nothing was changed",
    "the resource is not available at one of the dates; nothing was booked",
    "the resource is not available at one of the new times; nothing was changed",
    "a loan lasts at most 14 days",
    "a kit has at most 10 parts",
    "at most 200 characters",
    "a name is required",
    "an account with this e-mail address exists already",
    "please give the token a name (what is it for?)",
    "please choose a lifetime from the list",
    "new tokens can only be made when logged in with a password or e-mail link, not with a token",
    "you have too many tokens; please revoke one you no longer use",
    "choose a day within 10 years of today",
    "text must not contain the NUL character (\\0)",
    "a number or id is too large",
    "ask for at most 400 days at once",
    "a booking lasts at most 3660 days",
)


@pytest.mark.parametrize("message", PAGE_ERRORS)
def test_page_errors_are_german(message: str) -> None:
    german = translate_message(_request("de"), message)  # type: ignore[arg-type]
    assert german != message
    assert not _PLACEHOLDER.search(german.replace("%%", "")), german
    assert translate_message(_request("en"), message) == message  # type: ignore[arg-type]
