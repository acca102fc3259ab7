"""Hand one finished message to the SMTP server (aiosmtplib).

Errors come out as two kinds the worker can tell apart:

- ``PermanentDeliveryError``: the server answered 5xx (unknown mailbox, refused sender,
  bad credentials). Retrying rarely helps, but a misconfiguration fixed by an admin would —
  the worker retries a few times with backoff and then parks the message.
- ``TemporaryDeliveryError``: no connection, a timeout, a dropped connection or a 4xx answer.

Transient failures are logged once per episode (``DeliveryEpisodes``), not once per message:
with the server away for an hour, every queued message fails on every retry, and a warning
each time would bury everything else in the log. The first failure logs a warning naming the
error; the next ones are only counted; the first message the server accepts again ends the
episode with one line saying how many attempts failed. Each message's own error stays in its
outbox row (``last_error``), and a parked message is still logged by the worker.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence

import aiosmtplib

from booking.settings import MailSettings

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Sending failed. ``code`` is the SMTP reply code when the server gave one."""

    permanent = False

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentDeliveryError(DeliveryError):
    """The server refused with a 5xx reply."""

    permanent = True


class TemporaryDeliveryError(DeliveryError):
    """Connection problems or a 4xx reply; worth retrying later."""


class DeliveryEpisodes:
    """Is delivery failing transiently, since which error, and for how many attempts."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.failed_attempts = 0

    @property
    def failing(self) -> bool:
        return self.failed_attempts > 0

    def failed(self, error: DeliveryError) -> None:
        self.failed_attempts += 1
        if self.failed_attempts == 1:
            reason = " ".join(str(error).split())[:300]
            log.warning(
                "mail delivery through %s fails (%s); messages stay queued and are retried, "
                "further failures are not logged until a message goes through", self.server, reason,
            )

    def succeeded(self) -> None:
        if self.failed_attempts:
            log.info("mail delivery through %s works again (%d attempts had failed)", self.server, self.failed_attempts)
            self.failed_attempts = 0


class SmtpSender:
    """Sends raw messages with the settings' SMTP server, one connection per message.

    ``smtp_security``: "none" (plain, never upgrade), "starttls" (upgrade, required) or
    "tls" (implicit TLS, usually port 465). Logs in when ``smtp_username`` is set.
    """

    def __init__(
        self, mail: MailSettings, *, envelope_from: str | None = None, tls_context: ssl.SSLContext | None = None
    ) -> None:
        from email.utils import parseaddr

        self.mail = mail
        self.envelope_from = envelope_from or parseaddr(mail.sender)[1]
        self.tls_context = tls_context
        self.episodes = DeliveryEpisodes(f"{mail.smtp_host}:{mail.smtp_port}")

    def _client(self) -> aiosmtplib.SMTP:
        security = self.mail.smtp_security
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"mail.smtp_security must be none, starttls or tls, not {security!r}")
        return aiosmtplib.SMTP(
            hostname=self.mail.smtp_host,
            port=self.mail.smtp_port,
            username=self.mail.smtp_username or None,
            password=self.mail.smtp_password if self.mail.smtp_username else None,
            timeout=self.mail.smtp_timeout_seconds,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            tls_context=self.tls_context,
        )

    async def send(self, raw: str, recipient: str | Sequence[str]) -> str:
        """Deliver ``raw`` (ASCII, CRLF) to ``recipient``; returns the server's DATA reply.

        Returns only after the server accepted the message for every recipient. A temporary
        failure is logged only when it starts an episode (see the module docstring).
        """
        try:
            reply = await self._send(raw, recipient)
        except TemporaryDeliveryError as error:
            self.episodes.failed(error)
            raise
        self.episodes.succeeded()
        return reply

    async def _send(self, raw: str, recipient: str | Sequence[str]) -> str:
        recipients = [recipient] if isinstance(recipient, str) else list(recipient)
        client = self._client()
        try:
            async with client:
                errors, reply = await client.sendmail(self.envelope_from, recipients, raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _from_refusals(exc.recipients) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _from_code(exc.code, f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if errors:
            # Accepted for some recipients only: report the refusals (we send to one address).
            refused = [
                aiosmtplib.SMTPRecipientRefused(response.code, response.message, address)
                for address, response in errors.items()
            ]
            raise _from_refusals(refused)
        return reply


def _from_code(code: int | None, text: str) -> DeliveryError:
    if code is not None and 500 <= code < 600:
        return PermanentDeliveryError(text, code=code)
    return TemporaryDeliveryError(text, code=code)


def _from_refusals(refusals: Sequence[aiosmtplib.SMTPRecipientRefused]) -> DeliveryError:
    text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refusals)
    codes = [r.code for r in refusals]
    # Temporary if any recipient might still work later.
    code = min(codes) if codes and all(500 <= c < 600 for c in codes) else next(
        (c for c in codes if not 500 <= c < 600), None
    )
    return _from_code(code, f"recipient refused: {text}")
