"""Form parsing and messages shared by the lender and administration pages.

Parsers read one field of a submitted form and, on bad input, record a message on that
field in a ``FormErrors`` (so every bad field is reported at once) instead of raising.
Messages are English source strings; ``translate_errors`` turns them into the page's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from litestar import Request
from litestar.params import PathParameter

from booking.domain.errors import DomainError, InvalidInput
from booking.domain.opening_hours import WEEKDAYS
from booking.i18n import get_translations
from booking.services.administration import InvalidFields
from booking.web.base import FormErrors, page_language
from booking.web.base import form_value as _raw_form_value

# A row id in a path: larger numbers are refused with 400 before PostgreSQL's int4 columns
# would answer them with an error (a 500).
RowId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]

WINDOW_SEPARATOR = re.compile(r"\s*(?:–|—|-|\bbis\b|\bto\b)\s*", re.IGNORECASE)
CLOSED_WORDS = frozenset({"", "closed", "geschlossen", "-", "–"})


def form_value(form: Any, name: str, default: str = "") -> str:
    """The trimmed text of a field, without NUL characters (PostgreSQL text cannot hold them)."""
    return _raw_form_value(form, name, default).replace("\x00", "")


def translate(request: Request, message: str, **values: Any) -> str:
    """``message`` in the page's language; ``%(name)s`` placeholders filled from ``values``."""
    text = get_translations(page_language(request)).gettext(message)
    return text % values if values else text


def translate_errors(request: Request, errors: Mapping[str, str]) -> FormErrors:
    return FormErrors({name: translate(request, message) for name, message in errors.items()})


def merge_error(errors: FormErrors, error: DomainError, default_field: str = "general") -> FormErrors:
    """Add a service error (one field, or all of ``InvalidFields``) without overwriting parse errors."""
    if isinstance(error, InvalidFields):
        for name, message in error.errors.items():
            errors.setdefault(name, message)
    else:
        errors.setdefault(error.field or default_field, error.message)
    return errors


def form_values(form: Any, names: Iterable[str]) -> dict[str, str]:
    return {name: form_value(form, name) for name in names}


def whole_number(form: Any, name: str, errors: FormErrors, *, optional: bool = False) -> int | None:
    """A whole number; empty is None where ``optional`` (the service judges the range)."""
    text = form_value(form, name)
    if not text:
        if not optional:
            errors.setdefault(name, "This field is required.")
        return None
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        errors.setdefault(name, "Please enter a whole number.")
        return None
    return int(text)


def decimal_number(form: Any, name: str, errors: FormErrors) -> float | None:
    """A decimal number with a point or a German decimal comma; empty is None."""
    text = form_value(form, name).replace(" ", "")
    if not text:
        return None
    if not re.fullmatch(r"[+-]?\d{1,3}(?:[.,]\d{1,12})?", text):
        errors.setdefault(name, "Please enter a decimal number like 54.7836.")
        return None
    return float(text.replace(",", "."))


def small_id(text: str) -> int | None:
    """A row id typed into a form or query ("12"), or None when it is not one."""
    return int(text) if re.fullmatch(r"\d{1,9}", text or "") else None


def checkbox(form: Any, name: str) -> bool:
    return form_value(form, name) in {"1", "on", "true", "yes"}


def all_values(form: Any, name: str) -> list[str]:
    if form is None:
        return []
    if hasattr(form, "getall"):
        try:
            return [str(v).replace("\x00", "") for v in form.getall(name)]
        except KeyError:
            return []
    value = form.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _clock(text: str) -> str:
    """"9" -> "09:00", "9.30" -> "09:30"; anything else is passed on for the domain to judge."""
    text = text.strip().replace(".", ":")
    if re.fullmatch(r"\d{1,2}", text):
        return f"{int(text):02d}:00"
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    return text


def parse_day_hours(text: str, field_name: str) -> list[list[str]]:
    """"09:00–18:00" or "09:00–12:00, 14:00–18:00" (empty or "closed": closed) -> windows."""
    text = text.strip()
    if text.lower() in CLOSED_WORDS:
        return []
    windows = []
    for piece in re.split(r"[,;]", text):
        if not piece.strip():
            continue
        parts = WINDOW_SEPARATOR.split(piece.strip())
        if len(parts) != 2 or not all(parts):
            raise InvalidInput("Please enter times like 09:00–18:00.", field=field_name)
        windows.append([_clock(parts[0]), _clock(parts[1])])
    return windows


def opening_hours_from_form(form: Any, errors: FormErrors) -> dict[str, list[list[str]]]:
    """The week from the inputs ``opening_mon`` … ``opening_sun``; a bad day is recorded on its field."""
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        name = f"opening_{day}"
        try:
            hours[day] = parse_day_hours(form_value(form, name), name)
        except InvalidInput as error:
            errors.setdefault(name, error.message)
    return hours


def opening_hours_to_form(hours: Mapping[str, Any] | None) -> dict[str, str]:
    """The stored week as the texts of the inputs ("09:00–12:00, 14:00–18:00")."""
    hours = hours or {}
    return {
        f"opening_{day}": ", ".join(f"{opens}–{closes}" for opens, closes in hours.get(day, []))
        for day in WEEKDAYS
    }
