"""Invitations to join an organisation, sent by e-mail to people who may not have an account yet."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class Invitation(SQLModel, table=True):
    """An organisation admin invited ``email`` to join as ``role``; only the token's hash is stored.

    Not an ``EmailToken``: that needs a user, and the invitee may not have an account yet.
    """

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    email: str = Field(max_length=320, index=True)
    role: str = Field(default="member", max_length=16)  # member | admin
    token_hash: str = Field(max_length=64, unique=True, index=True)
    invited_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    expires_at: datetime = instant_field()
    accepted_at: datetime | None = instant_field(nullable=True)
    accepted_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    revoked_at: datetime | None = instant_field(nullable=True)
    created_at: datetime = instant_field(default_now=True)
