"""Booking use cases: create, change, approve, decline, cancel, read.

The guarantee against double booking lives here and in db/locking.py: the availability check
and the write happen in one transaction that holds the resource's lock (see DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import (
    BookingFacts,
    can_book_for,
    can_change_booking,
    can_decide,
    can_see_resource,
    can_view_booking,
)
from booking.auth.principal import Principal
from booking.db.booking_writes import booking_columns, insert_booking, unsaved_booking
from booking.db.errors import is_overlap_violation
from booking.db.locking import lock_quotas, lock_resource, lock_resource_with, lock_resources
from booking.domain.approval import ApprovalFacts, Decision, decide
from booking.domain.availability import Holding, conflicting
from booking.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PolicyViolation, TransitionNotAllowed
from booking.domain.intervals import Interval
from booking.domain.offers import LISTED_RESOURCE_KINDS, OFFER_RESOURCE_KIND
from booking.domain.lifecycle import (
    UNDO_CANCEL_WINDOW,
    CHANGEABLE,
    Action,
    Status,
    holds_capacity,
    next_status,
    undo_cancel_status,
)
from booking.domain.policies import Blackout as BlackoutRule
from booking.domain.policies import Rules, check_quantity, check_request, may_book
from booking.domain.quotas import CountedBooking, Quota, QuotaExceeded, QuotaState, counting_window, describe_exceeded, state_for
from booking.models import Booking, BookingEvent, Organisation, Resource, Site
from booking.models.base import utc_now
from booking.services import notifications, reporting
from booking.services.alternatives import suggest_alternatives
from booking.services.audit import record_event
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_blackouts_and_holdings, load_holdings, rules_from_policy
from booking.services.quota_usage import count_no_shows, load_counted, lock_keys, quota_of

MAX_TITLE = 200
MAX_PURPOSE = 2000


@dataclass(frozen=True)
class BookingRequest:
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    quantity: int = 1
    organisation_id: int | None = None
    title: str = ""
    purpose: str = ""
    is_public: bool = False


@dataclass(frozen=True)
class TakenInterval:
    """A taken stretch of time, without who or why (for conflict answers)."""

    starts_at: datetime
    ends_at: datetime
    quantity: int


@dataclass
class PlacementContext:
    """A locked resource with what the rules need, inside one write transaction."""

    resource: Resource
    site: Site
    rules: Rules
    is_staff: bool
    extra: dict[str, object] = field(default_factory=dict)
    # The organisation booked for, when asked for in ``lock_for_booking`` (None: not found or
    # not asked). Held here so the session's identity map keeps it for the notification.
    organisation: Organisation | None = None
    organisation_checked: bool = False
    # The quotas that count bookings of this resource, and whose they are counted as: the
    # organisation booked for (set by ``check_booker``) and the booker.
    quotas: list[Quota] = field(default_factory=list)
    organisation_id: int | None = None
    booker_id: int | None = None


@dataclass
class PlacementData:
    """Blackouts and capacity-holding bookings loaded for a stretch of time (``load_placement_data``)."""

    blackouts: list[BlackoutRule]
    holdings: list[Holding]
    # What the quotas count (bookings of their scope and subject) and the organisation's
    # no-shows, when an approval rule asks for them (None: not asked).
    counted: list[CountedBooking] = field(default_factory=list)
    no_shows: int | None = None

    def take(self, placement: PlacementContext, interval: Interval, quantity: int, status: str) -> None:
        """Count a date booked (or previewed) in this transaction against later ones."""
        self.holdings.append(Holding(interval, quantity, status))
        self.counted.append(CountedBooking(
            interval, placement.resource.id, placement.resource.category,  # type: ignore[arg-type]
            placement.organisation_id, placement.booker_id or 0, status,
        ))


def _clean_text(value: str, limit: int, field_name: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field_name)
    return value


async def lock_for_booking(
    session: AsyncSession, actor: Principal, resource_id: int, *, organisation_id: int | None = None, attach: bool = True
) -> PlacementContext:
    """Lock the resource and check that ``actor`` may see it. The lock lasts until commit.

    One round trip: the locked resource with its site, its policy and the organisation
    ``organisation_id`` (checked later by ``check_booker``). ``attach=False``: read-only
    snapshots of them, outside the session (``lock_resource_with``).
    """
    found = await lock_resource_with(session, resource_id, organisation_id=organisation_id, attach=attach)
    if found is None or not found[0].is_active:
        raise NotFound(f"resource {resource_id} does not exist", field="resource_id")
    resource, site, policy, organisation, quotas = found
    if not can_see_resource(actor, resource.visibility, resource.site_id):
        raise NotFound(f"resource {resource_id} does not exist", field="resource_id")
    rules = rules_from_policy(policy, resource)
    return PlacementContext(
        resource, site, rules, actor.is_lender_at(site.id),  # type: ignore[arg-type]
        organisation=organisation, organisation_checked=organisation_id is not None,
        quotas=[quota_of(quota) for quota in quotas], organisation_id=organisation_id, booker_id=actor.user_id,
    )


async def load_placement_data(
    session: AsyncSession,
    placement: PlacementContext,
    window: Interval,
    *,
    now: datetime,
    exclude_booking_ids: Sequence[int] = (),
) -> PlacementData:
    """Blackouts and holdings of a locked resource for checking intervals inside ``window``."""
    rules = placement.rules
    margin = rules.buffer_before + rules.buffer_after
    blackouts, holdings = await load_blackouts_and_holdings(
        session, placement.resource, window, window.padded(margin, margin),
        exclude_booking_ids=exclude_booking_ids, now=now,
    )
    data = PlacementData(blackouts, holdings)
    if placement.is_staff:
        return data  # the site's staff book past quotas and approval rules
    booker_id = placement.booker_id or 0
    keys = lock_keys(placement.quotas, placement.organisation_id, booker_id)
    if keys:
        # Under the quota locks: a category's quota spans resources the resource lock does not.
        await lock_quotas(session, keys)
        counting = counting_window(placement.quotas, [window], placement.site.timezone, now)
        assert counting is not None
        data.counted = await load_counted(
            session, placement.quotas, counting, organisation_id=placement.organisation_id, booker_id=booker_id,
            exclude_booking_ids=exclude_booking_ids,
        )
    approval = rules.approval
    if approval.needs_no_shows and placement.organisation_id is not None:
        data.no_shows = await count_no_shows(session, placement.organisation_id, days=approval.no_show_days, now=now)
    return data


def quota_states(placement: PlacementContext, data: PlacementData, interval: Interval, *, now: datetime) -> list[QuotaState]:
    """Every quota that concerns this booker, in the period of ``interval`` it is tightest in."""
    if placement.is_staff:
        return []
    states = []
    for quota in placement.quotas:
        state = state_for(
            quota, data.counted, interval, organisation_id=placement.organisation_id,
            booker_id=placement.booker_id or 0, timezone=placement.site.timezone, now=now,
        )
        if state is not None:
            states.append(state)
    return states


def decide_placement(placement: PlacementContext, data: PlacementData, interval: Interval, *, now: datetime) -> Decision:
    """Refuse a request beyond a refusing quota (``QuotaExceeded``), then decide: confirmed at
    once or requested (``domain.approval.decide``). The same call for preview and booking."""
    states = quota_states(placement, data, interval, now=now)
    for state in states:
        if state.quota.enforcement == "refuse" and not state.fits:
            raise QuotaExceeded(describe_exceeded(state), state)
    site = placement.site
    return decide(placement.rules.approval, ApprovalFacts(
        interval=interval, now=now, organisation_id=placement.organisation_id, is_staff=placement.is_staff,
        opening_hours=site.opening_hours, timezone=site.timezone, opening_hours_mode=placement.rules.opening_hours_mode,
        quotas=states, no_shows=data.no_shows,
    ))


def check_loaded_placement(
    placement: PlacementContext, data: PlacementData, interval: Interval, quantity: int, *, now: datetime
) -> Decision:
    """Policy, capacity and quota checks of one interval against loaded ``data``; raises on
    failure, else answers whether the booking is confirmed at once or requested."""
    resource, site, rules = placement.resource, placement.site, placement.rules
    check_quantity(quantity, resource.capacity)
    check_request(
        rules, interval, now=now, opening_hours=site.opening_hours, timezone=site.timezone,
        blackouts=data.blackouts, bypass_lead_time=placement.is_staff,
    )
    blocking = conflicting(data.holdings, interval, quantity, resource.capacity, buffers_of(rules))
    if blocking:
        raise Conflict(
            f"{resource.name} is not available at that time",
            conflicts=[TakenInterval(h.interval.starts_at, h.interval.ends_at, h.quantity) for h in blocking],
        )
    return decide_placement(placement, data, interval, now=now)


async def check_placement(
    session: AsyncSession,
    placement: PlacementContext,
    interval: Interval,
    quantity: int,
    *,
    now: datetime,
    exclude_booking_ids: Sequence[int] = (),
) -> Decision:
    """Policy, capacity and quota checks for one interval of a locked resource; raises on
    failure, else the approval decision."""
    check_quantity(quantity, placement.resource.capacity)
    data = await load_placement_data(session, placement, interval, now=now, exclude_booking_ids=exclude_booking_ids)
    return check_loaded_placement(placement, data, interval, quantity, now=now)


async def check_booker(session: AsyncSession, actor: Principal, placement: PlacementContext, organisation_id: int | None) -> None:
    placement.organisation_id = organisation_id
    if placement.organisation_checked:
        exists = placement.organisation is not None and placement.organisation.id == organisation_id
    else:
        exists = organisation_id is None or await session.get(Organisation, organisation_id) is not None
    if organisation_id is not None and not exists:
        raise NotFound(f"organisation {organisation_id} does not exist", field="organisation_id")
    if not can_book_for(actor, organisation_id):
        raise PermissionDenied("you can only book for organisations you are a member of", field="organisation_id")
    if organisation_id is not None:
        # From the identity map when the placement loaded it: no second query.
        organisation = placement.organisation if placement.organisation_checked else await session.get(Organisation, organisation_id)
        if organisation is not None and organisation.is_pending:
            raise PolicyViolation("this organisation waits for the city's confirmation and cannot book yet", field="organisation_id")
    if not placement.is_staff and not may_book(placement.rules, organisation_id, actor.member_of):
        raise PermissionDenied(
            "only members of the organisations named by the site may book this resource", field="organisation_id"
        )


def new_booking(
    placement: PlacementContext, actor: Principal, request: BookingRequest, interval: Interval, *,
    decision: Decision, **extra: object,
) -> Booking:
    return Booking(**booking_values(placement, actor, request, interval, decision=decision, **extra))


def booking_values(
    placement: PlacementContext, actor: Principal, request: BookingRequest, interval: Interval, *,
    decision: Decision, **extra: object,
) -> dict[str, object]:
    """The columns ``new_booking`` sets (those the model defaults are left out)."""
    status = Status.CONFIRMED if decision.confirm_at_once else Status.REQUESTED
    return {
        "resource_id": placement.resource.id,
        "quantity": request.quantity,
        "starts_at": interval.starts_at,
        "ends_at": interval.ends_at,
        "status": status.value,
        "is_exclusive": placement.resource.capacity == 1,
        "organisation_id": request.organisation_id,
        "booker_id": actor.user_id,
        "title": _clean_text(request.title, MAX_TITLE, "title"),
        "purpose": _clean_text(request.purpose, MAX_PURPOSE, "purpose"),
        "is_public": request.is_public,
        **extra,
    }


async def create_booking(app: AppContext, actor: Principal, request: BookingRequest) -> Booking:
    """Book ``request`` for ``actor``: confirmed at once, or requested where approval is needed.

    Raises Conflict (with alternatives) when the time is taken, PolicyViolation/InvalidInput
    when a rule is broken; nothing is written then.
    """
    booking, _ = await place_booking(app, actor, request)
    return booking


async def place_booking(app: AppContext, actor: Principal, request: BookingRequest) -> tuple[Booking, Resource]:
    """``create_booking`` that also returns the booked resource (for answers without a read-back).

    Round trips: the lock with resource, site, policy and organisation; blackouts and holdings;
    the insert with its audit event and report change note (one statement on PostgreSQL); the
    outbox row (what happened, rendered by the worker).
    """
    interval = Interval(request.starts_at, request.ends_at).in_utc()
    now = app.now()
    try:
        async with app.database.transaction() as session:
            # Snapshots, not session objects: this path only reads them (and says so to the mail).
            placement = await lock_for_booking(
                session, actor, request.resource_id, organisation_id=request.organisation_id, attach=False
            )
            await check_booker(session, actor, placement, request.organisation_id)
            decision = await check_placement(session, placement, interval, request.quantity, now=now)
            # Core inserts, not the ORM's unit of work (db/booking_writes.py): the booking, its
            # audit event and the report's change note, in one statement on PostgreSQL.
            booking = unsaved_booking(booking_values(placement, actor, request, interval, decision=decision))
            booking.id = await insert_booking(session, booking_columns(booking), {
                "actor_id": actor.user_id, "action": "created", "from_status": None, "to_status": booking.status,
                "reason": "", "details": {}, "at": utc_now(),
            })
            # The booker is the actor, the resource, site and organisation are locked: no query.
            await notifications.booking_created(
                session, app, booking, booker=actor, known=(placement.resource, placement.site, placement.organisation)
            )
            resource = placement.resource
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        await reporting.record_unmet_demand(app, request.resource_id, interval, request.quantity)
        raise await _with_alternatives(
            app, actor, Conflict("the resource is not available at that time"), request.resource_id,
            interval, request.quantity, request.organisation_id, now,
        ) from None
    except Conflict as conflict:
        await reporting.record_unmet_demand(app, request.resource_id, interval, request.quantity)
        raise await _with_alternatives(
            app, actor, conflict, request.resource_id, interval, request.quantity, request.organisation_id, now
        ) from None
    return booking, resource


@dataclass(frozen=True)
class BookingPreview:
    """What ``create_booking`` would do with a request now: confirm it at once or ask a
    lender, why, and the state of the quotas that concern it. Nothing is written."""

    decision: Decision
    quotas: list[QuotaState]


async def preview_booking(app: AppContext, actor: Principal, request: BookingRequest) -> BookingPreview:
    """The outcome of ``create_booking`` for ``request`` without booking: the same locks, the
    same checks and the same decision function, in a transaction that writes nothing.

    Raises what ``create_booking`` would raise (Conflict without alternatives, QuotaExceeded,
    PolicyViolation, InvalidInput). The answer can change before the booking is sent (someone
    else books), never because preview and booking judge differently.
    """
    interval = Interval(request.starts_at, request.ends_at).in_utc()
    now = app.now()
    async with app.database.transaction() as session:
        placement = await lock_for_booking(session, actor, request.resource_id, organisation_id=request.organisation_id)
        await check_booker(session, actor, placement, request.organisation_id)
        check_quantity(request.quantity, placement.resource.capacity)
        _clean_text(request.title, MAX_TITLE, "title")
        _clean_text(request.purpose, MAX_PURPOSE, "purpose")
        data = await load_placement_data(session, placement, interval, now=now)
        decision = check_loaded_placement(placement, data, interval, request.quantity, now=now)
        states = quota_states(placement, data, interval, now=now)
    return BookingPreview(decision, states)


async def _with_alternatives(
    app: AppContext,
    actor: Principal,
    conflict: Conflict,
    resource_id: int,
    interval: Interval,
    quantity: int,
    organisation_id: int | None,
    now: datetime,
    exclude_booking_ids: tuple[int, ...] = (),
) -> Conflict:
    conflict.alternatives = await suggest_alternatives(
        app, actor, resource_id, interval, quantity,
        organisation_id=organisation_id, now=now, exclude_booking_ids=exclude_booking_ids,
    )
    return conflict


async def _load_for_action(session: AsyncSession, booking_id: int) -> tuple[Booking, Resource]:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"booking {booking_id} does not exist")
    resource = await session.get(Resource, booking.resource_id)
    assert resource is not None
    return booking, resource


def facts(booking: Booking, resource: Resource) -> BookingFacts:
    return BookingFacts(booker_id=booking.booker_id, organisation_id=booking.organisation_id, site_id=resource.site_id)


def _require_visible(actor: Principal, booking: Booking, resource: Resource) -> None:
    """Someone else's booking one may not see answers like one that does not exist (no oracle)."""
    if not can_view_booking(actor, facts(booking, resource)):
        raise NotFound(f"booking {booking.id} does not exist")


