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
mail worker, a second app process) still meet at ``BEGIN IMMEDIATE``.

Which SQLite engine runs where (issue 10, measured with bench/profile_create.py and
``bench/run.py --only create``, figures in bench/README.md):

- Writes run inline in the event loop (``db/sqlite_inline.py``), not in aiosqlite's thread:
  in-process writers are serialised by the asyncio lock anyway, a write transaction of ours is
  short, and every statement through aiosqlite cost several thread hand-offs (a create went
  from 7,063 to 4,237 Python calls and its CPU time fell by about a third). The wait for another
  process's lock is an asyncio sleep with backoff, bounded by ``sqlite_busy_timeout_ms``
  (``SQLITE_BUSY_TIMEOUT_MS``), after which "database is locked" is answered 503.
- ``read_connection`` (short statements by key: every request's principal, a feed's
  authorisation, summary and changed rows) runs inline too, without a transaction.
- On the inline connections the hot statements (a create's, every request's principal, a
  feed's 304) also skip SQLAlchemy's execution machinery: ``db/direct.py`` runs them, compiled
  once, on the same ``sqlite3`` connection and transaction. On PostgreSQL it runs them on the
  asyncpg connection of the same transaction (or autocommit read).
- ``reader()`` sessions stay on aiosqlite's thread: they serve reports and calendar pages
  whose reads can take long, and inline they would stop every other request for that
  long. The thread lets the loop go on (SQLite releases the GIL while it computes); the
  hand-offs cost little next to such reads.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db.direct import SESSION_CONNECTION, begin_inline
from booking.db.outage import OutageMonitor
from booking.db.report_changes import TrackedSession
from booking.db.reporting_sql import register_sqlite_functions
from booking.db.sqlite_inline import DRIVER as INLINE_DRIVER
from booking.domain.errors import InvalidInput

SQLITE_BUSY_TIMEOUT_MS = 30_000
registry.register(f"sqlite.{INLINE_DRIVER}", "booking.db.sqlite_inline", "InlineSQLiteDialect")
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
#: A pooled PostgreSQL connection unused for longer is pinged before use (``_ping_idle_connections``).
PING_AFTER_IDLE_SECONDS = 5.0
#: SQLite stores integers in 64 bits and PostgreSQL's BIGINT too; a larger Python int is input
#: no column can hold (an id or a number typed by someone), never a value of ours.
INT64 = range(-(2**63), 2**63)


class Database:
    """Owns the engines; hands out read sessions and write transactions."""

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 10, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.is_sqlite:
            _ensure_sqlite_directory(url)
            timeout = sqlite_busy_timeout_ms
            self._write_engine = _sqlite_engine(url, echo=echo, begin="BEGIN IMMEDIATE", inline=True, busy_timeout_ms=timeout)
            self._read_engine = _sqlite_engine(url, echo=echo, begin="BEGIN", inline=False, busy_timeout_ms=timeout)
            self._point_read_engine = _sqlite_engine(url, echo=echo, begin=None, inline=True, busy_timeout_ms=timeout)
        else:
            self._write_engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2,
                # An unreachable host must not hold a request for asyncpg's default minute.
                connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
            )
            _ping_idle_connections(self._write_engine)
            self._read_engine = self._write_engine
            # The same pool; each statement commits itself: no BEGIN and ROLLBACK round trips
            # around a single read (asyncpg's adapter switches autocommit without a round trip).
            self._point_read_engine = self._write_engine.execution_options(isolation_level="AUTOCOMMIT")
        self.outage = OutageMonitor()
        for engine in self.engines:
            # After the ping of an idle connection (or a fresh connect): a checked-out
            # connection works, so an outage is over.
            event.listen(engine.sync_engine, "checkout", lambda *_: self.outage.reachable())
            _refuse_unstorable_values(engine)
        self._write_sessions = async_sessionmaker(
            self._write_engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=TrackedSession
        )
        self._read_sessions = async_sessionmaker(
            self._read_engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=TrackedSession
        )
        # SQLite: one asyncio lock per event loop (a lock belongs to the loop that first waits on it).
        self._writer_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._sqlite_busy_timeout_ms = sqlite_busy_timeout_ms

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """Every engine of this database with its own pool: three on SQLite, one on PostgreSQL
        (whose point reads share the pool, events and all, through ``execution_options``)."""
        if self.is_sqlite:
            return (self._write_engine, self._read_engine, self._point_read_engine)
        return (self._write_engine,)

    @property
    def engine(self) -> AsyncEngine:
        """The engine that writes (migrations, maintenance)."""
        return self._write_engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits when the block ends, rolls back on an exception.

        On SQLite it holds the database's write lock from its start, so a check-then-insert
        inside it cannot interleave with another writer; the writers of this process queue
        first on an asyncio lock (see the module docstring). The session's connection is noted
        for ``direct.connection_of``. Plain nested blocks, no AsyncExitStack: every write of
        the service passes here.
        """
        turn = self._sqlite_writer_turn() if self.is_sqlite else nullcontext()
        async with turn, self._write_sessions() as session, session.begin():
            # SQLite: BEGIN IMMEDIATE now (this process's writer turn is ours already);
            # PostgreSQL: no round trip (asyncpg's adapter begins at the first statement).
            session.info[SESSION_CONNECTION] = await session.connection()
            yield session

    @asynccontextmanager
    async def _sqlite_writer_turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        queue = self._writer_queues.get(loop)
        if queue is None:
            queue = self._writer_queues[loop] = asyncio.Lock()
        # As long as SQLite's own busy_timeout: a writer that never finishes makes the others
        # fail the same way (TimeoutError, answered as 503 "try again") instead of waiting forever.
        async with asyncio.timeout(self._sqlite_busy_timeout_ms / 1000):
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
        """A Core connection for short reads by key, rows as plain values (no ORM session, no
        objects). For hot read-only loads: every request's principal, a feed's authorisation
        and ETag summary (a 304 is those two statements) and the rows that changed since.

        No transaction is begun: each statement is its own consistent snapshot (on PostgreSQL
        that saves the BEGIN and ROLLBACK round trips, on SQLite a statement), so statements
        that must agree with each other need ``reader()``. On SQLite the statements run inline
        in the event loop (see the module docstring): while SQLite computes one, no other
        request of the process runs. A feed's rare full load (its first request in a process
        without a current stored document) reads its few thousand rows here too; reports and
        pages that scan many rows use ``reader()``.
        """
        async with self._point_read_engine.connect() as connection:
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
        for engine in self.engines:
            await engine.dispose()


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled PostgreSQL connection at checkout when it lay unused for more than
    ``PING_AFTER_IDLE_SECONDS``; a connection that fails the ping is replaced before the
    request sees it (the pool retries the checkout with a new one).

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout, and asyncpg's adapter pings in a
    transaction of its own (BEGIN, the ping, ROLLBACK): three round trips before each of a
    create's two checkouts, more than the create's own statements (issue 10). A connection in
    use moments ago needs no ping: when the server went away since, the statement fails, the
    request answers 503 (db/outage.py) and SQLAlchemy invalidates every connection of the pool
    that is older than the failure, so the next checkouts connect anew. What the ping is for —
    a connection that lay idle while the server restarted or a firewall forgot it — keeps it.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _note_checkin(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at <= PING_AFTER_IDLE_SECONDS:
            return  # a fresh connection, or one in use moments ago
        try:
            engine.sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failed ping: another connection
            raise DisconnectionError(f"an idle pooled connection failed its ping: {error}") from error


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
        _check_values(parameters.values() if isinstance(parameters, dict) else (parameters,))


def _check_values(values: Iterable[object]) -> None:
    """``_refuse_unstorable_values`` over the values of a statement's parameters: one row or
    many, as tuples, lists or dicts, nested. A loop without generators: it runs for every
    statement the app sends."""
    for value in values:
        if isinstance(value, str):
            if "\x00" in value:
                raise InvalidInput("text must not contain the NUL character (\\0)")
        elif isinstance(value, int):
            if value not in INT64 and not isinstance(value, bool):
                raise InvalidInput("a number or id is too large")
        elif isinstance(value, (list, tuple)):
            _check_values(value)
        elif isinstance(value, dict):
            _check_values(value.values())


def _sqlite_engine(url: str, *, echo: bool, begin: str | None, inline: bool, busy_timeout_ms: int) -> AsyncEngine:
    """An engine on the SQLite file; ``begin`` is what starts its transactions (None: no
    transaction, each statement is its own); ``inline``: the driver of db/sqlite_inline.py
    instead of aiosqlite's thread."""
    address = make_url(url)
    if inline:
        address = address.set(drivername=f"sqlite+{INLINE_DRIVER}")
    engine = create_async_engine(address, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Hand transaction control to the "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        if not inline:  # the inline driver waits for locks itself, asynchronously (busy_timeout 0)
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
            if inline:
                # Every write begins here: the driver's cursor directly, not exec_driver_sql's
                # execution context (it cost more than the BEGIN). Listeners still see it; the
                # inline cursor waits for another process's lock asynchronously.
                begin_inline(connection, begin)
            else:
                connection.exec_driver_sql(begin)

    return engine
