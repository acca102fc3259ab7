"""Hot statements run straight on the database driver, compiled by SQLAlchemy once.

Every booking and every request's principal run the same few statements (issue 10). Through
SQLAlchemy's async engine each costs about 90 µs of Python on top of SQLite's own 4–5 µs
(execution context, parameter and result processing, two greenlet switches; measured as 5,000
INSERTs and 5,000 SELECTs by key in one write transaction on a WAL file, each way), and on
PostgreSQL about 170 µs of CPU against asyncpg's own 56 µs for the same prepared SELECT
(3,000 executions each way on one connection, ``time.process_time``).
Here a statement is compiled once per shape, by SQLAlchemy, for the connection's dialect — the
SQL text, the order of its parameters (constant ``IN`` lists expanded by SQLAlchemy itself), the
types' bind and result processors — and then executed on the transaction's own driver
connection:

- SQLite, on the inline driver (db/sqlite_inline.py): the ``sqlite3`` connection. Another
  connection's lock is waited for asynchronously, as the inline driver does.
- PostgreSQL, on asyncpg: the asyncpg connection under SQLAlchemy's adapter. The adapter
  begins its transaction lazily, at the first statement; a direct statement that comes first
  begins it the same way (so the statement runs inside the transaction SQLAlchemy commits or
  rolls back), and runs without one on an autocommit connection (``read_connection``).

Either way:

- the statement runs in the caller's transaction, as a statement through SQLAlchemy would;
- ``before_cursor_execute`` listeners still see it (the refusal of unstorable values in
  engine.py, statement counters in tests);
- a driver error is raised as SQLAlchemy's exception (``IntegrityError``, ``OperationalError``);
  on PostgreSQL it goes through SQLAlchemy's own error handling, so a lost connection is
  recognised as a disconnect and invalidated with its pool, as for any statement.

Everywhere else (aiosqlite sessions, other drivers) the same statement goes through
``AsyncConnection.execute``, and so does a statement that needs the engine per call (an ``IN``
list given with the call, a column default computed per row): ``prepared`` finds that out
when it first compiles the statement.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import greenlet_spawn

from booking.db.sqlite_inline import DRIVER as INLINE_DRIVER
from booking.db.sqlite_inline import InlineConnection, LockWait, is_busy

_FROM_CALLER = object()


class NotDirect(ValueError):
    """A statement whose compiled form depends on the call: it cannot be prepared once."""


@dataclass(frozen=True)
class _Parameter:
    name: str
    constant: Any  # the bound value for a literal, else _FROM_CALLER
    process: Callable[[Any], Any] | None


@dataclass
class Prepared:
    """One statement compiled for one dialect and one set of given parameter names."""

    sql: str
    parameters: tuple[_Parameter, ...]
    row: Any  # a namedtuple class of the selected columns (None for statements without rows)
    result_types: tuple[TypeEngine[Any], ...]  # of the selected columns
    #: The result processors, per column; None until the driver's column types are known
    #: (PostgreSQL's numeric types convert by the type the server answers with).
    results: tuple[Callable[[Any], Any] | None, ...] | None

    def learn_result_types(self, dialect: Dialect, type_codes: Sequence[Any]) -> None:
        """Set the result processors from the column types the driver reports (once)."""
        self.results = tuple(
            kind._cached_result_processor(dialect, code)  # noqa: SLF001 - the processor SQLAlchemy itself uses
            for kind, code in zip(self.result_types, type_codes, strict=True)
        )

    def values(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for parameter in self.parameters:
            value = given[parameter.name] if parameter.constant is _FROM_CALLER else parameter.constant
            values.append(value if parameter.process is None else parameter.process(value))
        return tuple(values)

    def rows(self, raw: Sequence[tuple[Any, ...]]) -> list[Any]:
        results, row = self.results, self.row
        assert results is not None, "result types not learnt yet"
        if not any(results):
            return [row._make(found) for found in raw]
        return [
            row._make(value if process is None else process(value) for process, value in zip(results, found, strict=True))
            for found in raw
        ]


_PREPARED: dict[tuple[ClauseElement, str, tuple[str, ...]], Prepared | None] = {}


def prepared(statement: ClauseElement, dialect: Dialect, given: Sequence[str]) -> Prepared | None:
    """``statement`` compiled for ``dialect`` with the parameters named ``given`` (an INSERT's
    columns), once per process; None for a statement that needs the engine (``NotDirect``).

    Statements are kept by identity: pass statements built once per process (the hot ones are),
    not one built per call — each would be compiled and kept anew.
    """
    key = (statement, dialect.name, tuple(given))
    try:
        return _PREPARED[key]
    except KeyError:
        pass
    try:
        found: Prepared | None = _compile(statement, dialect, tuple(given))
    except (NotDirect, exc.CompileError, exc.ArgumentError):
        found = None
    _PREPARED[key] = found
    return found


#: The paramstyles whose compiled statements run directly: SQLite's ``?`` and asyncpg's ``$n``.
_POSITIONAL_STYLES = frozenset({"qmark", "numeric_dollar"})


def _compile(statement: Any, dialect: Dialect, given: tuple[str, ...]) -> Prepared:
    if dialect.paramstyle not in _POSITIONAL_STYLES:
        raise NotDirect(f"paramstyle {dialect.paramstyle!r}: only positional statements run directly")
    compiled = statement.compile(dialect=dialect, column_keys=list(given) if statement.is_insert else None)
    # Columns an INSERT does not set and whose default SQLAlchemy computes: constants are bound
    # here like a literal; a default function (a clock, say) needs the engine.
    defaults = {}
    for column in [*getattr(compiled, "insert_prefetch", ()), *getattr(compiled, "update_prefetch", ())]:
        if column.default is None or not column.default.is_scalar:
            raise NotDirect(f"column {column.key!r} has a default the engine computes per row")
        defaults[column.key] = column.default.arg
    if statement.is_insert and dialect.name == "postgresql" and not compiled.effective_returning:
        raise NotDirect("an INSERT on PostgreSQL returns its new id")
    for name, bind in ((name, compiled.binds[name]) for name in compiled.positiontup or ()):
        if bind.literal_execute:
            raise NotDirect(f"parameter {name!r} is rendered per execution")
        if bind.expanding and (name in given or bind.callable is not None or bind.value is None):
            raise NotDirect(f"IN list {name!r} changes per call")
    # SQLAlchemy's own expansion of the constant IN lists (``status IN (…)`` of a fixed tuple),
    # done once here with the caller's parameters still unknown: it renders the placeholders
    # (and renumbers ``$n``) exactly as it would per execution.
    expanded = compiled._process_parameters_for_postcompile(  # noqa: SLF001 - what execution itself calls
        compiled.construct_params(dict.fromkeys(given), _check=False)
    )
    sql: str = expanded.statement
    expanded_from = {new: name for name, news in expanded.parameter_expansion.items() for new in news}
    parameters = []
    for name in expanded.positiontup or ():
        bind: BindParameter[Any] = compiled.binds[expanded_from.get(name, name)]
        processor = bind.type._cached_bind_processor(dialect)  # noqa: SLF001 - the processor SQLAlchemy itself uses
        if name in expanded_from:
            constant = expanded.parameters[name]
        elif name in given:
            constant = _FROM_CALLER
        elif name in defaults:
            constant = defaults[name]
        elif bind.callable is None and (bind.value is not None or not bind.required):
            constant = bind.value
        else:
            raise NotDirect(f"parameter {name!r} has no value")
        parameters.append(_Parameter(name, constant, processor))
    if "__[POSTCOMPILE_" in sql:
        raise NotDirect("a parameter rendered per execution")
    if not (statement.is_select or getattr(statement, "_returning", None)):
        return Prepared(sql, tuple(parameters), None, (), ())
    columns = list(statement.selected_columns) if statement.is_select else list(statement._returning)  # noqa: SLF001
    names = [column.key if isinstance(column.key, str) else f"_{index}" for index, column in enumerate(columns)]
    row = namedtuple("Row", names, rename=True)  # type: ignore[misc]  # noqa: PYI024 - duplicates renamed by position
    plan = Prepared(sql, tuple(parameters), row, tuple(column.type for column in columns), None)
    if dialect.paramstyle == "qmark":
        plan.learn_result_types(dialect, [None] * len(columns))  # SQLite's driver reports no column types
    return plan


#: Where ``Database.transaction`` keeps its session's connection (``AsyncSession.info``).
SESSION_CONNECTION = "booking.connection"


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The connection of ``session``'s transaction: the one ``Database.transaction`` noted when
    it began (no greenlet hand-off per statement, as ``AsyncSession.connection`` costs), else
    the session's own."""
    noted: AsyncConnection | None = session.info.get(SESSION_CONNECTION)
    if noted is not None and not noted.closed:
        return noted
    return await session.connection()


