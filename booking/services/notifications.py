"""E-mail and calendar invites caused by booking changes.

Every function adds outbox rows to the caller's session, so the message is committed together
with the change that caused it — or not at all (DESIGN.md "E-mail"). A row records what
happened — the facts of that moment and the invite's events, METHOD and SEQUENCE, unbuilt —
and the outbox worker renders the text, HTML, invite and MIME message (``booking.mail.payload``). Invites: the booker is the
ATTENDEE, the site's mailbox the ORGANIZER; one UID per booking (``booking-<id>@<host>``), or
per series (``series-<id>@<host>``) whose occurrences are overridden with RECURRENCE-ID.
Messages carry no other person's personal data: lenders see the organisation, bookers the site.

One message per decision. A decision about a whole series (created, approved, declined,
cancelled, moved from a date on) sends ONE mail with ONE invite for the series UID: the
master (RRULE, DTSTART = the rule's first instance) describes the series as it now stands —
dates that no longer hold (declined, cancelled, never booked) are EXDATEs, dates moved or in
another state than the master are overrides (RECURRENCE-ID) in the same VCALENDAR (RFC 5546
allows one UID's master and overrides together). When no date holds any more, it is one
METHOD:CANCEL for the series UID. A single date decided or changed on its own still sends an
override of that date (RECURRENCE-ID = its original start).

SEQUENCE of anything sent for a series is ``series.sequence`` + the sum of its dates'
``sequence``: every change raises one of them (a date's transition, or the series row for a
series-level change), so the number rises with every message the attendee sees, whichever
component (master or override) was sent last.

Kits (bookings sharing ``group_key``, picked up together) are one appointment for the
borrower: one mail per decision listing the parts, with one invite under the kit's own UID
``kit-<group_key>@<host>`` spanning the parts that still hold (SEQUENCE = sum of the parts'
sequences). RFC 5546 (3.2) allows components with different UIDs in one iCalendar object only
for METHOD:PUBLISH, and RFC 6047 (2.4) one iCalendar object per message, so "one REQUEST per
part in one mail" is not an option; one mail per part would break "one mail per decision". A
part cancelled or declined on its own updates the kit's invite (REQUEST without it, or
CANCEL when no part is left).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.domain.lifecycle import Action, Status
from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.ical import CalendarEvent
from booking.mail.compose import envelope_sender
from booking.mail.outbox import enqueue
from booking.mail.payload import Invite
from booking.models import Booking, Organisation, Resource, Series, Site, SiteRole, User
from booking.services.context import AppContext

ICAL_STATUS = {
    Status.REQUESTED.value: "TENTATIVE",
    Status.CONFIRMED.value: "CONFIRMED",
    Status.CHECKED_OUT.value: "CONFIRMED",
    Status.RETURNED.value: "CONFIRMED",
    Status.CANCELLED.value: "CANCELLED",
    Status.DECLINED.value: "CANCELLED",
    Status.NO_SHOW.value: "CANCELLED",
}


# Statuses in which a date is (still) in the booker's calendar.
KEPT = frozenset({Status.REQUESTED.value, Status.CONFIRMED.value, Status.CHECKED_OUT.value, Status.RETURNED.value})
# Mails to the booker that carry an online room's join link (the booking holds then).
JOIN_LINK_KINDS = frozenset({"confirmed", "changed", "reminder"})
# A mail lists at most this many dates; the invite always has all of them.
MAX_LISTED_DATES = 60


@dataclass
class BookingFacts:
    booking: Booking
    resource: Resource
    site: Site
    # Only email, display_name and language are read: a User, or the Principal who booked.
    booker: User | Principal
    organisation: Organisation | None
    series: Series | None
    sequence: int = 0


async def _facts(
    session: AsyncSession, booking: Booking, *, booker: User | Principal | None = None, sequence: int | None = None,
    known: Iterable[Resource | Site | Organisation | None] = (),
) -> BookingFacts:
    """What a message about ``booking`` says. Objects the caller's session already holds cost
    no query (the identity map); ``booker``: the booker when the caller has them at hand;
    ``known``: the resource, site or organisation when the caller has them outside the session."""
    at_hand = {(type(found), found.id): found for found in known if found is not None}

    async def get(model: Any, key: int) -> Any:
        found = at_hand.get((model, key))
        return found if found is not None else await session.get(model, key)

    resource = await get(Resource, booking.resource_id)
    assert resource is not None
    site = await get(Site, resource.site_id)
    if booker is None or _user_id(booker) != booking.booker_id:
        booker = await session.get(User, booking.booker_id)
    assert site is not None and booker is not None
    organisation = await get(Organisation, booking.organisation_id) if booking.organisation_id else None
    series = await session.get(Series, booking.series_id) if booking.series_id else None
    if sequence is None:
        sequence = await series_sequence(session, series) if series is not None else booking.sequence
    return BookingFacts(booking, resource, site, booker, organisation, series, sequence)


def _user_id(person: User | Principal) -> int | None:
    return person.user_id if isinstance(person, Principal) else person.id


async def series_sequence(session: AsyncSession, series: Series) -> int:
    """The SEQUENCE of the series' invites: its own counter plus its dates' (see the module doc)."""
    total = (
        await session.exec(select(func.coalesce(func.sum(Booking.sequence), 0)).where(Booking.series_id == series.id))
    ).one()
    return series.sequence + int(total)


def booking_uid(app: AppContext, booking: Booking) -> str:
    if booking.series_id is not None:
        return f"series-{booking.series_id}@{app.settings.host_name}"
    return f"booking-{booking.id}@{app.settings.host_name}"


def _summary(facts: BookingFacts) -> str:
    title = facts.booking.title or (facts.series.title if facts.series else "")
    return f"{title} – {facts.resource.name}" if title else facts.resource.name


def _location(facts: BookingFacts) -> str:
    if facts.resource.kind == "online":
        return f"Online – {facts.resource.name}"  # no address: nobody goes to the site
    return ", ".join(part for part in (facts.resource.name, facts.site.name, facts.site.address) if part)


def join_url_for_booker(facts: BookingFacts) -> str | None:
    """The join link of an online room, for the booker's own messages only (never staff mail)."""
    return facts.resource.join_url if facts.resource.kind == "online" and facts.resource.join_url else None


