"""The e-mail outbox and the secret tokens behind feeds and e-mail links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class OutboxMessage(SQLModel, table=True):
    """An e-mail to send, written in the same transaction as the change that caused it.

    ``payload`` records what happened (``booking.mail.payload``); the worker renders it once
    into ``raw``, the complete RFC 5322 message, before the first send (and then drops the
    payload): a resend after a crash sends the very same bytes, Message-ID included, so
    receivers can recognise a duplicate. ``subject`` is filled in with ``raw``.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=48)
    recipient: str = Field(max_length=320)
    subject: str = Field(default="", max_length=500)
    message_id: str = Field(max_length=255, unique=True)
    raw: str | None = Field(default=None, sa_type=Text, nullable=True)
    payload: str | None = Field(default=None, sa_type=Text, nullable=True)
    language: str = Field(default="de", max_length=8)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True, ondelete="SET NULL")
    # A key that makes an enqueue idempotent, e.g. "reminder:42:2026-03-01T17:00Z".
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    status: str = Field(default="pending", max_length=16)  # pending | sent | parked
    attempts: int = Field(default=0)
    next_attempt_at: datetime = instant_field(default_now=True)
    # A worker that claimed the row owns it until then; after that another may take it.
    claimed_until: datetime | None = instant_field(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=100)
    last_error: str = Field(default="", max_length=2000)
    created_at: datetime = instant_field(default_now=True)
    sent_at: datetime | None = instant_field(nullable=True)


class FeedToken(SQLModel, table=True):
    """A secret feed URL. ``scope``: resource | site | organisation | user."""

    __tablename__ = "feed_token"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    scope: str = Field(max_length=16)
    target_id: int
    # Private feeds show who and why; public ones only busy time and the resource.
    is_private: bool = Field(default=False)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = instant_field(default_now=True)
    revoked_at: datetime | None = instant_field(nullable=True)
    # The random seed the token is derived from with the app's secret key (HMAC), so that its
    # owner can be shown the address again; the database alone does not reveal it. None for
    # feeds made before: their address cannot be shown again (services/feeds.py).
    token_seed: str | None = Field(default=None, max_length=64)


class FeedDocumentCache(SQLModel, table=True):
    """The last finished document of a feed, shared by every app process and kept across
    restarts: a process that has not rendered the feed yet serves it from here while its
    ETag (which changes with every booking change, see services/feeds.py) still matches."""

    __tablename__ = "feed_document_cache"

    feed_id: int = Field(primary_key=True, foreign_key="feed_token.id", ondelete="CASCADE")
    etag: str = Field(max_length=64)
    body: bytes = Field(sa_type=LargeBinary)
    stored_at: datetime = instant_field(default_now=True)
    # 8 bytes per VEVENT of ``body``, in order: a digest of the booking row and the feed's
    # variant it was written from. A process that has not rendered the feed reuses the text of
    # every event whose row did not change instead of writing all of them again.
    event_keys: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)


class EmailToken(SQLModel, table=True):
    """A one-time link sent by e-mail: verify address, log in, reset password, invitation."""

    __tablename__ = "email_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=16)  # verify | login | reset | invite
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = instant_field()
    used_at: datetime | None = instant_field(nullable=True)
    created_at: datetime = instant_field(default_now=True)
