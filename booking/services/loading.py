"""Loading what the domain rules need for a resource, as plain domain values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, cast, func, literal, null, or_, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db import direct
from booking.db.constraints import MANY_RESOURCES, holdings_by_resource_list, overlaps_window
from booking.domain.approval import ApprovalRule
from booking.domain.availability import HOLDING_STATUSES, Buffers, Holding, HoldingSummary

#: The summary of a resource without holdings near the window (frozen: one for all of them).
NO_HOLDINGS = HoldingSummary()
from booking.domain.intervals import Interval
from booking.domain.policies import Blackout as BlackoutRule
from booking.domain.policies import Rules
from booking.models import Blackout, Booking, Policy, Resource


def rules_from_policy(policy: Policy | None, resource: Resource) -> Rules:
    if policy is None:
        return Rules(opening_hours_mode="endpoints" if resource.kind == "item" else "contain")
    return Rules(
        approval=approval_rule_of(policy),
        lead_time=timedelta(minutes=policy.lead_time_minutes),
        min_duration=timedelta(minutes=policy.min_duration_minutes),
        max_duration=timedelta(minutes=policy.max_duration_minutes) if policy.max_duration_minutes else None,
        max_horizon=timedelta(days=policy.max_horizon_days) if policy.max_horizon_days else None,
        buffer_before=timedelta(minutes=policy.buffer_before_minutes),
        buffer_after=timedelta(minutes=policy.buffer_after_minutes),
        opening_hours_mode=policy.opening_hours_mode,
        audience=policy.audience,
        allowed_organisation_ids=frozenset(policy.allowed_organisation_ids or ()),
    )


def approval_rule_of(policy: Policy) -> ApprovalRule:
    return ApprovalRule(
        mode=policy.approval_mode,
        trusted_organisation_ids=frozenset(policy.trusted_organisation_ids or ()),
        within_opening_hours=policy.approve_within_opening_hours,
        max_hours=policy.approve_max_hours,
        max_days_ahead=policy.approve_max_days_ahead,
        max_no_shows=policy.approve_max_no_shows,
        no_show_days=policy.approve_no_show_days,
    )


def buffers_of(rules: Rules) -> Buffers:
    return Buffers(rules.buffer_before, rules.buffer_after)


async def load_rules(session: AsyncSession, resource: Resource) -> Rules:
    policy = (await session.exec(select(Policy).where(Policy.resource_id == resource.id))).first()
    return rules_from_policy(policy, resource)


async def load_rules_for(session: AsyncSession, resources: Iterable[Resource]) -> dict[int, Rules]:
    resources = list(resources)
    ids = [r.id for r in resources]
    policies = {
        p.resource_id: p
        for p in (await session.exec(select(Policy).where(col(Policy.resource_id).in_(ids)))).all()
    }
    return {r.id: rules_from_policy(policies.get(r.id), r) for r in resources}  # type: ignore[misc]


async def load_buffers_for(session: AsyncSession, resources: Iterable[Resource]) -> dict[int, Buffers]:
    """The buffers of many resources (what a search needs of their rules), per resource id;
    ``load_rules_for`` without building every resource's full rules."""
    ids = [resource.id for resource in resources]
    statement = select(Policy.resource_id, Policy.buffer_before_minutes, Policy.buffer_after_minutes).where(
        (col(Policy.buffer_before_minutes) > 0) | (col(Policy.buffer_after_minutes) > 0)
    )
    if len(ids) <= MANY_RESOURCES:
        statement = statement.where(col(Policy.resource_id).in_(ids))
    buffers = {resource_id: Buffers() for resource_id in ids}
    for resource_id, before, after in (await session.exec(statement)).all():
        if resource_id in buffers:
            buffers[resource_id] = Buffers(timedelta(minutes=before), timedelta(minutes=after))
    return buffers  # type: ignore[return-value]


async def load_blackouts(session: AsyncSession, resource: Resource, window: Interval) -> list[BlackoutRule]:
    statement = select(Blackout).where(
        Blackout.site_id == resource.site_id,
        or_(col(Blackout.resource_id).is_(None), Blackout.resource_id == resource.id),
        Blackout.starts_at < window.ends_at,
        Blackout.ends_at > window.starts_at,
    )
    return [
        BlackoutRule(Interval(b.starts_at, b.ends_at), b.reason, b.kind)
        for b in (await session.exec(statement)).all()
    ]