def _description(facts: BookingFacts, join_url: str | None) -> str | None:
    parts = [part for part in (facts.booking.purpose, join_url) if part]
    return "\n\n".join(parts) or None


def _event(app: AppContext, facts: BookingFacts, *, status: str | None = None) -> CalendarEvent:
    """The booker's invite event. An online room's join link is in DESCRIPTION and CONFERENCE
    while the booking holds (a CANCEL does not repeat it)."""
    booking = facts.booking
    join_url = join_url_for_booker(facts) if status != "CANCELLED" else None
    return CalendarEvent(
        uid=booking_uid(app, booking),
        sequence=facts.sequence,
        dtstamp=app.now(),
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        timezone=facts.site.timezone,
        summary=_summary(facts),
        description=_description(facts, join_url),
        location=_location(facts),
        status=status or ICAL_STATUS.get(booking.status, "CONFIRMED"),  # type: ignore[arg-type]
        organizer_email=facts.site.contact_email,
        organizer_name=facts.site.name,
        # The service sends on the site's behalf: SENT-BY equals the From address (mail/compose.py).
        organizer_sent_by=envelope_sender(app.settings),
        attendee_email=facts.booker.email,
        attendee_name=facts.booker.display_name,
        url=f"{app.settings.base_url}/bookings/{booking.id}",
        last_modified=booking.updated_at,
        recurrence_id=_recurrence_id(facts),
        conference_url=join_url,
    )


def _recurrence_id(facts: BookingFacts) -> datetime | None:
    if facts.booking.series_id is None or facts.booking.recurrence_id is None:
        return None
    return facts.booking.recurrence_id.astimezone(ZoneInfo(facts.site.timezone))


def _context(facts: BookingFacts, **extra: Any) -> dict[str, Any]:
    return {
        "booking_title": facts.booking.title or (facts.series.title if facts.series else "") or facts.resource.name,
        "resource_name": facts.resource.name,
        "site_name": facts.site.name,
        "site_address": facts.site.address,
        "site_email": facts.site.contact_email,
        "timezone": facts.site.timezone,
        "starts_at": facts.booking.starts_at,
        "ends_at": facts.booking.ends_at,
        "quantity": facts.booking.quantity,
        "organisation_name": facts.organisation.name if facts.organisation else None,
        "booking_url": f"/bookings/{facts.booking.id}",
        "booking_id": facts.booking.id,
        **extra,
    }


