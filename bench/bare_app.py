"""The bare endpoint the create benchmark compares against: Litestar, one POST, one INSERT.

    BARE_MODE=asyncpg|core|aiosqlite BARE_DATABASE=<dsn or file> uvicorn --factory bench.bare_app:create

- ``asyncpg``: one ``INSERT … RETURNING id`` on a pooled asyncpg connection (PostgreSQL).
- ``core``: the same INSERT through SQLAlchemy Core on an async engine (PostgreSQL).
- ``aiosqlite``: ``BEGIN IMMEDIATE``, an overlap SELECT, the INSERT, COMMIT (SQLite, WAL):
  the smallest insert that is still checked against double booking.

The table ``bare_booking`` is created by ``prepare`` (bench/run.py) before the server starts.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from typing import Any

from litestar import Litestar, get, post

TABLE_SQL_PG = (
    "CREATE TABLE IF NOT EXISTS bare_booking (id serial PRIMARY KEY, resource_id int NOT NULL,"
    " starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL)"
)
TABLE_SQL_SQLITE = (
    "CREATE TABLE IF NOT EXISTS bare_booking (id INTEGER PRIMARY KEY, resource_id INTEGER NOT NULL,"
    " starts_at TEXT NOT NULL, ends_at TEXT NOT NULL)"
)
INDEX_SQL = "CREATE INDEX IF NOT EXISTS ix_bare_booking_span ON bare_booking (resource_id, starts_at, ends_at)"


def create() -> Litestar:
    mode = os.environ["BARE_MODE"]
    database = os.environ["BARE_DATABASE"]
    state: dict[str, Any] = {}

    if mode == "asyncpg":
        import asyncpg

        async def startup() -> None:
            state["pool"] = await asyncpg.create_pool(database, min_size=2, max_size=10)

        async def insert(resource_id: int, starts_at: datetime, ends_at: datetime) -> int:
            async with state["pool"].acquire() as connection:
                return await connection.fetchval(
                    "INSERT INTO bare_booking (resource_id, starts_at, ends_at) VALUES ($1, $2, $3) RETURNING id",
                    resource_id, starts_at, ends_at,
                )

    elif mode == "core":
        from sqlalchemy import Column, DateTime, Integer, MetaData, Table
        from sqlalchemy.ext.asyncio import create_async_engine

        table = Table(
            "bare_booking", MetaData(), Column("id", Integer, primary_key=True), Column("resource_id", Integer),
            Column("starts_at", DateTime(timezone=True)), Column("ends_at", DateTime(timezone=True)),
        )

        async def startup() -> None:
            state["engine"] = create_async_engine(database, pool_size=10)

        async def insert(resource_id: int, starts_at: datetime, ends_at: datetime) -> int:
            async with state["engine"].begin() as connection:
                result = await connection.execute(
                    table.insert().values(resource_id=resource_id, starts_at=starts_at, ends_at=ends_at).returning(table.c.id)
                )
                return result.scalar_one()

    elif mode == "aiosqlite":
        import aiosqlite

        async def startup() -> None:
            connection = await aiosqlite.connect(database, isolation_level=None)
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA busy_timeout=5000")
            await connection.execute("PRAGMA synchronous=NORMAL")
            state["connection"] = connection
            # One connection: its transactions run one after the other (SQLite has one writer).
            state["lock"] = asyncio.Lock()

        async def insert(resource_id: int, starts_at: datetime, ends_at: datetime) -> int:
            async with state["lock"]:
                return await checked_insert(resource_id, starts_at, ends_at)

        async def checked_insert(resource_id: int, starts_at: datetime, ends_at: datetime) -> int:
            connection = state["connection"]
            start, end = starts_at.isoformat(), ends_at.isoformat()
            await connection.execute("BEGIN IMMEDIATE")
            try:
                cursor = await connection.execute(
                    "SELECT 1 FROM bare_booking WHERE resource_id = ? AND starts_at < ? AND ends_at > ? LIMIT 1",
                    (resource_id, end, start),
                )
                if await cursor.fetchone() is not None:
                    raise RuntimeError("overlap")
                cursor = await connection.execute(
                    "INSERT INTO bare_booking (resource_id, starts_at, ends_at) VALUES (?, ?, ?)", (resource_id, start, end)
                )
                await connection.execute("COMMIT")
                return cursor.lastrowid  # type: ignore[return-value]
            except BaseException:
                await connection.execute("ROLLBACK")
                raise

    else:
        raise ValueError(f"unknown BARE_MODE {mode!r}")

    @post("/bookings")
    async def create_booking(data: dict[str, Any]) -> dict[str, int]:
        booking_id = await insert(
            int(data["resource_id"]), datetime.fromisoformat(data["starts_at"]), datetime.fromisoformat(data["ends_at"])
        )
        return {"id": booking_id}

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([create_booking, health], on_startup=[startup])