async def change_booking(
    app: AppContext,
    actor: Principal,
    booking_id: int,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    quantity: int | None = None,
) -> Booking:
    """Move or resize a booking; re-checked like a new one, SEQUENCE + 1.

    A change by the booker of a resource that needs approval goes back to ``requested``.
    """
    now = app.now()
    async with app.database.reader() as session:
        current, current_resource = await _load_for_action(session, booking_id)
    resource_id: int = current_resource.id  # type: ignore[assignment]
    organisation_id = current.organisation_id
    interval = Interval(starts_at or current.starts_at, ends_at or current.ends_at).in_utc()
    new_quantity = current.quantity if quantity is None else quantity
    try:
        async with app.database.transaction() as session:
            placement = await lock_for_booking(session, actor, resource_id)
            booking, resource = await _load_for_action(session, booking_id)
            _require_visible(actor, booking, resource)
            if not can_change_booking(actor, facts(booking, resource)):
                raise PermissionDenied("you may not change this booking")
            if booking.status not in CHANGEABLE:
                raise InvalidInput(f"a booking that is {booking.status} cannot be changed")
            # Quotas and approval rules count for the booking's own booker and organisation.
            placement.organisation_id, placement.booker_id = booking.organisation_id, booking.booker_id
            decision = await check_placement(
                session, placement, interval, new_quantity, now=now, exclude_booking_ids=[booking.id]  # type: ignore[list-item]
            )
            before = {"starts_at": booking.starts_at.isoformat(), "ends_at": booking.ends_at.isoformat(), "quantity": booking.quantity}
            old_status = booking.status
            booking.starts_at, booking.ends_at, booking.quantity = interval.starts_at, interval.ends_at, new_quantity
            if not decision.confirm_at_once:
                booking.status = Status.REQUESTED.value
            booking.sequence += 1
            booking.updated_at = now
            session.add(booking)
            await session.flush()
            record_event(
                session, booking, actor_id=actor.user_id, action="changed", from_status=old_status,
                to_status=booking.status, details={"before": before},
            )
            await notifications.booking_changed(
                session, app, booking, previous=(datetime.fromisoformat(before["starts_at"]), datetime.fromisoformat(before["ends_at"]))
            )
            previous = Interval(datetime.fromisoformat(before["starts_at"]), datetime.fromisoformat(before["ends_at"]))
            if not interval.contains(previous) or new_quantity < int(before["quantity"]):  # type: ignore[call-overload]
                # Shorter, moved or fewer units: what it no longer holds may fit someone waiting.
                from booking.services import waiting_list

                await waiting_list.offer_freed_capacity(session, app, resource_id, previous.in_utc(), now=now)
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        raise await _with_alternatives(
            app, actor, Conflict("the resource is not available at that time"), resource_id,
            interval, new_quantity, organisation_id, now, (booking_id,),
        ) from None
    except Conflict as conflict:
        raise await _with_alternatives(
            app, actor, conflict, resource_id, interval, new_quantity, organisation_id, now, (booking_id,)
        ) from None
    return booking


