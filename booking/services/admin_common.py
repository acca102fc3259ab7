"""What every part of the administration shares: permission checks, field checks, errors.

Who may do what (checked in every use case, before anything is read or written):

- city administrators: everything;
- site managers: the sites they manage — the site's details and opening hours, its closures,
  its resources and their rules, its lenders and managers;
- everybody else: nothing in the administration.

Creating a site, organisations, users and the parked e-mails are city-wide, so only city
administrators handle them.

Bad input raises ``InvalidFields`` (an ``InvalidInput`` that names every bad field at once, so a
form can show each message next to its field); nothing is written then. The messages are
English source strings without inserted values, so the web layer can translate them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.permissions import can_manage_site
from booking.auth.principal import Principal
from booking.domain.errors import InvalidInput, PermissionDenied
from booking.models import User
from booking.services.accounts import normalise_email


T = TypeVar("T")


class InvalidFields(InvalidInput):
    """Several fields are wrong; ``errors`` maps each field name to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors: dict[str, str] = dict(errors)


class _Checks:
    """Collects field errors so that a form can show all of them at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, message)

    def run(self, function: Callable[..., T], *args: Any, default_field: str = "general", **kwargs: Any) -> T | None:
        try:
            return function(*args, **kwargs)
        except InvalidFields as error:
            for name, message in error.errors.items():
                self.add(name, message)
        except InvalidInput as error:
            self.add(error.field or default_field, error.message)
        return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidFields(self.errors)


def require_city_admin(actor: Principal) -> None:
    if not actor.is_city_admin:
        raise PermissionDenied("only city administrators may do this")


def require_site_manager(actor: Principal, site_id: int) -> None:
    if not can_manage_site(actor, site_id):
        raise PermissionDenied("only managers of this site may do this")


def _text(value: str | None, limit: int, field_name: str, *, required: bool = False, one_line: bool = False) -> str:
    """Trimmed text. ``one_line`` (names): no line break, TAB or other control character —
    a name goes into calendar names, e-mail headers and page titles, where it is one line."""
    value = (value or "").strip()
    if "\x00" in value:
        raise InvalidInput("This text contains characters that are not allowed.", field=field_name)
    if one_line and any(unicodedata.category(character) == "Cc" for character in value):
        raise InvalidInput("A name is one line, without line breaks or control characters.", field=field_name)
    if required and not value:
        raise InvalidInput("This field is required.", field=field_name)
    if len(value) > limit:
        raise InvalidInput("This text is too long.", field=field_name)
    return value


def _choice(value: str, choices: Sequence[str], field_name: str) -> str:
    if value not in choices:
        raise InvalidInput("Please choose one of the options.", field=field_name)
    return value


def _whole(value: int | None, field_name: str, *, minimum: int, maximum: int, optional: bool = False) -> int | None:
    if value is None:
        if optional:
            return None
        raise InvalidInput("This field is required.", field=field_name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("Please enter a whole number.", field=field_name)
    if value < minimum:
        raise InvalidInput("This number is too small.", field=field_name)
    if value > maximum:
        raise InvalidInput("This number is too large.", field=field_name)
    return value


def _email(value: str | None, field_name: str, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput("Please enter an e-mail address.", field=field_name)
        return None
    try:
        return normalise_email(value)
    except InvalidInput:
        raise InvalidInput("Please enter an e-mail address like name@example.org.", field=field_name) from None


async def _name_taken(session: AsyncSession, model: Any, name: str, exclude_id: int | None, **scope: Any) -> bool:
    statement = select(model.id).where(func.lower(model.name) == name.lower())
    for column, value in scope.items():
        statement = statement.where(getattr(model, column) == value)
    if exclude_id is not None:
        statement = statement.where(model.id != exclude_id)
    return (await session.exec(statement)).first() is not None


async def _user_by_email(session: AsyncSession, email: str | None, field_name: str = "email") -> User:
    checked = _email(email, field_name)
    user = (await session.exec(select(User).where(User.email == checked))).first()
    if user is None:
        raise InvalidFields({field_name: "There is no account with this e-mail address; the person needs to register first."})
    return user
