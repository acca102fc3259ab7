"""Bookings, recurring series, the audit trail of status changes and loans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, text
from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class Series(SQLModel, table=True):
    """A recurring booking. The rule is in the site's local wall time; occurrences are bookings."""

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", index=True, ondelete="CASCADE")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    booker_id: int = Field(foreign_key="user.id", index=True)
    rrule: str = Field(max_length=500)
    timezone: str = Field(max_length=64)
    # First occurrence's local start ("2026-02-03T18:00") and length.
    local_start: str = Field(max_length=32)
    duration_minutes: int
    exdates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The dates the booker asked for that were not free when the series was booked:
    # [{"local_start": "2026-02-10T18:00", "code": "conflict", "reason": "..."}], so the
    # series page can offer alternatives for them after the redirect, and on every reload.
    refused_dates: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    quantity: int = Field(default=1)
    title: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=2000)
    is_public: bool = Field(default=False)
    sequence: int = Field(default=0)
    created_at: datetime = instant_field(default_now=True)
    updated_at: datetime = instant_field(default_now=True)


class Booking(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="interval_positive"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_booking_resource_span", "resource_id", "starts_at", "ends_at"),
        # Things handed out hold their units until they come back, however long ago they
        # started: availability queries ask for "checked out, started before the window ends"
        # next to the window's overlap (loading._overlapping); without this index that arm reads
        # every checked-out row through ix_booking_status.
        Index(
            "ix_booking_checked_out_start", "starts_at",
            postgresql_where=text("status = 'checked_out'"), sqlite_where=text("status = 'checked_out'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", index=True, ondelete="CASCADE")
    quantity: int = Field(default=1)
    starts_at: datetime = instant_field()
    ends_at: datetime = instant_field()
    status: str = Field(max_length=16, index=True)
    # True when the resource holds one unit: the PostgreSQL exclusion constraint applies.
    is_exclusive: bool = Field(default=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    booker_id: int = Field(foreign_key="user.id", index=True)
    title: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=2000)
    is_public: bool = Field(default=False)
    sequence: int = Field(default=0)
    series_id: int | None = Field(default=None, foreign_key="series.id", index=True, ondelete="CASCADE")
    # For an occurrence: the start the series rule gave it (iCalendar RECURRENCE-ID).
    recurrence_id: datetime | None = instant_field(nullable=True)
    # Several bookings made together and kept all-or-nothing (a kit).
    group_key: str | None = Field(default=None, max_length=64, index=True)
    decision_reason: str = Field(default="", max_length=2000)
    # A ``held`` booking (a waiting list's offer) holds capacity until this instant.
    hold_expires_at: datetime | None = instant_field(nullable=True)
    # When the booker checked in (resources whose rules ask for check-in).
    checked_in_at: datetime | None = instant_field(nullable=True)
    created_at: datetime = instant_field(default_now=True)
    updated_at: datetime = instant_field(default_now=True)


class BookingEvent(SQLModel, table=True):
    """Audit trail: every status change and every step of a booking."""

    __tablename__ = "booking_event"

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True, ondelete="CASCADE")
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str = Field(default="", max_length=2000)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = instant_field(default_now=True)


class Loan(SQLModel, table=True):
    """The hand-out and return of a booked thing."""

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", unique=True, ondelete="CASCADE")
    checked_out_at: datetime = instant_field()
    checked_out_by_id: int = Field(foreign_key="user.id")
    condition_out: str = Field(default="", max_length=2000)
    deposit_note: str = Field(default="", max_length=500)
    returned_at: datetime | None = instant_field(nullable=True)
    returned_by_id: int | None = Field(default=None, foreign_key="user.id")
    condition_in: str = Field(default="", max_length=2000)
    damage_notes: str = Field(default="", max_length=2000)
    missing_parts: str = Field(default="", max_length=2000)
