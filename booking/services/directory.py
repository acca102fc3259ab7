"""The public directory of organisations (/organisationen): profiles that their admins opt in to,
the list of fields of activity city admins keep, where an organisation meets (derived from its
public bookings), and the contact form that reaches its admins through the outbox.

Nothing here shows a person: a profile is the organisation's name, description, fields, website
and sites. The contact form never tells the sender who receives the message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied
from booking.domain.lifecycle import HOLDING_VALUES
from booking.mail.outbox import enqueue
from booking.models import Booking, FieldOfActivity, Membership, Organisation, OrganisationField, Resource, Site, User
from booking.services.accounts import normalise_email
from booking.services.context import AppContext

MAX_DESCRIPTION = 1000
MAX_WEBSITE = 500
MAX_FIELD_NAME = 100
MAX_FIELDS = 50
MAX_SEARCH = 100
PAGE_SIZE = 20
MAX_PAGE = 1000
# Where an organisation meets: sites of its public bookings from this long ago to this far ahead.
MEETING_WINDOW = timedelta(days=183)
MAX_MEETING_SITES = 10
MAX_ORGANISATIONS_PER_SITE = 20
MAX_CONTACT_MESSAGE = 5000
MAX_CONTACT_NAME = 200
_WEBSITE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


# --------------------------------------------------------------------------- fields of activity


async def list_fields(app: AppContext) -> list[FieldOfActivity]:
    """The fields of activity in the order city admins gave them."""
    async with app.database.reader() as session:
        return list((await session.exec(select(FieldOfActivity).order_by(col(FieldOfActivity.position), col(FieldOfActivity.name)))).all())


def _field_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("please enter a name", field="name")
    if len(name) > MAX_FIELD_NAME:
        raise InvalidInput(f"at most {MAX_FIELD_NAME} characters", field="name")
    return name


async def _name_taken(session: AsyncSession, name: str, except_id: int | None = None) -> bool:
    statement = select(FieldOfActivity.id).where(func.lower(FieldOfActivity.name) == name.lower())
    if except_id is not None:
        statement = statement.where(FieldOfActivity.id != except_id)
    return (await session.exec(statement)).first() is not None


async def add_field(app: AppContext, actor: Principal, name: str) -> FieldOfActivity:
    """City admins add a field of activity at the end of the list."""
    if not actor.is_city_admin:
        raise PermissionDenied("only city administrators may edit the fields of activity")
    name = _field_name(name)
    async with app.database.transaction() as session:
        if await _name_taken(session, name):
            raise InvalidInput("this field of activity exists already", field="name")
        count = (await session.exec(select(func.count()).select_from(FieldOfActivity))).one()
        if count >= MAX_FIELDS:
            raise InvalidInput("the list is full; remove a field of activity first", field="name")
        last = (await session.exec(select(func.max(FieldOfActivity.position)))).one()
        row = FieldOfActivity(name=name, position=(last or 0) + 1)
        session.add(row)
        await session.flush()
        return row


async def rename_field(app: AppContext, actor: Principal, field_id: int, name: str) -> FieldOfActivity:
    if not actor.is_city_admin:
        raise PermissionDenied("only city administrators may edit the fields of activity")
    name = _field_name(name)
    async with app.database.transaction() as session:
        row = await session.get(FieldOfActivity, field_id)
        if row is None:
            raise NotFound(f"field of activity {field_id} does not exist")
        if await _name_taken(session, name, except_id=field_id):
            raise InvalidInput("this field of activity exists already", field="name")
        row.name = name
        session.add(row)
        return row


async def delete_field(app: AppContext, actor: Principal, field_id: int) -> None:
    """Remove a field of activity; organisations simply lose it."""
    if not actor.is_city_admin:
        raise PermissionDenied("only city administrators may edit the fields of activity")
    async with app.database.transaction() as session:
        row = await session.get(FieldOfActivity, field_id)
        if row is None:
            raise NotFound(f"field of activity {field_id} does not exist")
        # SQLite may run without foreign-key cascades: remove the links first.
        await session.exec(delete(OrganisationField).where(OrganisationField.field_id == field_id))  # type: ignore[call-overload]
        await session.delete(row)


# --------------------------------------------------------------------------- the profile


@dataclass(frozen=True)
class ProfileInput:
    description: str = ""
    website: str = ""
    listed_in_directory: bool = False
    field_ids: tuple[int, ...] = ()


def clean_website(website: str) -> str:
    website = website.strip()
    if not website:
        return ""
    if "://" not in website:
        website = "https://" + website
    if len(website) > MAX_WEBSITE or not _WEBSITE.match(website):
        raise InvalidInput("please enter a web address such as https://example.org", field="website")
    return website


async def field_ids_of(app: AppContext, organisation_id: int) -> list[int]:
    async with app.database.reader() as session:
        return list((await session.exec(select(OrganisationField.field_id).where(OrganisationField.organisation_id == organisation_id))).all())


async def update_profile(app: AppContext, actor: Principal, organisation_id: int, profile: ProfileInput) -> Organisation:
    """An organisation's admins edit its public profile and whether it is listed."""
    if not actor.is_organisation_admin(organisation_id):
        raise PermissionDenied("only administrators of the organisation may edit its profile")
    description = profile.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"at most {MAX_DESCRIPTION} characters", field="description")
    website = clean_website(profile.website)
    if profile.listed_in_directory and not description:
        raise InvalidInput("please describe the organisation in a few words before it is listed", field="description")
    async with app.database.transaction() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"organisation {organisation_id} does not exist")
        wanted = set(profile.field_ids)
        known = set((await session.exec(select(FieldOfActivity.id))).all()) if wanted else set()
        if wanted - known:
            raise InvalidInput("please choose fields of activity from the list", field="field_ids")
        organisation.description = description
        organisation.website = website
        organisation.listed_in_directory = profile.listed_in_directory
        session.add(organisation)
        await session.exec(delete(OrganisationField).where(OrganisationField.organisation_id == organisation_id))  # type: ignore[call-overload]
        session.add_all(OrganisationField(organisation_id=organisation_id, field_id=field_id) for field_id in sorted(wanted))
        return organisation


