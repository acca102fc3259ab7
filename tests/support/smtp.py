"""A real SMTP server for tests: aiosmtpd's threaded Controller on 127.0.0.1.

``SmtpServer`` records every accepted message, can refuse chosen recipients with a 550,
and can be stopped and started again on the same port (to play "the server is down").

    server = SmtpServer()            # picks a free port, does not listen yet
    server.start()
    ... settings.mail.smtp_port = server.port ...
    server.reject("bounce@example.org")
    server.messages                  # list[ReceivedMessage]
    server.stop()

or as a fixture: ``smtp_server`` (started, stopped after the test).
"""

from __future__ import annotations

import asyncio

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # exactly as received after DATA (CRLF line ends)

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class RecordingHandler:
    """aiosmtpd handler: accepts and records, or answers 550 for addresses in ``rejected``."""

    messages: list[ReceivedMessage] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A slow server: seconds to wait before accepting each message's data.
    delay_seconds: float = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        with self.lock:
            refused = address.lower() in self.rejected
        if refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        with self.lock:
            self.messages.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A start/stop-able SMTP server on a fixed port.

    ``smtp_options`` go to aiosmtpd's ``SMTP`` (e.g. ``tls_context``, ``require_starttls``,
    ``auth_required``, ``authenticator``) — see ``starttls_options``.
    """

    def __init__(self, port: int | None = None, **smtp_options: Any) -> None:
        self.host = HOST
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.smtp_options = smtp_options
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        # A Controller owns an event loop that it closes on stop(); make a new one each time.
        controller = Controller(
            self.handler, hostname=self.host, port=self.port, ready_timeout=10, **self.smtp_options
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reject(self, *addresses: str) -> None:
        with self.handler.lock:
            self.handler.rejected.update(address.lower() for address in addresses)

    def accept_all(self) -> None:
        with self.handler.lock:
            self.handler.rejected.clear()

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    def message_ids(self) -> list[str]:
        return [received.message_id for received in self.messages]


def self_signed_certificate(directory: Path, host: str = HOST) -> tuple[Path, Path]:
    """A throwaway certificate for ``host`` (IP address SAN); returns (cert, key) paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def tls_options(
    cert: Path, key: Path, *, username: str, password: str, implicit: bool = False
) -> dict[str, Any]:
    """aiosmtpd options for a server that insists on TLS and then on AUTH.

    ``implicit``: TLS from the first byte (like port 465) instead of STARTTLS.
    """
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == username.encode() and (
            auth_data.password == password.encode()
        )
        return AuthResult(success=ok)

    if implicit:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; here the whole connection is TLS.
        return {
            "ssl_context": server_context,
            "auth_required": True,
            "auth_require_tls": False,
            "authenticator": authenticator,
        }
    return {
        "tls_context": server_context,
        "require_starttls": True,
        "auth_required": True,
        "auth_require_tls": True,
        "authenticator": authenticator,
    }


def client_tls_context(cert: Path) -> ssl.SSLContext:
    """A client context that trusts exactly the test certificate."""
    return ssl.create_default_context(cafile=str(cert))


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
