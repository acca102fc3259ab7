"""/api/v1/organisations: the public directory of organisations as JSON, for the city's website.

Only organisations that opted in; no person's data (no members, no e-mail addresses)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from booking.auth.guards import public
from booking.services import directory
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]


class MeetingPlaceOut(msgspec.Struct):
    site_id: int
    name: str
    address: str


class DirectoryOrganisationOut(msgspec.Struct):
    id: int
    name: str
    description: str
    website: str
    fields_of_activity: list[str]
    meeting_places: list[MeetingPlaceOut]
    profile_url: str


class LicenceOut(msgspec.Struct):
    name: str
    url: str


class DirectoryOut(msgspec.Struct):
    items: list[DirectoryOrganisationOut]
    total: int
    page: int
    pages: int
    # The terms of reuse: the one open data licence (settings ``open_data.licence``).
    license: LicenceOut


class DirectoryController(Controller):
    path = "/api/v1"
    tags = ["directory"]
    guards = [public]

    @get("/organisations", summary="The public directory of organisations",
         description="Organisations that opted in to the directory, by name, 50 a page: description, fields of activity, "
                     "website and the sites where they meet (from public bookings of the last and next six months). "
                     "No personal data. `q` searches name and description (letters, no wildcards); `field` is the id "
                     "of a field of activity. `license` names the terms of reuse (the open data licence of the settings).")
    async def list_organisations(
        self,
        app_context: Ctx,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        field: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=directory.MAX_PAGE)] = 1,
    ) -> DirectoryOut:
        data, places = await directory.directory_profiles(
            app_context, text=(q or "").replace("\x00", ""), field_id=field, page=page, page_size=50
        )
        base = app_context.settings.base_url.rstrip("/")
        items = [
            DirectoryOrganisationOut(
                id=entry.id, name=entry.name, description=entry.description, website=entry.website,
                fields_of_activity=list(entry.fields),
                meeting_places=[MeetingPlaceOut(p.site_id, p.name, p.address) for p in places.get(entry.id, ())],
                profile_url=f"{base}/organisationen/{entry.id}",
            )
            for entry in data.entries
        ]
        settings = app_context.settings.open_data
        return DirectoryOut(items=items, total=data.total, page=data.page, pages=data.pages,
                            license=LicenceOut(settings.licence, settings.licence_url))


ROUTES: list[Any] = [DirectoryController]