async def transition(
    session: AsyncSession,
    app: AppContext,
    actor: Principal,
    booking: Booking,
    action: Action,
    *,
    reason: str = "",
    details: dict[str, object] | None = None,
    notify: bool = True,
) -> Booking:
    """Apply one lifecycle step to a loaded booking inside the caller's transaction.

    ``notify=False``: the caller decides several bookings at once (a series, a kit) and sends
    one message for all of them itself.

    A step that ends a capacity-holding status (cancel, decline, return, a hold declined or
    run out) takes the resource's lock first, reads the status again under it (a concurrent
    step may have come first), and offers the freed time to the waiting list
    (``waiting_list.capacity_released``) in the same transaction.
    """
    releases = holds_capacity(booking.status) and not holds_capacity(next_status(booking.status, action))
    if releases:
        await lock_resource(session, booking.resource_id)
        await session.refresh(booking, attribute_names=["status"])
    old_status = booking.status
    booking.status = next_status(old_status, action).value
    booking.updated_at = app.now()
    if action in (Action.APPROVE, Action.DECLINE, Action.CANCEL, Action.EXPIRE):
        # Calendars take a changed STATUS only with a higher SEQUENCE (an expired hold is cancelled there).
        booking.sequence += 1
    if action == Action.DECLINE:
        booking.decision_reason = reason
    session.add(booking)
    await session.flush()
    record_event(
        session, booking, actor_id=actor.user_id, action=action.value, from_status=old_status,
        to_status=booking.status, reason=reason, details=dict(details or {}),
    )
    if notify:
        await notifications.booking_transitioned(session, app, booking, action, reason=reason, previous_status=old_status)
    if releases and not holds_capacity(booking.status):
        from booking.services import waiting_list

        await waiting_list.capacity_released(session, app, booking, old_status)
    return booking


