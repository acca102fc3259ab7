"""/api/v1/offers: the public calendar of volunteer offers as JSON (no participants' data), and
sign-up for signed-in persons (a place is a booking of the offer's hidden resource). Publishing
an offer shares the path (POST, ``booking.api.offer_organisers``, with the rest of the
organisers' API)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from booking.api.offer_organisers import CREATE_DESCRIPTION, CREATE_SUMMARY, ManagedOfferOut, OfferCreate, create_offer
from booking.auth.guards import public, requires_login
from booking.domain import offers as rules
from booking.domain.errors import Conflict, InvalidInput
from booking.services import offer_catalogue, offer_signups, offer_waiting_list
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]
RowId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class OfferDateOut(msgspec.Struct):
    id: int
    starts_at: datetime
    ends_at: datetime
    places_free: int


class OfferOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    description: str
    category: str
    site_id: int
    site_name: str
    organisation: str | None
    location_kind: str
    address: str
    requirements: list[str]
    places_per_date: int
    dates: list[OfferDateOut]
    url: str


class OffersOut(msgspec.Struct):
    items: list[OfferOut]
    total: int
    page: int
    pages: int


class SignupIn(msgspec.Struct, forbid_unknown_fields=True):
    date_id: int | None = None  # None: every upcoming date
    # With one full ``date_id``: join that date's waiting list instead of answering 409.
    waiting_list: bool = False


class SignupOut(msgspec.Struct):
    confirmed_date_ids: list[int]
    full_date_ids: list[int]
    already_date_ids: list[int]
    waiting_list_entry_id: int | None = None


def _out(view: offer_catalogue.OfferView, base: str) -> OfferOut:
    offer = view.offer
    return OfferOut(
        id=offer.id, kind=offer.kind, title=offer.title, description=offer.description, category=offer.category,  # type: ignore[arg-type]
        site_id=view.site.id, site_name=view.site.name, organisation=view.organisation.name if view.organisation else None,  # type: ignore[arg-type]
        location_kind=offer.location_kind, address=offer.address if offer.location_kind == "address" else view.site.address,
        requirements=list(offer.requirements), places_per_date=offer.places,
        dates=[OfferDateOut(d.id, d.starts_at, d.ends_at, d.free) for d in view.dates], url=f"{base}/mitmachen/{offer.id}",
    )


class OfferController(Controller):
    path = "/api/v1/offers"
    tags = ["offers"]

    @get("", guards=[public], summary="Upcoming volunteer offers",
         description="Published tasks and trainings with upcoming dates and free places per date, 20 a page. "
                     "Filters: `kind` (task|training), `category`, `site`, `from` (a local date), `free` (only dates with "
                     "free places), `without_requirements`. No participants' data.")
    async def list_offers(
        self,
        app_context: Ctx,
        kind: Annotated[str | None, QueryParameter(max_length=16)] = None,
        category: Annotated[str | None, QueryParameter(max_length=100)] = None,
        site: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        from_day: Annotated[date | None, QueryParameter(name="from")] = None,
        free: FromQuery[bool] = False,
        without_requirements: FromQuery[bool] = False,
        page: Annotated[int, QueryParameter(ge=1, le=1000)] = 1,
    ) -> OffersOut:
        flt = rules.OfferFilter(
            from_day=from_day, category=(category or "").replace("\x00", ""), kind=kind if kind in rules.OFFER_KINDS else "",
            site_id=site, free_only=free, without_requirements=without_requirements,
        )
        data = await offer_catalogue.public_offers(app_context, flt, page=page)
        base = app_context.settings.base_url.rstrip("/")
        return OffersOut([_out(view, base) for view in data.items], data.total, data.page, data.pages)

    @post("", guards=[requires_login], status_code=201, summary=CREATE_SUMMARY, description=CREATE_DESCRIPTION,
          tags=["offers: organisers"])
    async def create(self, request: Request, app_context: Ctx, data: JSONBody[OfferCreate]) -> ManagedOfferOut:
        return await create_offer(request, app_context, data)

    @post("/{offer_id:int}/signups", guards=[requires_login], status_code=201, summary="Sign up for an offer",
          description="Takes a place on one date (`date_id`) or on every upcoming date (no `date_id`). One date that "
                      "is full answers 409, or with `waiting_list: true` joins that date's waiting list "
                      "(`waiting_list_entry_id`); for all dates the full ones are listed in `full_date_ids`.")
    async def sign_up(self, request: Request, app_context: Ctx, offer_id: RowId, data: JSONBody[SignupIn]) -> SignupOut:
        if data.waiting_list and data.date_id is None:
            raise InvalidInput("the waiting list is for one date: give date_id", field="date_id")
        try:
            result = await offer_signups.sign_up(app_context, request.user, offer_id, data.date_id)
        except Conflict:
            if not data.waiting_list:
                raise Conflict("this date is fully booked; send \"waiting_list\": true to join its waiting list") from None
            entry = await offer_waiting_list.join_waiting_list(app_context, request.user, offer_id, data.date_id)  # type: ignore[arg-type]
            return SignupOut([], [data.date_id], [], entry.id)  # type: ignore[list-item]
        return SignupOut([d.id for d in result.confirmed], [d.id for d in result.full], [d.id for d in result.already])  # type: ignore[misc]


ROUTES: list[Any] = [OfferController]
