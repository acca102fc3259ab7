"""A local SMTP server that keeps every message as an .eml file: for demos and development.

`booking mailcatcher` listens on the configured SMTP port (1025 by default), so that the
demo's verification and login links can be read in data_dir/mail/ (var/mail/ in a checkout) without a real mail server.
Never use it in production: it accepts mail for anyone and delivers nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path


class SaveToDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}.eml"
        path.write_bytes(envelope.content)
        subject = message_from_bytes(envelope.content, policy=default).get("Subject", "")
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {subject}  ->  {path}", flush=True)
        return "250 OK"


async def serve(host: str, port: int, directory: Path) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(SaveToDirectory(directory), hostname=host, port=port)
    controller.start()
    print(f"mail catcher on {host}:{port}, saving to {directory}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        controller.stop()
