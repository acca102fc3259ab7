"""A small, realistic world for service and HTTP tests: two sites, people in every role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from booking.auth.principal import Principal
from functools import lru_cache

from booking.auth.passwords import HashCost, hash_password
from booking.models import Membership, Organisation, Policy, Resource, Site, SiteRole, User
from booking.services import accounts
from booking.services.context import AppContext

PASSWORD = "correct-horse-battery"
# Tests hash passwords at Argon2's lowest cost: the default costs ~0.2 s of CPU per login on a
# busy CI machine, and tests log in hundreds of times. The settings' default cost has a test.
TEST_PASSWORD_COST = HashCost(time_cost=1, memory_kib=1024, parallelism=1)
TEST_PASSWORD_COST_ENV = {
    "BOOKING_AUTH__PASSWORD_HASH_TIME_COST": str(TEST_PASSWORD_COST.time_cost),
    "BOOKING_AUTH__PASSWORD_HASH_MEMORY_KIB": str(TEST_PASSWORD_COST.memory_kib),
    "BOOKING_AUTH__PASSWORD_HASH_PARALLELISM": str(TEST_PASSWORD_COST.parallelism),
}
ALL_WEEK = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class World:
    app: AppContext
    site_a: Site
    site_b: Site
    org_a: Organisation
    org_b: Organisation
    room: Resource  # site A, capacity 1, no approval
    room_approval: Resource  # site A, needs approval
    room_b: Resource  # site B
    comparable_room: Resource  # site A, same kind/category as room
    benches: Resource  # site A, pooled item, capacity 10
    people: dict[str, Principal] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, role: str) -> Principal:
        return self.people[role]


def next_monday(now: datetime, weeks: int = 1) -> datetime:
    """Midnight UTC of a Monday at least ``weeks`` weeks ahead (far from DST switches in tests)."""
    day = (now + timedelta(days=7 * weeks)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def build_world(app: AppContext, *, opening_hours: dict[str, Any] | None = None) -> World:
    hours = ALL_WEEK if opening_hours is None else opening_hours
    async with app.database.transaction() as session:
        site_a = Site(name="Site A", contact_email="a@site.example", opening_hours=hours, timezone="Europe/Berlin")
        site_b = Site(name="Site B", contact_email="b@site.example", opening_hours=hours, timezone="Europe/Berlin")
        org_a = Organisation(name="Org A")
        org_b = Organisation(name="Org B")
        session.add_all([site_a, site_b, org_a, org_b])
        await session.flush()
        room = Resource(site_id=site_a.id, kind="room", name="Room A1", category="Seminar", seats=10)
        room_approval = Resource(site_id=site_a.id, kind="room", name="Hall A", category="Hall", seats=80)
        comparable = Resource(site_id=site_a.id, kind="room", name="Room A2", category="Seminar", seats=12)
        room_b = Resource(site_id=site_b.id, kind="room", name="Room B1", category="Seminar", seats=10)
        benches = Resource(site_id=site_a.id, kind="item", name="Benches", category="Furniture", capacity=10)
        session.add_all([room, room_approval, comparable, room_b, benches])
        await session.flush()
        session.add(Policy(resource_id=room_approval.id, approval_mode="ask", min_duration_minutes=15))
        session.add(Policy(resource_id=benches.id, opening_hours_mode="endpoints", min_duration_minutes=15))
    people_spec = {
        "member_a": ("member_a@example.org", (org_a, "member"), None, False),
        "org_admin_a": ("admin_a@example.org", (org_a, "admin"), None, False),
        "member_b": ("member_b@example.org", (org_b, "member"), None, False),
        "lender_a": ("lender_a@example.org", None, (site_a, "lender"), False),
        "lender_b": ("lender_b@example.org", None, (site_b, "lender"), False),
        "manager_a": ("manager_a@example.org", None, (site_a, "manager"), False),
        "city_admin": ("city@example.org", None, None, True),
    }
    world = World(app, site_a, site_b, org_a, org_b, room, room_approval, room_b, comparable, benches)
    for role, (email, membership, site_role, is_admin) in people_spec.items():
        async with app.database.transaction() as session:
            # One Argon2 hash per test session: hashing is slow on purpose.
            user = User(
                email=email, display_name=role.replace("_", " ").title(), password_hash=password_hash(),
                is_city_admin=is_admin, email_verified_at=app.now(),
            )
            session.add(user)
            await session.flush()
            if membership:
                session.add(Membership(user_id=user.id, organisation_id=membership[0].id, role=membership[1]))
            if site_role:
                session.add(SiteRole(user_id=user.id, site_id=site_role[0].id, role=site_role[1]))
        principal = await accounts.principal_for_user_id(app, user.id)
        assert principal is not None
        world.people[role] = principal
        world.emails[role] = email
    return world


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD, TEST_PASSWORD_COST)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
