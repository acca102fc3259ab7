"""Waiting lists for taken slots of any resource (rooms, desks, pooled things, offers' places).

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

The offer mail's link is signed by the worker (``auth.tokens.sign_waiting_list_offer``);
nothing secret is stored, and it works only while the entry is offered that hold.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, literal, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.auth.tokens import sign_waiting_list_offer, waiting_list_offer_entry_id
from booking.db.locking import lock_resource_with
from booking.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from booking.domain.intervals import Interval
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.domain.lifecycle import Action, Status, hold_expiry, status_after_hold
from booking.domain.waiting_list import ENDED, OPEN, EntryStatus, Waiting, choose_offers, swapped_positions
from booking.mail.outbox import enqueue
from booking.models import Booking, OutboxMessage, Resource, Site, User, WaitingListEntry
from booking.services import notifications
from booking.services.audit import record_event
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_blackouts_and_holdings, rules_from_policy

# Entries looked at per freed slot: bounded work under the lock.
MAX_ENTRIES_PER_OFFER_ROUND = 50
# Held bookings expired per run of the scheduled job.
MAX_EXPIRED_PER_RUN = 200
# Reminders of long holds queued per run of the scheduled job.
MAX_REMINDERS_PER_RUN = 200
# Waiting entries whose time began, marked lapsed per run of the scheduled job.
MAX_LAPSED_PER_RUN = 500
# How long "Meine Buchungen" still shows an entry that ended, and how many.
ENDED_SHOWN_FOR = timedelta(days=14)
MAX_ENDED_SHOWN = 50
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
        await _offer_mail(session, app, booking, entry)
        offered.append(entry)
    await session.flush()
    return offered


async def _offer_mail(session: AsyncSession, app: AppContext, booking: Booking, entry: WaitingListEntry) -> None:
    facts = await notifications._facts(session, booking)  # noqa: SLF001 - the same facts as every booking mail
    extra: dict[str, object] = {}
    if facts.resource.kind == OFFER_RESOURCE_KIND:
        # The hidden places resource has no name to show; the offer's title is what the person waited for.
        extra["resource_name"] = entry.title or booking.title
    await enqueue(
        session, settings=app.settings, kind="waiting_list_offer", recipient=facts.booker.email,
        language=facts.booker.language,
        context=notifications._context(  # noqa: SLF001
            facts, recipient_name=facts.booker.display_name, hold_expires_at=booking.hold_expires_at,
            waiting_entry_id=entry.id, booking_url="/bookings", **extra,
        ),
        booking_id=booking.id, dedupe_key=f"waiting-list-offer:{entry.id}:{booking.id}", now=app.now(),
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


# --------------------------------------------------------------------------- answering an offer


async def _entry_for_token(session: AsyncSession, app: AppContext, token: str) -> WaitingListEntry:
    entry_id = waiting_list_offer_entry_id(token)
    entry = await session.get(WaitingListEntry, entry_id) if entry_id is not None else None
    if entry is None or entry.booking_id is None:
        raise NotFound("this link is not valid (any more)")
    expected = sign_waiting_list_offer(app.settings.secret_key, entry.id, entry.booking_id)  # type: ignore[arg-type]
    if not hmac.compare_digest(expected, token.strip()):
        raise NotFound("this link is not valid (any more)")
    return entry


@dataclass(frozen=True)
class OfferView:
    entry: WaitingListEntry
    booking: Booking
    resource: Resource
    site: Site
    is_open: bool

    @property
    def timezone(self) -> str:
        return self.site.timezone


async def offer_for_token(app: AppContext, token: str) -> OfferView:
    """The offer a mail link names (for the page that asks to confirm or decline)."""
    async with app.database.reader() as session:
        entry = await _entry_for_token(session, app, token)
        booking = await session.get(Booking, entry.booking_id)
        assert booking is not None
        resource = await session.get(Resource, booking.resource_id)
        assert resource is not None
        site = await session.get(Site, resource.site_id)
        assert site is not None
    is_open = entry.status == EntryStatus.OFFERED.value and booking.status == Status.HELD.value and _hold_open(booking, app.now())
    return OfferView(entry, booking, resource, site, is_open)


def _hold_open(booking: Booking, now: datetime) -> bool:
    return booking.hold_expires_at is None or _aware(booking.hold_expires_at) > now


async def _take(session: AsyncSession, app: AppContext, booking: Booking, entry: WaitingListEntry, person: Principal) -> Booking:
    found = await lock_resource_with(session, booking.resource_id)
    assert found is not None
    resource, site, policy, _organisation, _quotas = found
    await session.refresh(booking)
    await session.refresh(entry)
    now = app.now()
    if booking.status != Status.HELD.value or entry.status != EntryStatus.OFFERED.value:
        raise TransitionNotAllowed("this offer has already been answered")
    if not _hold_open(booking, now):
        raise TransitionNotAllowed("this offer has run out")
    rules = rules_from_policy(policy, resource)
    # Confirmed at once only where the resource confirms every free request; under conditional
    # rules (trusted organisations, quotas, no-shows) a lender decides, since the offer was
    # made without weighing those conditions.
    # An offer's places are taken without approval (as every sign-up is).
    is_offer_place = resource.kind == OFFER_RESOURCE_KIND
    needs_approval = not is_offer_place and rules.approval.mode != "confirm" and not person.is_lender_at(site.id)  # type: ignore[arg-type]
    status = status_after_hold(booking.status, needs_approval=needs_approval)
    old = booking.status
    booking.status = status.value
    booking.hold_expires_at = None
    booking.sequence += 1
    booking.updated_at = now
    session.add(booking)
    entry.status = EntryStatus.BOOKED.value
    entry.decided_at = now
    session.add(entry)
    await session.flush()
    record_event(
        session, booking, actor_id=person.user_id, action=Action.CONFIRM_HOLD.value, from_status=old, to_status=booking.status,
        details={"waiting_list_entry": entry.id},
    )
    if is_offer_place:
        # A volunteer offer's place: the person becomes a participant (sign-up row, the offer's
        # confirmation with its invite and cancel link), not a plain booking.
        from booking.services import offer_waiting_list

        await offer_waiting_list.hold_taken(session, app, booking, person)
        return booking
    # The same messages as a new booking: the invite, or the receipt and the lenders' request.
    await notifications.booking_created(session, app, booking)
    return booking


async def _decline(session: AsyncSession, app: AppContext, booking: Booking, entry: WaitingListEntry, person: Principal) -> Booking:
    from booking.services.bookings import transition

    await lock_resource_with(session, booking.resource_id)
    await session.refresh(booking)
    await session.refresh(entry)
    if booking.status != Status.HELD.value or entry.status != EntryStatus.OFFERED.value:
        raise TransitionNotAllowed("this offer has already been answered")
    # The person said no on the page; no mail about it. The freed time goes to the next in line.
    return await transition(session, app, person, booking, Action.CANCEL, details={"waiting_list_entry": entry.id}, notify=False)


async def _person(session: AsyncSession, user_id: int) -> Principal:
    from booking.services.accounts import load_principal

    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("this link is not valid (any more)")
    return await load_principal(session, user)


async def answer_offer_by_token(app: AppContext, token: str, *, accept: bool) -> Booking:
    """Take (``accept``) or decline the offer a mail link names; the link proves the mailbox."""
    async with app.database.transaction() as session:
        entry = await _entry_for_token(session, app, token)
        booking = await session.get(Booking, entry.booking_id)
        if booking is None:
            raise NotFound("this link is not valid (any more)")
        person = await _person(session, entry.person_id)
        if accept:
            return await _take(session, app, booking, entry, person)
        return await _decline(session, app, booking, entry, person)


async def _own_hold(session: AsyncSession, actor: Principal, booking_id: int) -> tuple[Booking, WaitingListEntry]:
    booking = await session.get(Booking, booking_id)
    if booking is None or booking.booker_id != actor.user_id:
        raise NotFound(f"booking {booking_id} does not exist")
    entry = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.booking_id == booking_id))).first()
    if entry is None:
        raise TransitionNotAllowed("this booking is no offer from a waiting list")
    return booking, entry


async def confirm_hold(app: AppContext, actor: Principal, booking_id: int) -> Booking:
    """The person takes the hold offered to them: confirmed, or requested where approval is needed."""
    async with app.database.transaction() as session:
        booking, entry = await _own_hold(session, actor, booking_id)
        return await _take(session, app, booking, entry, actor)


async def decline_hold(app: AppContext, actor: Principal, booking_id: int) -> Booking:
    """The person declines the hold offered to them; the next in line is offered it."""
    async with app.database.transaction() as session:
        booking, entry = await _own_hold(session, actor, booking_id)
        return await _decline(session, app, booking, entry, actor)


# --------------------------------------------------------------------------- expiry (scheduled)


async def expire_holds(app: AppContext, now: datetime | None = None) -> int:
    """Holds past their expiry become ``expired`` (entry expired, a mail to the person) and
    their time is offered to the next in line. One transaction per hold, under its resource's
    lock; run by the worker's scheduled job. Returns how many expired."""
    from booking.services.bookings import transition

    now = now or app.now()
    async with app.database.reader() as session:
        due = list(
            (
                await session.exec(
                    select(Booking.id).where(
                        Booking.status == Status.HELD.value, col(Booking.hold_expires_at) <= now
                    ).order_by(col(Booking.hold_expires_at), col(Booking.id)).limit(MAX_EXPIRED_PER_RUN)
                )
            ).all()
        )
    expired = 0
    clocked = AppContext(app.database, app.settings, clock=lambda: now)
    for booking_id in due:
        async with app.database.transaction() as session:
            booking = await session.get(Booking, booking_id)
            if booking is None:
                continue
            await lock_resource_with(session, booking.resource_id)
            await session.refresh(booking)
            if booking.status != Status.HELD.value or _hold_open(booking, now):
                continue  # answered meanwhile
            person = await _person(session, booking.booker_id)
            await transition(session, clocked, person, booking, Action.EXPIRE, notify=False)
            facts = await notifications._facts(session, booking)  # noqa: SLF001
            await enqueue(
                session, settings=app.settings, kind="waiting_list_expired", recipient=facts.booker.email,
                language=facts.booker.language,
                context=notifications._context(facts, recipient_name=facts.booker.display_name),  # noqa: SLF001
                booking_id=booking.id, dedupe_key=f"waiting-list-expired:{booking.id}", now=now,
            )
            expired += 1
    return expired


