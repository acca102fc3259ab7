"""A person's own waiting-list entries: what "Meine Buchungen" and the API show of them
(``my_entries``, ``my_ended_entries``, ``get_entry``, each an ``EntryView`` with its hold and
its place in the line) and leaving a list (``withdraw``; an offer held is declined with it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.db.locking import lock_resource_with
from booking.domain.errors import NotFound, TransitionNotAllowed
from booking.domain.lifecycle import Status
from booking.domain.waiting_list import ENDED, OPEN, EntryStatus
from booking.models import Booking, Resource, Site, WaitingListEntry
from booking.services.context import AppContext
from booking.services.waiting_list_holds import _decline

# How long "Meine Buchungen" still shows an entry that ended, and how many.
ENDED_SHOWN_FOR = timedelta(days=14)
MAX_ENDED_SHOWN = 50


@dataclass(frozen=True)
class EntryView:
    """An entry with what pages and the API show of it. ``place``: 1-based place in the line
    of its resource (open entries only); ``person_name``: only in the staff's list."""

    entry: WaitingListEntry
    resource: Resource
    site: Site
    hold: Booking | None = None
    place: int | None = None
    person_name: str | None = None

    @property
    def timezone(self) -> str:
        return self.site.timezone


async def withdraw(app: AppContext, actor: Principal, entry_id: int) -> WaitingListEntry:
    """The person leaves the waiting list; an offer they hold is declined with it."""
    async with app.database.transaction() as session:
        entry = await session.get(WaitingListEntry, entry_id)
        if entry is None or entry.person_id != actor.user_id:
            raise NotFound(f"waiting list entry {entry_id} does not exist")
        return await _end_entry(session, app, actor, entry)


async def _end_entry(session: AsyncSession, app: AppContext, actor: Principal, entry: WaitingListEntry) -> WaitingListEntry:
    await lock_resource_with(session, entry.resource_id)
    await session.refresh(entry)
    if entry.status == EntryStatus.WAITING.value:
        entry.status = EntryStatus.WITHDRAWN.value
        entry.decided_at = app.now()
        session.add(entry)
        await session.flush()
        return entry
    if entry.status == EntryStatus.OFFERED.value and entry.booking_id is not None:
        booking = await session.get(Booking, entry.booking_id)
        if booking is not None and booking.status == Status.HELD.value:
            await _decline(session, app, booking, entry, actor)
            await session.refresh(entry)
            return entry
    raise TransitionNotAllowed("this entry is no longer on the waiting list")


async def my_entries(app: AppContext, actor: Principal, *, include_closed: bool = False) -> list[EntryView]:
    """The actor's entries (open ones; with ``include_closed`` the rest too), soonest first,
    each with its hold and its place in the line."""
    statement = (
        select(WaitingListEntry, Resource, Site)
        .join(Resource, Resource.id == WaitingListEntry.resource_id)  # type: ignore[arg-type]
        .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
        .where(WaitingListEntry.person_id == actor.user_id)
        .order_by(col(WaitingListEntry.starts_at), col(WaitingListEntry.id))
        .limit(200)
    )
    if not include_closed:
        statement = statement.where(col(WaitingListEntry.status).in_(OPEN), WaitingListEntry.ends_at > app.now())
    return await _entry_views(app, statement)


async def my_ended_entries(app: AppContext, actor: Principal) -> list[EntryView]:
    """The actor's entries that ended (booked, ran out, withdrawn, lapsed) within the last
    ``ENDED_SHOWN_FOR``, latest first; at most ``MAX_ENDED_SHOWN``."""
    statement = (
        select(WaitingListEntry, Resource, Site)
        .join(Resource, Resource.id == WaitingListEntry.resource_id)  # type: ignore[arg-type]
        .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
        .where(
            WaitingListEntry.person_id == actor.user_id, col(WaitingListEntry.status).in_(ENDED),
            col(WaitingListEntry.decided_at) >= app.now() - ENDED_SHOWN_FOR,
        )
        .order_by(col(WaitingListEntry.decided_at).desc(), col(WaitingListEntry.id).desc())
        .limit(MAX_ENDED_SHOWN)
    )
    return await _entry_views(app, statement)


async def _entry_views(app: AppContext, statement) -> list[EntryView]:  # type: ignore[no-untyped-def]
    async with app.database.reader() as session:
        rows = list((await session.exec(statement)).all())
        hold_ids = [entry.booking_id for entry, _, _ in rows if entry.booking_id is not None]
        holds = {
            b.id: b for b in (await session.exec(select(Booking).where(col(Booking.id).in_(hold_ids)))).all()
        } if hold_ids else {}
        places: dict[int, int] = {}
        for entry, _, _ in rows:
            if entry.status == EntryStatus.WAITING.value:
                ahead = (
                    await session.exec(
                        select(func.count()).select_from(WaitingListEntry).where(
                            WaitingListEntry.resource_id == entry.resource_id,
                            WaitingListEntry.status == EntryStatus.WAITING.value,
                            (col(WaitingListEntry.position) < entry.position)
                            | ((col(WaitingListEntry.position) == entry.position) & (col(WaitingListEntry.id) < entry.id)),
                        )
                    )
                ).one()
                places[entry.id] = int(ahead) + 1  # type: ignore[index]
    return [
        EntryView(entry, resource, site, holds.get(entry.booking_id) if entry.booking_id else None, places.get(entry.id))  # type: ignore[arg-type]
        for entry, resource, site in rows
    ]


async def get_entry(app: AppContext, actor: Principal, entry_id: int) -> EntryView:
    """One of the actor's own entries."""
    for view in await my_entries(app, actor, include_closed=True):
        if view.entry.id == entry_id:
            return view
    raise NotFound(f"waiting list entry {entry_id} does not exist")


__all__ = ["EntryView", "get_entry", "my_ended_entries", "my_entries", "withdraw"]
