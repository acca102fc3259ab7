"""The write lock that makes check-then-insert safe, per database.

PostgreSQL: row locks on the resources (``SELECT … FOR UPDATE``, in id order so that two
transactions locking several resources — a kit — cannot deadlock). SQLite: the transaction
already holds the database's write lock since its ``BEGIN IMMEDIATE`` (see engine.py), so
the same select needs no extra clause.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.models import Resource


class LockOutsideTransaction(RuntimeError):
    """A lock was asked for outside a write transaction: it would protect nothing."""


async def lock_resources(session: AsyncSession, resource_ids: Iterable[int]) -> dict[int, Resource]:
    """Lock the given resources for the rest of the transaction and return them by id.

    Missing ids are simply absent from the result; the caller decides what that means.
    """
    if not session.in_transaction():
        raise LockOutsideTransaction("lock_resources needs an open write transaction")
    ids = sorted(set(resource_ids))
    statement = select(Resource).where(Resource.id.in_(ids)).order_by(Resource.id)  # type: ignore[union-attr]
    if session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    result = await session.exec(statement)
    return {resource.id: resource for resource in result.all()}  # type: ignore[misc]


async def lock_resource(session: AsyncSession, resource_id: int) -> Resource | None:
    return (await lock_resources(session, [resource_id])).get(resource_id)
