"""What lenders see: everything lent out, the overdue loans, and the hand-outs and returns
due on a day at their sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.lifecycle import Status
from booking.models import Booking, Resource, Site
from booking.services.context import AppContext
from booking.services.lending_common import LoanRow, _lender_sites, _loan_rows
from booking.services.overdue_loans import find_overdue


async def list_lent_out(app: AppContext, actor: Principal, site_id: int | None = None) -> list[LoanRow]:
    """Everything handed out and not back at the actor's sites: overdue first (they end
    earliest), then by due time."""
    sites = _lender_sites(actor, site_id)
    async with app.database.reader() as session:
        return await _loan_rows(
            session, [Booking.status == Status.CHECKED_OUT.value], app.now(), sites, order=col(Booking.ends_at),
        )


async def list_overdue(app: AppContext, actor: Principal, site_id: int | None = None) -> list[LoanRow]:
    """The overdue loans at the actor's sites (all sites for city admins)."""
    sites = _lender_sites(actor, site_id)
    return await find_overdue(app, app.now(), site_ids=sites)


@dataclass
class LenderDay:
    day: date
    pickups: list[LoanRow]
    returns: list[LoanRow]
    overdue: list[LoanRow]
    sites: list[Site]


async def lender_today(
    app: AppContext, actor: Principal, day: date | None = None, site_id: int | None = None
) -> LenderDay:
    """Hand-outs and returns due on ``day`` (default today) at the actor's sites, and what is overdue.

    Pick-ups: confirmed bookings of things starting that day (today also those whose pick-up
    was missed but which have not ended). Returns: things out that are due back that day.
    Days are each site's local days.
    """
    sites = _lender_sites(actor, site_id)
    now = app.now()
    async with app.database.reader() as session:
        site_statement = select(Site).order_by(col(Site.name))
        if sites is not None:
            site_statement = site_statement.where(col(Site.id).in_(sites))
        site_rows = list((await session.exec(site_statement)).all())
        zone_name = site_rows[0].timezone if site_rows else "Europe/Berlin"
        today = now.astimezone(ZoneInfo(zone_name)).date()
        day = day or today
        # A generous UTC window around the local day; each row is then judged in its site's zone.
        low = datetime.combine(day - timedelta(days=1), time(0), UTC)
        high = datetime.combine(day + timedelta(days=2), time(0), UTC)
        item = Resource.kind == "item"
        pickup_where: list[Any] = [item, Booking.status == Status.CONFIRMED.value, Booking.starts_at < high]
        if day != today:
            pickup_where.append(Booking.starts_at >= low)
        else:
            pickup_where.append(Booking.ends_at > now)
        pickups = await _loan_rows(session, pickup_where, now, sites)
        returns = await _loan_rows(
            session,
            [item, Booking.status == Status.CHECKED_OUT.value, Booking.ends_at >= low, Booking.ends_at < high],
            now, sites, order=col(Booking.ends_at),
        )
        overdue = await _loan_rows(
            session, [Booking.status == Status.CHECKED_OUT.value, Booking.ends_at <= now], now, sites,
            order=col(Booking.ends_at),
        )

    def local_day(instant: datetime, site: Site) -> date:
        return instant.astimezone(ZoneInfo(site.timezone)).date()

    pickups = [
        row for row in pickups
        if local_day(row.booking.starts_at, row.site) == day
        or (day == today and local_day(row.booking.starts_at, row.site) < day)
    ]
    # A return at midnight ("24:00") belongs to the day that ends there.
    returns = [row for row in returns if local_day(row.booking.ends_at - timedelta(microseconds=1), row.site) == day]
    return LenderDay(day, pickups, returns, overdue, site_rows)
