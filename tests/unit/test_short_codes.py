"""Short codes of resources: round trip, typing mistakes caught, look-alikes read kindly."""

from __future__ import annotations

import pytest

from booking.domain.short_codes import ALPHABET, code_for, resource_id_for


def test_codes_round_trip_and_have_a_fixed_minimum_length() -> None:
    for resource_id in [*range(1, 3000), 32_767, 32_768, 10**9, 2**60 - 1]:
        code = code_for(resource_id)
        assert resource_id_for(code) == resource_id
        assert len(code) >= 4
        assert set(code) <= set(ALPHABET)
    assert code_for(1) == code_for(1)  # derived, not random: labels stay valid
    assert len(code_for(32_767)) == 4 and len(code_for(32_768)) == 5


def test_every_single_mistyped_symbol_is_refused() -> None:
    for resource_id in (1, 42, 777, 31_000, 123_456):
        code = code_for(resource_id)
        for position in range(len(code)):
            for symbol in ALPHABET:
                if symbol == code[position]:
                    continue
                typo = code[:position] + symbol + code[position + 1:]
                assert resource_id_for(typo) is None, (code, typo)


def test_swapped_neighbours_are_refused_mostly() -> None:
    caught = total = 0
    for resource_id in range(1, 5000):
        code = code_for(resource_id)
        for position in range(len(code) - 1):
            if code[position] == code[position + 1]:
                continue
            total += 1
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
            caught += resource_id_for(swapped) is None
    assert caught / total > 0.95


def test_case_hyphens_and_look_alikes_are_read_kindly() -> None:
    code = code_for(1234)
    assert resource_id_for(code.lower()) == 1234
    assert resource_id_for(code[:2] + "-" + code[2:]) == 1234
    zero_code = code_for(1)  # starts with zeros
    assert zero_code.startswith("0")
    assert resource_id_for("O" + zero_code[1:]) == 1


@pytest.mark.parametrize("text", ["", "0", "000", "0000", "ABC!", "ÄÖÜ1", "U000", "1" * 40, " ", "%00", "../etc"])
def test_what_is_no_code_is_refused(text: str) -> None:
    assert resource_id_for(text) is None


def test_ids_below_one_have_no_code() -> None:
    with pytest.raises(ValueError):
        code_for(0)
