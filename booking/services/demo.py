"""Demo data: five engagement sites of Flensburg, thirty resources, people, bookings.

Idempotent: a second run finds the data and only prints the accounts again.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from booking.domain.errors import DomainError
from booking.models import FieldOfActivity, Membership, Organisation, OrganisationField, Policy, Resource, Site, SiteRole, User
from booking.services import accounts, bookings
from booking.services.context import AppContext
from booking.settings import Settings

DEMO_PASSWORD = "demo-passwort-2026"
WEEKDAY_HOURS = [["08:00", "22:00"]]

SITES = [
    {
        "name": "Engagement-Ort Neustadt",
        "address": "Neustadt 12, 24939 Flensburg",
        "latitude": 54.7993, "longitude": 9.4327,
        "step_free": True, "accessible_toilet": True, "hearing_loop": False,
        "accessibility_notes": "Eingang ebenerdig von der Straße; Besprechungsraum im 1. OG über den Aufzug.",
        "contact_email": "neustadt@engagement-flensburg.example",
        "description": "Stadtteiltreff mit Seminarräumen und Küche.",
        "opening_hours": {d: WEEKDAY_HOURS for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["10:00", "18:00"]]},
    },
    {
        "name": "Bürgerhaus Mürwik",
        "address": "Kielseng 25, 24944 Flensburg",
        "latitude": 54.8046, "longitude": 9.4466,
        "step_free": True, "accessible_toilet": True, "hearing_loop": True,
        "accessibility_notes": "Induktionsschleife im Großen Saal; Behindertenparkplatz am Haupteingang.",
        "contact_email": "muerwik@engagement-flensburg.example",
        "description": "Großer Saal, Gruppenräume, barrierefrei.",
        "opening_hours": {d: WEEKDAY_HOURS for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    },
    {
        "name": "Stadtteilhaus Fruerlund",
        "address": "Fruerlunder Straße 5, 24943 Flensburg",
        "latitude": 54.7902, "longitude": 9.4497,
        "step_free": False, "accessible_toilet": True, "hearing_loop": None,
        "accessibility_notes": "Drei Stufen am Haupteingang; stufenloser Zugang zum Café über den Hof.",
        "contact_email": "fruerlund@engagement-flensburg.example",
        "description": "Nachbarschaftszentrum mit Werkstatt.",
        "opening_hours": {d: [["09:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
    },
    {
        "name": "Dingebörse Innenstadt",
        "address": "Norderstraße 40, 24939 Flensburg",
        "latitude": 54.7961, "longitude": 9.4339,
        "step_free": True, "accessible_toilet": False, "hearing_loop": False,
        "accessibility_notes": "Ausgabe ebenerdig; kein WC für Besucherinnen und Besucher.",
        "contact_email": "dingeboerse@engagement-flensburg.example",
        "description": "Ausleihe von Technik, Zelten, Lastenrädern und Festzeltgarnituren.",
        "opening_hours": {d: [["10:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["10:00", "14:00"]]},
    },
    {
        "name": "Coworking Sandberg",
        "address": "Sandberg 3, 24937 Flensburg",
        "latitude": 54.7880, "longitude": 9.4420,
        "step_free": None, "accessible_toilet": None, "hearing_loop": None,
        "accessibility_notes": "",
        "contact_email": "coworking@engagement-flensburg.example",
        "description": "Arbeitsplätze für Ehrenamtliche, WLAN, Drucker.",
        "opening_hours": {d: [["07:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    },
]

# (site index, kind, name, category, capacity, seats, needs approval, accessibility)
RESOURCES = [
    (0, "room", "Seminarraum 1", "Seminarraum", 1, 20, False, "Erdgeschoss, stufenloser Zugang"),
    (0, "room", "Seminarraum 2", "Seminarraum", 1, 16, False, "Erdgeschoss, stufenloser Zugang"),
    (0, "room", "Küche", "Küche", 1, 8, True, "Unterfahrbare Arbeitsfläche"),
    (0, "room", "Besprechungsraum", "Besprechungsraum", 1, 8, False, "1. OG, Aufzug vorhanden"),
    (1, "room", "Großer Saal", "Saal", 1, 120, True, "Induktionsschleife, barrierefreies WC"),
    (1, "room", "Gruppenraum A", "Seminarraum", 1, 15, False, "Erdgeschoss"),
    (1, "room", "Gruppenraum B", "Seminarraum", 1, 15, False, "Erdgeschoss"),
    (1, "room", "Bewegungsraum", "Bewegungsraum", 1, 25, False, "Schwingboden, Umkleiden"),
    (2, "room", "Werkstatt", "Werkstatt", 1, 10, True, "Ebenerdig, breite Türen"),
    (2, "room", "Nachbarschaftscafé", "Café", 1, 30, False, "Stufenlos, barrierefreies WC"),
    (2, "room", "Kleiner Raum", "Besprechungsraum", 1, 6, False, "2. OG, kein Aufzug"),
    (4, "room", "Besprechungsraum Sandberg", "Besprechungsraum", 1, 10, False, "Erdgeschoss"),
    (4, "desk", "Flexible Arbeitsplätze", "Arbeitsplatz", 8, None, False, "Höhenverstellbare Tische"),
    (4, "desk", "Arbeitsplatz am Fenster", "Arbeitsplatz", 1, None, False, ""),
    (4, "desk", "Arbeitsplatz mit Monitor", "Arbeitsplatz", 1, None, False, ""),
    (0, "desk", "Ruhige Arbeitsplätze", "Arbeitsplatz", 4, None, False, "Erdgeschoss"),
    (2, "desk", "Arbeitsplätze Café", "Arbeitsplatz", 6, None, False, ""),
    (4, "desk", "Telefonbox", "Telefonbox", 1, None, False, "Nicht rollstuhlgeeignet"),
    (3, "item", "Beamer Epson", "Technik", 1, None, False, ""),
    (3, "item", "Beamer BenQ", "Technik", 1, None, False, ""),
    (3, "item", "Leinwand 2 m", "Technik", 2, None, False, ""),
    (3, "item", "HDMI-Kabel 10 m", "Technik", 4, None, False, ""),
    (3, "item", "Lautsprecheranlage", "Technik", 1, None, True, ""),
    (3, "item", "Faltpavillon 3×3 m", "Zelte", 3, None, False, ""),
    (3, "item", "Gruppenzelt", "Zelte", 1, None, True, ""),
    (3, "item", "Lastenrad Fietje", "Lastenrad", 1, None, False, "Mit Kindersitzbank"),
    (3, "item", "Lastenrad Elektro", "Lastenrad", 1, None, True, "E-Antrieb, Einweisung nötig"),
    (3, "item", "Festzeltgarnitur", "Möbel", 10, None, False, "Tisch mit zwei Bänken"),
    (1, "item", "Stehtische", "Möbel", 6, None, False, ""),
    (2, "item", "Werkzeugkoffer", "Werkzeug", 2, None, False, ""),
]

ORGANISATIONS = [
    ("Turnverein Flensburg-Mürwik e. V.", "vorstand@tv-muerwik.example"),
    ("Nachbarschaftshilfe Fruerlund", "kontakt@nachbarn-fruerlund.example"),
    ("Kulturinitiative Neustadt", "info@kultur-neustadt.example"),
    ("Repair-Café Flensburg", "hallo@repaircafe-flensburg.example"),
]

# The public profiles in the organisation directory (/organisationen), by organisation index:
# description, website, fields of activity (names of the starting list).
PROFILES = {
    0: ("Breitensport für alle Generationen: Turnen, Gymnastik, Volleyball und Yoga für Ältere in Mürwik.",
        "https://tv-muerwik.example", ("Sport", "Soziales")),
    1: ("Nachbarinnen und Nachbarn helfen einander: Einkaufshilfe, Sprachcafé, Begleitung zu Ämtern und ein "
        "offener Treff jeden Donnerstag.", "", ("Nachbarschaftshilfe", "Soziales")),
    2: ("Konzerte, Lesungen und ein Chor in der Neustadt – offen für alle, die mitmachen wollen.",
        "https://kultur-neustadt.example", ("Kultur", "Bildung")),
    3: ("Kaputte Toaster, Fahrräder und Kleidung gemeinsam reparieren statt wegwerfen. Einmal im Monat im "
        "Bürgerhaus.", "https://repaircafe-flensburg.example", ("Umwelt", "Bildung")),
}
STARTING_FIELDS = ("Sport", "Kultur", "Nachbarschaftshilfe", "Umwelt", "Soziales", "Bildung")

# role, e-mail, name, city admin?, organisation index + role, site indexes + role
PEOPLE = [
    ("city admin", "admin@demo.example", "Karin Koordination", True, None, []),
    ("site manager", "manager@demo.example", "Mehmet Manager", False, None, [(0, "manager"), (3, "manager")]),
    ("lender (Dingebörse)", "lender@demo.example", "Lena Leihe", False, None, [(3, "lender"), (1, "lender")]),
    ("organisation admin", "vorstand@demo.example", "Otto Vorstand", False, (0, "admin"), []),
    ("member", "mitglied@demo.example", "Marie Mitglied", False, (0, "member"), []),
    ("member (other org)", "nachbar@demo.example", "Nils Nachbar", False, (1, "member"), []),
]


async def load_demo_data(app: AppContext, *, seed: int = 7) -> list[tuple[str, str, str]]:
    """Create the demo world once; returns (role, e-mail, password) of the demo accounts."""
    accounts_out = [(role, email, DEMO_PASSWORD) for role, email, *_ in PEOPLE]
    async with app.database.reader() as session:
        if (await session.exec(select(Site).where(Site.name == SITES[0]["name"]))).first() is not None:
            return accounts_out

    async with app.database.transaction() as session:
        sites = [Site(**data) for data in SITES]  # type: ignore[arg-type]
        session.add_all(sites)
        organisations = [Organisation(name=name, contact_email=email) for name, email in ORGANISATIONS]
        for index, (description, website, _) in PROFILES.items():
            organisations[index].description, organisations[index].website = description, website
            organisations[index].listed_in_directory = True
        session.add_all(organisations)
        await session.flush()
        await _demo_fields(session, organisations)
        resources: list[Resource] = []
        for site_index, kind, name, category, capacity, seats, approval, accessibility in RESOURCES:
            resource = Resource(
                site_id=sites[site_index].id, kind=kind, name=name, category=category,  # type: ignore[arg-type]
                capacity=capacity, seats=seats, accessibility_notes=accessibility,
                description=f"{name} – {category} im {sites[site_index].name}.",
            )
            session.add(resource)
            resources.append(resource)
        await session.flush()
        for resource, spec in zip(resources, RESOURCES, strict=True):
            kind, approval = spec[1], spec[6]
            session.add(
                Policy(
                    resource_id=resource.id,  # type: ignore[arg-type]
                    approval_mode="ask" if approval else "confirm",
                    lead_time_minutes=60 if kind != "item" else 24 * 60,
                    min_duration_minutes=30 if kind == "room" else 60,
                    max_duration_minutes=None if kind != "room" else 12 * 60,
                    max_horizon_days=180,
                    buffer_after_minutes=15 if kind == "room" else 0,
                    opening_hours_mode="endpoints" if kind == "item" else "contain",
                )
            )

    users: dict[str, User] = {}
    for role, email, name, is_admin, _, _ in PEOPLE:
        users[email] = await accounts.create_user(
            app, email=email, display_name=name, password=DEMO_PASSWORD, is_city_admin=is_admin
        )
    async with app.database.transaction() as session:
        for _, email, _, _, organisation, site_roles in PEOPLE:
            user = users[email]
            if organisation is not None:
                index, role = organisation
                session.add(Membership(user_id=user.id, organisation_id=organisations[index].id, role=role))  # type: ignore[arg-type]
            for site_index, role in site_roles:
                session.add(SiteRole(user_id=user.id, site_id=sites[site_index].id, role=role))  # type: ignore[arg-type]

    await _demo_bookings(app, resources, sites, organisations, users, random.Random(seed))
    return accounts_out


async def _demo_fields(session, organisations) -> None:  # type: ignore[no-untyped-def]
    """The starting list of fields of activity (the migration adds it; a database made otherwise
    may lack it) and the demo organisations' choices."""
    fields = {row.name: row for row in (await session.exec(select(FieldOfActivity))).all()}
    for position, name in enumerate(STARTING_FIELDS):
        if name not in fields:
            fields[name] = FieldOfActivity(name=name, position=position)
            session.add(fields[name])
    await session.flush()
    for index, (_, _, names) in PROFILES.items():
        for name in names:
            session.add(OrganisationField(organisation_id=organisations[index].id, field_id=fields[name].id))