async def _decide(
    app: AppContext, actor: Principal, booking_id: int, action: Action, reason: str, *, whole_kit: bool, denied: str
) -> Booking:
    async with app.database.transaction() as session:
        booking, resource = await _load_for_action(session, booking_id)
        _require_visible(actor, booking, resource)
        if not can_decide(actor, facts(booking, resource)):
            raise PermissionDenied(denied)
        # The resources' locks first, in id order (a kit: all of its resources), then the
        # decision: the freed time of a decline goes to the waiting list under them.
        resource_ids = [booking.resource_id]
        if whole_kit and booking.group_key is not None:
            resource_ids += list((await session.exec(select(Booking.resource_id).where(Booking.group_key == booking.group_key))).all())
        await lock_resources(session, resource_ids)
        if not whole_kit or booking.group_key is None:
            return await transition(session, app, actor, booking, action, reason=reason)
        # A kit is decided as a whole: its other parts still waiting, one message for all.
        siblings = (
            await session.exec(
                select(Booking, Resource)
                .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
                .where(Booking.group_key == booking.group_key, Booking.id != booking.id, Booking.status == Status.REQUESTED.value)
                .order_by(col(Booking.id))
            )
        ).all()
        decided = [booking]
        await transition(session, app, actor, booking, action, reason=reason, details={"kit": booking.group_key}, notify=False)
        for sibling, sibling_resource in siblings:
            if not can_decide(actor, facts(sibling, sibling_resource)):
                raise PermissionDenied(denied)
            await transition(session, app, actor, sibling, action, reason=reason, details={"kit": booking.group_key}, notify=False)
            decided.append(sibling)
        kind = "confirmed" if action == Action.APPROVE else "declined"
        await notifications.kit_message(session, app, booking.group_key, kind, affected=decided, reason=reason)
        return booking