async def _to_booker(
    session: AsyncSession,
    app: AppContext,
    facts: BookingFacts,
    kind: str,
    *,
    method: str | None = None,
    dedupe_key: str | None = None,
    **extra: Any,
) -> None:
    invite = None
    if method is not None:
        status = "CANCELLED" if method == "CANCEL" else None
        invite = Invite(_event(app, facts, status=status), method)
    if kind in JOIN_LINK_KINDS and join_url_for_booker(facts):
        extra.setdefault("join_url", join_url_for_booker(facts))
    await enqueue(
        session,
        settings=app.settings,
        kind=kind,
        recipient=facts.booker.email,
        language=facts.booker.language,
        context=_context(facts, recipient_name=facts.booker.display_name, **extra),
        invite=invite,
        booking_id=facts.booking.id,
        dedupe_key=dedupe_key,
        now=app.now(),
        write_now=True,
    )


async def site_staff(session: AsyncSession, site_id: int) -> list[User]:
    """The lenders and managers of a site, who decide requests and hand things out."""
    statement = (
        select(User)
        .join(SiteRole, SiteRole.user_id == User.id)  # type: ignore[arg-type]
        .where(SiteRole.site_id == site_id, col(User.is_active).is_(True))
        .order_by(col(User.id))
    )
    return list((await session.exec(statement)).all())


async def _to_staff(
    session: AsyncSession, app: AppContext, facts: BookingFacts, kind: str, *, dedupe_prefix: str | None = None, **extra: Any
) -> None:
    for lender in await site_staff(session, facts.site.id):  # type: ignore[arg-type]
        await enqueue(
            session,
            settings=app.settings,
            kind=kind,
            recipient=lender.email,
            language=lender.language,
            # Lenders see the organisation, not the person who booked.
            context=_context(facts, recipient_name=lender.display_name, **extra),
            booking_id=facts.booking.id,
            dedupe_key=f"{dedupe_prefix}:{lender.id}" if dedupe_prefix else None,
            now=app.now(),
            write_now=True,
        )


async def booking_created(
    session: AsyncSession, app: AppContext, booking: Booking, *, booker: User | Principal | None = None,
    known: Iterable[Resource | Site | Organisation | None] = (),
) -> None:
    """A new single booking: confirmed (invite) or requested (receipt + lenders asked).

    ``booker``, ``known``: the booker and the booking's resource, site or organisation if at
    hand (saves loading them; see ``_facts``)."""
    if booking.series_id is not None or booking.group_key is not None:
        return  # a series or kit sends one message for all its bookings (series_created, kit_created)
    facts = await _facts(session, booking, booker=booker, known=known)
    if booking.status == Status.REQUESTED:
        await _to_booker(session, app, facts, "request_received")
        await _to_staff(session, app, facts, "request_to_decide")
    else:
        await _to_booker(session, app, facts, "confirmed", method="REQUEST")


async def booking_changed(
    session: AsyncSession, app: AppContext, booking: Booking, *, previous: tuple[datetime, datetime] | None = None
) -> None:
    """Time or quantity changed: the same UID with a higher SEQUENCE (a kit part: the kit's invite)."""
    if booking.group_key is not None:
        await kit_message(session, app, booking.group_key, "changed", affected=[booking])
        return
    facts = await _facts(session, booking)
    extra: dict[str, Any] = {}
    if previous is not None:
        extra = {"previous_starts_at": previous[0], "previous_ends_at": previous[1]}
    # A request still waiting for its decision has no invite in the booker's calendar (see
    # booking_transitioned): the change is a plain notice; the approval sends the invite.
    method = None if booking.status == Status.REQUESTED and booking.series_id is None else "REQUEST"
    await _to_booker(session, app, facts, "changed", method=method, **extra)
    if booking.status == Status.REQUESTED:
        await _to_staff(session, app, facts, "request_to_decide")


TRANSITION_KINDS = {Action.APPROVE: "confirmed", Action.DECLINE: "declined", Action.CANCEL: "cancelled"}


