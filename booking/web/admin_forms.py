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
from booking.domain.opening_hours import WEEKDAYS, add_window, parse_day_text, parse_week_text
from booking.i18n import get_translations
from booking.services.admin_common import InvalidFields
from booking.web.base import FormErrors, page_language
from booking.web.base import form_value as _raw_form_value

# A row id in a path: larger numbers are refused with 400 before PostgreSQL's int4 columns
# would answer them with an error (a 500).
RowId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]



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


def parse_day_hours(text: str, field_name: str) -> list[list[str]]:
    """"09:00–18:00", "9-12, 14-18 Uhr", "18-2" (past midnight), empty or "closed" -> windows
    (see booking.domain.opening_hours.parse_day_text)."""
    return parse_day_text(text, field_name)


def opening_hours_from_form(form: Any, errors: FormErrors) -> dict[str, list[list[str]]]:
    """The week from the inputs ``opening_mon`` … ``opening_sun`` and the quick entry
    ``opening_week`` ("Mo–Fr 9–18; Sa 10–14", which sets the days it names); a bad entry is
    recorded on its field. Times past midnight continue on the next day."""
    hours: dict[str, list[list[str]]] = {day: [] for day in WEEKDAYS}
    for day in WEEKDAYS:
        name = f"opening_{day}"
        try:
            windows = parse_day_hours(form_value(form, name), name)
        except InvalidInput as error:
            errors.setdefault(name, error.message)
            continue
        for opens, closes in windows:
            add_window(hours, day, opens, closes)
    quick = form_value(form, "opening_week")
    if quick:
        try:
            named = parse_week_text(quick, "opening_week")
        except InvalidInput as error:
            errors.setdefault("opening_week", error.message)
        else:
            hours.update(named)
    return hours


def opening_hours_to_form(hours: Mapping[str, Any] | None) -> dict[str, str]:
    """The stored week as the texts of the inputs ("09:00–12:00, 14:00–18:00")."""
    hours = hours or {}
    return {
        f"opening_{day}": ", ".join(f"{opens}–{closes}" for opens, closes in hours.get(day, []))
        for day in WEEKDAYS
    }
