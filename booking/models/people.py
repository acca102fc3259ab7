"""Users, organisations and the roles that connect them to organisations and sites."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    display_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    language: str = Field(default="de", max_length=8)
    is_city_admin: bool = Field(default=False)
    is_active: bool = Field(default=True)
    email_verified_at: datetime | None = instant_field(nullable=True)
    # Counts password changes and deactivations. Sessions themselves are LoginSession rows,
    # deleted when they end; this number is no longer read to decide whether one is valid.
    session_epoch: int = Field(default=0)
    created_at: datetime = instant_field(default_now=True)
    # Optional, for the lenders of the person's bookings only (never shown to anyone else).
    phone: str = Field(default="", max_length=40)


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    contact_email: str | None = Field(default=None, max_length=320)
    description: str = Field(default="", max_length=4000)
    created_at: datetime = instant_field(default_now=True)
    # The organisation's admins opt in to the public directory (/organisationen); until then
    # nothing of it is shown to the public.
    listed_in_directory: bool = Field(default=False)
    website: str = Field(default="", max_length=500)
    # Registered by a person on behalf of a new association: it cannot book until a city
    # administrator confirms it.
    is_pending: bool = Field(default=False)


class Membership(SQLModel, table=True):
    """A user's role in an organisation: ``member`` or ``admin``."""

    __table_args__ = (UniqueConstraint("user_id", "organisation_id", name="uq_membership_user_org"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=16)
    created_at: datetime = instant_field(default_now=True)


class SiteRole(SQLModel, table=True):
    """A user's role at a site: ``lender`` (decides and hands out) or ``manager``."""

    __tablename__ = "site_role"
    __table_args__ = (UniqueConstraint("user_id", "site_id", name="uq_site_role_user_site"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    role: str = Field(default="lender", max_length=16)
    created_at: datetime = instant_field(default_now=True)


class ApiToken(SQLModel, table=True):
    """A personal API token; only its SHA-256 is stored. Revoked by its owner or by a password
    change; ``last_used_at`` is updated at most once a minute."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=200)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = instant_field(default_now=True)
    last_used_at: datetime | None = instant_field(nullable=True)
    revoked_at: datetime | None = instant_field(nullable=True)
    expires_at: datetime | None = instant_field(nullable=True)


class LoginSession(SQLModel, table=True):
    """A signed-in browser (or API client with a cookie). The session cookie carries a random
    id whose SHA-256 is ``token_hash``; deleting the row ends the session on every app process.
    ``last_seen_at`` (and with it the idle expiry) moves at most once a minute."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = instant_field(default_now=True)
    last_seen_at: datetime = instant_field(default_now=True)
    expires_at: datetime = instant_field()