#: SQLAlchemy's name of the asyncpg driver (``postgresql+asyncpg``).
ASYNCPG_DRIVER = "asyncpg"


def _direct_connection(connection: AsyncConnection) -> Connection | None:
    """The SQLAlchemy connection under ``connection`` when its driver runs statements directly."""
    sync = connection.sync_connection
    if sync is None or sync.dialect.driver not in (INLINE_DRIVER, ASYNCPG_DRIVER):
        return None
    return sync


async def all_rows(connection: AsyncConnection, statement: ClauseElement, parameters: Mapping[str, Any]) -> list[Any]:
    """The rows of a SELECT with ``parameters``, as named tuples (the selected columns' keys)."""
    sync = _direct_connection(connection)
    plan = None if sync is None else prepared(statement, sync.dialect, tuple(parameters))
    if sync is None or plan is None:
        return list((await connection.execute(statement, parameters)).all())
    if sync.dialect.driver == ASYNCPG_DRIVER:
        return plan.rows(await _fetch_on_asyncpg(sync, plan, parameters))
    cursor = await _execute_on_sqlite(sync, sync.connection.dbapi_connection, plan, parameters)  # type: ignore[arg-type]
    return plan.rows(cursor.fetchall())


#: Rows kept per SQLite connection by ``all_rows_until_a_write`` (the oldest go first).
UNCHANGED_ROWS_PER_CONNECTION = 256
_UNCHANGED_ROWS = "booking.rows_until_a_write"


