"""Loading candidates and asking the domain for alternatives after a conflict."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from booking.auth.permissions import can_see_resource
from booking.auth.principal import Principal
from booking.domain.alternatives import Alternative, Candidate, nearest_free_slots, same_time_elsewhere
from booking.domain.availability import Timeline
from booking.domain.intervals import Interval
from booking.domain.policies import Rules, check_request, may_book
from booking.models import Resource, Site
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_blackouts, load_holdings, load_rules_for

DEFAULT_SEARCH_HORIZON = timedelta(days=365)


def _comparable(resource: Resource, other: Resource) -> bool:
    if other.id == resource.id or other.kind != resource.kind or not other.is_active:
        return False
    if resource.category and other.category and other.category != resource.category:
        return False
    return not (resource.seats and other.seats is not None and other.seats < resource.seats)


async def suggest_alternatives(
    app: AppContext,
    actor: Principal,
    resource_id: int,
    request: Interval,
    quantity: int,
    *,
    organisation_id: int | None,
    now: datetime,
    exclude_booking_ids: tuple[int, ...] = (),
    limit: int = 5,
) -> list[Alternative]:
    """The nearest free slots of the resource and the same time at comparable resources."""
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None:
            return []
        site = await session.get(Site, resource.site_id)
        assert site is not None
        others = (
            await session.exec(select(Resource).where(Resource.site_id == site.id, Resource.id != resource.id))
        ).all()
        comparable = [
            other
            for other in others
            if _comparable(resource, other) and can_see_resource(actor, other.visibility, site.id)
        ]
        rules_by_id = await load_rules_for(session, [resource, *comparable])
        own_rules = rules_by_id[resource.id]  # type: ignore[index]
        horizon = own_rules.max_horizon or DEFAULT_SEARCH_HORIZON
        staff = actor.is_lender_at(site.id)
        not_before = now + (timedelta(0) if staff else own_rules.lead_time)
        search_until = now + horizon
        wide = Interval(min(not_before, request.starts_at), max(search_until, request.ends_at) + request.duration)
        wide = wide.padded(own_rules.buffer_before + own_rules.buffer_after, own_rules.buffer_before + own_rules.buffer_after)
        holdings = await load_holdings(
            session, [resource.id, *(o.id for o in comparable)], wide,  # type: ignore[list-item]
            exclude_booking_ids=exclude_booking_ids, now=now,
        )
        candidates: list[Candidate] = []
        for candidate_resource in [resource, *comparable]:
            rules = rules_by_id[candidate_resource.id]  # type: ignore[index]
            if candidate_resource is not resource and not (
                staff or may_book(rules, organisation_id, actor.member_of)
            ):
                continue
            blackouts = await load_blackouts(session, candidate_resource, wide)
            candidates.append(
                Candidate(
                    resource_id=candidate_resource.id,  # type: ignore[arg-type]
                    resource_name=candidate_resource.name,
                    capacity=candidate_resource.capacity,
                    buffers=buffers_of(rules),
                    timeline=Timeline(holdings[candidate_resource.id]),  # type: ignore[index]
                    is_bookable=_policy_check(rules, site, blackouts, now, staff),
                )
            )
    own, *elsewhere = candidates
    suggestions = nearest_free_slots(own, request, quantity, not_before=not_before, search_until=search_until)
    suggestions += same_time_elsewhere(elsewhere, request, quantity, limit=max(1, limit - len(suggestions)))
    return suggestions[:limit]


def _policy_check(rules: Rules, site: Site, blackouts, now: datetime, staff: bool):  # type: ignore[no-untyped-def]
    def is_bookable(slot: Interval) -> bool:
        check_request(
            rules, slot, now=now, opening_hours=site.opening_hours, timezone=site.timezone,
            blackouts=blackouts, bypass_lead_time=staff,
        )
        return True

    return is_bookable
