"""A fixed data set for the report (Umsetzungsbericht), with its hand-computed figures.

All dates are in 2026 (and one each in 2025 and 2027 outside the report year); both sites are in
Europe/Berlin. Site "Stadtteilhaus Nord" is open Monday to Friday 09:00-17:00, "Bibliothek Süd"
has no opening hours (open around the clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from booking.models import Booking, BookingEvent, Membership, Organisation, Resource, Site, User
from booking.services.context import AppContext

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class ReportWorld:
    north: Site
    south: Site
    hall: Resource
    desks: Resource
    benches: Resource
    reading_room: Resource
    users: dict[str, User] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    titles: list[str] = field(default_factory=list)


async def build_report_world(app: AppContext) -> ReportWorld:
    async with app.database.transaction() as session:
        north = Site(name="Stadtteilhaus Nord", contact_email="nord@site.example", opening_hours=WEEKDAYS_9_TO_5)
        south = Site(name="Bibliothek Süd", contact_email="sued@site.example", opening_hours={})
        orgs = {key: Organisation(name=name) for key, name in
                (("o1", "Chorverein Harmonie"), ("o2", "Initiative Lesepaten"), ("o3", "Sportfreunde Ost"))}
        users = {
            "u1": User(email="anna.schmidt@example.org", display_name="Anna Schmidt"),
            "u2": User(email="bernd.mueller@example.org", display_name="Bernd Müller"),
            "u3": User(email="cem.yilmaz@example.org", display_name="Cem Yılmaz"),
        }
        session.add_all([north, south, *orgs.values(), *users.values()])
        await session.flush()
        session.add(Membership(user_id=users["u1"].id, organisation_id=orgs["o1"].id))
        session.add(Membership(user_id=users["u2"].id, organisation_id=orgs["o2"].id))
        hall = Resource(site_id=north.id, kind="room", name="Saal", category="Saal")
        desks = Resource(site_id=north.id, kind="desk", name="Schreibtische", category="Coworking", capacity=4)
        benches = Resource(site_id=north.id, kind="item", name="Bierbänke", category="Möbel", capacity=10)
        reading_room = Resource(site_id=south.id, kind="room", name="Lesesaal", category="Seminar")
        session.add_all([hall, desks, benches, reading_room])
        await session.flush()
        world = ReportWorld(north, south, hall, desks, benches, reading_room, users, orgs)

        def booking(resource: Resource, status: str, org: str | None, user: str, starts_at: datetime,
                    ends_at: datetime, quantity: int = 1, reason: str = "") -> Booking:
            title = f"Geheimer Titel {len(world.titles) + 1}"
            world.titles.append(title)
            row = Booking(
                resource_id=resource.id, status=status, quantity=quantity, starts_at=starts_at, ends_at=ends_at,
                is_exclusive=resource.capacity == 1, organisation_id=orgs[org].id if org else None,
                booker_id=users[user].id, title=title, purpose=f"Zweck von {users[user].display_name}",
                decision_reason=reason,
            )
            session.add(row)
            return row

        booking(hall, "confirmed", "o1", "u1", local(2026, 1, 12, 10), local(2026, 1, 12, 12))  # 2 h, Jan
        # Local March, UTC still February: counts in March.
        booking(hall, "confirmed", "o2", "u2", local(2026, 3, 1, 0, 30), local(2026, 3, 1, 1, 30))  # 1 h, Mar
        booking(desks, "confirmed", "o1", "u1", local(2026, 1, 14, 9), local(2026, 1, 14, 13), quantity=3)  # 12 unit-h
        booking(benches, "returned", "o3", "u3", local(2026, 1, 16, 10), local(2026, 1, 19, 10), quantity=5)  # 15 loan days
        booking(benches, "checked_out", "o1", "u1", local(2026, 2, 2, 10), local(2026, 2, 4, 10), quantity=2)  # 4 loan days
        booking(hall, "requested", "o3", "u3", local(2026, 1, 20, 10), local(2026, 1, 20, 12))  # not use
        booking(hall, "declined", "o2", "u2", local(2026, 1, 21, 10), local(2026, 1, 21, 12), reason="Raum ist für Bernd Müller zu klein")
        booking(reading_room, "declined", None, "u3", local(2026, 2, 10, 10), local(2026, 2, 10, 12))
        early = booking(hall, "cancelled", "o1", "u1", local(2026, 1, 22, 10), local(2026, 1, 22, 12))
        late = booking(hall, "cancelled", "o2", "u2", local(2026, 1, 23, 10), local(2026, 1, 23, 12))
        booking(reading_room, "confirmed", None, "u3", local(2026, 2, 10, 10), local(2026, 2, 10, 14))  # 4 h, Feb
        booking(hall, "confirmed", "o1", "u1", local(2025, 12, 15, 10), local(2025, 12, 15, 12))  # 2025: o1 not new
        booking(hall, "confirmed", "o2", "u2", local(2027, 1, 5, 10), local(2027, 1, 5, 12))  # outside 2026
        await session.flush()
        session.add(BookingEvent(booking_id=early.id, action="cancel", from_status="confirmed", to_status="cancelled",
                                 at=utc(2026, 1, 5, 9)))  # 17 days ahead
        session.add(BookingEvent(booking_id=late.id, action="cancel", from_status="confirmed", to_status="cancelled",
                                 at=utc(2026, 1, 23, 8)))  # one hour ahead
    return world