async def approve_booking(app: AppContext, actor: Principal, booking_id: int, *, whole_kit: bool = True) -> Booking:
    """A lender confirms a requested booking at their site (a kit: all its waiting parts)."""
    return await _decide(
        app, actor, booking_id, Action.APPROVE, "", whole_kit=whole_kit, denied="only lenders of this site may approve"
    )


async def decline_booking(
    app: AppContext, actor: Principal, booking_id: int, reason: str, *, whole_kit: bool = True
) -> Booking:
    """A lender declines a requested booking (a kit: all its waiting parts); the reason goes to the booker."""
    reason = _clean_text(reason, MAX_PURPOSE, "reason")
    if not reason:
        raise InvalidInput("please give a reason for the booker", field="reason")
    return await _decide(
        app, actor, booking_id, Action.DECLINE, reason, whole_kit=whole_kit, denied="only lenders of this site may decline"
    )


async def cancel_booking(app: AppContext, actor: Principal, booking_id: int, reason: str = "") -> Booking:
    """The booker, their organisation's admins or the site's staff cancel a booking."""
    reason = _clean_text(reason, MAX_PURPOSE, "reason")
    async with app.database.transaction() as session:
        booking, resource = await _load_for_action(session, booking_id)
        _require_visible(actor, booking, resource)
        if not can_change_booking(actor, facts(booking, resource)):
            raise PermissionDenied("you may not cancel this booking")
        # ``transition`` takes the resource's lock and reads the status again under it.
        return await transition(session, app, actor, booking, Action.CANCEL, reason=reason)


