"""The waiting lists as a site's staff (and, for a volunteer offer's places, its organisers)
see and order them: a resource's line with names (``resource_list``), a site's lines
(``staff_sites``, ``site_lists``), moving an entry up or down (``move``), taking one off with a
mail to the person (``remove``), and ending a whole line (``close_line``, an offer cancelled)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.db.locking import lock_resource_with
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.domain.waiting_list import OPEN, EntryStatus, swapped_positions
from booking.mail.outbox import enqueue
from booking.models import Booking, Resource, Site, User, WaitingListEntry
from booking.services.context import AppContext
from booking.services.waiting_list_views import EntryView, _end_entry


async def _staff_resource(session: AsyncSession, actor: Principal, resource_id: int) -> tuple[Resource, Site]:
    """The resource whose line ``actor`` may see and order: the site's staff, and for the places
    of a volunteer offer also its organisers (``offer_permissions.may_manage``); nobody else."""
    resource = await session.get(Resource, resource_id)
    if resource is None:
        raise NotFound(f"resource {resource_id} does not exist")
    if not actor.is_lender_at(resource.site_id) and not await _organises_offer_of(session, actor, resource):
        raise PermissionDenied("only the site's lenders and managers see and order its waiting lists")
    site = await session.get(Site, resource.site_id)
    assert site is not None
    return resource, site


async def _organises_offer_of(session: AsyncSession, actor: Principal, resource: Resource) -> bool:
    if resource.kind != OFFER_RESOURCE_KIND:
        return False
    from booking.models import Offer
    from booking.services.offer_permissions import may_manage

    offer = (await session.exec(select(Offer).where(Offer.resource_id == resource.id))).first()
    return offer is not None and may_manage(actor, offer)


async def resource_list(app: AppContext, actor: Principal, resource_id: int) -> list[EntryView]:
    """The open entries of a resource in line order, with names, for the site's staff."""
    async with app.database.reader() as session:
        resource, site = await _staff_resource(session, actor, resource_id)
        rows = (
            await session.exec(
                select(WaitingListEntry, User)
                .join(User, User.id == WaitingListEntry.person_id)  # type: ignore[arg-type]
                .where(
                    WaitingListEntry.resource_id == resource_id, col(WaitingListEntry.status).in_(OPEN),
                    WaitingListEntry.ends_at > app.now(),
                )
                .order_by(col(WaitingListEntry.position), col(WaitingListEntry.id))
                .limit(500)
            )
        ).all()
        hold_ids = [entry.booking_id for entry, _ in rows if entry.booking_id is not None]
        holds = {
            b.id: b for b in (await session.exec(select(Booking).where(col(Booking.id).in_(hold_ids)))).all()
        } if hold_ids else {}
    return [
        EntryView(entry, resource, site, holds.get(entry.booking_id) if entry.booking_id else None, place, user.display_name or user.email)  # type: ignore[arg-type]
        for place, (entry, user) in enumerate(rows, start=1)
    ]


async def staff_sites(app: AppContext, actor: Principal) -> list[Site]:
    """The sites whose waiting lists ``actor`` sees (their lender/manager sites; all for city admins)."""
    statement = select(Site).order_by(col(Site.name), col(Site.id))
    if not actor.is_city_admin:
        statement = statement.where(col(Site.id).in_(list(actor.site_roles)))
    async with app.database.reader() as session:
        return list((await session.exec(statement.limit(500))).all())


async def site_lists(app: AppContext, actor: Principal, site_id: int) -> dict[int, list[EntryView]]:
    """The open waiting lists of a site's resources (only resources with entries), for its staff."""
    if not actor.is_lender_at(site_id):
        raise PermissionDenied("only the site's lenders and managers see its waiting lists")
    async with app.database.reader() as session:
        resource_ids = list(
            (
                await session.exec(
                    select(WaitingListEntry.resource_id).distinct()
                    .join(Resource, Resource.id == WaitingListEntry.resource_id)  # type: ignore[arg-type]
                    # Offers' places are ordered on each offer's organiser page (by date), not here.
                    .where(Resource.site_id == site_id, Resource.kind != OFFER_RESOURCE_KIND, col(WaitingListEntry.status).in_(OPEN),
                           WaitingListEntry.ends_at > app.now())
                )
            ).all()
        )
    return {resource_id: await resource_list(app, actor, resource_id) for resource_id in sorted(resource_ids)}


