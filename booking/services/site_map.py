"""The public map of the sites (/karte), a site's public page (/orte/<id>) and the open data
(/api/v1/sites.geojson), each site with its count of open volunteer offers (offers_on_map).

Everything here is public: only resources everyone may see are counted, and nothing about the
people who book leaves this module (no booker, no organisation, no title) — only the sites,
their public resources and when those are free.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from booking.domain.geo import distance_km
from booking.domain.intervals import Interval
from booking.domain.availability import busy_intervals, peak_usage
from booking.domain.opening_hours import WEEKDAYS, open_intervals
from booking.models import Blackout, Resource, Site
from booking.services import catalogue, directory, discovery, offers_on_map
from booking.services.catalogue import RESOURCE_KINDS, Availability, ResourceQuery, UsageSegment
from booking.services.loading import load_holdings, load_rules_for
from booking.services.context import AppContext

# How far the site page looks ahead for closures and for a resource's next free time.
CLOSURE_WEEKS = 4
NEXT_FREE_DAYS = 14
SORTS = ("name", "distance")


@dataclass(frozen=True)
class SiteSummary:
    """A site as the map and its list show it."""

    site: Site
    # Public active resources per kind ("room", "desk", "item"), kinds without any left out.
    counts: dict[str, int]
    # Opening hours of today in the site's zone: [["09:00", "18:00"], ...]; empty = closed today.
    hours_today: list[list[str]]
    # Resources matching the filter (kind, category, free time); None without a filter.
    matching: int | None = None
    distance_km: float | None = None
    # The organisation layer: listed organisations that meet here (only when asked for).
    organisations: tuple[directory.MeetingOrganisation, ...] = ()
    # Volunteer offers held here with an upcoming date that has a free place (offers_on_map).
    offers: int = 0

    @property
    def located(self) -> bool:
        return self.site.latitude is not None and self.site.longitude is not None


@dataclass(frozen=True)
class MapQuery:
    kind: str | None = None
    category: str | None = None
    free_from: datetime | None = None
    free_until: datetime | None = None
    step_free: bool = False
    near: tuple[float, float] | None = None
    sort: str = "name"
    # Organisations' field of activity: only sites where a listed organisation of it meets.
    field_id: int | None = None
    # The organisation layer: the listed organisations meeting at each site.
    organisations: bool = False
    # Only sites with open volunteer offers ("mit Mitmach-Angeboten").
    with_offers: bool = False

    @property
    def wants_organisations(self) -> bool:
        return self.organisations or self.field_id is not None

    @property
    def filters_resources(self) -> bool:
        return bool(self.kind or self.category or self.free_from)


@dataclass(frozen=True)
class MapPage:
    sites: list[SiteSummary]
    categories: list[str]
    total_sites: int


def hours_on(site: Site, day: date) -> list[list[str]]:
    return [list(stretch) for stretch in (site.opening_hours or {}).get(WEEKDAYS[day.weekday()], [])]


def _today(app: AppContext, site: Site) -> date:
    return app.now().astimezone(ZoneInfo(site.timezone)).date()


async def _public_rows(app: AppContext, query: ResourceQuery = ResourceQuery()) -> list[tuple[Resource, Site]]:
    # actor None: what an anonymous visitor may see, for everyone alike (members-only resources
    # are not shown on the public map even to members).
    return await catalogue.search_resources(app, None, query)


def _counts(rows: list[tuple[Resource, Site]]) -> dict[int, dict[str, int]]:
    per_site: dict[int, Counter[str]] = {}
    for resource, site in rows:
        per_site.setdefault(site.id, Counter())[resource.kind] += 1  # type: ignore[arg-type]
    return {site_id: {kind: counter[kind] for kind in RESOURCE_KINDS if counter[kind]} for site_id, counter in per_site.items()}


async def map_page(app: AppContext, query: MapQuery) -> MapPage:
    """The sites matching ``query`` (a public resource of that kind/category free at that time,
    step-free access, open volunteer offers), sorted by name or by distance from ``query.near``."""
    sites = await catalogue.list_sites(app)
    open_offers = await offers_on_map.open_offers_by_site(app)
    everything = await _public_rows(app)
    counts = _counts(everything)
    matching: dict[int, int] | None = None
    if query.filters_resources:
        rows = await _public_rows(app, ResourceQuery(kind=query.kind, category=query.category,
                                                     free_from=query.free_from, free_until=query.free_until))
        matching = dict(Counter(site.id for _, site in rows))  # type: ignore[misc]
    meeting: dict[int, tuple[directory.MeetingOrganisation, ...]] = {}
    if query.wants_organisations:
        meeting = await directory.organisations_by_site(app, field_id=query.field_id)
    summaries: list[SiteSummary] = []
    for site in sites:
        if matching is not None and not matching.get(site.id):  # type: ignore[arg-type]
            continue
        if query.field_id is not None and not meeting.get(site.id):  # type: ignore[arg-type]
            continue
        if query.step_free and site.step_free is not True:
            continue
        if query.with_offers and not open_offers.get(site.id):  # type: ignore[arg-type]
            continue
        distance = None
        if query.near is not None and site.latitude is not None and site.longitude is not None:
            distance = distance_km(query.near, (site.latitude, site.longitude))
        summaries.append(SiteSummary(
            site=site, counts=counts.get(site.id, {}), hours_today=hours_on(site, _today(app, site)),  # type: ignore[arg-type]
            matching=None if matching is None else matching[site.id], distance_km=distance,  # type: ignore[index]
            organisations=meeting.get(site.id, ()), offers=open_offers.get(site.id, 0),  # type: ignore[arg-type]
        ))
    if query.sort == "distance" and query.near is not None:
        # Sites without coordinates go last, by name.
        summaries.sort(key=lambda s: (s.distance_km is None, s.distance_km or 0.0, s.site.name.casefold()))
    else:
        summaries.sort(key=lambda s: s.site.name.casefold())
    categories = sorted({resource.category for resource, _ in everything if resource.category}, key=str.casefold)
    return MapPage(summaries, categories, len(sites))


# --------------------------------------------------------------------------- open data


def site_feature(summary: SiteSummary, base_url: str) -> dict[str, Any]:
    """One site as an RFC 7946 Feature: a Point in [longitude, latitude] order (None when the
    site has no coordinates yet)."""
    site = summary.site
    geometry = {"type": "Point", "coordinates": [site.longitude, site.latitude]} if summary.located else None
    base = base_url.rstrip("/")
    feature: dict[str, Any] = {
        "type": "Feature",
        "id": site.id,
        "geometry": geometry,
        "properties": {
            "id": site.id,
            "name": site.name,
            "address": site.address,
            "url": f"{base}/orte/{site.id}",
            "calendar_url": f"{base}/calendar?site={site.id}",
            "timezone": site.timezone,
            "opening_hours": {day: site.opening_hours.get(day, []) for day in WEEKDAYS} if site.opening_hours else {},
            "opening_hours_today": summary.hours_today,
            "resources": {kind: summary.counts.get(kind, 0) for kind in RESOURCE_KINDS},
            "offers": summary.offers,
            "accessibility": {
                "step_free": site.step_free,
                "accessible_toilet": site.accessible_toilet,
                "hearing_loop": site.hearing_loop,
                "notes": site.accessibility_notes,
            },
        },
    }
    if summary.organisations:
        # The organisation layer of the map page: only organisations that opted into the directory.
        feature["properties"]["organisations"] = [  # type: ignore[index]
            {"id": o.id, "name": o.name, "fields": list(o.fields), "url": f"{base}/organisationen/{o.id}"}
            for o in summary.organisations
        ]
    return feature


def feature_collection(summaries: list[SiteSummary], app: AppContext) -> dict[str, Any]:
    settings = app.settings
    return {
        "type": "FeatureCollection",
        # A foreign member (RFC 7946 §6.1): the terms under which the data may be reused.
        "license": {"name": settings.open_data.licence, "url": settings.open_data.licence_url},
        "features": [site_feature(summary, settings.base_url) for summary in summaries],
    }


async def sites_geojson(app: AppContext, *, with_offers: bool = False) -> dict[str, Any]:
    """Every site (only those with open volunteer offers when ``with_offers``) with the counts
    of its public resources and open offers, as a GeoJSON FeatureCollection."""
    page = await map_page(app, MapQuery(with_offers=with_offers))
    return feature_collection(page.sites, app)


# --------------------------------------------------------------------------- a site's page


@dataclass(frozen=True)
class NextFree:
    resource: Resource
    # Start of the first free (or partly free) stretch within NEXT_FREE_DAYS; None: not free then.
    starts_at: datetime | None
    units_free: int = 0


@dataclass(frozen=True)
class Closure:
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True)
class SitePage:
    summary: SiteSummary
    week: list[tuple[str, list[list[str]]]]  # (weekday key, hours) Monday first
    closures: list[Closure]
    resources_by_kind: dict[str, list[NextFree]] = field(default_factory=dict)


async def _availabilities(app: AppContext, site: Site, resources: list[Resource], window: Interval) -> list[Availability]:
    """``catalogue.availability`` for every resource of one site at once: a fixed number of
    queries however many resources the site has."""
    if not resources:
        return []
    window = window.in_utc()
    ids = [resource.id for resource in resources]
    async with app.database.reader() as session:
        rules = await load_rules_for(session, resources)
        holdings = await load_holdings(session, ids, window, now=app.now())  # type: ignore[arg-type]
        statement = select(Blackout).where(
            Blackout.site_id == site.id, Blackout.starts_at < window.ends_at, Blackout.ends_at > window.starts_at)
        blackouts = list((await session.exec(statement)).all())
    site_open = open_intervals(site.opening_hours, site.timezone, window) if site.opening_hours else [window]
    result = []
    for resource in resources:
        held = holdings[resource.id]  # type: ignore[index]
        points = sorted({window.starts_at, window.ends_at} | {
            t for h in held for t in (h.interval.starts_at, h.interval.ends_at) if window.starts_at < t < window.ends_at})
        usage = []
        for start, end in zip(points, points[1:], strict=False):
            used = peak_usage(held, Interval(start, end))
            if used:
                usage.append(UsageSegment(start, end, used))
        opening = site_open if rules[resource.id].opening_hours_mode != "ignore" else [window]  # type: ignore[index]
        result.append(Availability(
            resource=resource, site=site, window=window, capacity=resource.capacity,
            busy=busy_intervals(held, resource.capacity, window), usage=usage,
            open=[o for o in opening if o.overlaps(window)],
            closed=[(Interval(b.starts_at, b.ends_at), b.reason) for b in blackouts if b.resource_id in (None, resource.id)],
        ))
    return result


async def site_page(app: AppContext, site_id: int) -> SitePage:
    site = await catalogue.get_site(app, site_id)
    zone = ZoneInfo(site.timezone)
    now = app.now()
    today = now.astimezone(zone).date()
    rows = [row for row in await _public_rows(app, ResourceQuery(site_id=site_id))]
    open_offers = await offers_on_map.open_offers_by_site(app, now=now, site_ids=[site_id])
    summary = SiteSummary(site, _counts(rows).get(site_id, {}), hours_on(site, today), offers=open_offers.get(site_id, 0))
    horizon = datetime.combine(today + timedelta(weeks=CLOSURE_WEEKS), datetime.min.time(), zone)
    async with app.database.reader() as session:
        statement = (
            select(Blackout)
            .where(Blackout.site_id == site_id, col(Blackout.resource_id).is_(None),
                   Blackout.ends_at > now, Blackout.starts_at < horizon)
            .order_by(col(Blackout.starts_at))
        )
        closures = [Closure(b.starts_at, b.ends_at, b.reason) for b in (await session.exec(statement)).all()]
    window = Interval(datetime.combine(today, datetime.min.time(), zone),
                      datetime.combine(today + timedelta(days=NEXT_FREE_DAYS), datetime.min.time(), zone))
    grouped: dict[str, list[NextFree]] = {}
    for availability in await _availabilities(app, site, [resource for resource, _ in rows], window):
        resource = availability.resource
        days = discovery.days_of(availability, site.timezone, today, NEXT_FREE_DAYS, now)
        first = next((stretch for day in days for stretch in day.stretches if stretch.state in ("free", "partly")), None)
        grouped.setdefault(resource.kind, []).append(
            NextFree(resource, first.starts_at if first else None, first.units_free if first else 0))
    ordered = {kind: grouped[kind] for kind in RESOURCE_KINDS if kind in grouped}
    week = [(day, [list(s) for s in (site.opening_hours or {}).get(day, [])]) for day in WEEKDAYS]
    return SitePage(summary, week, closures, ordered)

