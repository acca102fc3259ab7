"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL.

Time never passes by waiting: the worker runs on a test clock that the tests move forward
past leases and backoff delays.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from sqlmodel import col, select

from booking.db import Database
from booking.db.claims import claim_due_outbox_rows
from booking.mail.compose import CalendarMethodMismatch, compose_message
from booking.mail.outbox import enqueue
from booking.mail.sender import SmtpSender
from booking.mail.worker import NotParked, OutboxWorker, list_parked, retry_parked
from booking.models.messaging import OutboxMessage
from booking.settings import Settings
from tests.support.smtp import (
    SmtpServer,
    client_tls_context,
    self_signed_certificate,
    tls_options,
)

START = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
SENDER = "buchung@example.org"


def calendar(method: str = "REQUEST", sequence: int = 0) -> bytes:
    """A small valid iCalendar object with CRLF line ends and one folded line."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//booking//tests//DE",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        "UID:booking-1@testserver.local",
        f"SEQUENCE:{sequence}",
        "DTSTAMP:20260201T090000Z",
        "DTSTART:20260203T170000Z",
        "DTEND:20260203T190000Z",
        "SUMMARY:Chorprobe im Bürgerhaus",
        # A line longer than 75 octets, folded as RFC 5545 demands (CRLF + space).
        "DESCRIPTION:Bitte den Schlüssel an der Theke abholen und nach der Probe wie",
        " der abgeben.",
        "ORGANIZER;CN=Bürgerhaus:mailto:haus@example.org",
        "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:anna@example.org",
        "STATUS:CANCELLED" if method == "CANCEL" else "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


BOOKING_CONTEXT = {
    "booking_title": "Chorprobe",
    "resource_name": "Saal 1",
    "site_name": "Bürgerhaus",
    "site_address": "Hauptstraße 1, 24937 Flensburg",
    "site_email": "haus@example.org",
    "starts_at": datetime(2026, 2, 3, 17, 0, tzinfo=UTC),
    "ends_at": datetime(2026, 2, 3, 19, 0, tzinfo=UTC),
    "timezone": "Europe/Berlin",
    "booking_url": "/bookings/1",
}


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def mail_settings(settings: Settings, port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "sender": SENDER,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout_seconds": 5.0,
        "max_attempts": 4,
        "retry_base_seconds": 30.0,
        "retry_max_seconds": 600.0,
        "batch_size": 50,
    }
    mail = dataclasses.replace(settings.mail, **{**values, **changes})  # type: ignore[arg-type]
    return settings.replace(mail=mail)


def make_worker(database: Database, settings: Settings, clock: Clock, name: str = "w1", **kwargs: object) -> OutboxWorker:
    return OutboxWorker(database, settings, SmtpSender(settings.mail), name, clock=clock, lease_seconds=60, **kwargs)  # type: ignore[arg-type]


async def enqueue_many(database: Database, settings: Settings, count: int, clock: Clock, prefix: str = "user") -> None:
    async with database.transaction() as session:
        for number in range(count):
            await enqueue(
                session,
                settings=settings,
                kind="reminder",
                recipient=f"{prefix}{number}@example.org",
                language="de" if number % 2 else "en",
                context=BOOKING_CONTEXT,
                now=clock(),
            )


async def drain(worker: OutboxWorker, rounds: int = 100) -> None:
    for _ in range(rounds):
        if await worker.run_once() == 0:
            return
    raise AssertionError("the outbox did not drain")


async def all_rows(database: Database) -> list[OutboxMessage]:
    async with database.reader() as session:
        return list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


# --- message shape --------------------------------------------------------------------


async def test_invite_arrives_with_headers_structure_and_language(
    database: Database, settings: Settings, smtp_server: SmtpServer
) -> None:
    settings = mail_settings(settings, smtp_server.port)
    clock = Clock()
    invite = calendar("REQUEST")
    async with database.transaction() as session:
        german = await enqueue(
            session, settings=settings, kind="confirmed", recipient="anna@example.org", language="de",
            context=BOOKING_CONTEXT, calendar=invite, calendar_method="REQUEST", now=clock(),
        )
        english = await enqueue(
            session, settings=settings, kind="confirmed", recipient="ben@example.org", language="en-GB",
            context=BOOKING_CONTEXT, calendar=invite, now=clock(),
        )
        plain = await enqueue(
            session, settings=settings, kind="request_received", recipient="anna@example.org", language="de",
            context=BOOKING_CONTEXT, now=clock(),
        )

    assert await make_worker(database, settings, clock).run_once() == 3
    received = {item.message_id: item for item in smtp_server.messages}
    assert set(received) == {german.message_id, english.message_id, plain.message_id}
    assert german.message_id.endswith("@testserver.local>")

    for row, to, subject, language in (
        (german, "anna@example.org", "Buchung bestätigt: Chorprobe", "de"),
        (english, "ben@example.org", "Booking confirmed: Chorprobe", "en"),
    ):
        item = received[row.message_id]
        assert item.mail_from == SENDER
        assert item.rcpt_tos == [to]
        # On the wire: 7-bit, every line ends in CRLF.
        assert item.data.isascii()
        assert b"\n" not in item.data.replace(b"\r\n", b"")
        message = item.message
        display_name, address = parseaddr(str(message["From"]))
        # The service's address (DMARC), named after the site; answers go to the site.
        assert address == SENDER
        assert display_name == ("Bürgerhaus über Buchungsservice" if language == "de" else "Bürgerhaus via Booking service")
        assert parseaddr(str(message["Reply-To"]))[1] == "haus@example.org"
        assert str(message["To"]) == to
        assert str(message["Subject"]) == subject
        assert parsedate_to_datetime(str(message["Date"])) == clock()
        assert str(message["Message-ID"]) == row.message_id
        assert str(message["Auto-Submitted"]) == "auto-generated"
        assert str(message["Content-Language"]) == language

        assert message.get_content_type() == "multipart/mixed"
        alternative, attachment = list(message.iter_parts())
        assert alternative.get_content_type() == "multipart/alternative"
        text, html, inline = list(alternative.iter_parts())
        assert [text.get_content_type(), html.get_content_type(), inline.get_content_type()] == [
            "text/plain", "text/html", "text/calendar",
        ]
        assert inline.get_param("method") == "REQUEST"
        assert str(inline.get_param("charset")).upper() == "UTF-8"
        assert inline.get_content_disposition() in (None, "inline")
        # The calendar survives byte for byte: CRLF line ends and the folded line.
        assert inline.get_payload(decode=True) == invite
        assert attachment.get_content_disposition() == "attachment"
        assert attachment.get_filename() == "invite.ics"
        assert attachment.get_content_type() in ("application/ics", "text/calendar")
        assert attachment.get_payload(decode=True) == invite

    german_text = received[german.message_id].message.get_body(("plain",)).get_content()
    german_html = received[german.message_id].message.get_body(("html",)).get_content()
    english_text = received[english.message_id].message.get_body(("plain",)).get_content()
    assert "Ihre Buchung ist bestätigt." in german_text
    assert "Di., 3. Feb. 2026, 18:00–20:00" in german_text
    assert "http://testserver.local/bookings/1" in german_text
    assert "Ihre Buchung ist bestätigt." in german_html and '<html lang="de">' in german_html
    assert "Your booking has been confirmed." in english_text
    assert "Tue, Feb 3, 2026" in english_text

    # Without a calendar: just text and HTML.
    simple = received[plain.message_id].message
    assert simple.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in simple.iter_parts()] == ["text/plain", "text/html"]
    assert str(simple["Subject"]) == "Buchungsanfrage eingegangen: Chorprobe"

    rows = {row.message_id: row for row in await all_rows(database)}
    assert {row.status for row in rows.values()} == {"sent"}
    assert all(row.sent_at == clock() and row.attempts == 0 for row in rows.values())


def test_cancel_invite_method_matches_calendar(settings: Settings) -> None:
    cancel = calendar("CANCEL", sequence=1)
    message = compose_message(
        settings=settings, recipient="anna@example.org", subject="x", text="x", html="<p>x</p>",
        language="de", sender_name="Bürgerhaus", calendar=cancel,
    )
    alternative = next(message.iter_parts())
    inline = list(alternative.iter_parts())[2]
    assert inline.get_param("method") == "CANCEL"
    with pytest.raises(CalendarMethodMismatch):
        compose_message(
            settings=settings, recipient="anna@example.org", subject="x", text="x", html="<p>x</p>",
            language="de", sender_name="Bürgerhaus", calendar=cancel, calendar_method="REQUEST",
        )


async def test_enqueue_commits_with_the_callers_transaction_and_dedupes(
    database: Database, settings: Settings
) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with database.transaction() as session:
            await enqueue(session, settings=settings, kind="reminder", recipient="a@example.org",
                          language="de", context=BOOKING_CONTEXT, dedupe_key="reminder:1")
            raise Abort
    assert await all_rows(database) == []

    async with database.transaction() as session:
        first = await enqueue(session, settings=settings, kind="reminder", recipient="a@example.org",
                              language="de", context=BOOKING_CONTEXT, dedupe_key="reminder:1")
    async with database.transaction() as session:
        again = await enqueue(session, settings=settings, kind="reminder", recipient="a@example.org",
                              language="de", context=BOOKING_CONTEXT, dedupe_key="reminder:1")
    rows = await all_rows(database)
    assert len(rows) == 1
    assert again.id == first.id and again.message_id == first.message_id


# --- delivery guarantees --------------------------------------------------------------


async def test_smtp_down_loses_nothing_and_sends_each_once(database: Database, settings: Settings) -> None:
    server = SmtpServer()  # knows its port, does not listen yet
    settings = mail_settings(settings, server.port)
    clock = Clock()
    await enqueue_many(database, settings, 100, clock)
    worker = make_worker(database, settings, clock)
    try:
        await drain(worker)  # every attempt fails: nobody listens
        rows = await all_rows(database)
        assert len(rows) == 100
        assert {(row.status, row.attempts) for row in rows} == {("pending", 1)}
        assert all(row.next_attempt_at > clock() for row in rows)
        assert all("temporary" in row.last_error for row in rows)
        assert server.messages == []

        server.start()
        assert await worker.run_once() == 0  # not due yet: backoff holds
        clock.advance(settings.mail.retry_max_seconds + 1)
        await drain(worker)
    finally:
        server.stop()

    counts = Counter(server.message_ids())
    rows = await all_rows(database)
    assert set(counts) == {row.message_id for row in rows}
    assert set(counts.values()) == {1}
    assert len(counts) == 100
    assert {row.status for row in rows} == {"sent"}


async def test_smtp_outage_is_logged_once_per_episode_not_per_message(
    database: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """First failure: one warning. Following failures (other messages, later retries): silent.
    The first accepted message ends the episode with one line; the next outage warns again."""
    import logging

    server = SmtpServer()
    settings = mail_settings(settings, server.port)
    clock = Clock()
    await enqueue_many(database, settings, 20, clock)
    worker = make_worker(database, settings, clock)

    def mail_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name.startswith("booking.mail")]

    caplog.set_level(logging.DEBUG, logger="booking.mail")
    try:
        await drain(worker)  # 20 failures
        clock.advance(settings.mail.retry_max_seconds + 1)
        await drain(worker)  # 20 more
        [warning] = mail_records()
        assert warning.levelno == logging.WARNING and f"127.0.0.1:{server.port}" in warning.getMessage()
        assert {row.attempts for row in await all_rows(database)} == {2}

        caplog.clear()
        server.start()
        clock.advance(settings.mail.retry_max_seconds + 1)
        await drain(worker)
        [recovered] = mail_records()
        assert recovered.levelno == logging.INFO and "40 attempts" in recovered.getMessage()
        assert len(server.messages) == 20

        caplog.clear()
        server.stop()
        await enqueue_many(database, settings, 3, clock, prefix="later")
        await drain(worker)
        assert [r.levelno for r in mail_records()] == [logging.WARNING]  # a new episode
    finally:
        server.stop()


class Crash(BaseException):
    """The worker process dies (not an error the worker could catch)."""


class CrashingSender:
    """Delivers for real; dies right after the server accepted message number ``crash_after``."""

    def __init__(self, inner: SmtpSender, crash_after: int) -> None:
        self.inner = inner
        self.crash_after = crash_after
        self.sent = 0

    async def send(self, raw: str, recipient: str) -> object:
        reply = await self.inner.send(raw, recipient)
        self.sent += 1
        if self.sent == self.crash_after:
            raise Crash
        return reply


async def test_crash_mid_batch_loses_nothing_and_resends_with_same_message_id(
    database: Database, settings: Settings, smtp_server: SmtpServer
) -> None:
    settings = mail_settings(settings, smtp_server.port)
    clock = Clock()
    await enqueue_many(database, settings, 30, clock)

    crashing = OutboxWorker(
        database, settings, CrashingSender(SmtpSender(settings.mail), crash_after=4), "doomed",
        clock=clock, lease_seconds=60,
    )
    with pytest.raises(Crash):
        await crashing.run_once()
    assert len(smtp_server.messages) == 4
    rows = await all_rows(database)
    assert Counter(row.status for row in rows) == {"sent": 3, "pending": 27}
    # The rest is still leased to the dead worker: nobody sends it yet.
    survivor_database = Database(settings.database_url)
    try:
        survivor = make_worker(survivor_database, settings, clock, name="survivor")
        assert await survivor.run_once() == 0
        assert len(smtp_server.messages) == 4

        clock.advance(61)  # the lease runs out
        await drain(survivor)
    finally:
        await survivor_database.dispose()

    rows = await all_rows(database)
    assert {row.status for row in rows} == {"sent"}
    counts = Counter(smtp_server.message_ids())
    assert set(counts) == {row.message_id for row in rows}
    # Exactly one message was delivered twice: the one accepted just before the crash.
    assert sorted(counts.values()) == [1] * 29 + [2]
    duplicate = next(message_id for message_id, count in counts.items() if count == 2)
    copies = [item.data for item in smtp_server.messages if item.message_id == duplicate]
    assert copies[0] == copies[1]


async def test_claim_without_send_is_released_when_the_lease_expires(
    database: Database, settings: Settings, smtp_server: SmtpServer
) -> None:
    settings = mail_settings(settings, smtp_server.port)
    clock = Clock()
    await enqueue_many(database, settings, 5, clock)
    async with database.transaction() as session:
        claimed = await claim_due_outbox_rows(
            session, now=clock(), limit=10, worker="ghost", lease=timedelta(seconds=60)
        )
    assert len(claimed) == 5

    worker = make_worker(database, settings, clock)
    assert await worker.run_once() == 0
    clock.advance(60)
    assert await worker.run_once() == 5
    assert sorted(smtp_server.message_ids()) == sorted(row.message_id for row in claimed)


async def test_two_workers_deliver_each_message_exactly_once(
    database: Database, settings: Settings, smtp_server: SmtpServer
) -> None:
    settings = mail_settings(settings, smtp_server.port, batch_size=20)
    clock = Clock()
    await enqueue_many(database, settings, 500, clock)

    databases = [Database(settings.database_url), Database(settings.database_url)]
    workers = [make_worker(db, settings, clock, name=f"worker-{n}") for n, db in enumerate(databases)]
    try:
        await asyncio.gather(*(drain(worker) for worker in workers))
    finally:
        for db in databases:
            await db.dispose()

    rows = await all_rows(database)
    counts = Counter(smtp_server.message_ids())
    assert len(rows) == 500
    assert set(counts) == {row.message_id for row in rows}
    assert set(counts.values()) == {1}
    assert {row.status for row in rows} == {"sent"}
    # Both really took part (the claim kept the name of the worker that sent).
    assert {row.claimed_by for row in rows} == {"worker-0", "worker-1"}


async def test_refused_address_is_parked_after_retries_and_can_be_requeued(
    database: Database, settings: Settings, smtp_server: SmtpServer
) -> None:
    settings = mail_settings(settings, smtp_server.port, max_attempts=3)
    clock = Clock()
    smtp_server.reject("nobody@example.org")
    await enqueue_many(database, settings, 5, clock)
    async with database.transaction() as session:
        bounce = await enqueue(session, settings=settings, kind="reminder", recipient="nobody@example.org",
                               language="de", context=BOOKING_CONTEXT, now=clock())

    worker = make_worker(database, settings, clock)
    await drain(worker)
    (after_first,) = [row for row in await all_rows(database) if row.id == bounce.id]
    assert (after_first.status, after_first.attempts) == ("pending", 1)  # retried, not parked at once
    assert "550" in after_first.last_error and "permanent" in after_first.last_error

    for _ in range(settings.mail.max_attempts):
        clock.advance(settings.mail.retry_max_seconds + 1)
        await drain(worker)

    rows = {row.id: row for row in await all_rows(database)}
    assert (rows[bounce.id].status, rows[bounce.id].attempts) == ("parked", 3)
    assert "550" in rows[bounce.id].last_error
    others = [row for row in rows.values() if row.id != bounce.id]
    assert {row.status for row in others} == {"sent"}
    assert Counter(smtp_server.message_ids()) == Counter({row.message_id: 1 for row in others})

    async with database.reader() as session:
        parked = await list_parked(session)
    assert [row.id for row in parked] == [bounce.id]

    smtp_server.accept_all()
    async with database.transaction() as session:
        requeued = await retry_parked(session, bounce.id, now=clock())
        assert (requeued.status, requeued.attempts) == ("pending", 0)
        with pytest.raises(NotParked):
            await retry_parked(session, others[0].id)  # type: ignore[arg-type]
    assert await worker.run_once() == 1
    assert smtp_server.message_ids().count(bounce.message_id) == 1
    async with database.reader() as session:
        assert await list_parked(session) == []


async def test_run_forever_sends_until_stopped(
    database: Database, settings: Settings, smtp_server: SmtpServer
) -> None:
    settings = mail_settings(settings, smtp_server.port, poll_seconds=0.05, batch_size=2)
    async with database.transaction() as session:
        for number in range(5):
            await enqueue(session, settings=settings, kind="reminder", recipient=f"loop{number}@example.org",
                          language="de", context=BOOKING_CONTEXT)
    worker = OutboxWorker(database, settings, SmtpSender(settings.mail), "loop")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        for _ in range(400):  # a generous bound, not a timing assertion
            if len(smtp_server.messages) >= 5:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    assert task.done() and task.exception() is None
    assert sorted(item.rcpt_tos[0] for item in smtp_server.messages) == [f"loop{n}@example.org" for n in range(5)]
    assert {row.status for row in await all_rows(database)} == {"sent"}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_tls_and_login(database: Database, settings: Settings, tmp_path, security: str) -> None:  # type: ignore[no-untyped-def]
    cert, key = self_signed_certificate(tmp_path)
    server = SmtpServer(**tls_options(cert, key, username="mailer", password="s3cret", implicit=security == "tls"))
    server.start()
    try:
        settings = mail_settings(
            settings, server.port, smtp_security=security, smtp_username="mailer", smtp_password="s3cret"
        )
        clock = Clock()
        await enqueue_many(database, settings, 1, clock)
        worker = OutboxWorker(
            database, settings, SmtpSender(settings.mail, tls_context=client_tls_context(cert)), "tls",
            clock=clock,
        )
        assert await worker.run_once() == 1
        assert len(server.messages) == 1

        received = server.messages[0]
        assert received.message.get_body(("plain",)) is not None
        assert [row.status for row in await all_rows(database)] == ["sent"]
    finally:
        server.stop()