class write_marker(FunctionElement[str]):  # noqa: N801 - an SQL function, named like one
    """A column that changes whenever anything is written to the database, for
    ``all_rows_until_a_write``'s ``marker``: on PostgreSQL the WAL insert position
    (``pg_current_wal_insert_lsn()``), which moves with every change of data anywhere in the
    cluster, committed or not (and with maintenance work: that only costs a fresh read);
    NULL elsewhere (SQLite has its own counter, read in process)."""

    type = String()
    name = "write_marker"
    inherit_cache = True


@compiles(write_marker)
def _no_write_marker(element: write_marker, compiler: Any, **kw: Any) -> str:
    return "NULL"


@compiles(write_marker, "postgresql")
def _wal_insert_position(element: write_marker, compiler: Any, **kw: Any) -> str:
    return "CAST(pg_current_wal_insert_lsn() AS TEXT)"


async def all_rows_until_a_write(
    connection: AsyncConnection, statement: ClauseElement, parameters: Mapping[str, Any], *, marker: str | None = None
) -> list[Any]:
    """``all_rows``, but the rows of an earlier run of the same statement with the same
    parameters on the same connection are given again while nothing has been written to the
    database since — by any connection of any process:

    - SQLite: ``PRAGMA data_version`` changes with every commit of another connection, the
      connection's ``total_changes`` with its own writes (read here, in process);
    - PostgreSQL: ``marker``, the ``write_marker()`` column of a statement the caller ran on
      this connection just before (no round trip of its own). Without one the statement runs.

    For an aggregate that costs a scan (a feed's ETag summary over its 5,000 bookings: about
    2 ms of SQLite's time and 1–2 ms of PostgreSQL's, the larger part of a 304), in the hours
    without bookings. Any write anywhere makes every kept result stale, so it is never staler
    than a fresh read; a busy hour pays the scan as before.
    """
    sync = _direct_connection(connection)
    version = None if sync is None else (marker if sync.dialect.driver == ASYNCPG_DRIVER else _sqlite_write_version(sync))
    if sync is None or version is None:
        return await all_rows(connection, statement, parameters)
    kept: dict[Any, tuple[Any, list[Any]]] = sync.connection.info.setdefault(_UNCHANGED_ROWS, {})
    key = (statement, tuple(parameters.items()))
    found = kept.get(key)
    if found is not None and found[0] == version:
        return found[1]
    rows = await all_rows(connection, statement, parameters)
    kept.pop(key, None)
    if len(kept) >= UNCHANGED_ROWS_PER_CONNECTION:
        del kept[next(iter(kept))]
    kept[key] = (version, rows)
    return rows


def _sqlite_write_version(sync: Connection) -> tuple[int, int] | None:
    """SQLite's counters of commits by others and of this connection's own changes."""
    driver: InlineConnection = sync.connection.dbapi_connection  # type: ignore[assignment]
    try:
        # A plain cursor: reading the counter never waits for a lock (WAL), so no retry loop.
        # Closed at once: an unfinished statement would hold its read snapshot (and the WAL).
        cursor = driver.cursor(sqlite3.Cursor)
        try:
            return (cursor.execute("PRAGMA data_version").fetchall()[0][0], driver.total_changes)
        finally:
            cursor.close()
    except sqlite3.Error:
        return None


