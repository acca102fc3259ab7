"""Database errors that carry a domain meaning."""

from __future__ import annotations

import errno
import socket

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

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
    # year 9999 plus an hour, an instant in year 1 moved to UTC, an integer beyond 64 bits on
    # SQLite): the caller's input, whether it overflowed in our arithmetic or while being bound.
    if any(isinstance(link, OverflowError) for link in _chain(error)):
        return True
    # asyncpg refuses such a value while encoding it, before the server sees it.
    cause = getattr(getattr(error, "orig", None), "__cause__", None)
    return isinstance(error, DBAPIError) and type(cause).__name__ == "DataError"


# --------------------------------------------------------------------------- outages

#: SQLSTATEs that mean "the server is not there for us right now", not "your query is wrong":
#: admin/crash shutdown, cannot connect now (starting or stopping), too many connections.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONNECTION_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH,
     errno.ETIMEDOUT, errno.EPIPE, errno.ENOENT}  # ENOENT: a Unix socket that is gone
)
_ASYNCPG_CONNECTION_ERRORS = frozenset({"ConnectionDoesNotExistError", "ConnectionFailureError", "ConnectionRejectionError"})
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")


def _chain(error: BaseException) -> list[BaseException]:
    """The error, what it wraps (``orig``) and what caused it, a few levels deep."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(seen) < 8:
        current = pending.pop(0)
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def _means_unavailable(error: BaseException) -> bool:
    if isinstance(error, PoolTimeoutError):  # every connection busy: overload, not a bug
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    if isinstance(error, OSError) and error.errno in _CONNECTION_ERRNOS and not isinstance(error, FileNotFoundError):
        return True
    sqlstate = str(getattr(error, "sqlstate", "") or getattr(error, "pgcode", "") or "")
    if sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES:
        return True
    name = type(error).__name__
    module = type(error).__module__
    if module.startswith("asyncpg") and (
        name in _ASYNCPG_CONNECTION_ERRORS or (name == "InterfaceError" and "connection" in str(error) and "closed" in str(error))
    ):
        return True
    if isinstance(error, OperationalError) or (module.startswith("sqlite3") and name == "OperationalError"):
        return any(reason in str(error).lower() for reason in _SQLITE_UNAVAILABLE)
    return False


def is_unavailable(error: BaseException) -> bool:
    """The database cannot be reached (down, restarting, overloaded): try again later (503)."""
    return any(_means_unavailable(link) for link in _chain(error))
