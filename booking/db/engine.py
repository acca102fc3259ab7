"""Engines and sessions. The one module (with locking.py) that knows SQLite from PostgreSQL.

SQLite: WAL, a busy timeout, foreign keys, and write transactions that start with
``BEGIN IMMEDIATE`` so that writers queue on the database lock instead of failing with
"database is locked" when a deferred transaction tries to upgrade. The driver's own
transaction handling is switched off so that our ``begin`` event decides what is emitted.
Reads use a second engine whose transactions stay deferred, so readers never queue behind
writers (WAL lets them read the last committed state).

Writers of one process also queue on an asyncio lock before they take a connection and emit
``BEGIN IMMEDIATE``. Without it, ten concurrent requests hold ten connections that all wait in
SQLite's busy handler, which polls with growing sleeps (up to 100 ms each): the lock is often
free while every waiter sleeps, and a request waits seconds (p99 1.8 s in bench/RESULTS.md).
The asyncio queue hands the lock over the moment it is released; other processes (a separate
mail worker, a second app process) still meet at ``BEGIN IMMEDIATE`` and ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db.outage import OutageMonitor
from booking.db.report_changes import TrackedSession
from booking.db.reporting_sql import register_sqlite_functions
from booking.domain.errors import InvalidInput

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option of ``Database.read_connection`` on SQLite: no BEGIN (one statement only).
_SINGLE_STATEMENT = "booking_single_statement"
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
#: SQLite stores integers in 64 bits and PostgreSQL's BIGINT too; a larger Python int is input
#: no column can hold (an id or a number typed by someone), never a value of ours.
INT64 = range(-(2**63), 2**63)


class Database:
    """Owns the engines; hands out read sessions and write transactions."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.is_sqlite:
            _ensure_sqlite_directory(url)
            self._write_engine = _sqlite_engine(url, echo=echo, begin="BEGIN IMMEDIATE")
            self._read_engine = _sqlite_engine(url, echo=echo, begin="BEGIN")
        else:
            self._write_engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True,
                # An unreachable host must not hold a request for asyncpg's default minute.
                connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
            )
            self._read_engine = self._write_engine
        self.outage = OutageMonitor()
        engines = [self._write_engine] + ([self._read_engine] if self._read_engine is not self._write_engine else [])
        for engine in engines:
            # After pool_pre_ping: a checked-out connection works, so an outage is over.
            event.listen(engine.sync_engine, "checkout", lambda *_: self.outage.reachable())
        for engine in engines:
            _refuse_unstorable_values(engine)
        self._write_sessions = async_sessionmaker(
            self._write_engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=TrackedSession
        )
        self._read_sessions = async_sessionmaker(
            self._read_engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=TrackedSession
        )
        # SQLite: one asyncio lock per event loop (a lock belongs to the loop that first waits on it).
        self._writer_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def engine(self) -> AsyncEngine:
        """The engine that writes (migrations, maintenance)."""
        return self._write_engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits when the block ends, rolls back on an exception.

        On SQLite it holds the database's write lock from its first statement on, so a
        check-then-insert inside it cannot interleave with another writer; the writers of this
        process queue first on an asyncio lock (see the module docstring).
        """
        async with AsyncExitStack() as stack:
            if self.is_sqlite:
                await stack.enter_async_context(self._sqlite_writer_turn())
            session = await stack.enter_async_context(self._write_sessions())
            await stack.enter_async_context(session.begin())
            yield session

    @asynccontextmanager
    async def _sqlite_writer_turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        queue = self._writer_queues.get(loop)
        if queue is None:
            queue = self._writer_queues[loop] = asyncio.Lock()
        # As long as SQLite's own busy_timeout: a writer that never finishes makes the others
        # fail the same way (TimeoutError, answered as 503 "try again") instead of waiting forever.
        async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
            await queue.acquire()
        try:
            yield
        finally:
            queue.release()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; closing it ends the transaction without a commit."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection for ONE read statement, rows as plain values (no ORM session, no
        objects). For hot read-only loads such as every request's principal.

        On SQLite no ``BEGIN`` is sent: a single statement is its own consistent snapshot, and
        each statement sent costs the aiosqlite thread several hand-offs. Several statements
        that must agree need ``reader()`` (one transaction).
        """
        async with self._read_engine.connect() as connection:
            if self.is_sqlite:
                await connection.execution_options(**{_SINGLE_STATEMENT: True})
            else:
                # Autocommit: each statement its own snapshot, no BEGIN and ROLLBACK round trips.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self._read_engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - health checks report, they do not raise
            return False
        return True

    async def dispose(self) -> None:
        await self._write_engine.dispose()
        if self._read_engine is not self._write_engine:
            await self._read_engine.dispose()


def _ensure_sqlite_directory(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _refuse_unstorable_values(engine: AsyncEngine) -> None:
    """Refuse, before the database sees them, values that neither database can store the same.

    PostgreSQL refuses the NUL character in text (asyncpg: "invalid byte sequence"), SQLite
    would store it; SQLite's driver refuses integers beyond 64 bits with an OverflowError.
    Either is input from outside (a form field, a query string, a JSON body): it answers as
    ``InvalidInput`` (400 with the reason), the same on both databases, wherever it came in.
    """

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _check_parameters(_connection, _cursor, _statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        for value in _flat(parameters):
            if isinstance(value, str) and "\x00" in value:
                raise InvalidInput("text must not contain the NUL character (\\0)")
            if isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
                raise InvalidInput("a number or id is too large")


def _flat(parameters: object) -> Iterator[object]:
    """The values of a statement's parameters: one row or many, as tuples, lists or dicts."""
    if isinstance(parameters, dict):
        parameters = parameters.values()
    if isinstance(parameters, (list, tuple, type({}.values()))):
        for item in parameters:
            if isinstance(item, (list, tuple, dict)):
                yield from _flat(item)
            else:
                yield item
    else:
        yield parameters


def _sqlite_engine(url: str, *, echo: bool, begin: str) -> AsyncEngine:
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Hand transaction control to the "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        if connection.get_execution_options().get(_SINGLE_STATEMENT):
            return  # Database.read_connection: the statement is its own transaction
        connection.exec_driver_sql(begin)

    return engine
