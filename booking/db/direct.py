"""Hot statements run straight on SQLite's driver, compiled by SQLAlchemy once.

Every booking and every request's principal run the same few statements (issue 10). Through
SQLAlchemy's async engine each costs about 90 µs of Python on top of SQLite's own 4–5 µs
(execution context, parameter and result processing, two greenlet switches; measured as 5,000
INSERTs and 5,000 SELECTs by key in one write transaction on a WAL file, each way): more than
half of a create's database time on SQLite. Here a statement is
compiled once per shape, by SQLAlchemy, for the connection's dialect — the SQL text, the
order of its parameters, the types' bind and result processors — and then, on the inline
SQLite driver (db/sqlite_inline.py), executed on the transaction's own ``sqlite3`` connection:

- the statement runs in the caller's transaction (the connection SQLAlchemy began, holding
  ``BEGIN IMMEDIATE``'s write lock for writers), as a statement through SQLAlchemy would;
- ``before_cursor_execute`` listeners still see it (the refusal of unstorable values in
  engine.py, statement counters in tests);
- a driver error is raised as SQLAlchemy's exception (``IntegrityError``, ``OperationalError``),
  so callers catch what they always caught;
- another connection's lock is waited for asynchronously, as the inline driver does.

Everywhere else (PostgreSQL, aiosqlite sessions) the same statement goes through
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

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import BindParameter

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


@dataclass(frozen=True)
class Prepared:
    """One statement compiled for one dialect and one set of given parameter names."""

    sql: str
    parameters: tuple[_Parameter, ...]
    row: Any  # a namedtuple class of the selected columns (None for statements without rows)
    results: tuple[Callable[[Any], Any] | None, ...]

    def values(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for parameter in self.parameters:
            value = given[parameter.name] if parameter.constant is _FROM_CALLER else parameter.constant
            values.append(value if parameter.process is None else parameter.process(value))
        return tuple(values)

    def rows(self, raw: Sequence[tuple[Any, ...]]) -> list[Any]:
        results, row = self.results, self.row
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


def _compile(statement: Any, dialect: Dialect, given: tuple[str, ...]) -> Prepared:
    compiled = statement.compile(dialect=dialect, column_keys=list(given) if statement.is_insert else None)
    # Columns an INSERT does not set and whose default SQLAlchemy computes: constants are bound
    # here like a literal; a default function (a clock, say) needs the engine.
    defaults = {}
    for column in [*getattr(compiled, "insert_prefetch", ()), *getattr(compiled, "update_prefetch", ())]:
        if column.default is None or not column.default.is_scalar:
            raise NotDirect(f"column {column.key!r} has a default the engine computes per row")
        defaults[column.key] = column.default.arg
    if dialect.paramstyle != "qmark" or compiled.positiontup is None:
        raise NotDirect(f"paramstyle {dialect.paramstyle!r}: only SQLite's qmark statements run directly")
    sql: str = compiled.string
    parameters = []
    for name in compiled.positiontup:
        bind: BindParameter[Any] = compiled.binds[name]
        processor = bind.type._cached_bind_processor(dialect)  # noqa: SLF001 - the processor SQLAlchemy itself uses
        if bind.literal_execute:
            raise NotDirect(f"parameter {name!r} is rendered per execution")
        if bind.expanding:
            # An IN list of constants (``status IN (…)`` of a fixed tuple): expanded here, once.
            if name in given or bind.callable is not None or bind.value is None:
                raise NotDirect(f"IN list {name!r} changes per call")
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(bind.value)), 1)
            parameters.extend(_Parameter(name, item, processor) for item in bind.value)
            continue
        if name in given:
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
    row, results = None, ()
    if statement.is_select or getattr(statement, "_returning", None):
        columns = list(statement.selected_columns) if statement.is_select else list(statement._returning)  # noqa: SLF001
        names = [column.key if isinstance(column.key, str) else f"_{index}" for index, column in enumerate(columns)]
        row = namedtuple("Row", names, rename=True)  # type: ignore[misc]  # noqa: PYI024 - duplicates renamed by position
        results = tuple(column.type._cached_result_processor(dialect, None) for column in columns)  # noqa: SLF001
    return Prepared(sql, tuple(parameters), row, results)


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


def _inline_connection(connection: AsyncConnection) -> tuple[Connection, InlineConnection] | None:
    """The SQLAlchemy connection and its inline ``sqlite3`` connection, when it has one."""
    sync = connection.sync_connection
    if sync is None or sync.dialect.driver != INLINE_DRIVER:
        return None
    return sync, sync.connection.dbapi_connection  # type: ignore[return-value]


async def all_rows(connection: AsyncConnection, statement: ClauseElement, parameters: Mapping[str, Any]) -> list[Any]:
    """The rows of a SELECT with ``parameters``, as named tuples (the selected columns' keys)."""
    inline = _inline_connection(connection)
    plan = None if inline is None else prepared(statement, inline[0].dialect, tuple(parameters))
    if inline is None or plan is None:
        return list((await connection.execute(statement, parameters)).all())
    cursor = await _execute(*inline, plan, parameters)
    return plan.rows(cursor.fetchall())


async def insert(connection: AsyncConnection, statement: ClauseElement, values: Mapping[str, Any]) -> int:
    """Run an INSERT of one row with ``values`` (every column it sets); the new row's id."""
    inline = _inline_connection(connection)
    plan = None if inline is None else prepared(statement, inline[0].dialect, tuple(values))
    if inline is None or plan is None:
        result = await connection.execute(statement, values)
        return result.inserted_primary_key[0]  # type: ignore[index,no-any-return]
    cursor = await _execute(*inline, plan, values)
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


async def _execute(sync: Connection, driver: InlineConnection, plan: Prepared, given: Mapping[str, Any]) -> sqlite3.Cursor:
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


def _announce(sync: Connection, cursor: Any, statement: str, parameters: Any) -> None:
    """Tell the ``before_cursor_execute`` listeners, as SQLAlchemy's own execution would."""
    if sync._has_events or sync.engine._has_events:  # noqa: SLF001 - the check SQLAlchemy makes itself
        sync.dispatch.before_cursor_execute(sync, cursor, statement, parameters, None, False)
