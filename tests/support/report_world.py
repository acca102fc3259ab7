"""A fixed data set for the report (Umsetzungsbericht), with its hand-computed figures.

All dates are in 2026 (and one each in 2025 and 2027 outside the report year); both sites are in
Europe/Berlin. Site "Stadtteilhaus Nord" is open Monday to Friday 09:00-17:00, "Bibliothek Süd"
has no opening hours (open around the clock).

Volunteer offers and waiting lists (``add_engagement``) are in it too, with their places booked
on the offers' hidden resources: the booking figures must not change by them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from booking.models import (
    Booking, BookingEvent, Membership, Offer, OfferDate, OfferSignup, Organisation, Resource, Site, UnmetDemand, User,
    WaitingListEntry,
)
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
    # Names, addresses and titles of the offers' and waiting lists' people: never in a report.
    secrets: list[str] = field(default_factory=list)


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
        await add_engagement(session, world)
    return world


async def add_engagement(session, world: ReportWorld) -> None:  # type: ignore[no-untyped-def]
    """Offers, their dates and sign-ups, and waiting-list entries; the figures they make are
    written out in tests/integration/test_reporting.py."""
    north, south, users = world.north, world.south, world.users
    volunteers = {
        "v1": User(email="vera.freiwillig@example.org", display_name="Vera Freiwillig"),
        "v2": User(email="wim.helfer@example.org", display_name="Wim Helfer"),
    }
    session.add_all(volunteers.values())
    await session.flush()
    world.secrets += [text for user in volunteers.values() for text in (user.email, user.display_name)]
    world.secrets += ["Paula Post", "paula.post@example.org", "Otto Offen", "otto.offen@example.org"]

    async def offer(key: str, site: Site, kind: str, places: int, created_at: datetime, *,
                    published: bool = True, cancelled_at: datetime | None = None) -> Offer:
        title = f"Geheimes Angebot {key}"
        world.secrets.append(title)
        places_resource = Resource(site_id=site.id, kind="offer", name=f"offer-{key}", category="", capacity=places)
        session.add(places_resource)
        await session.flush()
        row = Offer(kind=kind, title=title, site_id=site.id, places=places, resource_id=places_resource.id,
                    is_published=published, cancelled_at=cancelled_at, created_at=created_at, contact_name="Kontakt Geheim")
        session.add(row)
        await session.flush()
        return row

    async def offer_date(row: Offer, starts_at: datetime, ends_at: datetime, *, cancelled: bool = False) -> OfferDate:
        value = OfferDate(offer_id=row.id, starts_at=starts_at, ends_at=ends_at, is_cancelled=cancelled)
        session.add(value)
        await session.flush()
        return value

    async def signup(row: Offer, when: OfferDate, person: User | None, status: str = "confirmed", attendance: str = "",
                     email: str = "", name: str = "") -> None:
        booking_id = None
        if status in ("confirmed", "cancelled") and person is not None:
            # The place as the engine books it: a booking of the offer's hidden resource.
            place = Booking(resource_id=row.resource_id, status=status, starts_at=when.starts_at, ends_at=when.ends_at, is_exclusive=False,
                            booker_id=person.id, title=row.title, purpose="Geheimer Zweck des Einsatzes")
            session.add(place)
            await session.flush()
            booking_id = place.id
            if status == "cancelled":
                session.add(BookingEvent(booking_id=place.id, action="cancel", from_status="confirmed", to_status="cancelled",
                                         at=when.starts_at))
        session.add(OfferSignup(offer_id=row.id, offer_date_id=when.id, user_id=person.id if person else None,
                                booking_id=booking_id, status=status, attendance=attendance, email=email, name=name))

    v1, v2 = volunteers["v1"], volunteers["v2"]
    trees = await offer("Baumpflanzen", north, "task", 3, local(2025, 12, 10, 9))
    first_aid = await offer("Erste Hilfe", south, "training", 10, local(2026, 1, 5, 9))
    draft = await offer("Entwurf", north, "task", 5, local(2026, 1, 8, 9), published=False)
    called_off = await offer("Abgesagt", north, "task", 2, local(2026, 2, 1, 9), cancelled_at=local(2026, 3, 1, 12))
    december = await offer_date(trees, local(2025, 12, 20, 10), local(2025, 12, 20, 12))
    january = await offer_date(trees, local(2026, 1, 10, 10), local(2026, 1, 10, 13))  # 3 h
    february = await offer_date(trees, local(2026, 2, 14, 10), local(2026, 2, 14, 12))  # 2 h
    cancelled_date = await offer_date(trees, local(2026, 3, 7, 10), local(2026, 3, 7, 12), cancelled=True)
    training = await offer_date(first_aid, local(2026, 2, 20, 18), local(2026, 2, 20, 21))  # 3 h
    draft_date = await offer_date(draft, local(2026, 1, 20, 10), local(2026, 1, 20, 12))
    before_call_off = await offer_date(called_off, local(2026, 2, 25, 10), local(2026, 2, 25, 11))  # 1 h
    after_call_off = await offer_date(called_off, local(2026, 3, 15, 10), local(2026, 3, 15, 11))
    await signup(trees, december, v1, attendance="present")  # v1's first place: 2025
    await signup(trees, january, v1, attendance="present")
    await signup(trees, january, v2, attendance="present")
    # Confirmed by e-mail only (no user): counted by the address, in any spelling.
    await signup(trees, january, None, attendance="absent", email="paula.post@example.org", name="Paula Post")
    await signup(trees, february, v1, attendance="present")
    await signup(trees, february, users["u3"], status="cancelled")
    await signup(trees, february, None, email="Paula.Post@example.org", name="Paula Post")
    await signup(trees, cancelled_date, v2, attendance="present")
    await signup(first_aid, training, v2, attendance="present")
    await signup(first_aid, training, None, status="pending", email="otto.offen@example.org", name="Otto Offen")
    await signup(draft, draft_date, v2, attendance="present")
    await signup(called_off, before_call_off, v1, attendance="present")
    await signup(called_off, after_call_off, v2)
    # A request for a full offer date: not unmet demand for a room.
    session.add(UnmetDemand(resource_id=trees.resource_id, requested_starts_at=february.starts_at,
                            requested_ends_at=february.ends_at, quantity=1))

    def entry(resource_id: int | None, person: str, starts_at: datetime, ends_at: datetime, created_at: datetime,
              status: str = "waiting", offered_at: datetime | None = None, decided_at: datetime | None = None) -> None:
        title = f"Geheimer Wartewunsch {len(world.secrets)}"
        world.secrets.append(title)
        session.add(WaitingListEntry(
            resource_id=resource_id, person_id=users[person].id, starts_at=starts_at, ends_at=ends_at, title=title,
            status=status, created_at=created_at, offered_at=offered_at, decided_at=decided_at,
        ))

    hall, desks = world.hall.id, world.desks.id
    entry(hall, "u2", local(2026, 2, 10, 10), local(2026, 2, 10, 12), local(2026, 1, 20, 9),
          "booked", local(2026, 1, 25, 9), local(2026, 1, 26, 9))
    entry(hall, "u3", local(2026, 3, 10, 10), local(2026, 3, 10, 12), local(2026, 1, 28, 9),
          "expired", local(2026, 2, 3, 9), local(2026, 2, 5, 9))
    entry(desks, "u2", local(2026, 4, 1, 10), local(2026, 4, 1, 12), local(2026, 2, 10, 9), "withdrawn", None, local(2026, 3, 5, 9))
    entry(hall, "u3", local(2027, 1, 20, 10), local(2027, 1, 20, 12), local(2026, 12, 1, 9))
    entry(hall, "u1", local(2026, 2, 2, 10), local(2026, 2, 2, 12), local(2026, 1, 15, 9))  # its slot passed while waiting
    entry(hall, "u2", local(2026, 1, 30, 10), local(2026, 1, 30, 12), local(2025, 12, 20, 9), "withdrawn", None, local(2026, 1, 10, 9))
    entry(first_aid.resource_id, "u3", training.starts_at, training.ends_at, local(2026, 2, 10, 9),
          "booked", local(2026, 2, 12, 9), local(2026, 2, 13, 9))
    entry(first_aid.resource_id, "u1", training.starts_at, training.ends_at, local(2026, 1, 30, 9))
