"""Volunteer offers (Engagementkalender: short tasks; Fortbildungsbörse: trainings), their dates
and the people who signed up.

Places are capacity of the booking engine (DESIGN.md "One capacity engine"): every offer owns a
hidden resource of kind ``offer`` whose capacity is the number of places per date, and every
confirmed sign-up is a Booking of quantity 1 over the date's ``[starts_at, ends_at)`` on it,
made under the resource's lock. ``OfferSignup`` only adds what a booking does not know: the
person's name and address while the e-mail is not confirmed yet (double opt-in), the one-time
cancel link and the attendance marked after the date.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Column
from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class Offer(SQLModel, table=True):
    __table_args__ = (CheckConstraint("places >= 1", name="places_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)  # task | training
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=8000)
    category: str = Field(default="", max_length=100, index=True)
    # The site that hosts the offer's places (and its time zone); where it takes place is
    # ``location_kind``: at this site, at a free ``address``, or ``online``.
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True, ondelete="SET NULL")
    location_kind: str = Field(default="site", max_length=16)  # site | address | online
    address: str = Field(default="", max_length=500)
    online_url: str = Field(default="", max_length=500)
    requirements: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=320)
    places: int = Field(default=1)
    # The hidden resource whose capacity is ``places`` (set right after the offer is inserted).
    resource_id: int | None = Field(default=None, foreign_key="resource.id", unique=True, ondelete="SET NULL")
    # Rooms or things of the site a task reserved for its dates (booking ids, normal bookings).
    reserved_booking_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_published: bool = Field(default=True)
    cancelled_at: datetime | None = instant_field(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = instant_field(default_now=True)
    updated_at: datetime = instant_field(default_now=True)


class OfferDate(SQLModel, table=True):
    """One date of an offer: a one-off date or an occurrence of its series."""

    __tablename__ = "offer_date"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="interval_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offer.id", index=True, ondelete="CASCADE")
    starts_at: datetime = instant_field(index=True)
    ends_at: datetime = instant_field()
    is_cancelled: bool = Field(default=False)


class OfferSignup(SQLModel, table=True):
    """A person's sign-up for one date.

    ``status``: pending (e-mail not confirmed yet, holds no place) → confirmed (holds a place:
    ``booking_id``) | refused (the date was full when the link was clicked) | expired;
    confirmed → cancelled. ``attendance``: "" until marked, then present | absent.
    """

    __tablename__ = "offer_signup"

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offer.id", index=True, ondelete="CASCADE")
    offer_date_id: int = Field(foreign_key="offer_date.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="CASCADE")
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True, ondelete="SET NULL")
    # Only while pending (before the person is a user): what they typed in.
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    language: str = Field(default="de", max_length=8)
    status: str = Field(max_length=16, index=True)
    attendance: str = Field(default="", max_length=16)
    # SHA-256 of the double opt-in link (shared by the rows of one request) and of the cancel link.
    confirm_token_hash: str | None = Field(default=None, max_length=64, index=True)
    confirm_expires_at: datetime | None = instant_field(nullable=True)
    cancel_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = instant_field(default_now=True)
    confirmed_at: datetime | None = instant_field(nullable=True)
    cancelled_at: datetime | None = instant_field(nullable=True)
