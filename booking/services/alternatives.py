"""Loading candidates and asking the domain for alternatives after a conflict."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import select

from booking.auth.permissions import can_see_resource
from booking.auth.principal import Principal
from booking.domain.alternatives import (
    MAX_SEARCH_STEPS,
    Alternative,
    Candidate,
    nearest_free_slots,
    same_time_elsewhere,
    search_reach,
)
from booking.domain.availability import Timeline
from booking.domain.intervals import Interval
from booking.domain.policies import Rules, check_request, horizon_of, may_book
from booking.models import Resource, Site
from booking.services.context import AppContext
from booking.services.loading import buffers_of, load_blackouts, load_holdings, load_rules_for


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
    max_steps: int = MAX_SEARCH_STEPS,
) -> list[Alternative]:
    """The nearest free slots of the resource and the same time at comparable resources."""
    [found] = await suggest_alternatives_for_dates(
        app, actor, resource_id, [request], quantity, organisation_id=organisation_id, now=now,
        exclude_booking_ids=exclude_booking_ids, limit=limit, max_steps=max_steps,
    )
    return found


async def suggest_alternatives_for_dates(
    app: AppContext,
    actor: Principal,
    resource_id: int,
    requests: Sequence[Interval],
    quantity: int,
    *,
    organisation_id: int | None,
    now: datetime,
    exclude_booking_ids: tuple[int, ...] = (),
    limit: int = 5,
    max_steps: int = MAX_SEARCH_STEPS,
) -> list[list[Alternative]]:
    """Alternatives for each of ``requests`` (e.g. the refused dates of a series), one list each.

    Bounded work whatever the requests are: what the searches need is loaded once for all of
    them (a fixed number of queries: the resource, its site and neighbours, their rules, the
    holdings, the blackouts per candidate), and only over the bookable window (lead time to
    the horizon) near each request; a request outside that window is not searched around.
    ``exclude_booking_ids`` are treated as free for every request (the dates being moved).
    """
    if not requests:
        return []
    async with app.database.reader() as session:
        resource = await session.get(Resource, resource_id)
        if resource is None:
            return [[] for _ in requests]
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
        staff = actor.is_lender_at(site.id)
        not_before = now + (timedelta(0) if staff else own_rules.lead_time)
        search_until = now + horizon_of(own_rules)
        # What each request may look at: its neighbourhood inside the bookable window, and
        # its own time (for the same time elsewhere) only when that lies inside the window.
        reaches = [
            search_reach(request, not_before=not_before, search_until=search_until, max_steps=max_steps)
            for request in requests
        ]
        in_window = [not_before <= request.starts_at <= search_until for request in requests]
        spans = [reach for reach in reaches if reach is not None]
        spans += [request for request, inside in zip(requests, in_window, strict=True) if inside]
        if not spans:
            return [[] for _ in requests]
        longest = max(request.duration for request in requests)
        margin = max(rules.buffer_before + rules.buffer_after for rules in rules_by_id.values())
        wide = Interval(
            min(span.starts_at for span in spans), max(span.ends_at for span in spans) + longest
        ).padded(margin, margin)
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
    results: list[list[Alternative]] = []
    for request, reach, inside in zip(requests, reaches, in_window, strict=True):
        suggestions: list[Alternative] = []
        if reach is not None:
            suggestions = nearest_free_slots(
                own, request, quantity, not_before=not_before, search_until=search_until, max_steps=max_steps
            )
        if inside:
            suggestions += same_time_elsewhere(elsewhere, request, quantity, limit=max(1, limit - len(suggestions)))
        results.append(suggestions[:limit])
    return results


def _policy_check(rules: Rules, site: Site, blackouts, now: datetime, staff: bool):  # type: ignore[no-untyped-def]
    def is_bookable(slot: Interval) -> bool:
        check_request(
            rules, slot, now=now, opening_hours=site.opening_hours, timezone=site.timezone,
            blackouts=blackouts, bypass_lead_time=staff,
        )
        return True

    return is_bookable
