"""SQLite for SQLAlchemy's async engine, run in the event loop's own thread.

SQLAlchemy's ``aiosqlite`` dialect sends every DBAPI call (cursor, execute, fetch, close) to
aiosqlite's thread through a queue and waits for the answer on the event loop: a booking's
handful of statements cost about seventy thread hand-offs and loop wake-ups, most of its time
on SQLite (bench/README.md). A statement of ours takes microseconds inside SQLite, so this
driver runs the stdlib ``sqlite3`` calls inline, in the greenlet SQLAlchemy's async engine
already runs them in, and never hands anything to another thread.

What inline must not do is wait: the event loop would stand still. SQLite waits in two places,
and both are turned into awaits here:

- the lock of another connection (another process: a separate mail worker, a second app
  process; or another connection of this one): the connection's own busy handler is off
  (``timeout=0``, busy_timeout 0), and a statement answered ``SQLITE_BUSY`` (SQLite undid it,
  so trying it again is safe; ``executemany`` is not tried again) is tried again after
  an ``asyncio.sleep`` with growing pauses, until ``busy_timeout`` seconds have passed; then it
  raises ``sqlite3.OperationalError("database is locked …")``, which ``db/errors.py`` answers as
  503 "try again" like every other lock timeout;
- the statement itself: the caller decides which engines may run inline (engine.py explains the
  choice); a long read blocks the loop for as long as SQLite computes it.

``SQLITE_BUSY_SNAPSHOT`` (a deferred transaction that read an older snapshot and then tried to
write) can never succeed by trying again and is raised at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

#: The driver name in a URL: ``sqlite+booking_inline:///file``.
DRIVER = "booking_inline"
#: Pauses between two tries of a statement that met another connection's lock: start short
#: (a commit of ours takes well under a millisecond), grow, and stay short enough that the
#: lock, once free, is taken soon.
FIRST_PAUSE_SECONDS = 0.0005
LONGEST_PAUSE_SECONDS = 0.02
_SQLITE_BUSY = 5
_SQLITE_BUSY_SNAPSHOT = 517


async def _nothing() -> None:
    return None


class InlineCursor(sqlite3.Cursor):
    """A ``sqlite3`` cursor whose waits for a lock are awaits on the event loop."""

    def execute(self, sql: str, parameters: Any = (), /) -> InlineCursor:  # type: ignore[override]
        self._run(super().execute, sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> InlineCursor:  # type: ignore[override]
        # Never tried again: the rows before the one that met the lock may stand already (each
        # its own statement). Our writes run after BEGIN IMMEDIATE, which holds the lock.
        super().executemany(sql, seq_of_parameters)
        _satisfy_async_engine()
        return self

    async def _async_soft_close(self) -> None:
        """What SQLAlchemy's async result calls after a statement: the aiosqlite adapter closes
        its cursor there (the rows were fetched ahead). Ours hands out the rows as they are
        read and closes when the result is consumed or closed, as a sync engine does."""

    def _run(self, call: Any, sql: str, parameters: Any) -> None:
        connection: InlineConnection = self.connection  # type: ignore[assignment]
        wait = LockWait(connection.busy_timeout)
        while True:
            try:
                call(sql, parameters)
            except sqlite3.OperationalError as error:
                if not is_busy(error):
                    raise
                if not in_greenlet():  # outside SQLAlchemy's async engine: nothing can wait
                    raise
                await_(asyncio.sleep(wait.pause_after(error)))
            else:
                break
        _satisfy_async_engine()


class LockWait:
    """The pauses of a statement that keeps meeting another connection's lock: growing from
    ``FIRST_PAUSE_SECONDS`` to ``LONGEST_PAUSE_SECONDS``, together at most ``busy_timeout`` seconds."""

    def __init__(self, busy_timeout: float) -> None:
        self.busy_timeout = busy_timeout
        self._deadline: float | None = None
        self._pause = FIRST_PAUSE_SECONDS

    def pause_after(self, error: sqlite3.Error) -> float:
        """Seconds to wait before trying again after ``error`` (SQLITE_BUSY); raises "database
        is locked" once the bound has passed."""
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self.busy_timeout
        if now >= self._deadline:
            raise sqlite3.OperationalError(
                f"database is locked: another connection held the lock for more than {self.busy_timeout:g} s"
            ) from error
        pause = min(self._pause, self._deadline - now)
        self._pause = min(self._pause * 2, LONGEST_PAUSE_SECONDS)
        return pause


def is_busy(error: sqlite3.Error) -> bool:
    """The statement met another connection's lock and was undone: trying again is safe."""
    return (
        isinstance(error, sqlite3.OperationalError)
        and error.sqlite_errorcode & 0xFF == _SQLITE_BUSY
        and error.sqlite_errorcode != _SQLITE_BUSY_SNAPSHOT
    )


def _satisfy_async_engine() -> None:
    """SQLAlchemy's AsyncConnection.execute insists that the driver awaited something
    (AwaitRequired otherwise); a finished coroutine costs two greenlet switches and does not
    give the loop away."""
    if in_greenlet():
        await_(_nothing())


class InlineConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that hands out ``InlineCursor``s; ``busy_timeout`` (seconds)
    bounds how long a statement waits, asynchronously, for another connection's lock."""

    busy_timeout: float

    def cursor(self, factory: Any = InlineCursor) -> InlineCursor:  # type: ignore[override]
        return super().cursor(factory)  # type: ignore[no-any-return]

    def execute(self, sql: str, parameters: Any = (), /) -> InlineCursor:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)


def connect(database: str, *, timeout: float = 5.0, **kwargs: Any) -> InlineConnection:
    """``sqlite3.connect`` for the event loop: ``timeout`` is the bound of the asynchronous
    wait for a lock; SQLite's own busy handler (which would sleep in the loop) stays off."""
    kwargs["check_same_thread"] = False  # the pool may close a connection from a finaliser
    connection = sqlite3.connect(database, timeout=0, factory=InlineConnection, **kwargs)
    connection.busy_timeout = timeout
    return connection  # type: ignore[return-value]


class _InlineDBAPI:
    """The DBAPI module SQLAlchemy sees: ``sqlite3`` with our ``connect``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    connect = staticmethod(connect)


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """The pysqlite dialect (types, pragmas, functions unchanged) for ``create_async_engine``."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _InlineDBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        # The asyncio pools: their waits for a free connection are awaits too.
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


dialect = InlineSQLiteDialect
