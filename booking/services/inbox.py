"""The lender's inbox ("Requests"): requests waiting for a decision at the actor's sites, and what comes next.

Reading, plus ``approve_selected`` (several requests approved in one go, each on its own);
deciding goes through ``booking.services.bookings`` (approve_booking,
decline_booking; a kit is decided as a whole) and ``booking.services.series`` (approve_series,
decline_series: all waiting dates of a series at once), which check the same rule: lenders and managers of the booking's site and
city administrators decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
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
    # Shown to the lenders of the booking's site only (the person's optional profile phone).
    booker_phone: str = ""


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


    @property
    def key(self) -> str:
        """The name of this group in forms: ``series-<id>`` or ``booking-<id>`` (a kit: its first part)."""
        if self.kind == "series" and self.series is not None:
            return f"series-{self.series.id}"
        return f"booking-{self.first.booking.id}"


KINDS = ("room", "desk", "item")


@dataclass(frozen=True)
class InboxFilter:
    """What the lender narrows the list to. Days are local days of each booking's site."""

    site_id: int | None = None
    kind: str | None = None
    first_day: date | None = None
    last_day: date | None = None

    @property
    def is_set(self) -> bool:
        return any(value is not None for value in (self.site_id, self.kind, self.first_day, self.last_day))


@dataclass(frozen=True)
class Inbox:
    sites: list[Site]
    selected_site_id: int | None
    requests: list[InboxEntry]
    upcoming: list[InboxEntry]
    groups: list[RequestGroup] = field(default_factory=list)
    filter: InboxFilter = field(default_factory=InboxFilter)


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
                booker_phone=booker.phone if booker else "",
                organisation_name=organisations.get(booking.organisation_id) if booking.organisation_id else None,
            )
        )
    return entries


def _in_days(entry: InboxEntry, first_day: date | None, last_day: date | None) -> bool:
    """Whether the booking touches a local day of ``first_day..last_day`` at its site."""
    zone = ZoneInfo(entry.site.timezone)
    starts = entry.booking.starts_at.astimezone(zone).date()
    ends = (entry.booking.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
    return (first_day is None or ends >= first_day) and (last_day is None or starts <= last_day)


def _day_margin(day: date | None, days: int) -> datetime | None:
    """A UTC instant safely outside a local day anywhere (the exact test is ``_in_days``)."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days), datetime.min.time(), tzinfo=ZoneInfo("UTC"))


async def lender_inbox(
    app: AppContext, actor: Principal, site_id: int | None = None, *, filters: InboxFilter | None = None
) -> Inbox:
    """Open requests (oldest start first) and the confirmed bookings of the next days.

    ``filters`` narrow the requests to a site, a kind of resource and a range of days."""
    filters = filters or InboxFilter(site_id=site_id)
    site_id = filters.site_id if filters.site_id is not None else site_id
    if filters.kind is not None and filters.kind not in KINDS:
        raise InvalidInput("kind is one of room, desk, item", field="kind")
    if filters.first_day and filters.last_day and filters.last_day < filters.first_day:
        raise InvalidInput("the last day is before the first day", field="last_day")
    sites = await lender_sites(app, actor)
    if site_id is not None and not actor.is_lender_at(site_id):
        raise PermissionDenied("you are not a lender at this site", field="site")
    if site_id is not None and site_id not in {site.id for site in sites}:
        raise NotFound("This site does not exist.", field="site")
    now = app.now()
    requests = await list_bookings(
        app, actor, BookingFilter(
            scope="site", statuses=("requested",), site_id=site_id, resource_kind=filters.kind,
            starts_after=_day_margin(filters.first_day, -1), starts_before=_day_margin(filters.last_day, 2), limit=MAX_ENTRIES,
        ),
    )
    upcoming = await list_bookings(
        app,
        actor,
        BookingFilter(
            scope="site", statuses=("confirmed", "checked_out"), site_id=site_id,
            starts_after=now, starts_before=now + timedelta(days=UPCOMING_DAYS), limit=MAX_ENTRIES,
        ),
    )
    entries = [entry for entry in await _entries(app, requests) if _in_days(entry, filters.first_day, filters.last_day)]
    return Inbox(sites, site_id, entries, await _entries(app, upcoming), await _groups(app, entries), filters)


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


# ---------------------------------------------------------------- approving several at once


@dataclass(frozen=True)
class Selected:
    """One thing ticked in the list: a booking (a kit: any of its parts) or a whole series."""

    kind: str  # "booking" | "series"
    id: int

    @classmethod
    def parse(cls, value: str) -> Selected | None:
        kind, _, number = value.partition("-")
        if kind not in ("booking", "series") or not number.isdigit() or len(number) > 12:
            return None
        return cls(kind, int(number))

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"


@dataclass(frozen=True)
class ApprovalResult:
    selected: Selected
    approved: bool
    error: DomainError | None = None


MAX_SELECTED = 100


async def approve_selected(app: AppContext, actor: Principal, selection: Sequence[Selected]) -> list[ApprovalResult]:
    """Approve each selected request on its own (own transaction, own e-mail): one that was
    decided meanwhile, cancelled, or is not the actor's to decide is reported and the others
    are approved all the same."""
    from booking.services import bookings, series

    _require_lender(actor)
    if len(selection) > MAX_SELECTED:
        raise InvalidInput(f"at most {MAX_SELECTED} requests at once", field="selected")
    results: list[ApprovalResult] = []
    seen: set[Selected] = set()
    for selected in selection:
        if selected in seen:
            continue
        seen.add(selected)
        try:
            if selected.kind == "series":
                await series.approve_series(app, actor, selected.id)
            else:
                await bookings.approve_booking(app, actor, selected.id)
        except DomainError as error:
            results.append(ApprovalResult(selected, False, error))
        else:
            results.append(ApprovalResult(selected, True))
    return results
