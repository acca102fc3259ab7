"""Put an e-mail into the outbox, inside the caller's transaction.

The row records what happened (kind, recipient, Message-ID and the facts of that moment as
``payload``, see ``booking.mail.payload``); no template, MIME or iCalendar work happens here.
The worker renders the message once, stores its final RFC 5322 text in ``raw`` and only then
sends it, so a resend is byte-identical. The row is added to the caller's session and
committed — or rolled back — together with the change that caused it: no mail for a booking
that was never saved, no lost mail for one that was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db import direct
from booking.i18n import normalise_language
from booking.mail.payload import Invite, dump_payload
from booking.models.base import utc_now
from booking.models.messaging import OutboxMessage
from booking.settings import Settings

STATUS_PENDING = "pending"
STATUS_SENT = "sent"
STATUS_PARKED = "parked"
# Built once: ``enqueue(write_now=True)`` runs it with the row's values.
_INSERT_ROW = insert(OutboxMessage.__table__)  # type: ignore[attr-defined]


async def enqueue(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: str,
    recipient: str,
    language: str | None,
    context: Mapping[str, Any],
    calendar: bytes | None = None,
    calendar_method: str | None = None,
    invite: Invite | None = None,
    booking_id: int | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
    write_now: bool = False,
) -> OutboxMessage | None:
    """Add one outbox row to ``session`` without committing; the worker renders it.

    ``write_now`` (without ``dedupe_key``): INSERT the row at once as plain values instead of
    adding an ORM object for the next flush, and return None — the same row for less Python
    (the booking paths, issue 10).

    ``kind`` and ``context``: see ``booking.mail.render`` (``KINDS`` and its docstring).
    ``calendar``: iCalendar bytes for an invite (REQUEST or CANCEL); ``calendar_method``, when
    given, must equal its METHOD. ``invite``: the same, not yet built (the worker builds it). With a ``dedupe_key`` that is already in the outbox nothing
    is added and the existing row is returned (e.g. ``"reminder:42:2026-03-01T17:00Z"``).
    ``now`` (the service's clock) stamps Date, created_at and the first due time.
    """
    if dedupe_key is not None:
        existing = await _by_dedupe_key(session, dedupe_key)
        if existing is not None:
            return existing

    now = now or utc_now()
    language = normalise_language(language)
    payload = dump_payload(
        context=context, language=language, date_at=now, calendar=calendar, calendar_method=calendar_method, invite=invite
    )
    values: dict[str, Any] = {
        "kind": kind, "recipient": recipient, "subject": "", "message_id": make_msgid(domain=settings.host_name),
        "raw": None, "payload": payload, "language": language, "booking_id": booking_id, "dedupe_key": dedupe_key,
        "status": STATUS_PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
    }
    if write_now and dedupe_key is None:
        await direct.insert(await direct.connection_of(session), _INSERT_ROW, values)
        return None
    row = OutboxMessage(**values)
    if dedupe_key is None:
        session.add(row)
        return row

    # Two transactions may enqueue the same key at once (PostgreSQL; SQLite writers queue).
    # The unique index decides; the loser keeps its transaction and returns the winner's row.
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = await _by_dedupe_key(session, dedupe_key)
        if existing is None:
            raise
        return existing
    return row


async def _by_dedupe_key(session: AsyncSession, dedupe_key: str) -> OutboxMessage | None:
    result = await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
    return result.first()
