"""What the member pages show: my bookings, one booking with what may be done to it, and an
organisation's bookings. Reads only; the changes go through ``services.bookings``/``series``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from booking.auth.permissions import can_change_booking
from booking.auth.principal import Principal
from booking.domain.lifecycle import CHANGEABLE, Status
from booking.models import Booking, Organisation, Resource, Series, Site
from booking.services import bookings, organisations
from booking.services.bookings import BookingFilter
from booking.services.context import AppContext

HOLDING = (Status.REQUESTED.value, Status.CONFIRMED.value, Status.CHECKED_OUT.value)
CANCELLABLE = (Status.REQUESTED.value, Status.CONFIRMED.value)
PAST_LIMIT = 50


@dataclass(frozen=True)
class BookingRow:
    booking: Booking
    resource: Resource
    site: Site
    organisation_name: str | None = None

    @property
    def timezone(self) -> str:
        return self.site.timezone


@dataclass(frozen=True)
class MyBookings:
    requested: list[BookingRow]
    upcoming: list[BookingRow]
    past: list[BookingRow]
    organisations: list[Organisation]


async def _rows(app: AppContext, pairs: list[tuple[Booking, Resource]]) -> list[BookingRow]:
    if not pairs:
        return []
    async with app.database.reader() as session:
        site_ids = {resource.site_id for _, resource in pairs}
        sites = {site.id: site for site in (await session.exec(select(Site).where(col(Site.id).in_(site_ids)))).all()}
        org_ids = {booking.organisation_id for booking, _ in pairs if booking.organisation_id}
        names = {}
        if org_ids:
            names = {org.id: org.name for org in (await session.exec(select(Organisation).where(col(Organisation.id).in_(org_ids)))).all()}
    return [BookingRow(booking, resource, sites[resource.site_id], names.get(booking.organisation_id)) for booking, resource in pairs]


async def my_bookings(app: AppContext, actor: Principal) -> MyBookings:
    """The actor's own bookings: waiting for approval, coming up, and the latest past or ended ones."""
    now = app.now()
    current = await bookings.list_bookings(app, actor, BookingFilter(scope="mine", statuses=HOLDING, starts_after=now, limit=500))
    everything_past = await bookings.list_bookings(app, actor, BookingFilter(scope="mine", starts_before=now, limit=1000))
    ended = await bookings.list_bookings(
        app, actor, BookingFilter(scope="mine", statuses=(Status.CANCELLED.value, Status.DECLINED.value, Status.RETURNED.value), starts_after=now, limit=200)
    )
    current_rows = await _rows(app, current)
    past_pairs = {booking.id: (booking, resource) for booking, resource in [*everything_past, *ended]}
    past_rows = await _rows(app, sorted(past_pairs.values(), key=lambda pair: pair[0].starts_at, reverse=True)[:PAST_LIMIT])
    past_rows = [row for row in past_rows if not (row.booking.status in HOLDING and row.booking.ends_at > now)]
    return MyBookings(
        requested=[row for row in current_rows if row.booking.status == Status.REQUESTED.value],
        upcoming=[row for row in current_rows if row.booking.status != Status.REQUESTED.value],
        past=past_rows,
        organisations=await organisations.organisations_of(app, actor),
    )


@dataclass(frozen=True)
class BookingDetails:
    row: BookingRow
    series: Series | None
    may_change: bool
    may_cancel: bool


async def booking_details(app: AppContext, actor: Principal, booking_id: int) -> BookingDetails:
    """One booking the actor may see, and whether they may move or cancel it now."""
    booking, resource = await bookings.get_booking(app, actor, booking_id)
    (row,) = await _rows(app, [(booking, resource)])
    series = None
    if booking.series_id is not None:
        async with app.database.reader() as session:
            series = await session.get(Series, booking.series_id)
    allowed = can_change_booking(actor, bookings.facts(booking, resource))
    not_started = booking.starts_at > app.now()
    return BookingDetails(
        row=row,
        series=series,
        may_change=allowed and not_started and booking.status in {status.value for status in CHANGEABLE},
        may_cancel=allowed and booking.ends_at > app.now() and booking.status in CANCELLABLE,
    )


async def organisation_bookings(app: AppContext, actor: Principal, organisation_id: int, *, since: datetime | None = None) -> list[BookingRow]:
    """The organisation's bookings from ``since`` (default now) on, for its members."""
    pairs = await bookings.list_bookings(
        app, actor, BookingFilter(scope="organisation", organisation_id=organisation_id, starts_after=since or app.now(), limit=300)
    )
    return await _rows(app, pairs)
