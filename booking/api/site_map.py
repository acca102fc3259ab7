"""GET /api/v1/sites.geojson: the sites as open data (RFC 7946 GeoJSON) for the city's website
and anyone else, under the licence named in the settings (``open_data.licence``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from booking.auth.guards import public
from booking.services import site_map
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]
GEOJSON = "application/geo+json"


class PointOut(msgspec.Struct):
    type: Literal["Point"]
    coordinates: Annotated[list[float], msgspec.Meta(min_length=2, max_length=2, description="[longitude, latitude] (WGS 84)")]


class AccessibilityOut(msgspec.Struct):
    step_free: Annotated[bool | None, msgspec.Meta(description="step-free access; null: not known")]
    accessible_toilet: bool | None
    hearing_loop: bool | None
    notes: str


class ResourceCountsOut(msgspec.Struct):
    room: int
    desk: int
    item: int


class SitePropertiesOut(msgspec.Struct):
    id: int
    name: str
    address: str
    url: Annotated[str, msgspec.Meta(description="the site's public page")]
    calendar_url: str
    timezone: str
    opening_hours: Annotated[dict[str, list[list[str]]], msgspec.Meta(
        description='weekly hours in the site\'s local time: {"mon": [["09:00", "18:00"]], …}; an empty day is closed; '
                    'an empty object: no opening hours (open around the clock)')]
    opening_hours_today: list[list[str]]
    resources: Annotated[ResourceCountsOut, msgspec.Meta(description="how many public resources of each kind the site offers")]
    offers: Annotated[int, msgspec.Meta(ge=0, description=(
        "how many published volunteer offers (Mitmachen) take place at the site with an upcoming date that has a free "
        "place; offers at another address or online are not counted"))]
    accessibility: AccessibilityOut


class SiteFeatureOut(msgspec.Struct):
    type: Literal["Feature"]
    id: int
    geometry: Annotated[PointOut | None, msgspec.Meta(description="null while the site has no coordinates")]
    properties: SitePropertiesOut


class LicenseOut(msgspec.Struct):
    name: str
    url: str


class SiteFeatureCollectionOut(msgspec.Struct):
    type: Literal["FeatureCollection"]
    license: Annotated[LicenseOut, msgspec.Meta(description="the terms of reuse (a foreign member, RFC 7946 §6.1)")]
    features: list[SiteFeatureOut]


@get(
    "/api/v1/sites.geojson", guards=[public], media_type=GEOJSON, tags=["catalogue"],
    summary="The sites as open data (GeoJSON)",
    description=(
        "Every site as a GeoJSON Feature (RFC 7946): a Point in [longitude, latitude] order, with "
        "address, opening hours, the number of public resources per kind, the number of open volunteer "
        "offers and accessibility. `offers=1`: only the sites with open volunteer offers. "
        "No personal data. The licence of the data is in the collection's `license` member."
    ),
)
async def sites_geojson(
    app_context: Ctx,
    offers: Annotated[int, QueryParameter(ge=0, le=1, description="1: only sites with open volunteer offers")] = 0,
) -> SiteFeatureCollectionOut:
    collection = await site_map.sites_geojson(app_context, with_offers=offers == 1)
    return msgspec.convert(collection, SiteFeatureCollectionOut)


ROUTES = [sites_geojson]
