"""The inline SQLite driver (db/sqlite_inline.py) waits for another connection's lock without
stopping the event loop, and gives up after its bound with the error answered as 503.

The lock is held by a plain ``sqlite3`` connection in another thread (as a separate mail worker
process would hold it). The event loop's progress is counted in ticks of a task that only
yields (``asyncio.sleep(0)``), never in seconds: a driver that waited inside SQLite's busy
handler would let no tick happen while it waits.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from booking.db import Database
from booking.db.errors import is_unavailable
from booking.db.sqlite_inline import InlineConnection
from booking.models import Organisation
from tests.conftest import _migrated_url


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "inline.sqlite3"
    _migrated_url(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def database(sqlite_file: Path) -> AsyncIterator[Database]:
    # A short bound for the "gives up" test; the waits that succeed end long before it.
    database = Database(f"sqlite+aiosqlite:///{sqlite_file}", sqlite_busy_timeout_ms=1500)
    assert await _organisation_names(database) == []  # the first connection switches the file to WAL
    yield database
    await database.dispose()


@contextmanager
def write_lock_held_by_another_thread(path: Path, release: threading.Event) -> Iterator[None]:
    """Another connection, in another thread, takes the write lock (``BEGIN IMMEDIATE``) and
    holds it until ``release`` is set."""
    holding = threading.Event()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            connection = sqlite3.connect(path, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                holding.set()
                release.wait(timeout=60)
                connection.execute("COMMIT")
            finally:
                connection.close()
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            failure.append(error)
            holding.set()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        assert holding.wait(timeout=30), "the holder thread never took the lock"
        assert not failure, failure
        yield
    finally:
        release.set()
        thread.join(timeout=30)
    assert not failure, failure


class LoopTicks:
    """A task that counts how often the event loop ran it, and releases the lock after N ticks."""

    def __init__(self, release: threading.Event | None = None, release_after: int = 0) -> None:
        self.count = 0
        self.count_at_release: int | None = None
        self._release = release
        self._release_after = release_after
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.count += 1
            if self._release is not None and self.count == self._release_after:
                self.count_at_release = self.count
                self._release.set()

    def __enter__(self) -> LoopTicks:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _organisation_names(database: Database) -> list[str]:
    async with database.read_connection() as connection:
        return [name for (name,) in (await connection.execute(text("SELECT name FROM organisation ORDER BY id"))).all()]


async def test_begin_immediate_waits_for_another_threads_lock_without_blocking_the_loop(database, sqlite_file):
    release = threading.Event()
    with write_lock_held_by_another_thread(sqlite_file, release):
        # The loop releases the other thread's lock itself, after 200 ticks: the write below
        # can only get through if the loop kept running while it waited.
        with LoopTicks(release, release_after=200) as ticks:
            async with database.transaction() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]  # BEGIN IMMEDIATE went through
                ticks_when_locked = ticks.count
                session.add(Organisation(name="Chor"))
    assert ticks.count_at_release == 200
    assert ticks_when_locked >= 200  # the lock was ours only after the loop had released it
    assert await _organisation_names(database) == ["Chor"]


async def test_a_read_goes_on_while_another_thread_holds_the_write_lock(database, sqlite_file):
    release = threading.Event()
    with write_lock_held_by_another_thread(sqlite_file, release):
        # WAL: readers do not queue behind the writer.
        assert await _organisation_names(database) == []


async def test_a_writer_gives_up_after_the_bound_with_the_unavailable_error(database, sqlite_file):
    release = threading.Event()
    with write_lock_held_by_another_thread(sqlite_file, release), LoopTicks() as ticks:
        with pytest.raises(OperationalError) as raised:
            async with database.transaction() as session:
                session.add(Organisation(name="Chor"))
        ticks_while_waiting = ticks.count
    assert "database is locked" in str(raised.value)
    assert is_unavailable(raised.value)  # answered 503 "try again", like every lock timeout
    assert ticks_while_waiting > 10  # the loop ran while the writer waited for the bound
    assert await _organisation_names(database) == []


async def test_the_write_connection_is_the_inline_driver(database):
    async with database.transaction() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, InlineConnection)
        # SQLite's own busy handler is off: it would sleep inside the event loop.
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one() == 0