def may_confirm_organisations(actor: Principal) -> bool:
    """City administrators and site managers confirm associations that people registered."""
    return actor.is_city_admin or actor.is_manager_anywhere


async def pending_organisations(app: AppContext, actor: Principal) -> list[Organisation]:
    """Associations waiting for confirmation, oldest first (for those who may confirm them)."""
    if not may_confirm_organisations(actor):
        return []
    async with app.database.reader() as session:
        statement = select(Organisation).where(col(Organisation.is_pending).is_(True)).order_by(col(Organisation.created_at)).limit(50)
        return list((await session.exec(statement)).all())


async def confirm_organisation(app: AppContext, actor: Principal, organisation_id: int) -> Organisation:
    """A city administrator or a site manager confirms an association registered by a person:
    it may book from now on, and its administrators are told by e-mail."""
    if not may_confirm_organisations(actor):
        raise PermissionDenied("only city administrators and site managers may confirm new organisations")
    async with app.database.transaction() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"organisation {organisation_id} does not exist")
        if not organisation.is_pending:
            raise InvalidInput("this organisation is confirmed already", field="general")
        organisation.is_pending = False
        session.add(organisation)
        admins = (
            await session.exec(
                select(User)
                .join(Membership, Membership.user_id == User.id)  # type: ignore[arg-type]
                .where(Membership.organisation_id == organisation_id, Membership.role == "admin", col(User.is_active).is_(True))
            )
        ).all()
        for admin in admins:
            await enqueue(
                session, settings=app.settings, kind="organisation_confirmed", recipient=admin.email, language=admin.language,
                context={"organisation_name": organisation.name, "recipient_name": admin.display_name,
                         "link_url": f"/organisation/{organisation_id}"},
                now=app.now(),
            )
        return organisation


# --------------------------------------------------------------------------- the directory


@dataclass(frozen=True)
class MeetingPlace:
    site_id: int
    name: str
    address: str


@dataclass(frozen=True)
class DirectoryEntry:
    id: int
    name: str
    description: str
    website: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class DirectoryProfile:
    entry: DirectoryEntry
    meeting_places: tuple[MeetingPlace, ...]


@dataclass(frozen=True)
class DirectoryPage:
    entries: list[DirectoryEntry]
    total: int
    page: int
    pages: int


async def _fields_by_organisation(session: AsyncSession, organisation_ids: list[int]) -> dict[int, list[str]]:
    if not organisation_ids:
        return {}
    rows = (
        await session.exec(
            select(OrganisationField.organisation_id, FieldOfActivity.name)
            .join(FieldOfActivity, FieldOfActivity.id == OrganisationField.field_id)  # type: ignore[arg-type]
            .where(col(OrganisationField.organisation_id).in_(organisation_ids))
            .order_by(col(FieldOfActivity.position), col(FieldOfActivity.name))
        )
    ).all()
    found: dict[int, list[str]] = {}
    for organisation_id, name in rows:
        found.setdefault(organisation_id, []).append(name)
    return found


