"""Shared fixtures: one ``db_url`` parametrised over SQLite and PostgreSQL.

PostgreSQL: a fresh database per test session on 127.0.0.1:5432 (trust auth). Outside CI a
missing server skips those tests with a loud reason; with CI=true it fails them.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from booking.db import Database
from booking.db.migrate import upgrade
from booking.settings import Settings, load_settings
from tests.support.world import TEST_PASSWORD_COST_ENV
from tests.support.smtp import smtp_server  # noqa: F401 - a real SMTP server for every test that asks

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_HOST = os.environ.get("BOOKING_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BOOKING_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("BOOKING_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("BOOKING_TEST_PG_DB", "test")


def unavailable(reason: str) -> None:
    """Skip loudly outside CI; fail under CI=true (a skipped backend is a hole in CI)."""
    if IN_CI:
        pytest.fail(f"required test dependency missing under CI: {reason}")
    pytest.skip(f"NOT TESTED: {reason}")


def _postgres_listens() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return True
    except OSError:
        return False


def _pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def _run_pg_admin(statement: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    if not _postgres_listens():
        unavailable(f"PostgreSQL does not listen on {PG_HOST}:{PG_PORT}")
    name = f"booking_test_{os.getpid()}_{secrets.token_hex(3)}"
    _run_pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _run_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "booking.sqlite3"
    return f"sqlite+aiosqlite:///{path}"


_migrated: set[str] = set()


def _migrated_url(url: str) -> str:
    if url not in _migrated:
        upgrade(url)
        _migrated.add(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_database_url")
    else:
        url = request.getfixturevalue("postgres_database_url")
    return _migrated_url(url)


async def clear_all_tables(database: Database) -> None:
    """Empty every table and restart the id sequences, as a fresh database would be.

    On PostgreSQL a TRUNCATE of all 50-odd tables gives each a new file and took 300-800 ms per
    test on a busy CI machine (a third of the suite's PostgreSQL time); most tests fill a few
    tables, so one statement finds the filled ones, DELETE empties them (children first) and one
    more statement restarts every sequence."""
    tables = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    async with database.transaction() as session:
        if database.is_postgresql:
            probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables)
            filled = {name for (name,) in (await session.exec(text(probe))).all()}  # type: ignore[call-overload]
            for name in tables:
                if name in filled:
                    await session.exec(text(f'DELETE FROM "{name}"'))  # type: ignore[call-overload]
            await session.exec(text(  # type: ignore[call-overload]
                "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            ))
        else:
            for name in tables:
                await session.exec(text(f'DELETE FROM "{name}"'))  # type: ignore[call-overload]


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """An empty, migrated database on each backend."""
    database = Database(db_url)
    await clear_all_tables(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its database, no in-process mail worker, a throwaway secret."""
    return load_settings(
        env=TEST_PASSWORD_COST_ENV,
        database_url=db_url,
        secret_key=secrets.token_hex(32),
        run_worker_in_process=False,
        base_url="http://testserver.local",
    )


@pytest.fixture
def migrated_postgres_url(postgres_database_url: str) -> str:
    return _migrated_url(postgres_database_url)


@pytest.fixture
async def postgres_database(migrated_postgres_url: str) -> AsyncIterator[Database]:
    """An empty, migrated PostgreSQL database, for what exists only there."""
    database = Database(migrated_postgres_url)
    await clear_all_tables(database)
    try:
        yield database
    finally:
        await database.dispose()