async def undo_cancel(app: AppContext, actor: Principal, booking_id: int) -> Booking:
    """Take back one's own cancel within ``lifecycle.UNDO_CANCEL_WINDOW``: the booking returns
    to its status before the cancel if its time is still free.

    Under the resource's lock with the same capacity check as a new booking (someone may have
    booked the freed time meanwhile: then ``Conflict``). Booking rules such as the lead time are
    not asked again: they were met when the booking was made. A confirmed booking's booker gets
    the invite again (with a higher SEQUENCE); a request is back in the lenders' inbox.
    """
    async with app.database.transaction() as session:
        booking, resource = await _load_for_action(session, booking_id)
        _require_visible(actor, booking, resource)
        if not can_change_booking(actor, facts(booking, resource)):
            raise PermissionDenied("you may not change this booking")
        if resource.kind == OFFER_RESOURCE_KIND:
            # Its sign-up ended with the cancel and the place may be offered to the waiting list
            # already: signing up again is the way back (the offer's page).
            raise TransitionNotAllowed("a place of a volunteer offer cannot be restored: please sign up again")
        placement = await lock_for_booking(session, actor, booking.resource_id)
        await session.refresh(booking)  # read again under the lock
        last = (
            await session.exec(
                select(BookingEvent).where(BookingEvent.booking_id == booking.id)
                .order_by(col(BookingEvent.at).desc(), col(BookingEvent.id).desc()).limit(1)
            )
        ).first()
        now = app.now()
        if last is None or last.action != Action.CANCEL.value or last.actor_id != actor.user_id:
            raise TransitionNotAllowed("this cancellation cannot be undone")
        status = undo_cancel_status(
            # updated_at: set by the cancel on the app's clock (a cancelled booking changes no more).
            booking.status, last.from_status, cancelled_at=_aware(booking.updated_at), ends_at=_aware(booking.ends_at), now=now,
        )
        rules = placement.rules
        margin = rules.buffer_before + rules.buffer_after
        interval = Interval(_aware(booking.starts_at), _aware(booking.ends_at))
        holdings = await load_holdings(session, [resource.id], interval.padded(margin, margin), now=now)  # type: ignore[list-item]
        blocking = conflicting(holdings[resource.id], interval, booking.quantity, resource.capacity, buffers_of(rules))  # type: ignore[index]
        if blocking:
            raise Conflict(
                f"{resource.name} was booked by someone else meanwhile",
                conflicts=[TakenInterval(h.interval.starts_at, h.interval.ends_at, h.quantity) for h in blocking],
            )
        # Quotas count again for a booking that comes back (someone may have used them meanwhile).
        placement.organisation_id, placement.booker_id = booking.organisation_id, booking.booker_id
        if placement.quotas and not placement.is_staff:
            data = await load_placement_data(session, placement, interval, now=now, exclude_booking_ids=[booking.id])  # type: ignore[list-item]
            for state in quota_states(placement, data, interval, now=now):
                if state.quota.enforcement == "refuse" and not state.fits:
                    raise QuotaExceeded(describe_exceeded(state), state)
        booking.status = status.value
        booking.sequence += 1
        booking.updated_at = now
        session.add(booking)
        await session.flush()
        record_event(
            session, booking, actor_id=actor.user_id, action=Action.UNDO_CANCEL.value,
            from_status=Status.CANCELLED.value, to_status=status.value,
        )
        if status == Status.CONFIRMED:
            await notifications.booking_transitioned(session, app, booking, Action.APPROVE)
        return booking