async def booking_transitioned(
    session: AsyncSession,
    app: AppContext,
    booking: Booking,
    action: Action,
    *,
    reason: str = "",
    previous_status: str | None = None,
) -> None:
    """Approve → invite (REQUEST); cancel of a confirmed booking → CANCEL; decline, and cancel
    of a request not yet decided → a plain notice; hand-out and return send nothing.

    A single booking gets an invite only once it is confirmed (a request is answered with a
    receipt, without a calendar), so a declined request — or one withdrawn before the decision
    (``previous_status`` "requested") — was never in the booker's calendar: a CANCEL would
    name an event the client never saw. A date of a series: an override of that date. A part
    of a kit: the kit's invite as it now stands (series and kits send their invite with the
    request already, so their CANCEL is right). Deciding a whole series or kit sends
    ``series_message`` / ``kit_message`` once instead (the service passes ``notify=False`` to
    each date's transition).
    """
    kind = TRANSITION_KINDS.get(action)
    if kind is None:
        return
    resource = await session.get(Resource, booking.resource_id)
    if resource is not None and resource.kind == OFFER_RESOURCE_KIND:
        # A place of a volunteer offer: the offer's own mail (its title, the cancel invite),
        # the same as a cancel by the mailed link — not the hidden resource's name.
        from booking.services.offer_mail import place_cancelled

        if action == Action.CANCEL:
            await place_cancelled(session, app, booking)
        return
    if booking.group_key is not None:
        await kit_message(session, app, booking.group_key, kind, affected=[booking], reason=reason)
        return
    method: str | None = "REQUEST" if action == Action.APPROVE else "CANCEL"
    never_invited = booking.series_id is None and (
        action == Action.DECLINE or (action == Action.CANCEL and previous_status == Status.REQUESTED.value)
    )
    if never_invited:
        method = None
    await _to_booker(session, app, await _facts(session, booking), kind, method=method, reason=reason or None)


# --------------------------------------------------------------------------- series


async def _series_invite(
    session: AsyncSession, app: AppContext, facts: BookingFacts, series: Series,
    all_occurrences: Sequence[Booking] | None = None,
) -> tuple[Invite, str]:
    """The whole series as it stands now: (calendar, method). See the module docstring.

    ``all_occurrences``: every booking of the series, when the caller has them (a new series)."""
    from booking.domain.recurrence import expand, parse_rrule

    if all_occurrences is not None:
        occurrences = sorted(all_occurrences, key=lambda b: b.starts_at)
    else:
        occurrences = list(
            (await session.exec(select(Booking).where(Booking.series_id == series.id).order_by(col(Booking.starts_at)))).all()
        )
    zone = ZoneInfo(series.timezone)
    duration = timedelta(minutes=series.duration_minutes)
    rule = parse_rrule(series.rrule, series.timezone, ())
    instances = expand(rule, datetime.fromisoformat(series.local_start), duration, series.timezone)
    kept = {b.recurrence_id: b for b in occurrences if b.status in KEPT and b.recurrence_id is not None}
    sequence = series.sequence + sum(b.sequence for b in occurrences)
    first_instant = next((o.starts_at for o in instances if o.starts_at is not None), None)
    if first_instant is None:  # cannot happen for a stored series; keep the invite valid anyway
        first_instant = min(b.recurrence_id or b.starts_at for b in occurrences)
    master_status = (
        "TENTATIVE" if kept and all(b.status == Status.REQUESTED.value for b in kept.values()) else "CONFIRMED"
    )
    if facts.resource.id != series.resource_id:
        # The message is about an alternative at another resource that joined the series: the
        # master still describes the series' own resource.
        series_resource = await session.get(Resource, series.resource_id)
        assert series_resource is not None
        facts = dataclasses.replace(facts, resource=series_resource)
    base = _event(app, facts)
    master = dataclasses.replace(
        base,
        sequence=sequence,
        starts_at=first_instant,
        ends_at=first_instant + duration,
        rrule=series.rrule,
        exdates=[o.local_start.replace(tzinfo=zone) for o in instances if o.starts_at not in kept],
        recurrence_id=None,
        status=master_status,  # type: ignore[arg-type]
        last_modified=series.updated_at,
    )
    if not kept:
        return Invite(dataclasses.replace(master, exdates=[]), "CANCEL"), "CANCEL"
    overrides = []
    for original, booking in sorted(kept.items()):
        status = ICAL_STATUS.get(booking.status, "CONFIRMED")
        elsewhere = booking.resource_id != series.resource_id
        if (booking.starts_at, booking.ends_at) == (original, original + duration) and status == master_status and not elsewhere:
            continue
        override = dataclasses.replace(
            master, rrule=None, exdates=[], starts_at=booking.starts_at, ends_at=booking.ends_at,
            recurrence_id=original.astimezone(zone), status=status,  # type: ignore[arg-type]
            last_modified=booking.updated_at,
        )
        if elsewhere:  # an alternative at a comparable resource: its own place and name
            other = await session.get(Resource, booking.resource_id)
            if other is not None:
                there = dataclasses.replace(facts, resource=other)
                override = dataclasses.replace(override, location=_location(there), summary=_summary(there))
        overrides.append(override)
    return Invite(master, "REQUEST", overrides), "REQUEST"


