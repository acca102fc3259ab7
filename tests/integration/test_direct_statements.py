"""Hot statements run directly on SQLite's driver (db/direct.py) and through the engine
elsewhere: the same rows, the same values, the same errors, on both databases.

The values are read back twice, through the direct path and through the ORM, and compared:
aware datetimes, booleans, JSON, NULLs and column defaults the INSERT did not set.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Float, bindparam, event, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from booking.db import direct
from booking.db.errors import is_unavailable
from booking.domain.errors import InvalidInput
from booking.models import BookingEvent
from booking.models.messaging import OutboxMessage
from booking.services import bookings
from booking.services.bookings import BookingRequest
from tests.integration.test_sqlite_inline import LoopTicks, write_lock_held_by_another_thread
from tests.support.world import next_monday

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
INSERT_OUTBOX = insert(OUTBOX)
OUTBOX_BY_ID = select(OUTBOX).where(OUTBOX.c.id == bindparam("id"))
OUTBOX_PENDING_OR_SENT = select(OUTBOX.c.id).where(OUTBOX.c.status.in_(("pending", "sent"))).order_by(OUTBOX.c.id)
OUTBOX_IN_GIVEN = select(OUTBOX.c.id).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True))).order_by(OUTBOX.c.id)
EVENT_TABLE = BookingEvent.__table__  # type: ignore[attr-defined]
INSERT_EVENT = insert(EVENT_TABLE)


def _outbox_row(**changes: object) -> dict[str, object]:
    at = datetime(2026, 3, 17, 17, 0, 0, 123456, tzinfo=UTC)
    values: dict[str, object] = {
        "kind": "confirmed", "recipient": "kim@example.org", "subject": "", "message_id": "<1@example.org>",
        "raw": None, "payload": '{"x":"Grüße"}', "language": "de", "booking_id": None, "dedupe_key": None,
        "status": "pending", "attempts": 0, "next_attempt_at": at, "created_at": at - timedelta(minutes=1),
    }
    values.update(changes)
    return values


async def test_an_insert_and_a_select_give_what_the_orm_reads(database):
    async with database.transaction() as session:
        connection = await session.connection()
        new_id = await direct.insert(connection, INSERT_OUTBOX, _outbox_row())  # last_error: the column's default
        [row] = await direct.all_rows(connection, OUTBOX_BY_ID, {"id": new_id})
    async with database.reader() as session:
        loaded = await session.get(OutboxMessage, new_id)
    assert loaded is not None
    for name in OUTBOX.c.keys():
        assert getattr(row, name) == getattr(loaded, name), name
    assert row.next_attempt_at == datetime(2026, 3, 17, 17, 0, 0, 123456, tzinfo=UTC)
    assert row.next_attempt_at.utcoffset() == timedelta(0)
    assert row.last_error == "" and row.raw is None and row.payload == '{"x":"Grüße"}'


async def test_json_and_null_columns_round_trip(database, world, app):
    starts_at = next_monday(app.now())
    booking = await bookings.create_booking(
        app, world["member_a"], BookingRequest(world.room.id, starts_at, starts_at + timedelta(hours=2), organisation_id=world.org_a.id)
    )
    details = {"reason": "Chor", "dates": ["2026-03-17"], "n": 3}
    async with database.transaction() as session:
        connection = await session.connection()
        event_id = await direct.insert(connection, INSERT_EVENT, {
            "booking_id": booking.id, "actor_id": None, "action": "created", "from_status": None,
            "to_status": "confirmed", "reason": "", "details": details, "at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        })
    async with database.reader() as session:
        loaded = await session.get(BookingEvent, event_id)
    assert loaded is not None
    assert loaded.details == details and loaded.actor_id is None and loaded.from_status is None
    assert loaded.at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_an_in_list_of_constants_and_one_given_per_call(database):
    async with database.transaction() as session:
        connection = await session.connection()
        ids = [await direct.insert(connection, INSERT_OUTBOX, _outbox_row(message_id=f"<{n}@x>", status=status))
               for n, status in enumerate(("pending", "parked", "sent"))]
        assert [row.id for row in await direct.all_rows(connection, OUTBOX_PENDING_OR_SENT, {})] == [ids[0], ids[2]]
        # An IN list given with the call changes the SQL per call: the engine runs it.
        assert [row.id for row in await direct.all_rows(connection, OUTBOX_IN_GIVEN, {"ids": ids[1:]})] == ids[1:]


async def test_the_hot_statements_are_prepared_once_and_others_are_left_to_the_engine(database):
    async with database.transaction() as session:
        assert direct._direct_connection(await direct.connection_of(session)) is not None  # noqa: SLF001
    async with database.reader() as session:  # SQLite: aiosqlite's thread, through the engine
        runs_directly = direct._direct_connection(await session.connection()) is not None  # noqa: SLF001
    assert runs_directly == database.is_postgresql
    dialect = database.engine.sync_engine.dialect
    assert direct.prepared(INSERT_OUTBOX, dialect, tuple(_outbox_row())) is not None
    assert direct.prepared(OUTBOX_BY_ID, dialect, ("id",)) is direct.prepared(OUTBOX_BY_ID, dialect, ("id",))
    assert direct.prepared(OUTBOX_PENDING_OR_SENT, dialect, ()) is not None
    assert direct.prepared(OUTBOX_IN_GIVEN, dialect, ("ids",)) is None
    # created_at and next_attempt_at default to a clock: computed per row by the engine.
    without_times = {name: value for name, value in _outbox_row().items() if name not in ("created_at", "next_attempt_at")}
    assert direct.prepared(INSERT_OUTBOX, dialect, tuple(without_times)) is None


async def test_listeners_see_the_statement_and_unstorable_values_are_refused(database):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with database.transaction() as session:
            connection = await session.connection()
            await direct.insert(connection, INSERT_OUTBOX, _outbox_row())
        assert any(statement.startswith("INSERT INTO outbox_message") for statement in seen)
        with pytest.raises(InvalidInput):
            async with database.transaction() as session:
                await direct.insert(await session.connection(), INSERT_OUTBOX, _outbox_row(recipient="a\x00b"))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_undoes_the_transaction(database):
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            connection = await session.connection()
            await direct.insert(connection, INSERT_OUTBOX, _outbox_row(dedupe_key="same"))
            await direct.insert(connection, INSERT_OUTBOX, _outbox_row(dedupe_key="same", message_id="<2@x>"))
    async with database.reader() as session:
        assert (await session.exec(select(OutboxMessage))).all() == []  # type: ignore[call-overload]


async def test_a_direct_write_waits_for_another_connections_lock_without_blocking_the_loop(tmp_path):
    from booking.db import Database
    from tests.conftest import _migrated_url

    path = tmp_path / "direct.sqlite3"
    await asyncio.to_thread(_migrated_url, f"sqlite+aiosqlite:///{path}")
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.read_connection() as connection:  # switches the file to WAL first
            assert await direct.all_rows(connection, OUTBOX_PENDING_OR_SENT, {}) == []
        release = threading.Event()
        with write_lock_held_by_another_thread(path, release), LoopTicks(release, release_after=200) as ticks:
            # Outside a write transaction (no BEGIN IMMEDIATE): the INSERT itself meets the lock.
            async with database.read_connection() as connection:
                new_id = await direct.insert(connection, INSERT_OUTBOX, _outbox_row())
            ticks_when_written = ticks.count
        assert ticks.count_at_release == 200 and ticks_when_written >= 200
        async with database.read_connection() as connection:
            assert [row.id for row in await direct.all_rows(connection, OUTBOX_PENDING_OR_SENT, {})] == [new_id]
    finally:
        await database.dispose()


# --------------------------------------------------------------------------- PostgreSQL's driver

BACKEND_PID = select(func.pg_backend_pid().label("pid"))
SLEEP = select(func.pg_sleep(bindparam("seconds", type_=Float)).label("slept"))


async def _pids_of_two_pooled_connections(database) -> set[int]:  # type: ignore[no-untyped-def]
    """Both connections the pool hands out next run a statement (the pool has two: FIFO)."""
    async with database.read_connection() as first, database.read_connection() as second:
        return {(await direct.all_rows(connection, BACKEND_PID, {}))[0].pid for connection in (first, second)}


@pytest.mark.parametrize("where", ["transaction", "autocommit read"])
async def test_on_postgresql_a_connection_lost_under_a_direct_statement_is_invalidated_not_pooled(postgres_database, where):
    database = postgres_database
    await _pids_of_two_pooled_connections(database)  # two connections in the pool, both in use moments ago
    with pytest.raises(DBAPIError) as raised:
        async with contextlib.AsyncExitStack() as stack:
            if where == "transaction":
                connection = await direct.connection_of(await stack.enter_async_context(database.transaction()))
            else:
                connection = await stack.enter_async_context(database.read_connection())
            [(pid,)] = await direct.all_rows(connection, BACKEND_PID, {})
            async with database.read_connection() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await direct.insert(connection, INSERT_OUTBOX, _outbox_row())
    # SQLAlchemy's own handling: a disconnect, answered 503, and the connection not given out again.
    assert raised.value.connection_invalidated
    assert is_unavailable(raised.value)
    assert pid not in await _pids_of_two_pooled_connections(database)


async def test_on_postgresql_a_direct_statement_cancelled_midway_leaves_no_busy_connection_in_the_pool(postgres_database):
    database = postgres_database
    await _pids_of_two_pooled_connections(database)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3), database.read_connection() as connection:
            [(pid,)] = await direct.all_rows(connection, BACKEND_PID, {})
            await direct.all_rows(connection, SLEEP, {"seconds": 30})
    # The cancelled connection is closed, not pooled mid-statement ("another operation is in progress").
    assert pid not in await _pids_of_two_pooled_connections(database)
    async with database.transaction() as session:
        assert await direct.insert(await direct.connection_of(session), INSERT_OUTBOX, _outbox_row()) > 0


async def test_on_postgresql_a_direct_read_outside_a_transaction_commits_nothing_and_one_inside_sees_its_writes(postgres_database):
    database = postgres_database
    async with database.transaction() as session:
        connection = await direct.connection_of(session)
        new_id = await direct.insert(connection, INSERT_OUTBOX, _outbox_row())
        assert [row.id for row in await direct.all_rows(connection, OUTBOX_BY_ID, {"id": new_id})] == [new_id]
        async with database.read_connection() as outside:  # autocommit, another connection: not yet committed
            assert await direct.all_rows(outside, OUTBOX_BY_ID, {"id": new_id}) == []
    async with database.read_connection() as outside:
        assert [row.id for row in await direct.all_rows(outside, OUTBOX_BY_ID, {"id": new_id})] == [new_id]


# --------------------------------------------------------------------------- rows until a write

OUTBOX_COUNT = select(func.count(OUTBOX.c.id).label("n")).where(OUTBOX.c.status == bindparam("status"))


def _statements_run(database, seen: list[str]):  # type: ignore[no-untyped-def]
    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "count(outbox_message.id)" in statement:
            seen.append(statement)

    return record


async def test_rows_until_a_write_are_given_again_until_any_connection_or_this_one_writes(database, tmp_path):
    seen: list[str] = []
    record = _statements_run(database, seen)
    for engine in database.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with database.read_connection() as connection:
            async def count() -> int:
                [(n,)] = await direct.all_rows_until_a_write(connection, OUTBOX_COUNT, {"status": "pending"})
                return n  # type: ignore[no-any-return]

            assert (await count(), await count()) == (0, 0)
            runs_when_unchanged = len(seen)
            # Another connection commits (the service's write transaction).
            async with database.transaction() as session:
                await direct.insert(await direct.connection_of(session), INSERT_OUTBOX, _outbox_row())
            assert await count() == 1
            # This connection writes itself.
            await direct.insert(connection, INSERT_OUTBOX, _outbox_row(message_id="<2@x>"))
            assert await count() == 2
            # A connection outside the service (another process would be the same to SQLite).
            if database.is_sqlite:
                import sqlite3

                from sqlalchemy.engine import make_url

                outside = sqlite3.connect(make_url(database.url).database)
                outside.execute("UPDATE outbox_message SET status = 'sent' WHERE message_id = '<2@x>'")
                outside.commit()
                outside.close()
            else:
                async with database.transaction() as session:
                    await (await direct.connection_of(session)).execute(text("UPDATE outbox_message SET status = 'sent' WHERE message_id = '<2@x>'"))
            assert await count() == 1
            assert (await count(), await count()) == (1, 1)
            # Other parameters are their own rows.
            [(sent,)] = await direct.all_rows_until_a_write(connection, OUTBOX_COUNT, {"status": "sent"})
            assert sent == 1
    finally:
        for engine in database.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
    if database.is_sqlite:  # run after each write and for other parameters, never while unchanged
        assert runs_when_unchanged == 1 and len(seen) == 5
    else:  # PostgreSQL runs the statement every time
        assert runs_when_unchanged == 2 and len(seen) == 8


async def test_on_postgresql_rows_are_reused_for_the_same_write_marker_and_read_again_after_a_write(postgres_database):
    """PostgreSQL's marker is the WAL insert position, read by the caller in an earlier
    statement (``direct.write_marker()``): the same marker gives the kept rows, a write moves it."""
    database = postgres_database
    seen: list[str] = []
    record = _statements_run(database, seen)
    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with database.read_connection() as connection:
            async def marker() -> str:
                [(found,)] = await direct.all_rows(connection, MARKER, {})
                return found  # type: ignore[no-any-return]

            async def count(at: str) -> int:
                [(n,)] = await direct.all_rows_until_a_write(connection, OUTBOX_COUNT, {"status": "pending"}, marker=at)
                return n  # type: ignore[no-any-return]

            before = await marker()
            assert (await count(before), await count(before)) == (0, 0) and len(seen) == 1
            async with database.transaction() as session:
                await direct.insert(await direct.connection_of(session), INSERT_OUTBOX, _outbox_row())
            after = await marker()
            assert after != before and await count(after) == 1 and len(seen) == 2
            # Without a marker the statement runs every time.
            [(n,)] = await direct.all_rows_until_a_write(connection, OUTBOX_COUNT, {"status": "pending"})
            assert n == 1 and len(seen) == 3
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


MARKER = select(direct.write_marker().label("marker"))
