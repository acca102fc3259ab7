"""Claiming work rows for one worker among several — the SQLite/PostgreSQL difference.

A claim is a lease: ``claimed_by`` names the worker, ``claimed_until`` says until when the
row is its own. A worker that dies simply lets the lease run out and the row becomes due again.

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` — concurrent workers skip rows another worker
is claiming this very moment instead of queueing behind it, so each row goes to one worker.
SQLite: the write transaction already began with ``BEGIN IMMEDIATE`` (see engine.py) and holds
the database's write lock, so select-then-update cannot interleave with another claimer;
SQLite has no row locks (and SQLAlchemy would drop ``FOR UPDATE`` there silently anyway).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.models.messaging import OutboxMessage


async def claim_due_outbox_rows(
    session: AsyncSession, *, now: datetime, limit: int, worker: str, lease: timedelta
) -> list[OutboxMessage]:
    """Claim up to ``limit`` pending, due, unclaimed (or lease-expired) outbox rows.

    Call inside ``database.transaction()``; the claim holds once that transaction commits.
    Oldest due first. Returns the claimed rows with ``claimed_by``/``claimed_until`` set.
    """
    if not session.in_transaction():
        raise RuntimeError("claim_due_outbox_rows needs a write transaction")
    due = and_(
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.next_attempt_at) <= now,
        or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) <= now),
    )
    statement = (
        select(OutboxMessage)
        .where(due)
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(limit)
    )
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    elif dialect != "sqlite":
        raise NotImplementedError(f"claiming rows is not implemented for {dialect}")
    rows = list((await session.exec(statement)).all())
    until = now + lease
    for row in rows:
        row.claimed_by = worker
        row.claimed_until = until
        session.add(row)
    await session.flush()
    return rows


def skip_locked(statement: Any, session: AsyncSession, *, of: Any) -> Any:
    """``statement`` (a SELECT) with ``FOR UPDATE OF <of> SKIP LOCKED`` on PostgreSQL: rows that
    another worker is working on are left out instead of waited for. SQLite: unchanged (the
    write transaction's ``BEGIN IMMEDIATE`` already serialises workers)."""
    if not session.in_transaction():
        raise RuntimeError("claiming rows needs a write transaction")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return statement.with_for_update(skip_locked=True, of=of)
    if dialect != "sqlite":
        raise NotImplementedError(f"claiming rows is not implemented for {dialect}")
    return statement
