"""Database errors that carry a domain meaning."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

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
