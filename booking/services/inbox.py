"""The lender's inbox: requests waiting for a decision at the actor's sites, and what comes next.

Reading only; deciding goes through ``booking.services.bookings`` (approve_booking,
decline_booking; a kit is decided as a whole) and ``booking.services.series`` (approve_series,
decline_series: all waiting dates of a series at once), which check the same rule: lenders and managers of the booking's site and
city administrators decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import NotFound, PermissionDenied
from booking.models import (
    Booking,
    BookingEvent,
    Organisation,
    Resource,
    Series,
    Site,
    User,
)
from booking.services.bookings import BookingFilter, list_bookings
from booking.services.context import AppContext

UPCOMING_DAYS = 7
MAX_ENTRIES = 200


@dataclass(frozen=True)
class InboxEntry:
    booking: Booking
    resource: Resource
    site: Site
    booker_name: str
    booker_email: str
    organisation_name: str | None


@dataclass(frozen=True)
class RequestGroup:
    """What the lender decides in one step: one booking, the waiting dates of one series, or
    the waiting parts of one kit (``kind``: ``single``, ``series``, ``kit``)."""

    kind: str
    entries: list[InboxEntry]
    series: Series | None = None

    @property
    def first(self) -> InboxEntry:
        return self.entries[0]


@dataclass(frozen=True)
class Inbox:
    sites: list[Site]
    selected_site_id: int | None
    requests: list[InboxEntry]
    upcoming: list[InboxEntry]
    groups: list[RequestGroup] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryEntry:
    event: BookingEvent
    actor_name: str | None


@dataclass(frozen=True)
class RequestDetails:
    entry: InboxEntry
    history: list[HistoryEntry]


def _require_lender(actor: Principal) -> None:
    if not actor.is_lender_anywhere:
        raise PermissionDenied("only lenders may see the inbox")


async def lender_sites(app: AppContext, actor: Principal) -> list[Site]:
    """The sites the actor lends at (every site for city administrators)."""
    _require_lender(actor)
    statement = select(Site).order_by(col(Site.name))
    if not actor.is_city_admin:
        statement = statement.where(col(Site.id).in_(list(actor.site_roles)))
    async with app.database.reader() as session:
        return list((await session.exec(statement)).all())


async def _entries(app: AppContext, rows: list[tuple[Booking, Resource]]) -> list[InboxEntry]:
    if not rows:
        return []
    site_ids = {resource.site_id for _, resource in rows}
    user_ids = {booking.booker_id for booking, _ in rows}
    organisation_ids = {booking.organisation_id for booking, _ in rows if booking.organisation_id is not None}
    async with app.database.reader() as session:
        sites = {s.id: s for s in (await session.exec(select(Site).where(col(Site.id).in_(site_ids)))).all()}
        users = {u.id: u for u in (await session.exec(select(User).where(col(User.id).in_(user_ids)))).all()}
        organisations = (
            {o.id: o.name for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids)))).all()}
            if organisation_ids
            else {}
        )
    entries = []
    for booking, resource in rows:
        booker = users.get(booking.booker_id)
        entries.append(
            InboxEntry(
                booking=booking,
                resource=resource,
                site=sites[resource.site_id],
                booker_name=booker.display_name if booker else "",
                booker_email=booker.email if booker else "",
                organisation_name=organisations.get(booking.organisation_id) if booking.organisation_id else None,
            )
        )
    return entries


async def lender_inbox(app: AppContext, actor: Principal, site_id: int | None = None) -> Inbox:
    """Open requests (oldest start first) and the confirmed bookings of the next days."""
    sites = await lender_sites(app, actor)
    if site_id is not None and not actor.is_lender_at(site_id):
        raise PermissionDenied("you are not a lender at this site", field="site")
    if site_id is not None and site_id not in {site.id for site in sites}:
        raise NotFound("This site does not exist.", field="site")
    now = app.now()
    requests = await list_bookings(
        app, actor, BookingFilter(scope="site", statuses=("requested",), site_id=site_id, limit=MAX_ENTRIES)
    )
    upcoming = await list_bookings(
        app,
        actor,
        BookingFilter(
            scope="site", statuses=("confirmed", "checked_out"), site_id=site_id,
            starts_after=now, starts_before=now + timedelta(days=UPCOMING_DAYS), limit=MAX_ENTRIES,
        ),
    )
    entries = await _entries(app, requests)
    return Inbox(sites, site_id, entries, await _entries(app, upcoming), await _groups(app, entries))


async def _groups(app: AppContext, entries: list[InboxEntry]) -> list[RequestGroup]:
    """Group the waiting requests: a series' dates and a kit's parts become one card each,
    placed where their earliest entry is (entries come oldest start first)."""
    series_ids = {e.booking.series_id for e in entries if e.booking.series_id is not None}
    series_rows: dict[int, Series] = {}
    if series_ids:
        async with app.database.reader() as session:
            found = (await session.exec(select(Series).where(col(Series.id).in_(series_ids)))).all()
            series_rows = {row.id: row for row in found}  # type: ignore[misc]
    groups: list[RequestGroup] = []
    by_key: dict[tuple[str, object], RequestGroup] = {}
    for entry in entries:
        booking = entry.booking
        if booking.series_id is not None and booking.series_id in series_rows:
            key: tuple[str, object] = ("series", booking.series_id)
        elif booking.group_key is not None:
            key = ("kit", booking.group_key)
        else:
            groups.append(RequestGroup("single", [entry]))
            continue
        if key in by_key:
            by_key[key].entries.append(entry)
            continue
        group = RequestGroup(key[0], [entry], series_rows.get(booking.series_id) if key[0] == "series" else None)  # type: ignore[arg-type]
        by_key[key] = group
        groups.append(group)
    return groups


async def request_details(app: AppContext, actor: Principal, booking_id: int) -> RequestDetails:
    """One booking as its site's lenders see it, with its history (the e-mails link here)."""
    _require_lender(actor)
    async with app.database.reader() as session:
        booking = await session.get(Booking, booking_id)
        resource = await session.get(Resource, booking.resource_id) if booking is not None else None
        if booking is None or resource is None:
            raise NotFound("This booking does not exist.")
        if not actor.is_lender_at(resource.site_id):
            raise PermissionDenied("only lenders of this site may see this request")
        events = list(
            (await session.exec(
                select(BookingEvent).where(BookingEvent.booking_id == booking_id).order_by(col(BookingEvent.at), col(BookingEvent.id))
            )).all()
        )
        actor_ids = {e.actor_id for e in events if e.actor_id is not None}
        names = (
            {u.id: u.display_name for u in (await session.exec(select(User).where(col(User.id).in_(actor_ids)))).all()}
            if actor_ids
            else {}
        )
    [entry] = await _entries(app, [(booking, resource)])
    return RequestDetails(entry, [HistoryEntry(e, names.get(e.actor_id) if e.actor_id else None) for e in events])
