"""How people can be reached: the optional phone number on a profile.

Checked loosely on purpose: numbers are written in many ways ("0461 12 34-5",
"+49 (461) 123/45"), and the lender only reads and dials it. Anything else than digits,
spaces and + - / ( ) is refused, so the field cannot carry other text (or markup).
"""

from __future__ import annotations

import re

from booking.domain.errors import InvalidInput

PHONE_MAX_LENGTH = 40
PHONE_MIN_DIGITS = 3
_PHONE_CHARACTERS = re.compile(r"^[0-9 +\-/()]*$")


def clean_phone(text: str) -> str:
    """The phone number as it will be stored: spaces collapsed, "" for none."""
    phone = " ".join(text.replace("\u00a0", " ").split())
    if not phone:
        return ""
    if len(phone) > PHONE_MAX_LENGTH:
        raise InvalidInput("the phone number is too long (at most 40 characters)", field="phone")  # = PHONE_MAX_LENGTH
    if not _PHONE_CHARACTERS.match(phone):
        raise InvalidInput("a phone number has only digits, spaces and + - / ( )", field="phone")
    if sum(character.isdigit() for character in phone) < PHONE_MIN_DIGITS:
        raise InvalidInput("the phone number has too few digits", field="phone")
    if "+" in phone[1:]:
        raise InvalidInput("a phone number has only digits, spaces and + - / ( )", field="phone")
    return phone
