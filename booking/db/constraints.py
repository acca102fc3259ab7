"""The PostgreSQL exclusion constraint: a second guard against double booking.

The locked availability check in services/bookings.py is what enforces capacity and buffers;
this constraint makes the database itself refuse two overlapping holding bookings of a
one-unit resource, whatever code path wrote them. It is written by hand in a migration and
hidden from autogenerate (SQLModel's metadata cannot describe it).
"""

from __future__ import annotations

EXCLUSION_CONSTRAINT_NAME = "ex_booking_no_overlap"
HOLDING_STATUSES = ("requested", "confirmed", "checked_out")

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


def is_hand_written(name: str | None) -> bool:
    """Objects autogenerate must not compare (it cannot see them in the models)."""
    return name == EXCLUSION_CONSTRAINT_NAME