def _entry(organisation: Organisation, fields: dict[int, list[str]]) -> DirectoryEntry:
    return DirectoryEntry(organisation.id, organisation.name, organisation.description, organisation.website,  # type: ignore[arg-type]
                          tuple(fields.get(organisation.id, ())))  # type: ignore[arg-type]


async def search_directory(
    app: AppContext, *, text: str = "", field_id: int | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> DirectoryPage:
    """Listed organisations whose name or description contains ``text`` (letters, not wildcards),
    optionally in one field of activity, by name, one page at a time."""
    text = " ".join(text.split())[:MAX_SEARCH]
    page = min(max(page, 1), MAX_PAGE)
    conditions = [col(Organisation.listed_in_directory).is_(True)]
    if text:
        # autoescape: % and _ typed by a visitor are letters to find, not wildcards.
        conditions.append(
            col(Organisation.name).icontains(text, autoescape=True) | col(Organisation.description).icontains(text, autoescape=True)
        )
    if field_id is not None:
        conditions.append(
            col(Organisation.id).in_(select(OrganisationField.organisation_id).where(OrganisationField.field_id == field_id))
        )
    async with app.database.reader() as session:
        total = (await session.exec(select(func.count()).select_from(Organisation).where(*conditions))).one()
        rows = list(
            (
                await session.exec(
                    select(Organisation).where(*conditions).order_by(func.lower(Organisation.name), col(Organisation.id))
                    .offset((page - 1) * page_size).limit(page_size)
                )
            ).all()
        )
        fields = await _fields_by_organisation(session, [row.id for row in rows])  # type: ignore[misc]
    return DirectoryPage([_entry(row, fields) for row in rows], int(total), page, max(1, math.ceil(total / page_size)))


async def _listed(session: AsyncSession, organisation_id: int) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or not organisation.listed_in_directory:
        # An organisation that did not opt in is not there, for the public.
        raise NotFound(f"organisation {organisation_id} does not exist")
    return organisation


def _public_meeting_conditions(now: datetime) -> list[Any]:
    """Bookings that say where an organisation meets: what the public calendar shows anyway
    (public bookings of public resources) in the window around ``now``."""
    return [
        col(Booking.is_public).is_(True),
        col(Booking.status).in_([*HOLDING_VALUES, "returned"]),
        Resource.visibility == "public",
        Booking.ends_at > now - MEETING_WINDOW,
        Booking.starts_at < now + MEETING_WINDOW,
    ]


async def _meeting_places(session: AsyncSession, organisation_ids: list[int], now: datetime) -> dict[int, tuple[MeetingPlace, ...]]:
    """Where the organisations meet: sites of their public bookings around ``now``, most used first."""
    if not organisation_ids:
        return {}
    uses = func.count(col(Booking.id))
    rows = (
        await session.exec(
            select(Booking.organisation_id, Site.id, Site.name, Site.address, uses)
            .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
            .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
            .where(col(Booking.organisation_id).in_(organisation_ids), *_public_meeting_conditions(now))
            .group_by(col(Booking.organisation_id), col(Site.id), col(Site.name), col(Site.address))
        )
    ).all()
    found: dict[int, list[tuple[int, MeetingPlace]]] = {}
    for organisation_id, site_id, name, address, count in rows:
        found.setdefault(organisation_id, []).append((count, MeetingPlace(site_id, name, address)))  # type: ignore[arg-type]
    return {
        organisation_id: tuple(place for _, place in sorted(places, key=lambda item: (-item[0], item[1].name))[:MAX_MEETING_SITES])
        for organisation_id, places in found.items()
    }


@dataclass(frozen=True)
class MeetingOrganisation:
    """A listed organisation as the map shows it at a site where it meets."""

    id: int
    name: str
    fields: tuple[str, ...]


async def organisations_by_site(app: AppContext, *, field_id: int | None = None) -> dict[int, tuple[MeetingOrganisation, ...]]:
    """The map's organisation layer: per site, the organisations listed in the directory that
    meet there (``_meeting_places`` read the other way round), optionally only those of one
    field of activity; most meetings first, at most ``MAX_ORGANISATIONS_PER_SITE`` a site.
    Two queries however many sites and organisations there are."""
    conditions = [col(Organisation.listed_in_directory).is_(True), *_public_meeting_conditions(app.now())]
    if field_id is not None:
        conditions.append(
            col(Organisation.id).in_(select(OrganisationField.organisation_id).where(OrganisationField.field_id == field_id))
        )
    uses = func.count(col(Booking.id))
    async with app.database.reader() as session:
        rows = (
            await session.exec(
                select(Resource.site_id, Organisation.id, Organisation.name, uses)
                .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
                .join(Organisation, Organisation.id == Booking.organisation_id)  # type: ignore[arg-type]
                .where(*conditions)
                .group_by(col(Resource.site_id), col(Organisation.id), col(Organisation.name))
            )
        ).all()
        fields = await _fields_by_organisation(session, sorted({organisation_id for _, organisation_id, _, _ in rows}))
    found: dict[int, list[tuple[int, MeetingOrganisation]]] = {}
    for site_id, organisation_id, name, count in rows:
        entry = MeetingOrganisation(organisation_id, name, tuple(fields.get(organisation_id, ())))
        found.setdefault(site_id, []).append((count, entry))
    return {
        site_id: tuple(o for _, o in sorted(entries, key=lambda item: (-item[0], item[1].name.casefold()))[:MAX_ORGANISATIONS_PER_SITE])
        for site_id, entries in found.items()
    }


async def directory_profile(app: AppContext, organisation_id: int) -> DirectoryProfile:
    """A listed organisation's public profile with the sites where it meets."""
    async with app.database.reader() as session:
        organisation = await _listed(session, organisation_id)
        fields = await _fields_by_organisation(session, [organisation_id])
        places = await _meeting_places(session, [organisation_id], app.now())
    return DirectoryProfile(_entry(organisation, fields), places.get(organisation_id, ()))


async def directory_profiles(
    app: AppContext, *, text: str = "", field_id: int | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[DirectoryPage, dict[int, tuple[MeetingPlace, ...]]]:
    """A page of the directory with the meeting places of its organisations (for the JSON API)."""
    data = await search_directory(app, text=text, field_id=field_id, page=page, page_size=page_size)
    async with app.database.reader() as session:
        places = await _meeting_places(session, [entry.id for entry in data.entries], app.now())
    return data, places


# --------------------------------------------------------------------------- the contact form


async def send_contact_message(
    app: AppContext, organisation_id: int, *, name: str, email: str, message: str
) -> int:
    """Forward a visitor's message to the admins of a listed organisation, one e-mail each, in
    their language. The sender's address is only the Reply-To: the sender learns no address.
    Returns how many e-mails were queued."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("please enter your name", field="name")
    if len(name) > MAX_CONTACT_NAME:
        raise InvalidInput(f"at most {MAX_CONTACT_NAME} characters", field="name")
    address = normalise_email(email)
    message = message.strip()
    if not message:
        raise InvalidInput("please write a message", field="message")
    if len(message) > MAX_CONTACT_MESSAGE:
        raise InvalidInput(f"at most {MAX_CONTACT_MESSAGE} characters", field="message")
    now = app.now()
    async with app.database.transaction() as session:
        organisation = await _listed(session, organisation_id)
        admins = (
            await session.exec(
                select(User)
                .join(Membership, Membership.user_id == User.id)  # type: ignore[arg-type]
                .where(Membership.organisation_id == organisation_id, Membership.role == "admin", col(User.is_active).is_(True))
                .order_by(col(User.id))
            )
        ).all()
        recipients = [(admin.email, admin.language, admin.display_name) for admin in admins]
        if not recipients and organisation.contact_email:
            recipients = [(organisation.contact_email, app.settings.default_language, None)]
        if not recipients:
            raise InvalidInput("this organisation cannot receive messages at the moment", field="message")
        for recipient, language, recipient_name in recipients:
            await enqueue(
                session,
                settings=app.settings,
                kind="organisation_contact",
                recipient=recipient,
                language=language,
                context={"organisation_name": organisation.name, "contact_message": message, "sender_name": name,
                         "reply_to": f"{name} <{address}>" if _plain_name(name) else address,
                         "recipient_name": recipient_name},
                now=now,
            )
    return len(recipients)


def _plain_name(name: str) -> bool:
    # A display name with characters that need quoting goes without it rather than risk a broken header.
    return not any(character in name for character in '<>"@,;:\\()[]')