async def load_blackouts_for(
    session: AsyncSession, resources: Iterable[Resource], window: Interval
) -> dict[int, list[BlackoutRule]]:
    """``load_blackouts`` of many resources in one query (the site-wide ones count for every
    resource of their site), per resource id."""
    resources = list(resources)
    by_id: dict[int, list[BlackoutRule]] = {resource.id: [] for resource in resources}  # type: ignore[misc]
    if not resources:
        return by_id
    site_ids = {resource.site_id for resource in resources}
    statement = select(Blackout).where(
        col(Blackout.site_id).in_(site_ids),
        Blackout.starts_at < window.ends_at,
        Blackout.ends_at > window.starts_at,
    )
    blackouts = (await session.exec(statement)).all()
    for resource in resources:
        by_id[resource.id] = [  # type: ignore[index]
            BlackoutRule(Interval(b.starts_at, b.ends_at), b.reason, b.kind)
            for b in blackouts
            if b.site_id == resource.site_id and (b.resource_id is None or b.resource_id == resource.id)
        ]
    return by_id


async def load_holdings(
    session: AsyncSession,
    resource_ids: Iterable[int],
    window: Interval,
    *,
    exclude_booking_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> dict[int, list[Holding]]:
    """Capacity-holding bookings overlapping ``window``, per resource.

    A thing handed out and not returned by its end (overdue) keeps holding its units until it
    comes back: with ``now`` given, it counts as held to the end of the window.
    """
    ids = list(resource_ids)
    excluded = list(exclude_booking_ids)
    statement = select(Booking.resource_id, Booking.starts_at, Booking.ends_at, Booking.quantity, Booking.status).where(
        col(Booking.resource_id).in_(ids),
        col(Booking.status).in_(HOLDING_STATUSES),
        _overlapping(session, window, overdue_too=now is not None),
    )
    if excluded:
        statement = statement.where(col(Booking.id).not_in(excluded))
    holdings: dict[int, list[Holding]] = {resource_id: [] for resource_id in ids}
    for resource_id, starts_at, ends_at, quantity, status in (await session.exec(statement)).all():
        if now is not None and status == "checked_out" and ends_at <= now:
            ends_at = max(now, window.ends_at) + timedelta(seconds=1)
        holdings[resource_id].append(Holding(Interval(starts_at, ends_at), quantity, status))
    return holdings


async def load_holding_summaries(
    session: AsyncSession, resource_ids: Iterable[int], window: Interval, margin: timedelta, *, now: datetime | None = None
) -> dict[int, HoldingSummary]:
    """Per resource, its capacity-holding bookings around ``window`` counted in the database
    (one grouped query; resources with none get an empty summary): what
    ``domain.availability.quick_verdict`` decides from. ``margin``: at least the widest
    buffers (before + after) of the resources. Overdue things count as ``load_holdings``
    counts them with ``now``: held past the end of the widened window.
    """
    ids = list(resource_ids)
    near = window.padded(margin, margin)
    ends_at: Any = col(Booking.ends_at)
    if now is not None:
        # Bound with the column's own type (UTC text on SQLite, timestamptz on PostgreSQL).
        held_until = literal(max(now, near.ends_at) + timedelta(seconds=1), type_=col(Booking.ends_at).type)
        ends_at = case((and_(Booking.status == "checked_out", col(Booking.ends_at) <= now), held_until), else_=ends_at)

    def units_where(condition: Any, units: Any = 1) -> Any:
        return case((condition, units), else_=0)

    in_window = and_(col(Booking.starts_at) < window.ends_at, ends_at > window.starts_at)
    statement = (
        select(
            Booking.resource_id,
            func.sum(units_where(and_(col(Booking.starts_at) < near.ends_at, ends_at > near.starts_at))),
            func.sum(units_where(in_window)),
            func.max(units_where(in_window, col(Booking.quantity))),
            func.sum(units_where(and_(col(Booking.starts_at) <= window.starts_at, ends_at >= window.ends_at), col(Booking.quantity))),
        )
        .where(col(Booking.status).in_(HOLDING_STATUSES), _overlapping(session, near, overdue_too=now is not None))
        .group_by(col(Booking.resource_id))
    )
    if holdings_by_resource_list(session.get_bind().dialect.name, len(ids)):
        statement = statement.where(col(Booking.resource_id).in_(ids))
    summaries = dict.fromkeys(ids, NO_HOLDINGS)  # one shared (frozen) summary for the many without any
    for resource_id, nearby, overlapping, largest, covering in (await session.exec(statement)).all():
        if resource_id in summaries:
            summaries[resource_id] = HoldingSummary(int(nearby), int(overlapping), int(largest), int(covering))
    return summaries


async def load_blackouts_and_holdings(
    session: AsyncSession,
    resource: Resource,
    blackout_window: Interval,
    holding_window: Interval,
    *,
    exclude_booking_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> tuple[list[BlackoutRule], list[Holding]]:
    """``load_blackouts`` and ``load_holdings`` of one resource in one round trip (UNION ALL)."""
    excluded = list(exclude_booking_ids)
    statement = _blackouts_and_holdings_query(session.get_bind().dialect.name, now is not None, bool(excluded))
    parameters: dict[str, Any] = {
        "site_id": resource.site_id, "resource_id": resource.id,
        "blackout_start": blackout_window.starts_at, "blackout_end": blackout_window.ends_at,
        "holding_start": holding_window.starts_at, "holding_end": holding_window.ends_at,
    }
    if excluded:
        parameters["excluded"] = excluded
    found_blackouts: list[BlackoutRule] = []
    found_holdings: list[Holding] = []
    rows = await direct.all_rows(await direct.connection_of(session), statement, parameters)
    for row_kind, starts_at, ends_at, quantity, text, detail in rows:
        if row_kind == "blackout":
            found_blackouts.append(BlackoutRule(Interval(starts_at, ends_at), text, detail))
            continue
        if now is not None and text == "checked_out" and ends_at <= now:
            ends_at = max(now, holding_window.ends_at) + timedelta(seconds=1)
        found_holdings.append(Holding(Interval(starts_at, ends_at), quantity, text))
    return found_blackouts, found_holdings


@cache
def _blackouts_and_holdings_query(dialect: str, overdue_too: bool, excluding: bool) -> Any:
    """``load_blackouts_and_holdings``'s UNION ALL, built once per process and shape; its
    parameters: ``site_id``, ``resource_id``, ``blackout_start``/``_end``, ``holding_start``/``_end``
    and (``excluding``) ``excluded``. Every booking runs it: building costs more than running."""
    instant = Booking.__table__.c.starts_at.type  # type: ignore[attr-defined]
    blackouts = select(
        literal("blackout").label("row_kind"), Blackout.starts_at, Blackout.ends_at,
        cast(null(), Integer).label("quantity"), col(Blackout.reason).label("text"), col(Blackout.kind).label("detail"),
    ).where(
        Blackout.site_id == bindparam("site_id"),
        or_(col(Blackout.resource_id).is_(None), Blackout.resource_id == bindparam("resource_id")),
        Blackout.starts_at < bindparam("blackout_end", type_=instant),
        Blackout.ends_at > bindparam("blackout_start", type_=instant),
    )
    window_start, window_end = bindparam("holding_start", type_=instant), bindparam("holding_end", type_=instant)
    overlap = overlaps_window(dialect, col(Booking.starts_at), col(Booking.ends_at), window_start, window_end)
    if overdue_too:
        overlap = or_(overlap, and_(Booking.status == "checked_out", Booking.starts_at < window_end))
    holdings = select(
        literal("holding").label("row_kind"), Booking.starts_at, Booking.ends_at,
        col(Booking.quantity).label("quantity"), col(Booking.status).label("text"), cast(null(), String).label("detail"),
    ).where(
        Booking.resource_id == bindparam("resource_id"),
        col(Booking.status).in_(HOLDING_STATUSES),
        overlap,
    )
    if excluding:
        holdings = holdings.where(col(Booking.id).not_in(bindparam("excluded", expanding=True)))
    return union_all(blackouts, holdings)


def _overlapping(session: AsyncSession, window: Interval, *, overdue_too: bool) -> Any:
    """Bookings overlapping ``window``; with ``overdue_too`` also things handed out before its
    end and not back (overdue: they hold their units until they return)."""
    overlap = overlaps_window(
        session.get_bind().dialect.name, col(Booking.starts_at), col(Booking.ends_at), window.starts_at, window.ends_at
    )
    if not overdue_too:
        return overlap
    return or_(overlap, and_(Booking.status == "checked_out", Booking.starts_at < window.ends_at))
