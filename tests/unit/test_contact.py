"""The optional phone number on a profile: loose on format, strict on characters and length."""

from __future__ import annotations

import pytest

from booking.domain.contact import PHONE_MAX_LENGTH, clean_phone
from booking.domain.errors import InvalidInput


@pytest.mark.parametrize("written, stored", [
    ("", ""),
    ("   ", ""),
    ("0461 12345", "0461 12345"),
    ("+49 (461) 123/45-6", "+49 (461) 123/45-6"),
    ("  0461\u00a0  123 ", "0461 123"),
    ("0461\n1234", "0461 1234"),  # white space of any kind becomes one space
])
def test_phone_numbers_written_in_the_usual_ways_are_kept(written, stored):
    assert clean_phone(written) == stored


@pytest.mark.parametrize("written", [
    "call me", "0461 1234 ext. 5", "<b>0461</b>", "0461;1234", "12", "+", "0461+123", "1" * (PHONE_MAX_LENGTH + 1),
])
def test_other_text_is_refused_at_the_field(written):
    with pytest.raises(InvalidInput) as refused:
        clean_phone(written)
    assert refused.value.field == "phone"


def test_the_longest_number_fits():
    assert clean_phone("1" * PHONE_MAX_LENGTH) == "1" * PHONE_MAX_LENGTH