HOLD_REMINDER_KEY = "waiting-list-hold-reminder:"


def _reminder_key(booking_id: int) -> str:
    return f"{HOLD_REMINDER_KEY}{booking_id}"


async def remind_holds(app: AppContext, now: datetime | None = None) -> int:
    """One reminder mail for each long hold (longer than ``remind_holds_longer_than_hours``)
    that runs out within ``reminder_hours_before`` and is still unanswered, with the offer's
    link. Idempotent (the outbox's dedupe key, also in the query, so a run never looks at a
    reminded hold again); at most ``MAX_REMINDERS_PER_RUN`` per run, soonest expiry first. Run by
    the worker's scheduled job. Returns how many reminders were queued."""
    settings = app.settings.waiting_list
    if not settings.reminder_hours_before:
        return 0
    now = now or app.now()
    before = timedelta(hours=float(settings.reminder_hours_before))
    longer_than = timedelta(hours=float(settings.remind_holds_longer_than_hours))
    reminded = select(OutboxMessage.id).where(
        OutboxMessage.dedupe_key == literal(HOLD_REMINDER_KEY) + cast(Booking.id, String)
    )
    async with app.database.reader() as session:
        due = list(
            (
                await session.exec(
                    select(Booking).where(
                        Booking.status == Status.HELD.value,
                        col(Booking.hold_expires_at) > now,
                        col(Booking.hold_expires_at) <= now + before,
                        # Necessary for a long hold (expiry - creation > longer_than) given the
                        # expiry window; the exact test is below.
                        Booking.created_at < now + before - longer_than,
                        ~reminded.exists(),
                    ).order_by(col(Booking.hold_expires_at), col(Booking.id)).limit(MAX_REMINDERS_PER_RUN)
                )
            ).all()
        )
    due_ids = [
        b.id for b in due
        if b.hold_expires_at is not None and _aware(b.hold_expires_at) - _aware(b.created_at) > longer_than
    ]
    queued = 0
    for booking_id in due_ids:
        async with app.database.transaction() as session:
            booking = await session.get(Booking, booking_id)
            if booking is None or booking.status != Status.HELD.value or not _hold_open(booking, now):
                continue  # answered meanwhile
            entry = (await session.exec(select(WaitingListEntry).where(WaitingListEntry.booking_id == booking.id))).first()
            if entry is None or entry.status != EntryStatus.OFFERED.value:
                continue
            facts = await notifications._facts(session, booking)  # noqa: SLF001 - the same facts as every booking mail
            extra: dict[str, object] = {}
            if facts.resource.kind == OFFER_RESOURCE_KIND:
                extra["resource_name"] = entry.title or booking.title
            await enqueue(
                session, settings=app.settings, kind="waiting_list_hold_reminder", recipient=facts.booker.email,
                language=facts.booker.language,
                context=notifications._context(  # noqa: SLF001
                    facts, recipient_name=facts.booker.display_name, hold_expires_at=booking.hold_expires_at,
                    waiting_entry_id=entry.id, booking_url="/bookings", **extra,
                ),
                booking_id=booking.id, dedupe_key=_reminder_key(booking.id), now=now,  # type: ignore[arg-type]
            )
            queued += 1
    return queued


