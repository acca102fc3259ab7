"""Database errors that carry a domain meaning."""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

EXCLUSION_VIOLATION = "23P01"
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"


def _sqlstate(error: DBAPIError) -> str | None:
    original = getattr(error, "orig", None)
    for attribute in ("sqlstate", "pgcode"):
        value = getattr(original, attribute, None)
        if value:
            return str(value)
    cause = getattr(original, "__cause__", None)
    return getattr(cause, "sqlstate", None)


def is_overlap_violation(error: BaseException) -> bool:
    """PostgreSQL's exclusion constraint refused an overlapping booking."""
    return isinstance(error, IntegrityError) and _sqlstate(error) == EXCLUSION_VIOLATION


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and _sqlstate(error) in {SERIALIZATION_FAILURE, DEADLOCK_DETECTED}


def is_bad_value(error: BaseException) -> bool:
    """The database refused a value (e.g. an id beyond the integer range): the caller's input."""
    if isinstance(error, DataError):
        return True
    # A date or number beyond what Python, the driver or the column can represent (a day in
    # year 9999 plus an hour, an instant in year 1 moved to UTC): the caller's input, whether
    # it overflowed in our arithmetic or while being bound to a statement.
    if isinstance(error, OverflowError) or isinstance(getattr(error, "orig", None), OverflowError):
        return True
    # asyncpg refuses such a value while encoding it, before the server sees it.
    cause = getattr(getattr(error, "orig", None), "__cause__", None)
    return isinstance(error, DBAPIError) and type(cause).__name__ == "DataError"
