"""/api/v1/offers for their organisers (issue 14): the offers one may manage, create (the handler
sits in ``booking.api.offers``, which owns the path ``/api/v1/offers``), replace and cancel one; an offer's dates (list with places taken and free and people waiting; add, move,
remove) and its places per date.

Thin over the services the pages use (``offer_publishing``, ``offer_dates``, ``offer_catalogue``):
who may manage an offer is theirs to say, and everyone else is told it does not exist (404, no
oracle) before any of their input is looked at. Actions that mail participants or waiting
people count against the same hourly limits as the pages (``booking.web.offers``,
``booking.web.offer_dates``), so the API does not double them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import TooManyRequestsException
from litestar.params import JSONBody, PathParameter, QueryParameter

from booking.api.schemas import Id, Instant
from booking.auth.guards import requires_login
from booking.domain import offers as rules
from booking.domain.errors import NotFound
from booking.models import Offer, Site
from booking.services import offer_catalogue, offer_dates, offer_publishing
from booking.services.context import AppContext
from booking.auth.action_limits import offer_cancel_wait, offer_date_change_wait

Ctx = NamedDependency[AppContext]
RowId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
Places = Annotated[int, msgspec.Meta(ge=1, le=rules.MAX_PLACES)]
Kind = Literal["task", "training"]
LocationKind = Literal["site", "address", "online"]
Requirement = Annotated[str, msgspec.Meta(max_length=rules.MAX_REQUIREMENT_LENGTH)]
Requirements = Annotated[list[Requirement], msgspec.Meta(max_length=rules.MAX_REQUIREMENTS)]
Title = Annotated[str, msgspec.Meta(max_length=rules.MAX_TITLE)]
Description = Annotated[str, msgspec.Meta(max_length=rules.MAX_DESCRIPTION)]
Category = Annotated[str, msgspec.Meta(max_length=rules.MAX_CATEGORY)]
Text500 = Annotated[str, msgspec.Meta(max_length=500)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]
Email = Annotated[str, msgspec.Meta(max_length=320)]


class OfferUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """What an offer says and its places per date (its dates change under /dates)."""

    kind: Kind
    title: Title
    places: Places
    organisation_id: Id | None = None
    description: Description = ""
    category: Category = ""
    location_kind: LocationKind = "site"
    address: Text500 = ""  # required with location_kind "address"
    online_url: Text500 = ""  # required with location_kind "online" (https://…)
    requirements: Requirements = msgspec.field(default_factory=list)
    contact_name: Text200 = ""
    contact_email: Email = ""
    is_published: bool = True


class OfferCreate(OfferUpdate, kw_only=True, forbid_unknown_fields=True):
    """A new offer at a site: its first date (``starts_at``, ``ends_at``), repeated ``count``
    times ``daily``/``weekly``/``monthly`` at the same local time; a task may reserve rooms or
    things of the site for every date (``reserve_resource_ids``)."""

    site_id: Id
    starts_at: Instant
    ends_at: Instant
    repeat: Literal["none", "daily", "weekly", "monthly"] = "none"
    count: Annotated[int, msgspec.Meta(ge=1, le=rules.MAX_DATES)] = 1
    reserve_resource_ids: Annotated[list[Id], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)


class ManagedOfferOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    description: str
    category: str
    site_id: int
    site_name: str
    organisation_id: int | None
    location_kind: str
    address: str
    online_url: str
    requirements: list[str]
    contact_name: str
    contact_email: str
    places: int
    is_published: bool
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    url: str

    @classmethod
    def of(cls, offer: Offer, site: Site, base: str) -> ManagedOfferOut:
        return cls(
            id=offer.id, kind=offer.kind, title=offer.title, description=offer.description, category=offer.category,  # type: ignore[arg-type]
            site_id=offer.site_id, site_name=site.name, organisation_id=offer.organisation_id, location_kind=offer.location_kind,
            address=offer.address, online_url=offer.online_url, requirements=list(offer.requirements),
            contact_name=offer.contact_name, contact_email=offer.contact_email, places=offer.places,
            is_published=offer.is_published, cancelled_at=offer.cancelled_at, created_at=offer.created_at,
            updated_at=offer.updated_at, url=f"{base}/mitmachen/{offer.id}",
        )


class OfferCancelledOut(msgspec.Struct):
    id: int
    cancelled_at: datetime | None
    participants_told: int  # confirmed places on dates still ahead, each cancelled with a mail (CANCEL invite)
    waiting_told: int  # people taken off the waiting lists, each told by mail


class DateTimes(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Instant
    ends_at: Instant


class ManagedDateOut(msgspec.Struct):
    id: int
    starts_at: datetime
    ends_at: datetime
    places: int
    taken: int  # places held: confirmed participants and places offered to the waiting list
    free: int
    participants: int  # confirmed sign-ups
    waiting: int  # people on the date's waiting list
    rooms: list[str]  # rooms or things reserved for the date
    is_changeable: bool  # upcoming and the offer not cancelled: may be moved or removed

    @classmethod
    def of(cls, view: offer_dates.OfferDates, date: offer_dates.ManagedDate) -> ManagedDateOut:
        return cls(
            id=date.id, starts_at=date.starts_at, ends_at=date.ends_at, places=view.offer.places, taken=date.taken,
            free=date.free, participants=date.participants, waiting=date.waiting, rooms=list(date.rooms),
            is_changeable=date.is_changeable,
        )


class DateRemovedOut(msgspec.Struct):
    participants_told: int


class PlacesIn(msgspec.Struct, forbid_unknown_fields=True):
    places: Places


class PlacesOut(msgspec.Struct):
    places: int
    offered: int  # people on waiting lists offered one of the new places


def _base(app_context: AppContext) -> str:
    return app_context.settings.base_url.rstrip("/")


def _rate_limited(wait: int, what: str) -> None:
    if wait:
        raise TooManyRequestsException(f"too many {what}; try again in {wait} seconds", headers={"Retry-After": str(wait)})


async def _date_out(app_context: AppContext, request: Request, offer_id: int, date_id: int) -> ManagedDateOut:
    view = await offer_dates.offer_dates(app_context, request.user, offer_id)
    for date in view.dates:
        if date.id == date_id:
            return ManagedDateOut.of(view, date)
    raise NotFound("this date does not exist")


async def _offer_out(app_context: AppContext, request: Request, offer_id: int) -> ManagedOfferOut:
    view = await offer_catalogue.get_managed_offer(app_context, request.user, offer_id)
    return ManagedOfferOut.of(view.offer, view.site, _base(app_context))


def _input(data: OfferUpdate, *, site_id: int) -> offer_publishing.OfferInput:
    """The service's input; the dates are set by ``create`` (an update keeps the offer's site
    and dates, whatever ``site_id`` and the duration say here)."""
    return offer_publishing.OfferInput(
        kind=data.kind, title=data.title, site_id=site_id, places=data.places, local_start=None,
        duration=rules.MAX_DURATION, description=data.description, category=data.category,
        organisation_id=data.organisation_id, location_kind=data.location_kind, address=data.address,
        online_url=data.online_url, requirements=list(data.requirements), contact_name=data.contact_name,
        contact_email=data.contact_email, is_published=data.is_published,
    )


CREATE_SUMMARY = "Publish an offer"
CREATE_DESCRIPTION = (
    "For an organisation the caller administers (`organisation_id`) or at a site where they are staff (403 otherwise). "
    "The first date is `starts_at`–`ends_at` (in the future, at most 24 hours); `repeat` with `count` adds more at the "
    "same local time. A taken reserved room: 409 at `reserve`. Answers the offer as `/managed` lists it."
)


async def create_offer(request: Request, app_context: AppContext, data: OfferCreate) -> ManagedOfferOut:
    """POST /api/v1/offers (routed by ``booking.api.offers``, which owns the path)."""
    timezone = await offer_publishing.site_timezone(app_context, data.site_id)
    offer_input = _input(data, site_id=data.site_id)
    offer_input.local_start, offer_input.duration = offer_publishing.local_schedule(data.starts_at, data.ends_at, timezone)
    offer_input.repeat, offer_input.count = data.repeat, data.count
    offer_input.reserve_resource_ids = list(data.reserve_resource_ids)
    offer = await offer_publishing.create_offer(app_context, request.user, offer_input)
    return await _offer_out(app_context, request, offer.id)  # type: ignore[arg-type]


class OfferOrganiserController(Controller):
    path = "/api/v1/offers"
    tags = ["offers: organisers"]
    guards = [requires_login]

    @get("/managed", summary="The offers the caller may manage",
         description="Offers of the organisations the caller administers and of the sites where they are staff "
                     "(city administrators: all), newest first, cancelled and unpublished ones too; "
                     "`limit` (at most 200) and `offset` page through them.")
    async def managed(
        self, request: Request, app_context: Ctx,
        limit: Annotated[int, QueryParameter(ge=1, le=offer_catalogue.MAX_MANAGED_OFFERS)] = offer_catalogue.MAX_MANAGED_OFFERS,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[ManagedOfferOut]:
        views = await offer_catalogue.managed_offers(app_context, request.user, limit=limit, offset=offset)
        base = _base(app_context)
        return [ManagedOfferOut.of(view.offer, view.site, base) for view in views]

    @put("/{offer_id:int}", summary="Replace what an offer says",
         description="Text, place, contact, places per date and whether it is published (its site and dates stay; "
                     "dates change under `/dates`). A full replacement: a field left out takes its default (no "
                     "`organisation_id`: none). Fewer places than a date already holds: 400 at `places`. Only for the "
                     "offer's organisers; everyone else: 404.")
    async def replace(self, request: Request, app_context: Ctx, offer_id: RowId, data: JSONBody[OfferUpdate]) -> ManagedOfferOut:
        await offer_publishing.update_offer(app_context, request.user, offer_id, _input(data, site_id=0))  # the offer keeps its site
        return await _offer_out(app_context, request, offer_id)

    @post("/{offer_id:int}/cancel", status_code=200, summary="Cancel an offer",
          description="Takes it off the calendar: every participant of a date still ahead is told by mail (with a "
                      "CANCEL invite), everyone waiting is taken off the waiting lists with a mail, reserved rooms are "
                      "freed. Once (again: 409). Rate-limited per organiser together with the page (429).")
    async def cancel(self, request: Request, app_context: Ctx, offer_id: RowId) -> OfferCancelledOut:
        preview = await offer_publishing.cancel_preview(app_context, request.user, offer_id)  # organisers only (404)
        _rate_limited(offer_cancel_wait(request), "cancelled offers")
        offer = await offer_publishing.cancel_offer(app_context, request.user, offer_id)
        return OfferCancelledOut(offer.id, offer.cancelled_at, preview.participants, preview.waiting)  # type: ignore[arg-type]

    @get("/{offer_id:int}/dates", summary="An offer's dates with places and waiting people",
         description="Every date not removed, in order (at most 200 an offer): places taken and free, confirmed "
                     "participants, people waiting, reserved rooms. Only for the offer's organisers; everyone else: 404.")
    async def list_dates(self, request: Request, app_context: Ctx, offer_id: RowId) -> list[ManagedDateOut]:
        view = await offer_dates.offer_dates(app_context, request.user, offer_id)
        return [ManagedDateOut.of(view, date) for date in view.dates]

    @post("/{offer_id:int}/dates", status_code=201, summary="Add a date to an offer",
          description="In the future, at most 24 hours, not overlapping another date of the offer (409 at `starts_at`); "
                      "rooms the offer reserves are booked for it too (taken: 409).")
    async def add_date(self, request: Request, app_context: Ctx, offer_id: RowId, data: JSONBody[DateTimes]) -> ManagedDateOut:
        date = await offer_dates.add_date(app_context, request.user, offer_id, data.starts_at, data.ends_at)
        return await _date_out(app_context, request, offer_id, date.id)  # type: ignore[arg-type]

    @patch("/dates/{date_id:int}", summary="Move a date",
           description="Its places, offered places and waiting list move with it; each participant gets a mail with "
                       "the updated invite, each waiting person a mail. The same checks as a new date; a date that has "
                       "begun: 422. Rate-limited per organiser together with the page (429).")
    async def move_date(self, request: Request, app_context: Ctx, date_id: RowId, data: JSONBody[DateTimes]) -> ManagedDateOut:
        offer_id = await offer_dates.check_may_manage_date(app_context, request.user, date_id)  # others: 404 first
        _rate_limited(offer_date_change_wait(request), "changes of dates")
        await offer_dates.move_date(app_context, request.user, date_id, data.starts_at, data.ends_at)
        return await _date_out(app_context, request, offer_id, date_id)

    @delete("/dates/{date_id:int}", status_code=200, summary="Remove a date",
            description="Its participants' places are cancelled (a mail with a CANCEL invite each), its waiting list "
                        "ends (a mail each), rooms reserved for it are freed. Rate-limited per organiser together with "
                        "the page (429).")
    async def remove_date(self, request: Request, app_context: Ctx, date_id: RowId) -> DateRemovedOut:
        await offer_dates.check_may_manage_date(app_context, request.user, date_id)  # others: 404 first
        _rate_limited(offer_date_change_wait(request), "changes of dates")
        return DateRemovedOut(await offer_dates.remove_date(app_context, request.user, date_id))

    @put("/{offer_id:int}/places", summary="Set the places per date",
         description="Fewer than a date already holds: 422 at `places`; more are offered to the waiting lists at "
                     "once (`offered`). Rate-limited per organiser together with the page (429).")
    async def set_places(self, request: Request, app_context: Ctx, offer_id: RowId, data: JSONBody[PlacesIn]) -> PlacesOut:
        await offer_dates.check_may_manage_offer(app_context, request.user, offer_id)  # others: 404 first
        _rate_limited(offer_date_change_wait(request), "changes of places")
        offered = await offer_dates.change_places(app_context, request.user, offer_id, data.places)
        return PlacesOut(data.places, offered)


ROUTES: list[Any] = [OfferOrganiserController]
