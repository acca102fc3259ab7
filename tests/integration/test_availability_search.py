"""The free-resources search decides most resources from per-resource counts in the database
(``load_holding_summaries`` + ``quick_verdict``); on random data it must find exactly what the
exact check (every holding loaded, ``conflicting``) finds, on both databases."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from booking.domain.availability import conflicting
from booking.domain.intervals import Interval
from booking.models import Blackout, Booking, Policy, Resource
from booking.services import catalogue
from booking.services.catalogue import ResourceQuery
from booking.services.loading import buffers_of, load_blackouts_for, load_holdings, load_rules_for
from tests.support.world import next_monday

SEED = 20261203
STATUSES = ("requested", "confirmed", "checked_out", "held", "cancelled", "returned", "declined")


async def _exact_free_ids(app, resources: list[Resource], window: Interval, quantity: int) -> set[int]:
    """The search's answer the slow way: every holding of every resource, checked exactly."""
    async with app.database.reader() as session:
        rules = await load_rules_for(session, resources)
        widest = max(buffers_of(r).total for r in rules.values())
        holdings = await load_holdings(session, [r.id for r in resources], window.padded(widest, widest), now=app.now())
        blackouts = await load_blackouts_for(session, resources, window)
    return {
        r.id for r in resources
        if r.capacity >= quantity and not blackouts[r.id]
        and not conflicting(holdings[r.id], window, quantity, r.capacity, buffers_of(rules[r.id]))
    }


@pytest.mark.parametrize("many", [False, True], ids=["few resources", "many resources"])
async def test_quick_search_finds_what_the_exact_check_finds(app, world, clock, monkeypatch, many):
    if many:
        # The queries without the resources in their condition (a search over hundreds of rooms;
        # the holdings query keeps them on SQLite).
        monkeypatch.setattr("booking.services.loading.MANY_RESOURCES", 0)
        monkeypatch.setattr("booking.db.constraints.MANY_RESOURCES", 0)
    rng = random.Random(SEED)
    monday = next_monday(clock.now)
    clock.now = monday + timedelta(days=1, hours=12)  # some hand-outs are overdue by then
    booker = world["member_a"].user_id
    async with app.database.transaction() as session:
        resources = [
            Resource(site_id=world.site_a.id, kind="room", name=f"Random {index}", capacity=rng.choice((1, 1, 2, 3)))
            for index in range(12)
        ]
        session.add_all(resources)
        await session.flush()
        for resource in resources[::2]:
            session.add(Policy(resource_id=resource.id, buffer_before_minutes=rng.choice((0, 15, 30)),
                               buffer_after_minutes=rng.choice((0, 15, 60)), opening_hours_mode="ignore"))
        for resource in resources:
            for _ in range(rng.randrange(0, 9)):
                starts_at = monday + timedelta(minutes=15 * rng.randrange(0, 4 * 60))
                # Not exclusive: the random data may overlap (the search, not the constraint, is tested).
                session.add(Booking(
                    resource_id=resource.id, booker_id=booker, starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=15 * rng.randrange(1, 16)),
                    quantity=rng.randrange(1, resource.capacity + 1), status=rng.choice(STATUSES), is_exclusive=False,
                ))
        starts_at = monday + timedelta(hours=20)
        session.add(Blackout(site_id=world.site_a.id, resource_id=resources[3].id, starts_at=starts_at,
                             ends_at=starts_at + timedelta(hours=3)))
    compared = decided_free = decided_taken = 0
    for _ in range(40):
        starts_at = monday + timedelta(minutes=15 * rng.randrange(0, 4 * 60))
        window = Interval(starts_at, starts_at + timedelta(minutes=15 * rng.randrange(1, 12)))
        quantity = rng.choice((1, 1, 2))
        query = ResourceQuery(site_id=world.site_a.id, free_from=window.starts_at, free_until=window.ends_at, quantity=quantity)
        found = {resource.id for resource, _ in await catalogue.search_resources(app, world["member_a"], query)}
        exact = await _exact_free_ids(app, resources, window, quantity)
        assert found & {r.id for r in resources} == exact, (window, quantity)
        compared += 1
        decided_free += len(exact)
        decided_taken += len(resources) - len(exact)
    # The data is mixed enough to say something: free and taken answers both occur often.
    assert compared == 40 and decided_free > 40 and decided_taken > 40


async def test_search_asks_the_database_twice_when_nothing_is_near(app, world, clock):
    """Free rooms need no holdings loaded: the grouped count says so (summaries, blackouts)."""
    from sqlalchemy import event

    monday = next_monday(clock.now)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    query = ResourceQuery(kind="room", free_from=monday + timedelta(hours=18), free_until=monday + timedelta(hours=20))
    engine = app.database._read_engine.sync_engine  # noqa: SLF001 - counting this test's statements
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = await catalogue.search_resources(app, world["member_a"], query)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert {resource.id for resource, _ in found} == {world.room.id, world.room_approval.id, world.comparable_room.id, world.room_b.id}
    loads = [s for s in statements if "FROM booking" in s]
    assert len(loads) == 1 and "GROUP BY" in loads[0]


@pytest.mark.parametrize("free_share", ["few free", "most free"])
async def test_a_window_search_shows_only_what_the_visitor_may_see_and_book(app, world, clock, free_share):
    """With a window, free-ness is decided from a few columns and only the free resources are
    loaded in full (by their ids when few are free, by the search itself when most are): either
    way members-only and hidden rooms stay out for the public, and too small rooms for all."""
    monday = next_monday(clock.now)
    window = Interval(monday + timedelta(hours=18), monday + timedelta(hours=20))
    async with app.database.transaction() as session:
        rooms = {
            name: Resource(site_id=world.site_a.id, kind="room", name=name, capacity=capacity, visibility=visibility)
            for name, capacity, visibility in (
                ("Open", 3, "public"), ("Members", 3, "members"), ("Hidden", 3, "hidden"), ("Small", 1, "public"),
            )
        }
        session.add_all(rooms.values())
        await session.flush()
        if free_share == "few free":  # everything else in the site taken over the window
            taken = [r for r in (await session.exec(select_resources_of(world.site_a.id))).all() if r.name not in rooms]
            for resource in taken:
                session.add(Booking(resource_id=resource.id, booker_id=world["member_a"].user_id, starts_at=window.starts_at,
                                    ends_at=window.ends_at, quantity=resource.capacity, status="confirmed"))
    query = ResourceQuery(site_id=world.site_a.id, free_from=window.starts_at, free_until=window.ends_at, quantity=2)

    async def names(actor) -> set[str]:  # type: ignore[no-untyped-def]
        return {resource.name for resource, _ in await catalogue.search_resources(app, actor, query)}

    public, member = await names(None), await names(world["member_a"])
    assert {"Open"} <= public and not public & {"Members", "Hidden", "Small"}
    assert {"Open", "Members"} <= member and not member & {"Hidden", "Small"}
    if free_share == "few free":
        assert public == {"Open"} and member == {"Open", "Members"}


def select_resources_of(site_id: int):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    return select(Resource).where(Resource.site_id == site_id)
