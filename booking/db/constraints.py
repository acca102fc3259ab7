"""The PostgreSQL exclusion constraint: a second guard against double booking.

The locked availability check in services/bookings.py is what enforces capacity and buffers;
this constraint makes the database itself refuse two overlapping holding bookings of a
one-unit resource, whatever code path wrote them. It is written by hand in a migration and
hidden from autogenerate (SQLModel's metadata cannot describe it).
"""

from __future__ import annotations

from booking.domain.lifecycle import HOLDING_VALUES

EXCLUSION_CONSTRAINT_NAME = "ex_booking_no_overlap"
# The statuses whose bookings the constraint and the index below cover: the lifecycle's one
# list. The SQL further down is the first version, as migrations 0001 and 0004 created it
# (without ``held``); migration 0010_waitlist recreates both with the SQL written out in it.
# tests/integration/test_migrations.py checks that the database at head covers exactly these.
HOLDING_STATUSES = HOLDING_VALUES


def holding_status_list_sql() -> str:
    """``'checked_out', 'confirmed', …``: the holding statuses for a hand-written ``IN (…)``."""
    return ", ".join(f"'{status}'" for status in HOLDING_STATUSES)


# As of migration 0001 (frozen: a later migration writes its own SQL).
CREATE_EXCLUSION_SQL = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""
    ALTER TABLE booking ADD CONSTRAINT {EXCLUSION_CONSTRAINT_NAME}
    EXCLUDE USING gist (resource_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
    WHERE (is_exclusive AND status IN ('requested', 'confirmed', 'checked_out'))
    """,
)

DROP_EXCLUSION_SQL = (f"ALTER TABLE booking DROP CONSTRAINT IF EXISTS {EXCLUSION_CONSTRAINT_NAME}",)


def create_exclusion_constraint(op) -> None:  # type: ignore[no-untyped-def]
    """Called from the migration; does nothing on SQLite, where writers are serialised."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in CREATE_EXCLUSION_SQL:
        op.execute(statement)


def drop_exclusion_constraint(op) -> None:  # type: ignore[no-untyped-def]
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DROP_EXCLUSION_SQL:
        op.execute(statement)


# "Which rooms are free Tuesday 18-20" over hundreds of resources and a million bookings: a
# B-tree on (resource_id, starts_at) still reads every earlier booking of each resource
# (only one end of the window bounds it). A GiST index on the time range finds the
# overlapping ones directly; ``overlaps_window`` writes the condition that uses it. Chosen by
# EXPLAIN ANALYZE (bench/run.py prints the plan): Bitmap Index Scan on this index instead of
# an Index Scan on ix_booking_resource_span that filters out the past.
HOLDING_SPAN_INDEX_NAME = "ix_booking_holding_span"
# As of migration 0004 (frozen, see above).
CREATE_HOLDING_SPAN_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {HOLDING_SPAN_INDEX_NAME} ON booking"
    " USING gist (resource_id, tstzrange(starts_at, ends_at, '[)'))"
    " WHERE status IN ('requested', 'confirmed', 'checked_out')"
)
DROP_HOLDING_SPAN_INDEX_SQL = f"DROP INDEX IF EXISTS {HOLDING_SPAN_INDEX_NAME}"


def create_holding_span_index(op) -> None:  # type: ignore[no-untyped-def]
    """Called from the migration; SQLite has no range type and keeps the B-tree."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_HOLDING_SPAN_INDEX_SQL)


def drop_holding_span_index(op) -> None:  # type: ignore[no-untyped-def]
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_HOLDING_SPAN_INDEX_SQL)


# Searches over many resources ("which of 500 rooms are free Tuesday 18-20") ask for the
# window's holdings of all resources at once: ix_booking_holding_span cannot serve
# ``resource_id IN (…)`` with one descent (GiST runs one per id: 1,648 pages at 500 rooms and a
# million bookings), this index on the time range alone finds them in one (8 pages). Chosen by
# EXPLAIN (ANALYZE, BUFFERS), bench/run.py --only availability prints the plan. Written by hand
# in migration 0016_avail (an expression index on a range type); the statuses are the
# lifecycle's list as of that migration, checked by tests/integration/test_migrations.py.
HOLDING_RANGE_INDEX_NAME = "ix_booking_holding_range"
# When a search names more resources than this, its queries leave the resources out of their
# condition and drop the rows of other resources afterwards: for the holdings the planner would
# otherwise take the two-column index (one descent per id), and 500 expanded parameters cost
# more to send than the few policy rows with buffers.
MANY_RESOURCES = 50


def holdings_by_resource_list(dialect: str, resource_count: int) -> bool:
    """Whether a holdings query names its resources (``resource_id IN (…)``). Not for many of
    them on PostgreSQL, where the time range index answers in one descent; SQLite has no such
    index and reads each resource's part of ix_booking_resource_span instead of the table."""
    return dialect != "postgresql" or resource_count <= MANY_RESOURCES


def create_holding_range_index_sql(statuses: str) -> str:
    return (
        f"CREATE INDEX IF NOT EXISTS {HOLDING_RANGE_INDEX_NAME} ON booking"
        f" USING gist (tstzrange(starts_at, ends_at, '[)')) WHERE status IN ({statuses})"
    )


DROP_HOLDING_RANGE_INDEX_SQL = f"DROP INDEX IF EXISTS {HOLDING_RANGE_INDEX_NAME}"


def overlaps_window(dialect: str, starts_at, ends_at, window_start, window_end):  # type: ignore[no-untyped-def]
    """``[starts_at, ends_at)`` overlaps ``[window_start, window_end)``, written so that the
    database's index is used: a range overlap on PostgreSQL (``ix_booking_holding_span``),
    two comparisons elsewhere.

    The window's ends are instants or SQL expressions (e.g. ``bindparam`` for a statement built
    once and run with new values); instants are bound with the column's own type (timestamptz).
    """
    from sqlalchemy import and_, func, literal
    from sqlalchemy.sql.expression import ColumnElement

    if dialect == "postgresql":
        start = window_start if isinstance(window_start, ColumnElement) else literal(window_start, type_=starts_at.type)
        end = window_end if isinstance(window_end, ColumnElement) else literal(window_end, type_=ends_at.type)
        return func.tstzrange(starts_at, ends_at, literal("[)")).op("&&")(func.tstzrange(start, end, literal("[)")))
    return and_(starts_at < window_end, ends_at > window_start)


def is_hand_written(name: str | None) -> bool:
    """Objects autogenerate must not compare (it cannot see them in the models)."""
    return name in (EXCLUSION_CONSTRAINT_NAME, HOLDING_SPAN_INDEX_NAME, HOLDING_RANGE_INDEX_NAME)