def may_change(actor: Principal, booking: Booking, resource: Resource) -> bool:
    """Whether ``actor`` may change or cancel the booking (booker, organisation admins, site staff)."""
    return can_change_booking(actor, facts(booking, resource))


def may_decide(actor: Principal, booking: Booking, resource: Resource) -> bool:
    """Whether ``actor`` may approve or decline the booking (staff of its site)."""
    return can_decide(actor, facts(booking, resource))


async def undo_cancel_deadline(app: AppContext, actor: Principal, booking_id: int) -> datetime | None:
    """Until when ``actor`` may still undo their cancel of the booking (UTC), or None."""
    async with app.database.reader() as session:
        booking = await session.get(Booking, booking_id)
        if booking is None or booking.status != Status.CANCELLED.value:
            return None
        resource = await session.get(Resource, booking.resource_id)
        if resource is None or resource.kind == OFFER_RESOURCE_KIND:
            return None  # an offer's place is not restored (``undo_cancel``)
        last = (
            await session.exec(
                select(BookingEvent).where(BookingEvent.booking_id == booking_id)
                .order_by(col(BookingEvent.at).desc(), col(BookingEvent.id).desc()).limit(1)
            )
        ).first()
    if last is None or last.action != Action.CANCEL.value or last.actor_id != actor.user_id:
        return None
    deadline = min(_aware(booking.updated_at) + UNDO_CANCEL_WINDOW, _aware(booking.ends_at))
    return deadline if deadline > app.now() else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def get_booking(app: AppContext, actor: Principal, booking_id: int) -> tuple[Booking, Resource]:
    async with app.database.reader() as session:
        booking, resource = await _load_for_action(session, booking_id)
    _require_visible(actor, booking, resource)
    return booking, resource


