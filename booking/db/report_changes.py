"""The report summary's change log, written in the same transaction as every change it must see.

The yearly report reads a monthly summary (``services/report_summary.py``) instead of a million
bookings. To keep it exact, every write session notes which (resource, start) a change touched in
``report_summary_change``, in the transaction of the change itself, so a change and its note
commit or roll back together. The refresh (worker, report page, ``booking report
--rebuild-summary``) recomputes the local months named there.

Caught here, whatever service wrote:

* ORM inserts, updates and deletes of bookings (old and new resource/start when a booking moves)
  and of unmet demand rows; audit events that change a status (the lead time of a cancellation
  is read from them);
* bulk ``UPDATE``/``DELETE`` statements on ``booking`` (erasure anonymises in bulk): the rows
  they are about are noted by an ``INSERT … SELECT`` with the same ``WHERE`` first;
* a site's time zone changing, a resource moving to another site, a resource or site deleted:
  a note with ``resource_id`` NULL ("recompute everything"; rare administrative changes).

Not caught (documented, run ``booking report --rebuild-summary`` after them): raw SQL that writes
bookings outside a session (bulk imports, the benchmark's fill). Core inserts on a session's
connection are not seen either: ``db/booking_writes.py`` (a new booking) writes its note itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect, select, text
from sqlmodel import Session

# Booking columns a report figure depends on; changing others (titles, sequence) needs no refresh.
_BOOKING_FIGURE_COLUMNS = (
    "status", "starts_at", "ends_at", "quantity", "resource_id", "organisation_id", "booker_id", "decision_reason",
)
# Any constant: the advisory lock that serialises summary refreshes on PostgreSQL.
_SUMMARY_LOCK_KEY = 7_150_215
_NOTED = "report_noted_booking_ids"


class TrackedSession(Session):
    """The sync session behind every ``Database`` session: notes changes for the report summary."""


def _history_values(obj: Any, name: str) -> list[Any]:
    history = inspect(obj).attrs[name].history
    return [value for value in (*history.deleted, *history.added, *history.unchanged) if value is not None]


@event.listens_for(TrackedSession, "after_flush")
def _note_flushed_changes(session: Session, _context: Any) -> None:
    # Session lists and attribute history still show the state before this flush here.
    from booking.models import Booking, BookingEvent, Resource, ReportSummaryChange, Site, UnmetDemand

    notes: list[dict[str, Any]] = []
    event_booking_ids: list[int] = []
    # Bookings noted earlier in this transaction: their audit events need no second note.
    noted: set[int] = session.info.setdefault(_NOTED, set())
    everything = False
    for obj in session.new:
        if isinstance(obj, Booking):
            noted.add(obj.id)
            notes.append({"resource_id": obj.resource_id, "starts_at": obj.starts_at})
        elif isinstance(obj, UnmetDemand):
            notes.append({"resource_id": obj.resource_id, "starts_at": obj.requested_starts_at})
        elif isinstance(obj, BookingEvent) and obj.to_status and obj.booking_id not in noted:
            event_booking_ids.append(obj.booking_id)
    for obj in session.dirty:
        if isinstance(obj, Booking):
            state = inspect(obj)
            if not any(state.attrs[name].history.has_changes() for name in _BOOKING_FIGURE_COLUMNS):
                continue
            noted.add(obj.id)
            resource_ids, starts = _history_values(obj, "resource_id"), _history_values(obj, "starts_at")
            if not (resource_ids and starts):  # not loaded: read them from the row
                event_booking_ids.append(obj.id)
            for resource_id in resource_ids:
                for starts_at in starts:
                    notes.append({"resource_id": resource_id, "starts_at": starts_at})
        elif isinstance(obj, Site) and inspect(obj).attrs["timezone"].history.has_changes():
            everything = True
        elif isinstance(obj, Resource) and inspect(obj).attrs["site_id"].history.has_changes():
            everything = True
    for obj in session.deleted:
        if isinstance(obj, Booking):
            notes.append({"resource_id": obj.resource_id, "starts_at": obj.starts_at})
        elif isinstance(obj, UnmetDemand):
            notes.append({"resource_id": obj.resource_id, "starts_at": obj.requested_starts_at})
        elif isinstance(obj, (Resource, Site)):
            everything = True
    if everything:
        notes.append({"resource_id": None, "starts_at": None})
    connection = session.connection()
    table = ReportSummaryChange.__table__  # type: ignore[attr-defined]
    if notes:
        unique = list({(note["resource_id"], note["starts_at"]): note for note in notes}.values())
        connection.execute(insert(table), unique)
    if event_booking_ids:
        connection.execute(insert(table).from_select(
            ["resource_id", "starts_at"],
            select(Booking.resource_id, Booking.starts_at).where(Booking.id.in_(sorted(set(event_booking_ids)))),  # type: ignore[union-attr]
        ))


@event.listens_for(TrackedSession, "after_transaction_end")
def _forget_noted(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop(_NOTED, None)


@event.listens_for(TrackedSession, "do_orm_execute")
def _note_bulk_changes(state: Any) -> Any:
    if not (state.is_update or state.is_delete):
        return
    target = getattr(state.statement, "table", None)
    if getattr(target, "name", None) != "booking":
        return
    from booking.models import Booking, ReportSummaryChange

    rows = select(Booking.resource_id, Booking.starts_at)
    if state.statement.whereclause is not None:
        rows = rows.where(state.statement.whereclause)
    note = insert(ReportSummaryChange.__table__).from_select(["resource_id", "starts_at"], rows)  # type: ignore[attr-defined]
    state.session.execute(note)  # where the rows are now
    changed = [getattr(key, "key", key) for key in (getattr(state.statement, "_values", None) or {})]  # noqa: SLF001
    if not (state.is_update and {"resource_id", "starts_at"} & set(changed)):
        return None
    result = state.invoke_statement()
    state.session.execute(note)  # and where an update moved them
    return result


async def lock_summary(session: Any, dialect_name: str) -> None:
    """Serialise refreshes of the summary (two refreshes recomputing one month would collide on
    its primary key). SQLite write transactions are serialised already (BEGIN IMMEDIATE)."""
    if dialect_name == "postgresql":
        await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_SUMMARY_LOCK_KEY))
