"""The waiting list: people who want a taken slot of a resource, in the order they are offered it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class WaitingListEntry(SQLModel, table=True):
    """One person waiting for ``quantity`` units of a resource over ``[starts_at, ends_at)``.

    ``status``: waiting → offered (a ``held`` booking, ``booking_id``, was made for them) →
    booked (they took it) | expired (the hold ran out) | withdrawn (they left the list, declined
    the offer, or the site's staff removed them) | lapsed (its time began while still waiting).
    ``position`` orders the entries of one resource (lower first); staff may move them.
    The offer mail's links carry an HMAC of the entry and its held booking (``services.waiting_list_holds``):
    nothing secret is stored, and a link works only while the entry is ``offered``.
    """

    __tablename__ = "waiting_list_entry"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="interval_positive"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_waiting_list_entry_resource_queue", "resource_id", "status", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", index=True, ondelete="CASCADE")
    starts_at: datetime = instant_field()
    ends_at: datetime = instant_field()
    quantity: int = Field(default=1)
    person_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True, ondelete="SET NULL")
    title: str = Field(default="", max_length=200)
    position: int = Field(default=0)
    status: str = Field(default="waiting", max_length=16)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True, ondelete="SET NULL")
    created_at: datetime = instant_field(default_now=True)
    offered_at: datetime | None = instant_field(nullable=True)
    decided_at: datetime | None = instant_field(nullable=True)