async def lapse_past_entries(app: AppContext, now: datetime | None = None) -> int:
    """Waiting entries whose time has begun can never be offered: they become ``lapsed`` (and
    stop counting against the person's open entries). At most ``MAX_LAPSED_PER_RUN`` per run
    of the worker's scheduled job; returns how many lapsed."""
    now = now or app.now()
    async with app.database.transaction() as session:
        due = list(
            (
                await session.exec(
                    select(WaitingListEntry.id).where(
                        WaitingListEntry.status == EntryStatus.WAITING.value, WaitingListEntry.starts_at <= now
                    ).order_by(col(WaitingListEntry.starts_at), col(WaitingListEntry.id)).limit(MAX_LAPSED_PER_RUN)
                )
            ).all()
        )
        if not due:
            return 0
        result = await session.exec(  # type: ignore[call-overload]
            update(WaitingListEntry)
            .where(col(WaitingListEntry.id).in_(due), WaitingListEntry.status == EntryStatus.WAITING.value)
            .values(status=EntryStatus.LAPSED.value, decided_at=now)
        )
        return int(result.rowcount or 0)


# --------------------------------------------------------------------------- the person's entries


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


# --------------------------------------------------------------------------- the staff's list


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


async def get_entry(app: AppContext, actor: Principal, entry_id: int) -> EntryView:
    """One of the actor's own entries."""
    for view in await my_entries(app, actor, include_closed=True):
        if view.entry.id == entry_id:
            return view
    raise NotFound(f"waiting list entry {entry_id} does not exist")


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = [
    "AlreadyWaiting",
    "EntryView",
    "JoinRequest",
    "SlotIsFree",
    "answer_offer_by_token",
    "capacity_appeared",
    "capacity_appeared_at_site",
    "capacity_released",
    "close_line",
    "confirm_hold",
    "decline_hold",
    "expire_holds",
    "join",
    "lapse_past_entries",
    "move",
    "my_ended_entries",
    "my_entries",
    "offer_freed_capacity",
    "offer_for_token",
    "remind_holds",
    "remove",
    "resource_list",
    "site_lists",
    "staff_sites",
    "withdraw",
]
