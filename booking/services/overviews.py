"""What the member pages show: my bookings, one booking with what may be done to it, and an
organisation's bookings. Reads only; the changes go through ``services.bookings``/``series``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from booking.domain.offers import OFFER_RESOURCE_KIND
from booking.auth.permissions import can_change_booking
from booking.auth.principal import Principal
from booking.domain.lifecycle import CHANGEABLE, HOLDING_VALUES, Status, is_overdue
from booking.models import Booking, Organisation, Resource, Series, Site
from booking.services import bookings, organisations
from booking.services.bookings import BookingFilter
from booking.services.checkin import CheckinState, checkin_state
from booking.services.context import AppContext

HOLDING = HOLDING_VALUES
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
    page: int = 1
    page_count: int = 1
    past_total: int = 0


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


async def _past_page(app: AppContext, actor: Principal, now: datetime, page: int, per_page: int) -> tuple[list[tuple[Booking, Resource]], int, int, int]:
    """The actor's bookings that are over (ended, or cancelled/declined/returned), latest first,
    one page of them: (pairs, total, page clamped to 1..page_count, page_count)."""
    over = or_(col(Booking.status).not_in(HOLDING), col(Booking.ends_at) <= now)
    # Places of volunteer offers are listed with the offers (/mitmachen), not as bookings.
    offer_places = select(Resource.id).where(Resource.kind == OFFER_RESOURCE_KIND)
    mine = and_(Booking.booker_id == actor.user_id, over, col(Booking.resource_id).not_in(offer_places))
    async with app.database.reader() as session:
        total = (await session.exec(select(func.count()).select_from(Booking).where(mine))).one()
        page_count = max(1, -(-total // per_page))
        page = min(max(page, 1), page_count)
        statement = (
            select(Booking, Resource).join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
            .where(mine).order_by(col(Booking.starts_at).desc(), col(Booking.id).desc())
            .offset((page - 1) * per_page).limit(per_page)
        )
        pairs = [(booking, resource) for booking, resource in (await session.exec(statement)).all()]
    return pairs, total, page, page_count


async def my_bookings(app: AppContext, actor: Principal, *, page: int = 1, per_page: int = PAST_LIMIT) -> MyBookings:
    """The actor's own bookings: waiting for approval, coming up, and one page of the past or
    ended ones (latest first; a page beyond the last shows the last)."""
    now = app.now()
    current = await bookings.list_bookings(app, actor, BookingFilter(scope="mine", statuses=HOLDING, starts_after=now, limit=500))
    current_rows = await _rows(app, current)
    past_pairs, total, page, page_count = await _past_page(app, actor, now, page, per_page)
    return MyBookings(
        requested=[row for row in current_rows if row.booking.status == Status.REQUESTED.value],
        # Holds offered from a waiting list are shown with their entries (``waiting_list_views.my_entries``).
        upcoming=[row for row in current_rows if row.booking.status not in (Status.REQUESTED.value, Status.HELD.value)],
        past=await _rows(app, past_pairs),
        organisations=await organisations.organisations_of(app, actor),
        page=page,
        page_count=page_count,
        past_total=total,
    )


@dataclass(frozen=True)
class BookingDetails:
    row: BookingRow
    series: Series | None
    may_change: bool
    may_cancel: bool
    # Check-in (services.checkin), None when the resource does not ask for it.
    checkin: CheckinState | None = None
    # An online room's join link: only for the booker, only while the booking is confirmed.
    join_url: str | None = None


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
    is_booker = booking.booker_id == actor.user_id
    state = await checkin_state(app, booking)
    return BookingDetails(
        row=row,
        series=series,
        may_change=allowed and not_started and booking.status in {status.value for status in CHANGEABLE},
        may_cancel=allowed and booking.ends_at > app.now() and booking.status in CANCELLABLE,
        checkin=state if state.required else None,
        join_url=resource.join_url if is_booker and resource.kind == "online" and booking.status == Status.CONFIRMED.value else None,
    )


async def organisation_bookings(app: AppContext, actor: Principal, organisation_id: int, *, since: datetime | None = None) -> list[BookingRow]:
    """The organisation's bookings from ``since`` (default now) on, for its members."""
    pairs = await bookings.list_bookings(
        app, actor, BookingFilter(scope="organisation", organisation_id=organisation_id, starts_after=since or app.now(), limit=300)
    )
    return await _rows(app, pairs)


@dataclass(frozen=True)
class MyLoans:
    """What a borrower has now and what they will pick up.

    ``out``: handed out and not back, overdue ones first (they end earliest), then by due
    time. ``pickups``: things requested or confirmed and not yet handed out, soonest first."""

    out: list[BookingRow]
    pickups: list[BookingRow]
    now: datetime
    # Pick-ups after the next PICKUP_DAYS days: counted, not listed (the page links to them).
    later_pickups: int = 0
    pickup_days: int = 21

    def is_overdue(self, row: BookingRow) -> bool:
        return is_overdue(row.booking.status, row.booking.ends_at, self.now)

    @property
    def overdue(self) -> list[BookingRow]:
        return [row for row in self.out if self.is_overdue(row)]


MY_LOANS_LIMIT = 200
# "Ausgeliehen" lists the pick-ups of the next three weeks; a phone page of every pick-up of the
# season would be metres long (the demo member's was 7,500 px at 360 px).
PICKUP_DAYS = 21


async def my_loans(app: AppContext, actor: Principal) -> MyLoans:
    """The actor's own loans: what they have now (overdue first) and their upcoming pick-ups."""
    now = app.now()
    mine = select(Booking, Resource).join(Resource, Resource.id == Booking.resource_id).where(  # type: ignore[arg-type]
        Booking.booker_id == actor.user_id
    )
    async with app.database.reader() as session:
        out = (await session.exec(
            mine.where(Booking.status == Status.CHECKED_OUT.value)
            .order_by(col(Booking.ends_at), col(Booking.id)).limit(MY_LOANS_LIMIT)
        )).all()
        waiting = [col(Booking.status).in_(CANCELLABLE), Resource.kind == "item", col(Booking.ends_at) > now]
        soon = col(Booking.starts_at) < now + timedelta(days=PICKUP_DAYS)
        pickups = (await session.exec(
            mine.where(*waiting, soon).order_by(col(Booking.starts_at), col(Booking.id)).limit(MY_LOANS_LIMIT)
        )).all()
        later = (await session.exec(
            select(func.count()).select_from(Booking).join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
            .where(Booking.booker_id == actor.user_id, *waiting, ~soon)
        )).one()
    return MyLoans(
        out=await _rows(app, [(b, r) for b, r in out]),
        pickups=await _rows(app, [(b, r) for b, r in pickups]),
        now=now, later_pickups=int(later), pickup_days=PICKUP_DAYS,
    )
