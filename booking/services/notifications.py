"""E-mail and calendar invites caused by booking changes.

Every function adds outbox rows to the caller's session, so the message is committed together
with the change that caused it — or not at all (DESIGN.md "E-mail"). Invites: the booker is the
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.domain.lifecycle import Action, Status
from booking.ical import CalendarEvent, build_invite
from booking.mail.outbox import enqueue
from booking.models import Booking, Organisation, Resource, Series, Site, SiteRole, User
from booking.services.context import AppContext

ICAL_STATUS = {
    Status.REQUESTED.value: "TENTATIVE",
    Status.CONFIRMED.value: "CONFIRMED",
    Status.CHECKED_OUT.value: "CONFIRMED",
    Status.RETURNED.value: "CONFIRMED",
    Status.CANCELLED.value: "CANCELLED",
    Status.DECLINED.value: "CANCELLED",
}


# Statuses in which a date is (still) in the booker's calendar.
KEPT = frozenset({Status.REQUESTED.value, Status.CONFIRMED.value, Status.CHECKED_OUT.value, Status.RETURNED.value})
# A mail lists at most this many dates; the invite always has all of them.
MAX_LISTED_DATES = 60


@dataclass
class BookingFacts:
    booking: Booking
    resource: Resource
    site: Site
    booker: User
    organisation: Organisation | None
    series: Series | None
    sequence: int = 0


async def _facts(session: AsyncSession, booking: Booking) -> BookingFacts:
    resource = await session.get(Resource, booking.resource_id)
    assert resource is not None
    site = await session.get(Site, resource.site_id)
    booker = await session.get(User, booking.booker_id)
    assert site is not None and booker is not None
    organisation = await session.get(Organisation, booking.organisation_id) if booking.organisation_id else None
    series = await session.get(Series, booking.series_id) if booking.series_id else None
    sequence = await series_sequence(session, series) if series is not None else booking.sequence
    return BookingFacts(booking, resource, site, booker, organisation, series, sequence)


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
    return ", ".join(part for part in (facts.resource.name, facts.site.name, facts.site.address) if part)


def _event(app: AppContext, facts: BookingFacts, *, status: str | None = None) -> CalendarEvent:
    booking = facts.booking
    return CalendarEvent(
        uid=booking_uid(app, booking),
        sequence=facts.sequence,
        dtstamp=app.now(),
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        timezone=facts.site.timezone,
        summary=_summary(facts),
        description=booking.purpose or None,
        location=_location(facts),
        status=status or ICAL_STATUS.get(booking.status, "CONFIRMED"),  # type: ignore[arg-type]
        organizer_email=facts.site.contact_email,
        organizer_name=facts.site.name,
        attendee_email=facts.booker.email,
        attendee_name=facts.booker.display_name,
        url=f"{app.settings.base_url}/bookings",
        last_modified=booking.updated_at,
        recurrence_id=_recurrence_id(facts),
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
        "booking_url": "/bookings",
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
    calendar = None
    if method is not None:
        status = "CANCELLED" if method == "CANCEL" else None
        calendar = build_invite(_event(app, facts, status=status), method)
    await enqueue(
        session,
        settings=app.settings,
        kind=kind,
        recipient=facts.booker.email,
        language=facts.booker.language,
        context=_context(facts, recipient_name=facts.booker.display_name, **extra),
        calendar=calendar,
        calendar_method=method,
        booking_id=facts.booking.id,
        dedupe_key=dedupe_key,
        now=app.now(),
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
        )


async def booking_created(session: AsyncSession, app: AppContext, booking: Booking) -> None:
    """A new single booking: confirmed (invite) or requested (receipt + lenders asked)."""
    if booking.series_id is not None:
        return  # the series sends one message for all its occurrences (series_created)
    facts = await _facts(session, booking)
    if booking.status == Status.REQUESTED:
        await _to_booker(session, app, facts, "request_received")
        await _to_staff(session, app, facts, "request_to_decide")
    else:
        await _to_booker(session, app, facts, "confirmed", method="REQUEST")


async def booking_changed(
    session: AsyncSession, app: AppContext, booking: Booking, *, previous: tuple[datetime, datetime] | None = None
) -> None:
    """Time or quantity changed: the same UID with a higher SEQUENCE."""
    facts = await _facts(session, booking)
    extra: dict[str, Any] = {}
    if previous is not None:
        extra = {"previous_starts_at": previous[0], "previous_ends_at": previous[1]}
    await _to_booker(session, app, facts, "changed", method="REQUEST", **extra)
    if booking.status == Status.REQUESTED:
        await _to_staff(session, app, facts, "request_to_decide")


async def booking_transitioned(
    session: AsyncSession, app: AppContext, booking: Booking, action: Action, *, reason: str = ""
) -> None:
    """Approve → invite; decline and cancel → CANCEL; hand-out and return send nothing."""
    if action == Action.APPROVE:
        await _to_booker(session, app, await _facts(session, booking), "confirmed", method="REQUEST")
    elif action == Action.DECLINE:
        await _to_booker(session, app, await _facts(session, booking), "declined", method="CANCEL", reason=reason or None)
    elif action == Action.CANCEL:
        await _to_booker(session, app, await _facts(session, booking), "cancelled", method="CANCEL", reason=reason or None)


async def series_created(session: AsyncSession, app: AppContext, series: Series, occurrences: Sequence[Booking]) -> None:
    """One invite for a whole series: the rule, with the dates that were not booked excluded."""
    if not occurrences:
        return
    first = min(occurrences, key=lambda b: b.starts_at)
    facts = await _facts(session, first)
    facts.series = series
    zone = ZoneInfo(facts.site.timezone)
    booked = {b.recurrence_id for b in occurrences}
    from booking.domain.recurrence import expand, parse_rrule

    rule = parse_rrule(series.rrule, series.timezone, tuple())
    local_start = datetime.fromisoformat(series.local_start)
    duration = first.ends_at - first.starts_at
    exdates = [
        occurrence.local_start.replace(tzinfo=zone)
        for occurrence in expand(rule, local_start, duration, series.timezone)
        if occurrence.starts_at not in booked
    ]
    event = _event(app, facts)
    series_start = min(o.starts_at for o in occurrences if o.recurrence_id == first.recurrence_id)
    series_event = dataclasses.replace(
        event,
        sequence=series.sequence,
        starts_at=_first_instant(rule, local_start, duration, series.timezone) or series_start,
        ends_at=(_first_instant(rule, local_start, duration, series.timezone) or series_start) + duration,
        rrule=series.rrule,
        exdates=exdates,
        recurrence_id=None,
    )
    requested = first.status == Status.REQUESTED
    calendar = build_invite(series_event, "REQUEST")
    await enqueue(
        session,
        settings=app.settings,
        kind="request_received" if requested else "confirmed",
        recipient=facts.booker.email,
        language=facts.booker.language,
        context=_context(facts, recipient_name=facts.booker.display_name, occurrence_count=len(occurrences)),
        calendar=calendar,
        calendar_method="REQUEST",
        booking_id=first.id,
        now=app.now(),
    )
    if requested:
        await _to_staff(session, app, facts, "request_to_decide", occurrence_count=len(occurrences))


def _first_instant(rule, local_start: datetime, duration, timezone: str) -> datetime | None:  # type: ignore[no-untyped-def]
    """DTSTART of the series: the rule's first occurrence, booked or not."""
    from booking.domain.recurrence import expand

    for occurrence in expand(rule, local_start, duration, timezone):
        if occurrence.starts_at is not None:
            return occurrence.starts_at
    return None


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
    kind = "pickup_reminder" if facts.resource.kind == "item" else "reminder"
    await _to_booker(session, app, facts, kind, dedupe_key=f"reminder:{booking.id}:{booking.starts_at.isoformat()}")
