"""The waiting-list engine: joining the line of a taken slot, and offering capacity that frees
or appears to the people in line (any resource: rooms, desks, pooled things, offers' places).

One capacity engine (DESIGN.md): an offer is a booking in status ``held`` that counts against
capacity until the person takes it (→ confirmed, or requested where the resource needs
approval), declines it (→ cancelled) or lets it run out (→ expired). No second counter.

``offer_freed_capacity(session, app, resource_id, interval, now=…)`` is THE function to call
wherever capacity frees, inside the transaction that freed it: it takes the resource's lock
(a no-op when the caller holds it already), walks the open entries in line order, asks the
availability rule whether each now fits, and for those that do makes the held booking, marks
the entry offered and adds the offer mail to the outbox. ``bookings.transition`` calls it for
every status change that ends a holding status (cancel, decline, return, hold expiry or
decline); ``bookings.change_booking`` after a booking got shorter or smaller.
``capacity_appeared`` (and ``capacity_appeared_at_site``) is the same for capacity that appears
without a booking being released: a closure or repair removed or shortened, capacity raised, a
resource active again, buffers shrunk, series dates moved away.

The rest of the waiting lists lives beside it: answering a held offer
(``waiting_list_holds``), the scheduled jobs (``waiting_list_jobs``), a person's own entries
(``waiting_list_views``), the staff's and organisers' lists (``waiting_list_staff``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.db.locking import lock_resource_with
from booking.domain.errors import Conflict, InvalidInput, PolicyViolation
from booking.domain.intervals import Interval
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.domain.lifecycle import Status, hold_expiry
from booking.domain.waiting_list import OPEN, EntryStatus, Waiting, choose_offers
from booking.mail.outbox import enqueue
from booking.models import Booking, Resource, WaitingListEntry
from booking.services import notifications
from booking.services.audit import record_event
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_blackouts_and_holdings, rules_from_policy

# Entries looked at per freed slot: bounded work under the lock.
MAX_ENTRIES_PER_OFFER_ROUND = 50
# Capacity that appears without a booking being released (a closure lifted, capacity raised, …):
# how far ahead entries are looked at, and how many resources one site-wide change offers.
MAX_APPEARED_SPAN = timedelta(days=2 * 366)
MAX_RESOURCES_PER_SITE_CHANGE = 20
MAX_TITLE = 200


class SlotIsFree(InvalidInput):
    """Joining the waiting list of a slot that can simply be booked."""

    status_code = 409
    code = "slot_free"


class AlreadyWaiting(InvalidInput):
    status_code = 409
    code = "already_waiting"


@dataclass(frozen=True)
class JoinRequest:
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    quantity: int = 1
    organisation_id: int | None = None
    title: str = ""


def hold_time(app: AppContext) -> timedelta:
    return timedelta(hours=float(app.settings.waiting_list.hold_hours))


# --------------------------------------------------------------------------- joining


async def join(app: AppContext, actor: Principal, request: JoinRequest) -> WaitingListEntry:
    """Put ``actor`` on the waiting list of a taken slot.

    Only when the slot is taken now (``SlotIsFree`` otherwise: book it), the same rules as a
    booking hold (who may book, lead time, horizon, opening hours, quantity), no second open
    entry for the same slot (``AlreadyWaiting``), at most ``waiting_list.max_entries_per_person``
    open entries per person (``PolicyViolation``).
    """
    from booking.services.bookings import _clean_text, check_booker, check_loaded_placement, load_placement_data, lock_for_booking

    interval = Interval(request.starts_at, request.ends_at).in_utc()
    title = _clean_text(request.title, MAX_TITLE, "title")
    now = app.now()
    async with app.database.transaction() as session:
        placement = await lock_for_booking(session, actor, request.resource_id, organisation_id=request.organisation_id)
        await check_booker(session, actor, placement, request.organisation_id)
        data = await load_placement_data(session, placement, interval, now=now)
        try:
            check_loaded_placement(placement, data, interval, request.quantity, now=now)
        except Conflict:
            pass  # taken: that is what a waiting list is for
        else:
            raise SlotIsFree("this time is free: book it directly", field="starts_at")
        open_of_person = (
            await session.exec(
                select(WaitingListEntry).where(
                    WaitingListEntry.person_id == actor.user_id, col(WaitingListEntry.status).in_(OPEN)
                )
            )
        ).all()
        for entry in open_of_person:
            if (entry.resource_id, _aware(entry.starts_at), _aware(entry.ends_at)) == (
                request.resource_id, interval.starts_at, interval.ends_at
            ):
                raise AlreadyWaiting("you are already on the waiting list for this time", field="starts_at")
        return await _add_entry(
            session, app, actor, open_of_person, request.resource_id, interval, request.quantity,
            request.organisation_id, title, now=now, checked_duplicates=True,
        )


async def _add_entry(
    session: AsyncSession, app: AppContext, actor: Principal, open_of_person: list[WaitingListEntry] | None,
    resource_id: int, interval: Interval, quantity: int, organisation_id: int | None, title: str, *, now: datetime,
    checked_duplicates: bool = False,
) -> WaitingListEntry:
    """Append an entry to the line of ``resource_id`` (caller holds the resource's lock and has
    checked that the slot is taken and that ``actor`` may wait for it)."""
    if open_of_person is None:
        open_of_person = list(
            (
                await session.exec(
                    select(WaitingListEntry).where(
                        WaitingListEntry.person_id == actor.user_id, col(WaitingListEntry.status).in_(OPEN)
                    )
                )
            ).all()
        )
    if not checked_duplicates:
        for entry in open_of_person:
            if (entry.resource_id, _aware(entry.starts_at), _aware(entry.ends_at)) == (
                resource_id, interval.starts_at, interval.ends_at
            ):
                raise AlreadyWaiting("you are already on the waiting list for this time", field="starts_at")
    limit = app.settings.waiting_list.max_entries_per_person
    if len(open_of_person) >= limit:
        raise PolicyViolation(f"you can wait for at most {limit} times at once", field="starts_at")
    last = (
        await session.exec(select(func.max(WaitingListEntry.position)).where(WaitingListEntry.resource_id == resource_id))
    ).one()
    entry = WaitingListEntry(
        resource_id=resource_id, starts_at=interval.starts_at, ends_at=interval.ends_at,
        quantity=quantity, person_id=actor.user_id, organisation_id=organisation_id,
        title=title, position=(last or 0) + 1, status=EntryStatus.WAITING.value, created_at=now,
    )
    session.add(entry)
    await session.flush()
    return entry


# --------------------------------------------------------------------------- offering


async def offer_freed_capacity(
    session: AsyncSession, app: AppContext, resource_id: int, interval: Interval, *, now: datetime
) -> list[WaitingListEntry]:
    """Offer capacity of ``resource_id`` freed over ``interval`` to the waiting list, inside
    the caller's write transaction (call it where the capacity frees, before commit).

    Locks the resource (the caller may hold the lock already), walks the open ``waiting``
    entries overlapping ``interval`` (widened by the resource's buffers) in line order, and
    offers each one that now fits — the same availability rule as a booking (buffers, quantity,
    pooled capacity, blackouts): a ``held`` booking until ``now`` + ``waiting_list.hold_hours``
    (never past its start), the entry ``offered``, an outbox row ``waiting_list_offer``.
    Returns the entries offered (often none). Bounded: at most ``MAX_ENTRIES_PER_OFFER_ROUND``
    entries are looked at.
    """
    found = await lock_resource_with(session, resource_id)
    if found is None:
        return []
    resource, site, policy, _organisation, _quotas = found
    rules = rules_from_policy(policy, resource)
    margin = rules.buffer_before + rules.buffer_after
    window = interval.padded(margin, margin)
    entries = list(
        (
            await session.exec(
                select(WaitingListEntry)
                .where(
                    WaitingListEntry.resource_id == resource_id,
                    WaitingListEntry.status == EntryStatus.WAITING.value,
                    WaitingListEntry.starts_at < window.ends_at,
                    WaitingListEntry.ends_at > window.starts_at,
                    WaitingListEntry.starts_at > now,
                )
                .order_by(col(WaitingListEntry.position), col(WaitingListEntry.id))
                .limit(MAX_ENTRIES_PER_OFFER_ROUND)
            )
        ).all()
    )
    if not entries or not resource.is_active:
        return []
    span = Interval(min(_aware(e.starts_at) for e in entries), max(_aware(e.ends_at) for e in entries))
    blackouts, holdings = await load_blackouts_and_holdings(
        session, resource, span, span.padded(margin, margin), now=now
    )
    waiting = [Waiting(e.id, Interval(_aware(e.starts_at), _aware(e.ends_at)), e.quantity, e.position) for e in entries]  # type: ignore[arg-type]
    chosen = choose_offers(
        waiting, holdings, capacity=resource.capacity, buffers=buffers_of(rules),
        blackouts=[b.interval for b in blackouts], now=now,
    )
    by_id = {e.id: e for e in entries}
    offered: list[WaitingListEntry] = []
    for choice in chosen:
        entry = by_id[choice.entry_id]
        booking = Booking(
            resource_id=resource_id, quantity=entry.quantity, starts_at=choice.interval.starts_at,
            ends_at=choice.interval.ends_at, status=Status.HELD.value, is_exclusive=resource.capacity == 1,
            organisation_id=entry.organisation_id, booker_id=entry.person_id, title=entry.title,
            hold_expires_at=hold_expiry(now, choice.interval.starts_at, hold_time(app)), created_at=now, updated_at=now,
        )
        session.add(booking)
        await session.flush()
        record_event(
            session, booking, actor_id=None, action="offered", from_status=None, to_status=booking.status,
            details={"waiting_list_entry": entry.id},
        )
        entry.status = EntryStatus.OFFERED.value
        entry.booking_id = booking.id
        entry.offered_at = now
        session.add(entry)
        await hold_mail(session, app, booking, entry, kind="waiting_list_offer",
                        dedupe_key=f"waiting-list-offer:{entry.id}:{booking.id}", now=app.now())
        offered.append(entry)
    await session.flush()
    return offered


async def hold_mail(
    session: AsyncSession, app: AppContext, booking: Booking, entry: WaitingListEntry, *, kind: str, dedupe_key: str,
    now: datetime,
) -> None:
    """A mail about the hold ``booking`` made for ``entry``: the offer itself or its reminder."""
    facts = await notifications._facts(session, booking)  # noqa: SLF001 - the same facts as every booking mail
    extra: dict[str, object] = {}
    if facts.resource.kind == OFFER_RESOURCE_KIND:
        # The hidden places resource has no name to show; the offer's title is what the person waited for.
        extra["resource_name"] = entry.title or booking.title
    await enqueue(
        session, settings=app.settings, kind=kind, recipient=facts.booker.email,
        language=facts.booker.language,
        context=notifications._context(  # noqa: SLF001
            facts, recipient_name=facts.booker.display_name, hold_expires_at=booking.hold_expires_at,
            waiting_entry_id=entry.id, booking_url="/bookings", **extra,
        ),
        booking_id=booking.id, dedupe_key=dedupe_key, now=now,
    )


async def capacity_released(session: AsyncSession, app: AppContext, booking: Booking, previous_status: str) -> None:
    """A booking stopped holding capacity (``bookings.transition``): a held one's entry ends
    (declined → withdrawn, ran out → expired), then the freed time goes to the waiting list."""
    now = app.now()
    if previous_status == Status.HELD.value:
        entry = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.booking_id == booking.id))).first()
        if entry is not None and entry.status == EntryStatus.OFFERED.value:
            entry.status = (EntryStatus.EXPIRED if booking.status == Status.EXPIRED.value else EntryStatus.WITHDRAWN).value
            entry.decided_at = now
            session.add(entry)
    resource = await session.get(Resource, booking.resource_id)
    if resource is not None and resource.kind == OFFER_RESOURCE_KIND:
        # A place of a volunteer offer ended through the general bookings path (not the
        # offer's own cancel): the sign-up behind it ends with it, so the organiser's list is right.
        from booking.services import offer_waiting_list

        await offer_waiting_list.booking_released(session, app, booking)
    ends_at = _aware(booking.ends_at)
    if ends_at <= now:
        return
    await offer_freed_capacity(
        session, app, booking.resource_id, Interval(max(_aware(booking.starts_at), now), ends_at), now=now
    )


async def capacity_appeared(
    session: AsyncSession, app: AppContext, resource_id: int, interval: Interval | None = None, *, now: datetime
) -> list[WaitingListEntry]:
    """Capacity of ``resource_id`` appeared without a booking being released — a closure or
    repair block removed or shortened, its capacity raised, the resource active again, its
    buffers shrunk, a series date moved away — over ``interval`` (None: from now on). Offers
    it to the waiting list inside the caller's transaction, after the change is flushed.

    Bounded: the interval is cut to ``now`` … ``now`` + ``MAX_APPEARED_SPAN``, and
    ``offer_freed_capacity`` looks at ``MAX_ENTRIES_PER_OFFER_ROUND`` entries at most.
    """
    horizon = Interval(now, now + MAX_APPEARED_SPAN)
    wanted = horizon if interval is None else interval.in_utc()
    if wanted.ends_at <= horizon.starts_at or wanted.starts_at >= horizon.ends_at:
        return []
    clipped = Interval(max(wanted.starts_at, horizon.starts_at), min(wanted.ends_at, horizon.ends_at))
    await session.flush()
    return await offer_freed_capacity(session, app, resource_id, clipped, now=now)


async def capacity_appeared_at_site(
    session: AsyncSession, app: AppContext, site_id: int, interval: Interval | None = None, *, now: datetime
) -> list[WaitingListEntry]:
    """``capacity_appeared`` for every resource of a site with someone waiting over
    ``interval`` (a site-wide closure removed or shortened). Bounded: at most
    ``MAX_RESOURCES_PER_SITE_CHANGE`` resources, locked in id order."""
    horizon = Interval(now, now + MAX_APPEARED_SPAN)
    wanted = horizon if interval is None else interval.in_utc()
    await session.flush()
    resource_ids = list(
        (
            await session.exec(
                select(WaitingListEntry.resource_id).distinct()
                .join(Resource, Resource.id == WaitingListEntry.resource_id)  # type: ignore[arg-type]
                .where(
                    Resource.site_id == site_id,
                    WaitingListEntry.status == EntryStatus.WAITING.value,
                    WaitingListEntry.starts_at > now,
                    WaitingListEntry.starts_at < min(wanted.ends_at, horizon.ends_at),
                    WaitingListEntry.ends_at > wanted.starts_at,
                )
                .order_by(col(WaitingListEntry.resource_id))
                .limit(MAX_RESOURCES_PER_SITE_CHANGE)
            )
        ).all()
    )
    offered: list[WaitingListEntry] = []
    for resource_id in resource_ids:
        offered += await capacity_appeared(session, app, resource_id, interval, now=now)
    return offered


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = [
    "AlreadyWaiting",
    "JoinRequest",
    "SlotIsFree",
    "capacity_appeared",
    "capacity_appeared_at_site",
    "capacity_released",
    "hold_time",
    "join",
    "offer_freed_capacity",
]