async def move(app: AppContext, actor: Principal, entry_id: int, direction: str) -> WaitingListEntry:
    """Staff (or an offer's organisers) move a waiting entry one place up or down in its line:
    the resource's line, or for an offer's places the line of the entry's date (the others
    wait for other dates, so swapping with them would change nothing anyone sees)."""
    async with app.database.transaction() as session:
        entry = await session.get(WaitingListEntry, entry_id)
        if entry is None:
            raise NotFound(f"waiting list entry {entry_id} does not exist")
        resource, _site = await _staff_resource(session, actor, entry.resource_id)
        if direction not in ("up", "down"):
            raise InvalidInput("direction is up or down", field="direction")
        await lock_resource_with(session, entry.resource_id)
        statement = select(WaitingListEntry).where(
            WaitingListEntry.resource_id == entry.resource_id, WaitingListEntry.status == EntryStatus.WAITING.value
        )
        if resource.kind == OFFER_RESOURCE_KIND:
            statement = statement.where(WaitingListEntry.starts_at == entry.starts_at)
        line = list((await session.exec(statement.order_by(col(WaitingListEntry.position), col(WaitingListEntry.id)))).all())
        new_order = swapped_positions([e.id for e in line], entry_id, direction)  # type: ignore[misc]
        if new_order is None:
            raise InvalidInput("this entry cannot move further that way", field="direction")
        by_id = {e.id: e for e in line}
        for position, moved_id in enumerate(new_order, start=1):
            moved = by_id[moved_id]
            if moved.position != position:
                moved.position = position
                session.add(moved)
        await session.flush()
        return by_id[entry_id]


async def remove(app: AppContext, actor: Principal, entry_id: int) -> WaitingListEntry:
    """Staff (or an offer's organisers) take an entry off the list (an offer it holds is
    withdrawn, the next one offered); the person is told by mail. Rate limits are the caller's."""
    async with app.database.transaction() as session:
        entry = await session.get(WaitingListEntry, entry_id)
        if entry is None:
            raise NotFound(f"waiting list entry {entry_id} does not exist")
        resource, site = await _staff_resource(session, actor, entry.resource_id)
        entry = await _end_entry(session, app, actor, entry)
        await _removal_mail(session, app, entry, resource, site)
        return entry


async def close_line(session: AsyncSession, app: AppContext, actor: Principal, resource_id: int) -> int:
    """End every open entry of a resource's line and tell each person by mail, inside the caller's
    transaction (a volunteer offer was cancelled: nothing is left to wait for). The waiting ones
    end first, so that a hold declined after them is offered to nobody. Returns how many."""
    resource = await session.get(Resource, resource_id)
    if resource is None:
        return 0
    site = await session.get(Site, resource.site_id)
    assert site is not None
    entries = list((await session.exec(
        select(WaitingListEntry).where(WaitingListEntry.resource_id == resource_id, col(WaitingListEntry.status).in_(OPEN))
        .order_by(col(WaitingListEntry.status) != EntryStatus.WAITING.value, col(WaitingListEntry.id)).limit(500)
    )).all())
    closed = 0
    for entry in entries:
        try:
            await _end_entry(session, app, actor, entry)
        except TransitionNotAllowed:
            continue  # answered meanwhile
        await _removal_mail(session, app, entry, resource, site)
        closed += 1
    return closed


async def _removal_mail(session: AsyncSession, app: AppContext, entry: WaitingListEntry, resource: Resource, site: Site) -> None:
    person = await session.get(User, entry.person_id)
    if person is None or not person.email:
        return
    # The hidden places resource of an offer has no name to show; the offer's title is what they waited for.
    name = entry.title if resource.kind == OFFER_RESOURCE_KIND and entry.title else resource.name
    await enqueue(
        session, settings=app.settings, kind="waiting_list_removed", recipient=person.email, language=person.language,
        context={
            "booking_title": entry.title or name, "resource_name": name, "site_name": site.name, "site_address": site.address,
            "site_email": site.contact_email, "timezone": site.timezone, "starts_at": entry.starts_at, "ends_at": entry.ends_at,
            "quantity": entry.quantity, "recipient_name": person.display_name,
        },
        dedupe_key=f"waiting-list-removed:{entry.id}", now=app.now(),
    )


__all__ = ["close_line", "move", "remove", "resource_list", "site_lists", "staff_sites"]