async def insert(connection: AsyncConnection, statement: ClauseElement, values: Mapping[str, Any]) -> int:
    """Run an INSERT of one row with ``values`` (every column it sets); the new row's id."""
    sync = _direct_connection(connection)
    plan = None if sync is None else prepared(statement, sync.dialect, tuple(values))
    if sync is None or plan is None:
        result = await connection.execute(statement, values)
        return result.inserted_primary_key[0]  # type: ignore[index,no-any-return]
    if sync.dialect.driver == ASYNCPG_DRIVER:
        ((new_id, *_),) = await _fetch_on_asyncpg(sync, plan, values)  # RETURNING the id (``_compile``)
        return new_id  # type: ignore[no-any-return]
    cursor = await _execute_on_sqlite(sync, sync.connection.dbapi_connection, plan, values)  # type: ignore[arg-type]
    return cursor.lastrowid  # type: ignore[return-value]


def begin_inline(sync: Connection, statement: str) -> None:
    """Run ``statement`` (``BEGIN IMMEDIATE``) on an inline connection from SQLAlchemy's "begin"
    event, inside its greenlet: the inline cursor waits for another connection's lock there."""
    cursor = sync.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    _announce(sync, cursor, statement, ())
    try:
        cursor.execute(statement)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(statement, (), error, sqlite3.Error, dialect=sync.dialect) from error
    finally:
        cursor.close()


async def _execute_on_sqlite(sync: Connection, driver: InlineConnection, plan: Prepared, given: Mapping[str, Any]) -> sqlite3.Cursor:
    values = plan.values(given)
    cursor = driver.cursor(sqlite3.Cursor)  # a plain cursor: the waits for a lock are ours, below
    _announce(sync, cursor, plan.sql, values)
    wait = LockWait(driver.busy_timeout)
    while True:
        try:
            return cursor.execute(plan.sql, values)
        except sqlite3.Error as error:
            try:
                if not is_busy(error):
                    raise
                pause = wait.pause_after(error)  # raises "database is locked" past the bound
            except sqlite3.Error as final:
                raise exc.DBAPIError.instance(plan.sql, values, final, sqlite3.Error, dialect=sync.dialect) from error
        await asyncio.sleep(pause)


async def _fetch_on_asyncpg(sync: Connection, plan: Prepared, given: Mapping[str, Any]) -> list[Any]:
    """``plan`` on the asyncpg connection under SQLAlchemy's adapter, in the adapter's transaction."""
    adapter: Any = sync.connection.dbapi_connection  # SQLAlchemy's AsyncAdapt_asyncpg_connection
    values = plan.values(given)
    _announce(sync, None, plan.sql, values)
    try:
        async with adapter._execute_mutex:  # noqa: SLF001 - as the adapter's cursor holds it
            if adapter._transaction is None:  # noqa: SLF001
                # What the adapter's cursor does before a statement: BEGIN at the first one of a
                # transaction (nothing on an autocommit connection).
                await adapter._start_transaction()  # noqa: SLF001
            driver = adapter.driver_connection
            if plan.results is None:  # the first run in this process: which types the server answers with
                attributes = (await driver.prepare(plan.sql)).get_attributes()
                plan.learn_result_types(sync.dialect, [attribute.type.oid for attribute in attributes])
            return await driver.fetch(plan.sql, *values)  # type: ignore[no-any-return]
    except BaseException as error:
        await greenlet_spawn(_raise_through_engine, sync, error, plan.sql, values)
        raise  # not reached: _raise_through_engine raises


def _raise_through_engine(sync: Connection, error: BaseException, statement: str, values: tuple[Any, ...]) -> None:
    """Raise ``error`` the way SQLAlchemy raises a failed statement's: translated by the adapter
    (asyncpg's exceptions to its DBAPI's), wrapped (``IntegrityError``, ``DBAPIError``…), with
    the ``handle_error`` events, and a lost or cancelled connection invalidated with its pool.
    Runs in a greenlet (``greenlet_spawn``): invalidating closes the connection through it."""
    try:
        if isinstance(error, Exception):
            sync.connection.dbapi_connection._handle_exception(error)  # type: ignore[union-attr]  # noqa: SLF001
        raise error
    except BaseException as raised:  # noqa: BLE001 - SQLAlchemy decides what each one means
        sync._handle_dbapi_exception(raised, statement, values, None, None)  # noqa: SLF001


def _announce(sync: Connection, cursor: Any, statement: str, parameters: Any) -> None:
    """Tell the ``before_cursor_execute`` listeners, as SQLAlchemy's own execution would."""
    if sync._has_events or sync.engine._has_events:  # noqa: SLF001 - the check SQLAlchemy makes itself
        sync.dispatch.before_cursor_execute(sync, cursor, statement, parameters, None, False)
