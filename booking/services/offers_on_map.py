"""How many volunteer offers ("Mitmachen") each site has open, for the map (/karte), its list,
its cards and the open data (/api/v1/sites.geojson).

An offer is open at a site when it is published, not cancelled, takes place *at the site*
(offers at a free address or online have no place on the map) and has an upcoming date that
is not cancelled and still has a free place. Free places are decided as everywhere else: the
offer's places minus the holding bookings on its hidden resource at that date's start — the
same sum the public calendar (/mitmachen) shows: a site's count is what
"/mitmachen?site=…&free=1" lists, less the site's offers held at another address or online.

One aggregate statement for all sites (no query per site, at most one row per site back); the
counting runs in the database over the upcoming dates, on indexed columns (offer_date.starts_at,
booking's resource/start index).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import distinct
from sqlmodel import col, func, select

from booking.domain.lifecycle import HOLDING_VALUES
from booking.models import Booking, Offer, OfferDate
from booking.services.context import AppContext

#: Where an offer must take place to be shown on the map (``Offer.location_kind``).
ON_THE_MAP = "site"


async def open_offers_by_site(app: AppContext, *, now: datetime | None = None,
                              site_ids: Collection[int] | None = None) -> dict[int, int]:
    """The number of open offers per site id (sites without any are left out); only the sites
    in ``site_ids`` when given."""
    now = now or app.now()
    taken = (
        select(func.coalesce(func.sum(Booking.quantity), 0))
        .where(Booking.resource_id == Offer.resource_id, Booking.starts_at == OfferDate.starts_at,
               col(Booking.status).in_(HOLDING_VALUES))
        .correlate(Offer, OfferDate)
        .scalar_subquery()
    )
    statement = (
        select(Offer.site_id, func.count(distinct(Offer.id)))
        .join(OfferDate, OfferDate.offer_id == Offer.id)  # type: ignore[arg-type]
        .where(col(Offer.is_published).is_(True), col(Offer.cancelled_at).is_(None), Offer.location_kind == ON_THE_MAP,
               col(OfferDate.is_cancelled).is_(False), OfferDate.starts_at > now, Offer.places > taken)
        .group_by(Offer.site_id)
    )
    if site_ids is not None:
        if not site_ids:
            return {}
        statement = statement.where(col(Offer.site_id).in_(list(site_ids)))
    async with app.database.reader() as session:
        return {site_id: int(count) for site_id, count in (await session.exec(statement)).all()}
