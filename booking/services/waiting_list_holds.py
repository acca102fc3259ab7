"""Answering a hold offered from a waiting list (``waiting_list.offer_freed_capacity`` made it):
the person takes it (→ confirmed, or requested where the resource needs approval) or declines
it (→ cancelled, the next in line is offered the time), from "Meine Buchungen" / the API
(``confirm_hold`` / ``decline_hold``) or from the offer mail's link (``offer_for_token``,
``answer_offer_by_token``).

The offer mail's link is signed by the worker (``auth.tokens.sign_waiting_list_offer``);
nothing secret is stored, and it works only while the entry is offered that hold.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.auth.tokens import sign_waiting_list_offer, waiting_list_offer_entry_id
from booking.db.locking import lock_resource_with
from booking.domain.errors import NotFound, TransitionNotAllowed
from booking.domain.lifecycle import Action, Status, status_after_hold
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.domain.waiting_list import EntryStatus
from booking.models import Booking, Resource, Site, User, WaitingListEntry
from booking.services import notifications
from booking.services.audit import record_event
from booking.services.context import AppContext
from booking.services.loading import rules_from_policy
from booking.services.waiting_list import _aware


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


__all__ = ["OfferView", "answer_offer_by_token", "confirm_hold", "decline_hold", "offer_for_token"]
