"""Reading volunteer offers: the public calendar (filtered, paged), one offer with its dates and
free places, a site's offers, the offers a person manages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain import offers as rules
from booking.domain.errors import NotFound
from booking.models import Offer, OfferDate, Organisation, Site
from booking.services.context import AppContext
from booking.services.offer_permissions import may_manage
from booking.services.offer_places import _taken_by_date, _utc


PAGE_SIZE = 20


MAX_LISTED_DATES = 1000


@dataclass(frozen=True)
class DateView:
    id: int
    starts_at: datetime
    ends_at: datetime
    taken: int
    free: int
    is_cancelled: bool = False


@dataclass
class OfferView:
    offer: Offer
    site: Site
    organisation: Organisation | None
    dates: list[DateView]

    @property
    def next_date(self) -> DateView | None:
        return self.dates[0] if self.dates else None

    @property
    def free_anywhere(self) -> bool:
        return any(d.free > 0 for d in self.dates)


def _date_views(offer: Offer, dates: Sequence[OfferDate], taken: dict[tuple[int, datetime], int]) -> list[DateView]:
    views = []
    for d in dates:
        used = taken.get((offer.resource_id, _utc(d.starts_at)), 0)  # type: ignore[arg-type]
        views.append(DateView(d.id, d.starts_at, d.ends_at, used, 0 if d.is_cancelled else rules.free_places(offer.places, used),  # type: ignore[arg-type]
                              d.is_cancelled))
    return views


@dataclass
class OfferPage:
    items: list[OfferView]
    page: int
    pages: int
    total: int
    categories: list[str]
    sites: list[Site]


async def public_offers(app: AppContext, flt: rules.OfferFilter, *, page: int = 1, page_size: int = PAGE_SIZE,
                        now: datetime | None = None) -> OfferPage:
    """Published offers with upcoming dates that pass the filters, paged (bounded: at most
    ``MAX_LISTED_DATES`` upcoming dates are read)."""
    now = now or app.now()
    async with app.database.reader() as session:
        rows = (await session.exec(
            select(OfferDate, Offer, Site)
            .join(Offer, Offer.id == OfferDate.offer_id)  # type: ignore[arg-type]
            .join(Site, Site.id == Offer.site_id)  # type: ignore[arg-type]
            .where(OfferDate.starts_at > now, col(OfferDate.is_cancelled).is_(False), col(Offer.is_published).is_(True),
                   col(Offer.cancelled_at).is_(None))
            .order_by(col(OfferDate.starts_at), col(OfferDate.id))
            .limit(MAX_LISTED_DATES)
        )).all()
        offers = {o.id: o for _, o, _ in rows}
        taken = await _taken_by_date(session, [o.resource_id for o in offers.values() if o.resource_id], now)
        organisation_ids = {o.organisation_id for o in offers.values() if o.organisation_id}
        organisations = {
            org.id: org for org in (await session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids)))).all()
        } if organisation_ids else {}
        all_sites = list((await session.exec(select(Site).where(col(Site.id).in_({s.id for _, _, s in rows})).order_by(col(Site.name)))).all()) if rows else []
    grouped: dict[int, OfferView] = {}
    categories: set[str] = set()
    for offer_date, offer, site in rows:
        if offer.category:
            categories.add(offer.category)
        (view,) = _date_views(offer, [offer_date], taken)
        local_day = offer_date.starts_at.astimezone(ZoneInfo(site.timezone)).date()
        if not rules.matches(flt, kind=offer.kind, category=offer.category, site_id=offer.site_id, requirements=offer.requirements,
                             free=view.free, local_day=local_day):
            continue
        if offer.id not in grouped:
            grouped[offer.id] = OfferView(offer, site, organisations.get(offer.organisation_id), [])  # type: ignore[arg-type]
        grouped[offer.id].dates.append(view)  # type: ignore[index]
    items = list(grouped.values())
    total = len(items)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    return OfferPage(items[(page - 1) * page_size: page * page_size], page, pages, total, sorted(categories, key=str.casefold), all_sites)


async def get_offer(app: AppContext, actor: Principal | None, offer_id: int, *, upcoming_only: bool = True) -> OfferView:
    """One offer with its dates and free places. Unpublished or cancelled offers only for those
    who manage them (others: NotFound, no existence oracle)."""
    now = app.now()
    async with app.database.reader() as session:
        offer = await session.get(Offer, offer_id)
        if offer is None or ((not offer.is_published or offer.cancelled_at is not None) and not may_manage(actor, offer)):
            raise NotFound("this offer does not exist")
        site = await session.get(Site, offer.site_id)
        organisation = await session.get(Organisation, offer.organisation_id) if offer.organisation_id else None
        statement = select(OfferDate).where(OfferDate.offer_id == offer.id)
        if upcoming_only:
            statement = statement.where(OfferDate.ends_at > now)
        dates = list((await session.exec(statement.order_by(col(OfferDate.starts_at)).limit(rules.MAX_DATES * 2))).all())
        taken = await _taken_by_date(session, [offer.resource_id] if offer.resource_id else [], datetime.min.replace(tzinfo=now.tzinfo))
    assert site is not None
    return OfferView(offer, site, organisation, _date_views(offer, dates, taken))


async def get_managed_offer(app: AppContext, actor: Principal, offer_id: int) -> OfferView:
    """One offer with all its dates (past ones too) for those who manage it (others: NotFound,
    the same answer as for an offer that does not exist)."""
    view = await get_offer(app, actor, offer_id, upcoming_only=False)
    if not may_manage(actor, view.offer):
        raise NotFound("this offer does not exist")
    return view


async def site_offers(app: AppContext, site_id: int, *, limit: int = 10) -> list[OfferView]:
    """Upcoming published offers at a site (for its page /orte/<id>)."""
    page = await public_offers(app, rules.OfferFilter(site_id=site_id), page_size=limit)
    return page.items


MAX_MANAGED_OFFERS = 200


async def managed_offers(app: AppContext, actor: Principal, *, limit: int = MAX_MANAGED_OFFERS, offset: int = 0) -> list[OfferView]:
    """The offers ``actor`` manages (organisation admin, site staff; city admins all), newest
    first; at most ``MAX_MANAGED_OFFERS`` at once (``limit``, ``offset`` page through them)."""
    conditions = []
    limit = min(max(1, limit), MAX_MANAGED_OFFERS)
    async with app.database.reader() as session:
        statement = (select(Offer, Site).join(Site, Site.id == Offer.site_id)  # type: ignore[arg-type]
                     .order_by(col(Offer.id).desc()).offset(max(0, offset)).limit(limit))
        if not actor.is_city_admin:
            admin_of = [oid for oid, role in actor.organisation_roles.items() if role == "admin"]
            conditions = [col(Offer.site_id).in_(list(actor.site_roles))] + ([col(Offer.organisation_id).in_(admin_of)] if admin_of else [])
            from sqlalchemy import or_

            statement = statement.where(or_(*conditions))
        rows = (await session.exec(statement)).all()
    return [OfferView(offer, site, None, []) for offer, site in rows]


def local_day(value: datetime, timezone: str) -> date:
    return value.astimezone(ZoneInfo(timezone)).date()