async def series_message(
    session: AsyncSession,
    app: AppContext,
    series: Series,
    kind: str,
    affected: Sequence[Booking],
    *,
    reason: str = "",
    to_staff: bool = False,
    all_occurrences: Sequence[Booking] | None = None,
    booker: User | Principal | None = None,
) -> None:
    """ONE mail to the booker about ``affected`` dates of ``series`` (``kind``: confirmed,
    declined, cancelled, changed, request_received), with the series' invite as it now stands;
    with ``to_staff`` also one request to decide to each lender of the site.
    ``all_occurrences`` (every booking of the series) and ``booker``: when at hand, they are
    not loaded again."""
    if not affected:
        return
    affected = sorted(affected, key=lambda b: b.starts_at)
    first = affected[0]
    # The invite's SEQUENCE is computed by _series_invite; the one of the facts is not used.
    facts = await _facts(session, first, booker=booker, sequence=0)
    facts.series = series
    calendar, method = await _series_invite(session, app, facts, series, all_occurrences)
    zone = ZoneInfo(series.timezone)
    extra: dict[str, Any] = {
        "occurrence_count": len(affected),
        "series_rrule": series.rrule,
        # The time of day as the dates now are (a moved series reads with its new time).
        "series_local_start": first.starts_at.astimezone(zone).replace(tzinfo=None),
        "series_duration": first.ends_at - first.starts_at,
        "dates": [(b.starts_at, b.ends_at) for b in affected[:MAX_LISTED_DATES]],
        "reason": reason or None,
    }
    await _message_for_many(session, app, facts, kind, calendar, method, first, extra, to_staff=to_staff)


async def _message_for_many(
    session: AsyncSession,
    app: AppContext,
    facts: BookingFacts,
    kind: str,
    calendar: Invite | None,
    method: str | None,
    first: Booking,
    extra: dict[str, Any],
    *,
    to_staff: bool,
) -> None:
    """One message about several bookings (a series, a kit) to the booker, and, for a request,
    one to each lender of the site."""
    await enqueue(
        session,
        settings=app.settings,
        kind=kind,
        recipient=facts.booker.email,
        language=facts.booker.language,
        context=_context(facts, recipient_name=facts.booker.display_name, **extra),
        invite=calendar,
        booking_id=first.id,
        now=app.now(),
    )
    if to_staff:
        await _to_staff(session, app, facts, "request_to_decide", **extra)


async def series_created(
    session: AsyncSession, app: AppContext, series: Series, occurrences: Sequence[Booking],
    *, booker: User | Principal | None = None,
) -> None:
    """One invite for a whole series: the rule, with the dates that were not booked excluded.

    ``occurrences`` are all bookings of the new series; ``booker`` (if at hand) its booker."""
    if not occurrences:
        return
    requested = any(b.status == Status.REQUESTED for b in occurrences)
    await series_message(
        session, app, series, "request_received" if requested else "confirmed", occurrences, to_staff=requested,
        all_occurrences=occurrences, booker=booker,
    )


# --------------------------------------------------------------------------- kits


def kit_uid(app: AppContext, group_key: str) -> str:
    return f"kit-{group_key}@{app.settings.host_name}"