async def booking_history(app: AppContext, actor: Principal, booking_id: int) -> list[BookingEvent]:
    await get_booking(app, actor, booking_id)
    async with app.database.reader() as session:
        statement = select(BookingEvent).where(BookingEvent.booking_id == booking_id).order_by(col(BookingEvent.at), col(BookingEvent.id))
        return list((await session.exec(statement)).all())


@dataclass(frozen=True)
class BookingFilter:
    scope: str = "mine"  # mine | organisation | site (lender) | all (city admin)
    statuses: tuple[str, ...] = ()
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    organisation_id: int | None = None
    site_id: int | None = None
    resource_id: int | None = None
    resource_kind: str | None = None  # room | desk | item
    limit: int = 200
    offset: int = 0


async def list_bookings(app: AppContext, actor: Principal, query: BookingFilter) -> list[tuple[Booking, Resource]]:
    """Bookings the actor may see, by scope: their own, their organisation's, their sites'."""
    statement = select(Booking, Resource).join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
    if query.scope == "mine":
        statement = statement.where(Booking.booker_id == actor.user_id)
    elif query.scope == "organisation":
        if query.organisation_id is None or not (actor.is_member_of(query.organisation_id) or actor.is_city_admin):
            raise PermissionDenied("you are not a member of this organisation", field="organisation_id")
        statement = statement.where(Booking.organisation_id == query.organisation_id)
    elif query.scope == "site":
        sites = list(actor.site_roles) if not actor.is_city_admin else None
        if query.site_id is not None:
            if not actor.is_lender_at(query.site_id):
                raise PermissionDenied("you are not a lender at this site", field="site_id")
            sites = [query.site_id]
        if sites is not None:
            statement = statement.where(col(Resource.site_id).in_(sites))
    elif query.scope == "all":
        if not actor.is_city_admin:
            raise PermissionDenied("only city administrators may list all bookings")
    else:
        raise InvalidInput("scope is one of mine, organisation, site, all", field="scope")
    if query.statuses:
        statement = statement.where(col(Booking.status).in_(query.statuses))
    if query.starts_after is not None:
        statement = statement.where(Booking.ends_at > query.starts_after)
    if query.starts_before is not None:
        statement = statement.where(Booking.starts_at < query.starts_before)
    if query.resource_id is not None:
        statement = statement.where(Booking.resource_id == query.resource_id)
    if query.resource_kind is not None:
        statement = statement.where(Resource.kind == query.resource_kind)
    else:
        # Places of volunteer offers are listed with the offers (/mitmachen), not as bookings.
        statement = statement.where(col(Resource.kind).in_(LISTED_RESOURCE_KINDS))
    statement = statement.order_by(col(Booking.starts_at), col(Booking.id)).offset(query.offset).limit(min(query.limit, 1000))
    async with app.database.reader() as session:
        return [(booking, resource) for booking, resource in (await session.exec(statement)).all()]
