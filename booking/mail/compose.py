"""Build the MIME message of one e-mail.

Shape (what Gmail and Outlook recognise as an invitation; cf. DESIGN.md "Calendar files")::

    multipart/mixed                                      (only when there is a calendar)
      multipart/alternative
        text/plain; charset="utf-8"                      quoted-printable
        text/html; charset="utf-8"                       quoted-printable
        text/calendar; method="REQUEST"; charset="UTF-8" base64, inline
      application/ics; name="invite.ics"                 base64, attachment

Without a calendar the message is just the multipart/alternative. The inline calendar part
makes clients show the invitation (an attachment alone is not seen as one — LibreBooking
#1336); the attachment lets people import it by hand. The ``method`` parameter always equals
the ``METHOD`` inside the calendar. Python's email package quotes parameter values
(``method="REQUEST"``), which RFC 2045 allows and which Outlook accepts (indico #5178).

Who the message is from (RFC 6047 iMIP, RFC 5545 SENT-BY, DMARC). The invitation's
ORGANIZER is the site's mailbox: replies (accept/decline) belong there. The message itself is
sent by the service through its own SMTP server, so ``From`` is the service's sender address,
with the site in the display name (``"Stadtteilhaus Nord via Buchungsservice"
<booking@city.example>``), and ``Reply-To`` is the site's mailbox. A ``From`` in the site's
own domain sent through our server would fail DMARC alignment (SPF and DKIM pass only for
the service's domain) and be rejected or filed as spam by the big mail providers. RFC 6047
(section 3, "Security Considerations") has receivers check the sender of an iMIP message
against the ORGANIZER, and RFC 5545 (3.2.18) provides SENT-BY for exactly this case — a
calendar user acting on behalf of the organizer — so the invite says
``ORGANIZER;CN=<site>;SENT-BY="mailto:<service sender>":mailto:<site mailbox>``
(``booking.services.notifications``): From and SENT-BY agree, clients show "sent by … on
behalf of …" instead of a spoofing warning, and no ``Sender`` header is needed because the
From address is the one that transmits the message (RFC 5322 3.6.2).

The calendar is passed as bytes and sent base64-encoded, so its CRLF line ends and its
75-octet folding survive byte for byte. Text parts are quoted-printable and headers RFC 2047
encoded, so the whole message is 7-bit ASCII with CRLF line ends (``email.policy.SMTP``) —
what ``aiosmtplib`` needs for a ``str`` message.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from booking.settings import Settings

CALENDAR_METHODS = frozenset({"REQUEST", "CANCEL", "PUBLISH", "REPLY"})
_METHOD_LINE = re.compile(rb"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)


class CalendarMethodMismatch(ValueError):
    """The ``method`` given for the MIME part differs from the METHOD in the calendar."""


def calendar_method_of(calendar: bytes) -> str | None:
    """The METHOD property of a VCALENDAR (``REQUEST``, ``CANCEL`` …), or None."""
    match = _METHOD_LINE.search(calendar)
    return match.group(1).decode("ascii").upper() if match else None


def sender_address(settings: Settings, display_name: str) -> Address:
    """``settings.mail.sender`` as an Address, shown as ``display_name`` (e.g. "Site via
    Service", see ``render_mail``); without one, as the sender's own display name."""
    configured_name, address = parseaddr(settings.mail.sender)
    if "@" not in address:
        raise ValueError(f"mail.sender is not an e-mail address: {settings.mail.sender!r}")
    local, _, domain = address.rpartition("@")
    return Address(display_name=header_text(display_name) or configured_name, username=local, domain=domain)


def service_name(settings: Settings) -> str:
    """The display name configured with ``mail.sender`` ("" when it has none)."""
    return parseaddr(settings.mail.sender)[0]


def header_text(value: str) -> str:
    """One line for a header (Subject, a display name): control characters dropped, line
    breaks and runs of spaces one space. A name stored with a line break must not end the
    header early or make the email package refuse the message."""
    return " ".join("".join(c for c in value if c.isspace() or unicodedata.category(c) != "Cc").split())


def _reply_to(address: str | None) -> Address | None:
    name, addr_spec = parseaddr(header_text(address or ""))
    if "@" not in addr_spec:
        return None
    try:
        return Address(display_name=name, addr_spec=addr_spec)
    except (ValueError, IndexError):  # the email package's parser errors are ValueErrors
        return None


def envelope_sender(settings: Settings) -> str:
    """The bare address for SMTP ``MAIL FROM``."""
    return _bare_address(settings.mail.sender)


@functools.lru_cache(maxsize=8)
def _bare_address(sender: str) -> str:
    # Cached: every booking's invite asks (issue 10), and parseaddr is slow.
    return parseaddr(sender)[1]


def _text_part(content: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=SMTP)
    # An explicit transfer encoding: with policy.SMTP (cte_type 8bit) the email package would
    # otherwise pick raw 8bit for short non-ASCII lines, and the message must stay ASCII.
    part.set_content(content, subtype=subtype, charset="utf-8", cte="quoted-printable")
    return part


def compose_message(
    *,
    settings: Settings,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    language: str,
    sender_name: str,
    calendar: bytes | None = None,
    calendar_method: str | None = None,
    now: datetime | None = None,
    reply_to: str | None = None,
) -> EmailMessage:
    """One complete message with a fresh Message-ID (read it from ``message["Message-ID"]``).

    ``calendar`` is an iCalendar object as bytes (CRLF line ends); ``calendar_method`` defaults
    to its METHOD and must equal it when given. ``reply_to``: the site's mailbox, where
    answers go (see the module docstring); left out when it is not an address.
    """
    message = EmailMessage(policy=SMTP)
    message["From"] = sender_address(settings, sender_name)
    message["To"] = recipient
    reply_address = _reply_to(reply_to)
    if reply_address is not None:
        message["Reply-To"] = reply_address
    message["Subject"] = header_text(subject)
    message["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    message["Message-ID"] = make_msgid(domain=settings.host_name)
    message["Auto-Submitted"] = "auto-generated"
    # Asks Exchange/Outlook not to answer with out-of-office notes.
    message["X-Auto-Response-Suppress"] = "All"
    message["MIME-Version"] = "1.0"

    alternative = MIMEPart(policy=SMTP)
    alternative.make_alternative()
    alternative.attach(_text_part(text, "plain"))
    alternative.attach(_text_part(html, "html"))

    if calendar is None:
        if calendar_method is not None:
            raise ValueError("calendar_method given without a calendar")
        message.make_alternative()
        for part in alternative.iter_parts():
            message.attach(part)
        _set_language(message, language)
        return message

    method = _checked_method(calendar, calendar_method)
    inline = MIMEPart(policy=SMTP)
    inline.set_content(
        calendar,
        maintype="text",
        subtype="calendar",
        cte="base64",
        params={"method": method, "charset": "UTF-8"},
    )
    alternative.attach(inline)

    attachment = MIMEPart(policy=SMTP)
    attachment.set_content(
        calendar,
        maintype="application",
        subtype="ics",
        cte="base64",
        disposition="attachment",
        filename="invite.ics",
        params={"name": "invite.ics"},
    )

    message.make_mixed()
    message.attach(alternative)
    message.attach(attachment)
    _set_language(message, language)
    return message


def _set_language(message: EmailMessage, language: str) -> None:
    # Only after make_mixed()/make_alternative(): they move every Content-* header of the
    # root into a new first subpart.
    message["Content-Language"] = language


def _checked_method(calendar: bytes, calendar_method: str | None) -> str:
    inside = calendar_method_of(calendar)
    if inside is None:
        raise CalendarMethodMismatch("the calendar has no METHOD property; an invite needs one")
    if calendar_method is not None and calendar_method.upper() != inside:
        raise CalendarMethodMismatch(
            f"calendar_method {calendar_method!r} differs from METHOD:{inside} in the calendar"
        )
    if inside not in CALENDAR_METHODS:
        raise CalendarMethodMismatch(f"unsupported iTIP method {inside!r}")
    return inside


def as_raw(message: EmailMessage) -> str:
    """The message as sent: ASCII, CRLF line ends."""
    return message.as_string(policy=SMTP)
