"""Short codes of resources for QR labels and door signs: ``/r/<code>``.

A code is the resource id in Crockford's base 32 (digits and capital letters without I, L, O,
U: nothing to confuse when typed from a label), at least three symbols, and one check symbol
(Luhn mod 32) that catches every single mistyped symbol and most swapped neighbours.

Why derived and not stored, and why not a keyed hash of the id: printed labels must keep
working for as long as the thing exists. A code computed from the secret key would break every
label when the key is rotated; a stored column needs a migration and a back-fill for nothing
gained — resource ids are already public in every resource URL, so the code need not be secret.
Decoding is a computation, not a search: no lookup over all resources per scan.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE = len(ALPHABET)
MIN_SYMBOLS = 3
# Ids up to 2**60: longer input is no code of ours (and no huge integer is built from it).
MAX_SYMBOLS = 12
_VALUES = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Crockford's reading of look-alikes.
_VALUES.update({"O": 0, "I": 1, "L": 1})


def _check_symbol(symbols: str) -> str:
    """Luhn mod N over the symbols (rightmost doubled first)."""
    total = 0
    factor = 2
    for symbol in reversed(symbols):
        addend = factor * _VALUES[symbol]
        total += addend // BASE + addend % BASE
        factor = 1 if factor == 2 else 2
    return ALPHABET[(BASE - total % BASE) % BASE]


def code_for(resource_id: int) -> str:
    """The short code of a resource id (positive)."""
    if resource_id < 1:
        raise ValueError("resource ids are positive")
    symbols = ""
    number = resource_id
    while number:
        number, digit = divmod(number, BASE)
        symbols = ALPHABET[digit] + symbols
    symbols = symbols.rjust(MIN_SYMBOLS, "0")
    return symbols + _check_symbol(symbols)


def resource_id_for(code: str) -> int | None:
    """The resource id a code stands for, or None when it is not a well-formed code.

    Case and hyphens do not matter; O, I and L are read as 0, 1, 1.
    """
    cleaned = code.replace("-", "").strip().upper()
    if not MIN_SYMBOLS + 1 <= len(cleaned) <= MAX_SYMBOLS + 1 or any(symbol not in _VALUES for symbol in cleaned):
        return None
    canonical = "".join(ALPHABET[_VALUES[symbol]] for symbol in cleaned)
    symbols, check = canonical[:-1], canonical[-1]
    if _check_symbol(symbols) != check:
        return None
    number = 0
    for symbol in symbols:
        number = number * BASE + _VALUES[symbol]
    return number or None