async def _demo_bookings(app, resources, sites, organisations, users, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    member = await accounts.principal_for_user_id(app, users["mitglied@demo.example"].id)
    neighbour = await accounts.principal_for_user_id(app, users["nachbar@demo.example"].id)
    assert member is not None and neighbour is not None
    site_by_id = {site.id: site for site in sites}
    today = app.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    titles = ["Vorstandssitzung", "Chorprobe", "Sprachcafé", "Yoga für Ältere", "Repair-Café", "Elternabend", "Workshop"]
    for day_offset in range(2, 43):
        day = today + timedelta(days=day_offset)
        for resource in rng.sample(resources, 6):
            zone = ZoneInfo(site_by_id[resource.site_id].timezone)
            person, organisation = (member, organisations[0]) if rng.random() < 0.6 else (neighbour, organisations[1])
            if resource.kind == "item":
                start = datetime.combine(day, time(10), zone)
                end = datetime.combine(day + timedelta(days=rng.choice([1, 2])), time(12), zone)
            elif resource.kind == "desk":
                start, end = datetime.combine(day, time(9), zone), datetime.combine(day, time(13), zone)
            else:
                hour = rng.choice([9, 10, 14, 16, 18, 19])
                start = datetime.combine(day, time(hour), zone)
                end = start + timedelta(hours=rng.choice([1, 2, 3]))
            try:
                await bookings.create_booking(
                    app, person,
                    bookings.BookingRequest(
                        resource_id=resource.id, starts_at=start, ends_at=end,
                        quantity=1 if resource.capacity == 1 else rng.randint(1, min(3, resource.capacity)),
                        organisation_id=organisation.id, title=rng.choice(titles), purpose="Demo",
                        # Rooms in public: the directory shows where the organisations meet.
                        is_public=resource.kind == "room",
                    ),
                )
            except DomainError:
                continue  # closed that day, taken, or outside the rules: the demo just skips it


def install_demo_legal_texts(settings: Settings) -> list[Path]:
    """Filled-in legal texts of the fictional demo operator (Freiwilligenagentur Förde), written
    into the content folder where no text exists yet (an operator's own files stay)."""
    from booking.services.legal_pages import install_demo_pages

    return install_demo_pages(settings)
