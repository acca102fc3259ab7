"""SQLite stores instants as text in SQLAlchemy's default DATETIME format, and queries compare
that text: the fast writer of db/types.py must write exactly what SQLAlchemy's own would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from booking.db.types import UTCDateTime

DIALECT = sqlite.dialect()
INSTANTS = [
    datetime(2026, 12, 1, 7, 0, tzinfo=UTC),  # no microseconds: isoformat would drop them unasked
    datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 10, 25, 2, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))),  # stored as UTC
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # a year of three digits, zero-padded
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("instant", INSTANTS, ids=str)
def test_the_stored_text_is_sqlalchemys_default_format(instant):
    ours = UTCDateTime()._cached_bind_processor(DIALECT)  # noqa: SLF001 - the processor the engine uses
    theirs = DATETIME().bind_processor(DIALECT)
    expected = theirs(instant.astimezone(UTC).replace(tzinfo=None))
    assert ours(instant) == expected
    read = UTCDateTime()._cached_result_processor(DIALECT, None)  # noqa: SLF001
    assert read(expected) == instant and read(expected).tzinfo is UTC


def test_none_and_naive_values():
    ours = UTCDateTime()._cached_bind_processor(DIALECT)  # noqa: SLF001
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 1, 1, 12, 0))
