"""Sites, their resources, the rules of a resource and closed periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    address: str = Field(default="", max_length=500)
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    timezone: str = Field(default="Europe/Berlin", max_length=64)
    contact_email: str = Field(max_length=320)
    description: str = Field(default="", max_length=4000)
    # {"mon": [["09:00", "18:00"]], "tue": [...], ...} in the site's local time; a missing
    # or empty day is closed.
    opening_hours: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Accessibility, filled in by an admin; None means "not known" (not the same as "no").
    step_free: bool | None = Field(default=None)
    accessible_toilet: bool | None = Field(default=None)
    hearing_loop: bool | None = Field(default=None)
    accessibility_notes: str = Field(default="", max_length=4000)
    created_at: datetime = instant_field(default_now=True)


class Resource(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_resource_site_name"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16, index=True)  # room | desk | item | online
    name: str = Field(max_length=200)
    category: str = Field(default="", max_length=100, index=True)
    description: str = Field(default="", max_length=8000)
    accessibility_notes: str = Field(default="", max_length=4000)
    # How many units can be booked at once: 1 for a room or a named desk or item,
    # N for a pool ("10 party benches", "any of 8 desks").
    capacity: int = Field(default=1, ge=1)
    # Rooms: seats, informational and filterable.
    seats: int | None = Field(default=None)
    visibility: str = Field(default="public", max_length=16)  # public | members
    photo_url: str | None = Field(default=None, max_length=500)
    is_active: bool = Field(default=True)
    # Online rooms: the https link of the video room. Shown only to the booker of a booking
    # (their booking page and invite), never on public pages, feeds or the API for others.
    join_url: str | None = Field(default=None, max_length=500)
    created_at: datetime = instant_field(default_now=True)


class Policy(SQLModel, table=True):
    """The booking rules of one resource."""

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", unique=True, ondelete="CASCADE")
    # Approval rule (domain/approval.py): confirm | ask | rules. "rules": confirmed at once
    # when every condition set below holds, otherwise a lender decides.
    approval_mode: str = Field(default="confirm", max_length=16)
    trusted_organisation_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    approve_within_opening_hours: bool = Field(default=False)
    approve_max_hours: int | None = Field(default=None)
    approve_max_days_ahead: int | None = Field(default=None)
    approve_max_no_shows: int | None = Field(default=None)
    approve_no_show_days: int = Field(default=365)
    lead_time_minutes: int = Field(default=0)
    min_duration_minutes: int = Field(default=15)
    max_duration_minutes: int | None = Field(default=None)
    max_horizon_days: int | None = Field(default=365)
    buffer_before_minutes: int = Field(default=0)
    buffer_after_minutes: int = Field(default=0)
    # contain: the whole booking lies in opening hours (rooms, desks);
    # endpoints: pick-up and return lie in opening hours (things lent for days);
    # ignore: bookable around the clock.
    opening_hours_mode: str = Field(default="contain", max_length=16)
    # public: every signed-in person; organisations: members of the listed organisations.
    audience: str = Field(default="public", max_length=16)
    allowed_organisation_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Check-in: the booker confirms they came (door code or booking page) from
    # ``checkin_opens_minutes`` before the start; a confirmed booking without check-in
    # ``checkin_release_minutes`` after the start is released as a no-show.
    checkin_required: bool = Field(default=False)
    checkin_opens_minutes: int = Field(default=15)
    checkin_release_minutes: int = Field(default=15)


class Blackout(SQLModel, table=True):
    """A period in which a site or one resource cannot be booked (holidays, repair)."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    resource_id: int | None = Field(default=None, foreign_key="resource.id", index=True, ondelete="CASCADE")
    starts_at: datetime = instant_field()
    ends_at: datetime = instant_field()
    reason: str = Field(default="", max_length=500)
    kind: str = Field(default="closed", max_length=16)  # closed | repair
    created_at: datetime = instant_field(default_now=True)


class Quota(SQLModel, table=True):
    """How much one organisation (or one person) may book of a resource or of a category of
    a site: hours per week or month, upcoming bookings, loan days per year (domain/quotas.py)."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True, ondelete="CASCADE")
    # Scope: one resource, or (resource_id None) every resource of ``category`` at the site.
    resource_id: int | None = Field(default=None, foreign_key="resource.id", index=True, ondelete="CASCADE")
    category: str = Field(default="", max_length=100)
    metric: str = Field(max_length=24)  # hours_per_week | hours_per_month | upcoming_bookings | loan_days_per_year
    subject: str = Field(max_length=16)  # organisation | person
    amount: int
    enforcement: str = Field(default="refuse", max_length=16)  # refuse | ask
    created_at: datetime = instant_field(default_now=True)
