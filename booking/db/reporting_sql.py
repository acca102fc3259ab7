"""SQL expressions for report aggregates whose spelling differs between SQLite and PostgreSQL.

Months are bucketed in each site's own time zone (a booking at 00:30 on 1 March in Berlin belongs
to March, although it is still February in UTC): the report speaks of local months, as the
opening hours and the people who booked do. PostgreSQL converts with ``timezone(zone, instant)``.
SQLite knows no time zones, so a small deterministic SQL function ``booking_local_month`` (Python
``zoneinfo``) is registered on every SQLite connection (see ``register_sqlite_functions``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import CTE, Integer, String, cast, func, literal_column, null, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from booking.db.types import raw_instant

SQLITE_LOCAL_MONTH = "booking_local_month"


def local_month(dialect_name: str, instant, timezone) -> ColumnElement[str]:  # type: ignore[no-untyped-def]
    """'YYYY-MM' of ``instant`` (a UTC instant column) in the zone named by ``timezone`` (a column)."""
    if dialect_name == "sqlite":
        return func.booking_local_month(raw_instant(instant), timezone, type_=String)
    return func.to_char(func.timezone(timezone, instant), literal_column("'YYYY-MM'"), type_=String)


def seconds_between(dialect_name: str, starts, ends) -> ColumnElement[float]:  # type: ignore[no-untyped-def]
    """``ends - starts`` in seconds as a number (both UTC instant columns)."""
    if dialect_name == "sqlite":
        # julianday() reads the stored "YYYY-MM-DD HH:MM:SS.ffffff" text; a day is 86400 s.
        return (func.julianday(raw_instant(ends)) - func.julianday(raw_instant(starts))) * 86400.0
    return func.extract("epoch", ends - starts)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _sqlite_local_month(stored: str | None, timezone: str | None) -> str | None:
    if stored is None:
        return None
    instant = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return instant.astimezone(_zone(timezone or "UTC")).strftime("%Y-%m")


def register_sqlite_functions(dbapi_connection) -> None:  # type: ignore[no-untyped-def]
    """Called for every new SQLite connection (db/engine.py)."""
    dbapi_connection.create_function(SQLITE_LOCAL_MONTH, 2, _sqlite_local_month, deterministic=True)


def distinct_rollup(base: CTE, member, *, overall_only: bool = False, unique_per_site_month: bool = False):  # type: ignore[no-untyped-def]
    """Distinct ``member`` values of ``base`` (a CTE with ``site_id`` and ``month``) per (site, month),
    per site, per month and overall, in one statement — distinct counts never add up across
    months or sites. Only overall with ``overall_only``; ``unique_per_site_month`` says a
    (site, month, member) row is unique in ``base``, so the finest level is a plain count."""
    distinct = func.count(member.distinct())
    no_site = cast(null(), Integer).label("site_id")
    no_month = cast(null(), String).label("month")
    overall = select(no_site, no_month, distinct).select_from(base)
    if overall_only:
        return overall
    finest = func.count() if unique_per_site_month else distinct
    return union_all(
        select(base.c.site_id, base.c.month, finest).group_by(base.c.site_id, base.c.month),
        select(base.c.site_id, no_month, distinct).group_by(base.c.site_id),
        select(no_site, base.c.month, distinct).group_by(base.c.month),
        overall,
    )
