"""Writing one new booking with what belongs to it, as SQLAlchemy Core statements.

The hot path of ``POST /api/v1/bookings`` (issue 10): the ORM's unit of work (identity map,
attribute history, flush ordering, the report-change listener) costs more Python than the three
rows it writes. Here the rows go in as plain values, and the report summary's change note, which
``report_changes.TrackedSession`` would write after an ORM flush, is written explicitly:

- PostgreSQL: one statement — the booking inserted in a CTE, the change note and the audit event
  inserted from it, its id returned. The exclusion constraint still answers 23P01 on an overlap.
- SQLite: the same three INSERTs one after the other (no data-modifying CTEs); in-process calls,
  not round trips, inside the transaction's write lock.

The statements are built once per process and run with bound parameters.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache, partial
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db import direct
from booking.models import Booking, BookingEvent, ReportSummaryChange

# The columns of the audit event taken from the call (the booking id comes from the insert).
_EVENT_COLUMNS = ("actor_id", "action", "from_status", "to_status", "reason", "details", "at")
# Every column of a booking but its id (database-generated), as ``insert_booking`` takes them.
_BOOKING_COLUMNS = tuple(column.key for column in Booking.__table__.columns if column.key != "id")  # type: ignore[attr-defined]


def unsaved_booking(values: dict[str, Any]) -> Booking:
    """A ``Booking`` with ``values`` and the model's defaults for every other field, for
    ``insert_booking`` to write and the caller to answer with: built the way the ORM builds a
    loaded row (its instance state, then the attribute dict) rather than through ``__init__``,
    whose per-attribute events record a change history that no flush will ever read (the row
    goes in through Core). Setting an attribute afterwards works as on any object."""
    booking: Booking = Booking._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    booking.__dict__.update((name, values[name] if name in values else default()) for name, default in _booking_defaults())
    return booking


def booking_columns(booking: Booking) -> dict[str, Any]:
    """The column values of ``booking`` but its id, as ``insert_booking`` takes them."""
    return {name: getattr(booking, name) for name in _BOOKING_COLUMNS}


@cache
def _booking_defaults() -> tuple[tuple[str, Any], ...]:
    """(field, a callable giving its default) for the fields of a booking, as ``__init__`` fills
    them: the field's factory, or its plain default returned as it is. Decided once here:
    pydantic's ``FieldInfo.get_default`` inspects the factory's signature on every call, which
    cost more than the rest of building the booking."""
    defaults = []
    for name, field in Booking.model_fields.items():
        if field.default_factory is not None:
            factory = field.default_factory
            if field.default_factory_takes_validated_data:  # a factory of the validated data: pydantic decides
                factory = partial(field.get_default, call_default_factory=True)
            defaults.append((name, factory))
        else:
            value = field.get_default(call_default_factory=False)
            # A mutable default is copied per booking, as pydantic's __init__ does.
            defaults.append((name, partial(deepcopy, value) if value.__hash__ is None else partial(_same, value)))
    return tuple(defaults)


def _same(value: Any) -> Any:
    return value


async def insert_booking(session: AsyncSession, booking: dict[str, Any], event: dict[str, Any]) -> int:
    """Insert ``booking`` (column values, no id), its audit ``event`` (``_EVENT_COLUMNS``) and the
    report summary's change note in the session's transaction; return the new booking's id.

    Raises IntegrityError like a flush would (on PostgreSQL an overlap refused by the exclusion
    constraint: ``db.errors.is_overlap_violation``).
    """
    connection = await direct.connection_of(session)
    if connection.dialect.name == "postgresql":
        parameters = dict(booking)
        parameters.update({f"event_{name}": event[name] for name in _EVENT_COLUMNS})
        ((booking_id,),) = await direct.all_rows(connection, _postgresql_statement(tuple(booking)), parameters)
        return booking_id  # type: ignore[no-any-return]
    insert_booking_row, insert_event, insert_note = _sqlite_statements()
    booking_id = await direct.insert(connection, insert_booking_row, booking)
    await direct.insert(connection, insert_note, {"resource_id": booking["resource_id"], "starts_at": booking["starts_at"]})
    await direct.insert(connection, insert_event, {**event, "booking_id": booking_id})
    return booking_id


def _tables() -> tuple[Any, Any, Any]:
    return Booking.__table__, BookingEvent.__table__, ReportSummaryChange.__table__  # type: ignore[attr-defined]


@cache
def _sqlite_statements() -> tuple[Any, Any, Any]:
    """INSERTs into the booking, booking_event and report_summary_change tables (that order)."""
    return tuple(insert(table) for table in _tables())  # type: ignore[return-value]


@cache
def _postgresql_statement(columns: tuple[str, ...]) -> Any:
    """``WITH new_booking AS (INSERT … RETURNING), note AS (INSERT … SELECT), event AS (INSERT …
    SELECT) SELECT id FROM new_booking``, for bookings given with ``columns``."""
    booking_table, event_table, note_table = _tables()
    new_booking = (
        insert(booking_table)
        .values({name: bindparam(name, type_=booking_table.c[name].type) for name in columns})
        .returning(booking_table.c.id, booking_table.c.resource_id, booking_table.c.starts_at)
        .cte("new_booking")
    )
    note = insert(note_table).from_select(
        ["resource_id", "starts_at"], select(new_booking.c.resource_id, new_booking.c.starts_at)
    ).cte("new_note")
    event = insert(event_table).from_select(
        ["booking_id", *_EVENT_COLUMNS],
        select(
            new_booking.c.id,
            *(bindparam(f"event_{name}", type_=event_table.c[name].type) for name in _EVENT_COLUMNS),
        ),
    ).cte("new_event")
    return select(new_booking.c.id).add_cte(note, event)
