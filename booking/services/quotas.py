"""Quotas of a site: managed by its managers (and city admins), shown on the booking page.

The check itself runs inside the booking transaction (services/bookings.py, under the resource
lock and the quota locks); this module manages the rows and answers "how much is left".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_
from sqlmodel import col, select

from booking.auth.permissions import can_manage_site
from booking.auth.principal import Principal
from booking.domain.errors import NotFound, PermissionDenied
from booking.domain.intervals import Interval
from booking.domain.quotas import ENFORCEMENTS, MAX_LIMIT, METRICS, SUBJECTS, Quota, QuotaState, counting_window, current_state
from booking.models import Organisation, Resource, Site
from booking.models import Quota as QuotaRow
from booking.services.admin_common import InvalidFields
from booking.services.context import AppContext
from booking.services.quota_usage import load_counted, quota_of


@dataclass(frozen=True)
class QuotaInput:
    scope: str = ""  # "resource:<id>" or "category:<name>"
    metric: str = ""
    subject: str = ""
    amount: int | None = None
    enforcement: str = "refuse"


@dataclass(frozen=True)
class QuotaListing:
    site: Site
    quotas: list[tuple[QuotaRow, Resource | None]]
    resources: list[Resource]
    categories: list[str]


def _require_manager(actor: Principal, site_id: int) -> None:
    if not can_manage_site(actor, site_id):
        raise PermissionDenied("only managers of this site may do this")


async def list_quotas(app: AppContext, actor: Principal, site_id: int) -> QuotaListing:
    """The quotas of a site with what the form offers (its resources and categories)."""
    _require_manager(actor, site_id)
    async with app.database.reader() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound("This site does not exist.")
        resources = list((await session.exec(
            select(Resource).where(Resource.site_id == site_id).order_by(col(Resource.name))
        )).all())
        rows = list((await session.exec(select(QuotaRow).where(QuotaRow.site_id == site_id).order_by(col(QuotaRow.id)))).all())
    by_id = {resource.id: resource for resource in resources}
    categories = sorted({resource.category for resource in resources if resource.category}, key=str.casefold)
    return QuotaListing(site, [(row, by_id.get(row.resource_id)) for row in rows], resources, categories)


def check_quota(data: QuotaInput, resources: list[Resource], categories: list[str]) -> tuple[int | None, str]:
    """Field errors of a quota form (``InvalidFields``), or its scope as (resource id, category)."""
    errors: dict[str, str] = {}
    resource_id: int | None = None
    category = ""
    kind, _, value = data.scope.partition(":")
    if kind == "resource" and value.isdigit() and any(resource.id == int(value) for resource in resources):
        resource_id = int(value)
    elif kind == "category" and value in categories:
        category = value
    else:
        errors["scope"] = "Please choose one of the options."
    if data.metric not in METRICS:
        errors["metric"] = "Please choose one of the options."
    if data.subject not in SUBJECTS:
        errors["subject"] = "Please choose one of the options."
    if data.enforcement not in ENFORCEMENTS:
        errors["enforcement"] = "Please choose one of the options."
    if data.amount is None:
        errors["amount"] = "This field is required."
    elif data.amount < 1:
        errors["amount"] = "This number is too small."
    elif data.amount > MAX_LIMIT:
        errors["amount"] = "This number is too large."
    if errors:
        raise InvalidFields(errors)
    return resource_id, category


async def add_quota(app: AppContext, actor: Principal, site_id: int, data: QuotaInput) -> QuotaRow:
    """Add a quota to a site (its managers and city admins)."""
    listing = await list_quotas(app, actor, site_id)
    resource_id, category = check_quota(data, listing.resources, listing.categories)
    async with app.database.transaction() as session:
        row = QuotaRow(
            site_id=site_id, resource_id=resource_id, category=category, metric=data.metric, subject=data.subject,
            amount=data.amount, enforcement=data.enforcement,  # type: ignore[arg-type]
        )
        session.add(row)
        await session.flush()
    return row


async def delete_quota(app: AppContext, actor: Principal, quota_id: int) -> int:
    """Remove a quota; answers its site's id. Bookings made under it stay."""
    async with app.database.transaction() as session:
        row = await session.get(QuotaRow, quota_id)
        if row is None or not can_manage_site(actor, row.site_id):
            # Someone else's site answers like a missing quota (no oracle).
            raise NotFound("This quota does not exist.")
        site_id = row.site_id
        await session.delete(row)
    return site_id


@dataclass(frozen=True)
class QuotaLine:
    """What is left of a quota for the person or one of their organisations, now."""

    organisation: Organisation | None
    state: QuotaState


async def quota_overview(app: AppContext, actor: Principal, resource: Resource, timezone: str) -> list[QuotaLine]:
    """The quotas of a resource as they stand now for ``actor`` and their organisations
    (the booking page's "Ihr Verein hat diesen Monat noch 6 von 10 Stunden")."""
    now = app.now()
    match = QuotaRow.resource_id == resource.id
    if resource.category:
        match = or_(match, and_(
            col(QuotaRow.resource_id).is_(None), QuotaRow.site_id == resource.site_id, QuotaRow.category == resource.category,
        ))
    async with app.database.reader() as session:
        rows = (await session.exec(select(QuotaRow).where(match).order_by(col(QuotaRow.id)))).all()
        quotas: list[Quota] = [quota_of(row) for row in rows]
        if not quotas:
            return []
        window = counting_window(quotas, [Interval(now, now + timedelta(minutes=1))], timezone, now)
        assert window is not None
        lines: list[QuotaLine] = []
        personal = [quota for quota in quotas if quota.subject == "person"]
        if personal:
            counted = await load_counted(session, personal, window, organisation_id=None, booker_id=actor.user_id)
            for quota in personal:
                state = current_state(quota, counted, organisation_id=None, booker_id=actor.user_id, timezone=timezone, now=now)
                if state is not None:
                    lines.append(QuotaLine(None, state))
        shared = [quota for quota in quotas if quota.subject == "organisation"]
        if shared and actor.member_of:
            organisations = (await session.exec(
                select(Organisation).where(col(Organisation.id).in_(sorted(actor.member_of))).order_by(col(Organisation.name))
            )).all()
            for organisation in organisations:
                counted = await load_counted(session, shared, window, organisation_id=organisation.id, booker_id=actor.user_id)
                for quota in shared:
                    state = current_state(quota, counted, organisation_id=organisation.id, booker_id=actor.user_id,
                                          timezone=timezone, now=now)
                    if state is not None:
                        lines.append(QuotaLine(organisation, state))
    return lines
