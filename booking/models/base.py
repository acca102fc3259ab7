"""Shared pieces of the table classes: metadata naming convention, time columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from booking.db.types import UTCDateTime

# Named constraints: Alembic's SQLite batch mode can only alter what has a name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def instant_field(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    """A UTC instant column (timestamptz on PostgreSQL)."""
    if default_now:
        return Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(sa_type=UTCDateTime, nullable=False, index=index)
