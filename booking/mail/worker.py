"""The outbox worker: claims due messages, sends them, records the outcome.

One round (``run_once``):

1. In one short write transaction, claim up to ``batch_size`` due rows with a lease
   (``booking.db.claims.claim_due_outbox_rows``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
   the ``BEGIN IMMEDIATE`` write lock on SQLite). Commit.
2. Outside any transaction, render the claimed rows that have no message text yet (the
   outbox row records what happened, ``booking.mail.payload``) and store the text of all of
   them in one small transaction before the first send, so a resend is byte-identical. A
   row that cannot be rendered is parked at once with the error: one broken message, not a
   failed booking or a stuck queue.
3. Outside any transaction, hand each message to the SMTP server.
4. After the server accepted a message, mark it ``sent`` in its own small transaction.
   On failure, count the attempt, keep the error text and schedule the next attempt with
   exponential backoff (``retry_base_seconds * 2**(attempts-1)``, at most
   ``retry_max_seconds``, plus up to 10 % jitter so that many failed messages do not all
   return in the same second). After ``max_attempts`` failed attempts the message is
   ``parked``: it stays in the table for admins (``list_parked``, ``retry_parked``).
   A 5xx answer (e.g. 550 unknown mailbox) is retried like the rest — it may come from a
   misconfiguration an admin fixes — and parked after ``max_attempts``.

Guarantees:

- Nothing is lost. A row leaves ``pending`` only after the server accepted it (``sent``) or
  after ``max_attempts`` failures (``parked``). A worker that dies mid-batch leaves its rows
  claimed; when the lease (``lease_seconds``) runs out they are due again for any worker.
- At most one delivery per message in normal operation: several workers never claim the
  same row while a lease holds, and a worker does not start a send once its lease is (nearly)
  over. A message may be delivered **twice** only in the crash window — the worker died (or
  lost the database) after the server accepted the message and before the ``sent`` mark was
  committed. The resend carries the very same bytes and Message-ID (the message is stored
  fully rendered), so receiving systems and people can tell it is a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.db import Database
from booking.db.claims import claim_due_outbox_rows
from booking.db.errors import is_unavailable
from booking.mail.outbox import STATUS_PARKED, STATUS_PENDING, STATUS_SENT
from booking.mail.payload import render_payload
from booking.mail.sender import DeliveryError
from booking.models.base import utc_now
from booking.models.messaging import OutboxMessage
from booking.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 300.0
JITTER = 0.1
LAST_ERROR_LENGTH = 2000


class Sender(Protocol):
    async def send(self, raw: str, recipient: str) -> object: ...


@dataclass
class _Claimed:
    id: int
    raw: str | None
    recipient: str
    attempts: int
    claimed_until: datetime
    kind: str = ""
    message_id: str = ""
    payload: str | None = None


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**6):06x}"


def backoff_seconds(attempts: int, base: float, maximum: float, rng: random.Random | None = None) -> float:
    """Delay before the next try after ``attempts`` failed attempts (1, 2, …)."""
    delay = base * (2 ** max(attempts - 1, 0))
    jitter = (rng or random).uniform(0.0, JITTER) * delay
    return min(delay + jitter, maximum)


class OutboxWorker:
    """Sends the outbox. Several may run at once, in one process or many.

    ``clock`` returns the current aware UTC datetime (tests pass their own). ``lease_seconds``
    should exceed the time one batch needs; a worker never starts a send whose lease is
    about to run out, so a slow batch costs time, not duplicates.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        sender: Sender,
        worker_name: str | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.mail = settings.mail
        self.sender = sender
        self.worker_name = (worker_name or default_worker_name())[:100]
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        # Do not start a send in the last part of the lease: someone else may take the row then.
        self.lease_margin = min(timedelta(seconds=self.mail.smtp_timeout_seconds), self.lease / 2)
        self.rng = rng or random.Random()

    async def run_once(self) -> int:
        """Claim and try up to ``batch_size`` due messages; returns how many were claimed.

        0 means nothing was due. A message that fails is rescheduled (or parked), not retried
        within the same round.
        """
        now = self.clock()
        async with self.database.transaction() as session:
            rows = await claim_due_outbox_rows(
                session, now=now, limit=self.mail.batch_size, worker=self.worker_name, lease=self.lease
            )
            claimed = [
                _Claimed(
                    row.id, row.raw, row.recipient, row.attempts, row.claimed_until,  # type: ignore[arg-type]
                    row.kind, row.message_id, row.payload,
                )
                for row in rows
            ]
        ready = await self._render(claimed)
        for item in ready:
            if self.clock() >= item.claimed_until - self.lease_margin:
                log.warning("outbox lease of %s ran out before sending message %s", self.worker_name, item.id)
                continue
            try:
                await self.sender.send(item.raw, item.recipient)  # type: ignore[arg-type]
            except DeliveryError as exc:
                await self._record_failure(item, exc)
            except Exception as exc:  # noqa: BLE001 - one broken message must not stop the rest
                log.exception("unexpected error sending outbox message %s", item.id)
                await self._record_failure(item, exc)
            else:
                await self._mark_sent(item)
        return len(claimed)

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Round after round until ``stop_event`` is set; sleeps ``poll_seconds`` when idle.

        Database or other unexpected errors are logged and the loop goes on after a pause.
        """
        while not stop_event.is_set():
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the worker outlives a database hiccup
                if is_unavailable(error):
                    self.database.outage.failed(error)  # one line per outage, not one per round
                else:
                    log.exception("outbox worker round failed")
                claimed = 0
            if claimed >= self.mail.batch_size:
                continue  # more may be waiting
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=self.mail.poll_seconds)

    async def _render(self, claimed: list[_Claimed]) -> list[_Claimed]:
        """Give every claimed row its message text; returns the rows that can be sent."""
        rendered: dict[int, tuple[str, str]] = {}
        broken: dict[int, str] = {}
        for item in claimed:
            if item.raw is not None:
                continue
            try:
                if item.payload is None:
                    raise ValueError("the outbox row has neither a message nor a payload")
                message = render_payload(
                    item.payload, settings=self.settings, kind=item.kind, recipient=item.recipient,
                    message_id=item.message_id,
                )
            except Exception as exc:  # noqa: BLE001 - a rendering bug parks one message
                log.exception("outbox message %s cannot be rendered; parked", item.id)
                broken[item.id] = f"rendering failed: {type(exc).__name__}: {exc}"[:LAST_ERROR_LENGTH]
            else:
                rendered[item.id] = (message.subject[:500], message.raw)
        if not rendered and not broken:
            return claimed
        stored: set[int] = set()
        async with self.database.transaction() as session:
            ours = (col(OutboxMessage.status) == STATUS_PENDING, col(OutboxMessage.claimed_by) == self.worker_name)
            for row_id, (subject, raw) in rendered.items():
                result = await session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.raw).is_(None), *ours)
                    .values(subject=subject, raw=raw, payload=None)
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    stored.add(row_id)
            for row_id, error in broken.items():
                await session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id) == row_id, *ours)
                    .values(status=STATUS_PARKED, last_error=error, claimed_until=None, claimed_by=None)
                )
        ready = []
        for item in claimed:
            if item.raw is None and item.id in stored:
                item.raw = rendered[item.id][1]
            if item.raw is not None:
                ready.append(item)
        return ready

    async def _mark_sent(self, item: _Claimed) -> None:
        # Unconditional: the server has the message, whoever holds the lease now.
        async with self.database.transaction() as session:
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == item.id)
                .values(status=STATUS_SENT, sent_at=self.clock(), claimed_until=None, last_error="")
            )

    async def _record_failure(self, item: _Claimed, error: Exception) -> None:
        attempts = item.attempts + 1
        now = self.clock()
        kind = "permanent" if getattr(error, "permanent", False) else "temporary"
        text = f"attempt {attempts} ({kind}): {error}"[:LAST_ERROR_LENGTH]
        values: dict[str, object] = {
            "attempts": attempts,
            "last_error": text,
            "claimed_until": None,
            "claimed_by": None,
        }
        if attempts >= self.mail.max_attempts:
            values["status"] = STATUS_PARKED
            log.warning("outbox message %s parked after %s attempts: %s", item.id, attempts, error)
        else:
            delay = backoff_seconds(attempts, self.mail.retry_base_seconds, self.mail.retry_max_seconds, self.rng)
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        async with self.database.transaction() as session:
            # Only while the row is still ours: after a lost lease another worker owns it.
            await session.exec(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == item.id,
                    col(OutboxMessage.status) == STATUS_PENDING,
                    col(OutboxMessage.claimed_by) == self.worker_name,
                )
                .values(**values)
            )


async def list_parked(session: AsyncSession) -> list[OutboxMessage]:
    """Parked messages for admins, newest first (recipient, subject, attempts, last_error)."""
    result = await session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.status) == STATUS_PARKED)
        .order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
    )
    return list(result.all())


class NotParked(LookupError):
    """No parked outbox message with that id."""


async def retry_parked(session: AsyncSession, message_id: int, *, now: datetime | None = None) -> OutboxMessage:
    """Put a parked message (by row id) back into the queue: pending, attempts 0, due now.

    Runs in the caller's write transaction (the caller commits). The message keeps its
    Message-ID and bytes. Raises ``NotParked`` if there is no such parked message.
    """
    row = await session.get(OutboxMessage, message_id)
    if row is None or row.status != STATUS_PARKED:
        raise NotParked(message_id)
    row.status = STATUS_PENDING
    row.attempts = 0
    row.next_attempt_at = now or utc_now()
    row.claimed_until = None
    row.claimed_by = None
    session.add(row)
    await session.flush()
    return row
