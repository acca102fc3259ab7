"""Alembic owns the schema: its head matches the models on both databases, and it goes down and up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import booking.models  # noqa: F401
from booking.db.constraints import EXCLUSION_CONSTRAINT_NAME, is_hand_written


def _include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not is_hand_written(name)


async def test_head_matches_models(db_url):
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as connection:
            def diff(sync_connection):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(
                    sync_connection, opts={"include_object": _include, "compare_type": True}
                )
                return compare_metadata(context, SQLModel.metadata)

            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_exclusion_constraint_exists_on_postgresql_only(db_url):
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name != "postgresql":
                tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
                assert "booking" in tables
                return
            from sqlalchemy import text

            found = (
                await connection.execute(
                    text("SELECT count(*) FROM pg_constraint WHERE conname = :name AND contype = 'x'"),
                    {"name": EXCLUSION_CONSTRAINT_NAME},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert found == 1


def test_downgrade_and_upgrade_again(tmp_path):
    from booking.db.migrate import downgrade, upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)


async def test_capacity_guards_cover_exactly_the_holding_statuses(db_url):
    """The exclusion constraint and the availability indexes at head name the lifecycle's list
    of statuses that hold capacity (``held`` included), no more, no fewer."""
    import re

    from sqlalchemy import text

    from booking.db.constraints import HOLDING_RANGE_INDEX_NAME, HOLDING_SPAN_INDEX_NAME, HOLDING_STATUSES

    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name != "postgresql":
                return
            constraint = (
                await connection.execute(
                    text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
                    {"name": EXCLUSION_CONSTRAINT_NAME},
                )
            ).scalar_one()
            indexes = [
                (await connection.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": name})).scalar_one()
                for name in (HOLDING_SPAN_INDEX_NAME, HOLDING_RANGE_INDEX_NAME)
            ]
    finally:
        await engine.dispose()
    for definition in (constraint, *indexes):
        named = set(re.findall(r"'([a-z_]+)'::", definition))
        assert named == set(HOLDING_STATUSES), definition
