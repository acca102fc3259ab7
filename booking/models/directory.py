"""The public directory of organisations: fields of activity and requests to join."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class FieldOfActivity(SQLModel, table=True):
    """One entry of the fixed list (Sport, Kultur, …) that city admins keep."""

    __tablename__ = "field_of_activity"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    position: int = Field(default=0)


class OrganisationField(SQLModel, table=True):
    """An organisation works in a field of activity (many to many)."""

    __tablename__ = "organisation_field"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, ondelete="CASCADE")
    field_id: int = Field(foreign_key="field_of_activity.id", primary_key=True, index=True, ondelete="CASCADE")


class JoinRequest(SQLModel, table=True):
    """A signed-in person asked to join an organisation; its admins approve or decline."""

    __tablename__ = "join_request"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    status: str = Field(default="pending", max_length=16)  # pending | approved | declined
    message: str = Field(default="", max_length=1000)
    decision_reason: str = Field(default="", max_length=1000)
    decided_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = instant_field(default_now=True)
    decided_at: datetime | None = instant_field(nullable=True)
