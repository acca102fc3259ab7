"""`booking backup` / `booking restore`: a round trip gives back exactly the data, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlmodel import SQLModel

from booking.db import Database
from booking.services.accounts import create_user
from booking.services.context import AppContext
from booking.services.demo import load_demo_data
from tests.conftest import clear_all_tables
from tests.integration.test_cli import booking_cli


async def snapshot(database: Database) -> dict[str, list[tuple]]:
    """Every row of every table (and the schema revision), in a stable order."""
    rows: dict[str, list[tuple]] = {}
    async with database.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name] = sorted((tuple(row) for row in result.all()), key=repr)
        versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
        rows["alembic_version"] = [tuple(row) for row in versions.all()]
    return rows


@pytest.mark.slow  # the demo world is the data set
async def test_backup_then_restore_gives_back_the_same_data(database, db_url, settings, tmp_path: Path):
    app = AppContext(database=database, settings=settings)
    await load_demo_data(app)
    before = await snapshot(database)
    assert len(before["booking"]) >= 100 and before["alembic_version"]

    backup_file = tmp_path / "nightly.backup"
    made = booking_cli(db_url, "backup", str(backup_file))
    assert made.returncode == 0, made.stderr
    assert backup_file.stat().st_size > 0

    await clear_all_tables(database)  # the disaster
    await database.dispose()  # nothing of the old state stays cached in pooled connections
    assert (await snapshot(database))["booking"] == []

    restored = booking_cli(db_url, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    await database.dispose()
    assert await snapshot(database) == before

    # The restored database takes new writes (on PostgreSQL: its sequences came back too).
    await create_user(app, email="nach.der.wiederherstellung@stadt.example", display_name="Neu", password="ein-langes-passwort")


async def test_a_file_that_is_no_backup_is_refused_and_changes_nothing(database, db_url, settings, tmp_path: Path):
    await create_user(AppContext(database=database, settings=settings), email="bleibt@stadt.example", display_name="Bleibt", password=None)
    before = await snapshot(database)
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("Einkaufsliste: Kaffee, Milch\n" * 100)
    refused = booking_cli(db_url, "restore", str(not_a_backup))
    assert refused.returncode == 1 and "error:" in refused.stderr and "Traceback" not in refused.stderr
    missing = booking_cli(db_url, "restore", str(tmp_path / "missing.backup"))
    assert missing.returncode == 1 and "no such backup file" in missing.stderr
    await database.dispose()
    assert await snapshot(database) == before
