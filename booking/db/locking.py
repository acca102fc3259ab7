"""The write lock that makes check-then-insert safe, per database.

PostgreSQL: row locks on the resources (``SELECT … FOR UPDATE``, in id order so that two
transactions locking several resources — a kit — cannot deadlock). SQLite: the transaction
already holds the database's write lock since its ``BEGIN IMMEDIATE`` (see engine.py), so
the same select needs no extra clause.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, false, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db import direct
from booking.models import Booking, Organisation, Policy, Quota, Resource, Site


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


async def lock_resource_with(
    session: AsyncSession, resource_id: int, *, organisation_id: int | None = None, attach: bool = True
) -> tuple[Resource, Site, Policy | None, Organisation | None, list[Quota]] | None:
    """Lock one resource like ``lock_resource`` and load, in the same round trip, its site,
    its policy, (when given) the organisation booked for and the quotas that count its
    bookings (its own and its category's at the site); None when there is no resource.

    Only the resource row is locked (``FOR UPDATE OF resource`` on PostgreSQL).

    ``attach=False``: the objects are read-only snapshots outside the session (plain columns,
    no ORM loading — the create path's lock, issue 10): changing one changes nothing in the
    database, and the session's ``get`` does not know them.
    """
    if not session.in_transaction():
        raise LockOutsideTransaction("lock_resource_with needs an open write transaction")
    parameters = {"resource_id": resource_id} if organisation_id is None else {"resource_id": resource_id, "organisation_id": organisation_id}
    if not attach:
        statement = _resource_with_query(session.bind.dialect.name, organisation_id is not None, as_columns=True)
        rows = [_snapshots(row) for row in await direct.all_rows(await direct.connection_of(session), statement, parameters)]
    else:
        statement = _resource_with_query(session.bind.dialect.name, organisation_id is not None)
        rows = (await session.exec(statement, params=parameters)).all()  # type: ignore[call-overload]
    if not rows:
        return None
    first = rows[0]
    quotas = [row[4] for row in rows if row[4] is not None]
    return first[0], first[1], first[2], first[3], quotas


# The models ``lock_resource_with`` loads, in the order of its result.
_LOADED = (Resource, Site, Policy, Organisation, Quota)


def _snapshots(row: Any) -> tuple[Any, ...]:
    """One row of the column query as objects of ``_LOADED`` (None for an outer join that found
    nothing), built like loaded rows but outside any session: ``booking_writes.unsaved_booking``'s way."""
    objects: list[Any] = []
    position = 0
    for model in _LOADED:
        keys = _column_keys(model)
        values = row[position:position + len(keys)]
        position += len(keys)
        if values[0] is None:  # the primary key: nothing joined
            objects.append(None)
            continue
        instance = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
        instance.__dict__.update(zip(keys, values, strict=True))
        objects.append(instance)
    return tuple(objects)


@cache
def _column_keys(model: Any) -> tuple[str, ...]:
    """The columns of ``model``'s table, primary key first."""
    columns = list(model.__table__.columns)
    columns.sort(key=lambda column: not column.primary_key)
    return tuple(column.key for column in columns)


@cache
def _resource_with_query(dialect: str, with_organisation: bool, *, as_columns: bool = False) -> Any:
    """``lock_resource_with``'s statement, built once per process (parameters ``resource_id``
    and ``organisation_id``): every booking runs it, and building costs more than running.
    ``as_columns``: the columns of the five tables (``_column_keys`` order) instead of ORM entities."""
    organisation_match = Organisation.id == bindparam("organisation_id") if with_organisation else false()
    quota_match = or_(
        Quota.resource_id == Resource.id,
        and_(
            Quota.resource_id.is_(None),  # type: ignore[union-attr]
            Quota.site_id == Resource.site_id,
            Quota.category == Resource.category,
            Resource.category != "",
        ),
    )
    if as_columns:
        selected = [
            model.__table__.c[key].label(f"{model.__tablename__}_{key}")  # type: ignore[attr-defined]
            for model in _LOADED for key in _column_keys(model)
        ]
        statement = sa_select(*selected).select_from(Resource)
    else:
        statement = select(Resource, Site, Policy, Organisation, Quota)
    statement = (
        statement
        .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
        .outerjoin(Policy, Policy.resource_id == Resource.id)  # type: ignore[arg-type]
        .outerjoin(Organisation, organisation_match)  # type: ignore[arg-type]
        .outerjoin(Quota, quota_match)  # type: ignore[arg-type]
        .where(Resource.id == bindparam("resource_id"))
        .order_by(Quota.id)  # type: ignore[arg-type]
    )
    if dialect == "postgresql":
        statement = statement.with_for_update(of=Resource.__table__ if as_columns else Resource)  # type: ignore[arg-type,attr-defined]
    return statement


async def lock_quotas(session: AsyncSession, keys: Iterable[tuple[int, int]]) -> None:
    """Serialise every booking that counts against the same quota for the same subject
    (``(quota id, organisation or person id)``) until the transaction ends.

    Needed beside the resource lock because a category's quota spans several resources: two
    bookings of two rooms of one category lock different resource rows. PostgreSQL: a
    transaction-level advisory lock per key, taken in order (and always after the resource
    locks of the transaction, so no two transactions wait for each other in a circle).
    SQLite: ``BEGIN IMMEDIATE`` already serialises every writer; nothing to add.
    """
    if not session.in_transaction():
        raise LockOutsideTransaction("lock_quotas needs an open write transaction")
    ordered = sorted(set(keys))
    if not ordered or session.bind.dialect.name != "postgresql":
        return
    calls = ", ".join(f"pg_advisory_xact_lock(:quota_{i}, :subject_{i})" for i in range(len(ordered)))
    parameters: dict[str, int] = {}
    for i, (quota_id, subject_id) in enumerate(ordered):
        parameters[f"quota_{i}"] = quota_id
        # int4 keys: person subjects are told apart from organisations by the quota id already.
        parameters[f"subject_{i}"] = subject_id
    await session.exec(text(f"SELECT {calls}").bindparams(**parameters))  # type: ignore[call-overload]


async def lock_booking(session: AsyncSession, booking_id: int) -> Booking | None:
    """Load one booking and lock its row for the rest of the transaction (``FOR UPDATE`` on
    PostgreSQL; SQLite's write transaction is the lock). A job that claimed the row with
    ``SKIP LOCKED`` and changed it is seen here only after it committed, with its change."""
    if not session.in_transaction():
        raise LockOutsideTransaction("lock_booking needs an open write transaction")
    statement = select(Booking).where(Booking.id == booking_id)
    if session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()
