"""Administration of organisations and their members (city administrators), and the list
of organisations that managers pick from for a resource's audience."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from booking.auth.principal import Principal
from booking.domain.errors import NotFound, PermissionDenied
from booking.models import Membership, Organisation, User
from booking.services.admin_common import (
    InvalidFields,
    _Checks,
    _choice,
    _email,
    _name_taken,
    _text,
    _user_by_email,
    require_city_admin,
)
from booking.services.context import AppContext


ORGANISATION_ROLES = ("member", "admin")


@dataclass(frozen=True)
class OrganisationInput:
    name: str
    contact_email: str = ""
    description: str = ""


def check_organisation(data: OrganisationInput) -> OrganisationInput:
    checks = _Checks()
    name = checks.run(_text, data.name, 200, "name", required=True, one_line=True)
    contact = checks.run(_email, data.contact_email, "contact_email", required=False)
    description = checks.run(_text, data.description, 4000, "description")
    checks.raise_if_any()
    return OrganisationInput(name=name or "", contact_email=contact or "", description=description or "")


@dataclass(frozen=True)
class OrganisationSummary:
    organisation: Organisation
    member_count: int


async def list_organisations(app: AppContext, actor: Principal) -> list[OrganisationSummary]:
    require_city_admin(actor)
    async with app.database.reader() as session:
        organisations = (await session.exec(select(Organisation).order_by(func.lower(Organisation.name)))).all()
        counts = dict(
            (await session.exec(select(Membership.organisation_id, func.count()).group_by(col(Membership.organisation_id)))).all()
        )
    return [OrganisationSummary(o, counts.get(o.id, 0)) for o in organisations]


async def organisation_choices(app: AppContext, actor: Principal) -> list[tuple[int, str]]:
    """(id, name) of every organisation, for the rules of a resource (managers pick from them)."""
    if not actor.is_manager_anywhere:
        raise PermissionDenied("only site managers and city administrators may do this")
    async with app.database.reader() as session:
        rows = (await session.exec(select(Organisation.id, Organisation.name).order_by(func.lower(Organisation.name)))).all()
    return [(organisation_id, name) for organisation_id, name in rows]  # type: ignore[misc]


@dataclass(frozen=True)
class OrganisationMember:
    user_id: int
    display_name: str
    email: str
    role: str


@dataclass(frozen=True)
class OrganisationDetails:
    organisation: Organisation
    members: list[OrganisationMember]


async def get_organisation(app: AppContext, actor: Principal, organisation_id: int) -> OrganisationDetails:
    require_city_admin(actor)
    async with app.database.reader() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound("This organisation does not exist.")
        rows = (
            await session.exec(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)  # type: ignore[arg-type]
                .where(Membership.organisation_id == organisation_id)
                .order_by(col(Membership.role), func.lower(User.display_name))
            )
        ).all()
    return OrganisationDetails(
        organisation, [OrganisationMember(u.id, u.display_name, u.email, m.role) for m, u in rows]  # type: ignore[arg-type]
    )


async def create_organisation(app: AppContext, actor: Principal, data: OrganisationInput) -> Organisation:
    require_city_admin(actor)
    data = check_organisation(data)
    try:
        async with app.database.transaction() as session:
            if await _name_taken(session, Organisation, data.name, None):
                raise InvalidFields({"name": "An organisation with this name exists already."})
            organisation = Organisation(name=data.name, contact_email=data.contact_email or None, description=data.description)
            session.add(organisation)
            await session.flush()
    except IntegrityError:
        raise InvalidFields({"name": "An organisation with this name exists already."}) from None
    return organisation


async def update_organisation(app: AppContext, actor: Principal, organisation_id: int, data: OrganisationInput) -> Organisation:
    require_city_admin(actor)
    data = check_organisation(data)
    try:
        async with app.database.transaction() as session:
            organisation = await session.get(Organisation, organisation_id)
            if organisation is None:
                raise NotFound("This organisation does not exist.")
            if await _name_taken(session, Organisation, data.name, organisation_id):
                raise InvalidFields({"name": "An organisation with this name exists already."})
            organisation.name = data.name
            organisation.contact_email = data.contact_email or None
            organisation.description = data.description
            session.add(organisation)
    except IntegrityError:
        raise InvalidFields({"name": "An organisation with this name exists already."}) from None
    return organisation


async def add_member(app: AppContext, actor: Principal, organisation_id: int, email: str, role: str) -> OrganisationMember:
    """Add the person with this e-mail address to the organisation (or change their role)."""
    require_city_admin(actor)
    checks = _Checks()
    checks.run(_email, email, "email")
    checks.run(_choice, role, ORGANISATION_ROLES, "role")
    checks.raise_if_any()
    async with app.database.transaction() as session:
        if await session.get(Organisation, organisation_id) is None:
            raise NotFound("This organisation does not exist.")
        user = await _user_by_email(session, email)
        membership = (
            await session.exec(
                select(Membership).where(Membership.organisation_id == organisation_id, Membership.user_id == user.id)
            )
        ).first()
        if membership is None:
            membership = Membership(user_id=user.id, organisation_id=organisation_id, role=role)  # type: ignore[arg-type]
        membership.role = role
        session.add(membership)
    return OrganisationMember(user.id, user.display_name, user.email, role)  # type: ignore[arg-type]


async def remove_member(app: AppContext, actor: Principal, organisation_id: int, user_id: int) -> None:
    require_city_admin(actor)
    async with app.database.transaction() as session:
        membership = (
            await session.exec(
                select(Membership).where(Membership.organisation_id == organisation_id, Membership.user_id == user_id)
            )
        ).first()
        if membership is None:
            raise NotFound("This person is not a member of this organisation.")
        await session.delete(membership)
