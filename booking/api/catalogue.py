"""/api/v1/sites and /api/v1/resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from booking.api.schemas import AvailabilityOut, ClosedOut, IntervalOut, ResourceOut, SiteOut, UsageOut
from booking.auth.guards import public
from booking.domain.intervals import Interval
from booking.services import catalogue
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]


class CatalogueController(Controller):
    path = "/api/v1"
    tags = ["catalogue"]
    guards = [public]

    @get("/sites")
    async def list_sites(self, app_context: Ctx) -> list[SiteOut]:
        return [SiteOut.of(site) for site in await catalogue.list_sites(app_context)]

    @get("/sites/{site_id:int}")
    async def get_site(self, app_context: Ctx, site_id: FromPath[int]) -> SiteOut:
        return SiteOut.of(await catalogue.get_site(app_context, site_id))

    @get("/resources")
    async def list_resources(
        self,
        request: Request,
        app_context: Ctx,
        kind: FromQuery[Literal["room", "desk", "item"] | None] = None,
        site_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        category: Annotated[str | None, QueryParameter(max_length=100)] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        min_seats: Annotated[int | None, QueryParameter(ge=0)] = None,
        free_from: FromQuery[datetime | None] = None,
        free_until: FromQuery[datetime | None] = None,
        quantity: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> list[ResourceOut]:
        query = catalogue.ResourceQuery(
            kind=kind, site_id=site_id, category=category, text=q, min_seats=min_seats,
            free_from=free_from, free_until=free_until, quantity=quantity,
        )
        rows = await catalogue.search_resources(app_context, request.user, query)
        return [ResourceOut.of(resource, site) for resource, site in rows]

    @get("/resources/{resource_id:int}")
    async def get_resource(self, request: Request, app_context: Ctx, resource_id: FromPath[int]) -> ResourceOut:
        details = await catalogue.get_resource(app_context, request.user, resource_id)
        return ResourceOut.of(details.resource, details.site)

    @get("/resources/{resource_id:int}/availability")
    async def get_availability(
        self,
        request: Request,
        app_context: Ctx,
        resource_id: FromPath[int],
        starts_at: Annotated[datetime, QueryParameter(name="from")],
        ends_at: Annotated[datetime, QueryParameter(name="until")],
    ) -> AvailabilityOut:
        result = await catalogue.availability(app_context, request.user, resource_id, Interval(starts_at, ends_at))
        return AvailabilityOut(
            resource_id=resource_id,
            capacity=result.capacity,
            starts_at=result.window.starts_at,
            ends_at=result.window.ends_at,
            busy=[IntervalOut(i.starts_at, i.ends_at) for i in result.busy],
            usage=[UsageOut(u.starts_at, u.ends_at, u.units_used) for u in result.usage],
            open=[IntervalOut(i.starts_at, i.ends_at) for i in result.open],
            closed=[ClosedOut(i.starts_at, i.ends_at, reason) for i, reason in result.closed],
        )
