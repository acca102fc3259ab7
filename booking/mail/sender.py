"""Hand one finished message to the SMTP server (aiosmtplib).

Errors come out as two kinds the worker can tell apart:

- ``PermanentDeliveryError``: the server answered 5xx (unknown mailbox, refused sender,
  bad credentials). Retrying rarely helps, but a misconfiguration fixed by an admin would —
  the worker retries a few times with backoff and then parks the message.
- ``TemporaryDeliveryError``: no connection, a timeout, a dropped connection or a 4xx answer.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

import aiosmtplib

from booking.settings import MailSettings


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

        Returns only after the server accepted the message for every recipient.
        """
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