async def kit_message(
    session: AsyncSession,
    app: AppContext,
    group_key: str,
    kind: str,
    *,
    affected: Sequence[Booking] | None = None,
    reason: str = "",
    to_staff: bool = False,
) -> None:
    """ONE mail to the borrower about a kit, listing its parts, with the kit's invite: REQUEST
    spanning the parts that still hold, or CANCEL when none does. The mail lists ``affected``
    parts (all parts when None)."""
    rows = list(
        (
            await session.exec(
                select(Booking, Resource)
                .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
                .where(Booking.group_key == group_key)
                .order_by(col(Booking.resource_id), col(Booking.id))
            )
        ).all()
    )
    if not rows:
        return
    wanted = {b.id for b in affected} if affected is not None else {b.id for b, _ in rows}
    listed = [(b, r) for b, r in rows if b.id in wanted]
    kept = [(b, r) for b, r in rows if b.status in KEPT]
    first = listed[0][0] if listed else rows[0][0]
    facts = await _facts(session, first)
    span = kept or rows
    names = ", ".join(r.name for _, r in span)
    title = first.title
    event = dataclasses.replace(
        _event(app, facts),
        uid=kit_uid(app, group_key),
        sequence=sum(b.sequence for b, _ in rows),
        starts_at=min(b.starts_at for b, _ in span),
        ends_at=max(b.ends_at for b, _ in span),
        summary=f"{title} – {names}" if title else names,
        location=", ".join(part for part in (facts.site.name, facts.site.address) if part),
        status="TENTATIVE" if kept and all(b.status == Status.REQUESTED.value for b, _ in kept) else "CONFIRMED",
        last_modified=max(b.updated_at for b, _ in rows),
        recurrence_id=None,
    )
    method = "REQUEST" if kept else "CANCEL"
    calendar = Invite(event, method)
    extra: dict[str, Any] = {
        "parts": [{"name": r.name, "quantity": b.quantity} for b, r in listed],
        "resource_name": ", ".join(r.name for _, r in listed),
        "starts_at": min(b.starts_at for b, _ in listed),
        "ends_at": max(b.ends_at for b, _ in listed),
        "quantity": 1,
        "reason": reason or None,
    }
    await _message_for_many(session, app, facts, kind, calendar, method, first, extra, to_staff=to_staff)


async def kit_created(session: AsyncSession, app: AppContext, parts: Sequence[Booking]) -> None:
    """A new kit: one confirmation (or receipt + one request per lender) naming all parts."""
    if not parts or parts[0].group_key is None:
        return
    requested = any(b.status == Status.REQUESTED for b in parts)
    await kit_message(
        session, app, parts[0].group_key, "request_received" if requested else "confirmed", to_staff=requested
    )


async def overdue_notice(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    """A thing handed out and not back after its end: tell the borrower and the lenders, once a day."""
    facts = await _facts(session, booking)
    day = app.now().astimezone(ZoneInfo(facts.site.timezone)).date().isoformat()
    await _to_booker(session, app, facts, "overdue_borrower", dedupe_key=f"overdue:{booking.id}:{day}")
    await _to_staff(session, app, facts, "overdue_lender", dedupe_prefix=f"overdue-lender:{booking.id}:{day}")


async def blocked_by_overdue(session: AsyncSession, app: AppContext, blocked: Booking, overdue: Booking) -> None:
    """A later booking of a unit that is not back yet: tell its booker, once."""
    facts = await _facts(session, blocked)
    await _to_booker(session, app, facts, "blocked_by_overdue", dedupe_key=f"blocked:{blocked.id}:{overdue.id}")


async def reminder(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    """Before the start: a reminder, or for things the pick-up reminder. Once per start time."""
    facts = await _facts(session, booking)
    if facts.resource.kind == OFFER_RESOURCE_KIND:
        # A place of a volunteer offer: its own reminder (the offer, not the hidden resource).
        from booking.services.offer_mail import offer_reminder

        await offer_reminder(session, app, booking)
        return
    kind = "pickup_reminder" if facts.resource.kind == "item" else "reminder"
    await _to_booker(session, app, facts, kind, dedupe_key=f"reminder:{booking.id}:{booking.starts_at.isoformat()}")


async def booking_cancelled_to_staff(session: AsyncSession, app: AppContext, booking: Booking, *, reason: str = "") -> None:
    """Tell the site's lenders that a booking was cancelled (e.g. because its booker deleted
    their account). Carries the organisation, never the person."""
    facts = await _facts(session, booking)
    await _to_staff(session, app, facts, "cancelled_to_staff", reason=reason or None)


async def no_show_released(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    """Nobody checked in: the booking was released. Tell the booker, with a CANCEL for their
    calendar (a kit part: the kit's invite as it now stands). Once per booking."""
    if booking.group_key is not None:
        await kit_message(session, app, booking.group_key, "no_show_released", affected=[booking])
        return
    facts = await _facts(session, booking)
    await _to_booker(session, app, facts, "no_show_released", method="CANCEL", dedupe_key=f"no_show:{booking.id}")
