"""A real `booking worker` process killed (SIGKILL) in the middle of a batch loses nothing.

After its lease runs out another worker sends what was left; a message the dead worker had
handed to the server but not yet marked sent may arrive twice — with the same Message-ID and
the same bytes, so receivers can recognise it. Both databases, a real SMTP server.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlmodel import func, select

from booking.mail.outbox import enqueue
from booking.models import OutboxMessage
from booking.resources import CHECKOUT_ROOT

MESSAGES = 20
LEASE_SECONDS = 3


def worker_env(db_url: str, smtp_port: int, lease_seconds: float = LEASE_SECONDS) -> dict[str, str]:
    return {
        **os.environ,
        "BOOKING_DATABASE_URL": db_url,
        "BOOKING_MAIL__SMTP_PORT": str(smtp_port),
        "BOOKING_MAIL__POLL_SECONDS": "0.2",
        "BOOKING_MAIL__LEASE_SECONDS": str(lease_seconds),
        "BOOKING_MAIL__RETRY_BASE_SECONDS": "1",
    }


async def test_killed_worker_loses_nothing(database, db_url, settings, smtp_server):
    async with database.transaction() as session:
        for index in range(MESSAGES):
            await enqueue(
                session, settings=settings, kind="login_link", recipient=f"person{index}@example.org", language="de",
                context={"link_url": f"/login/link/token-{index}", "expires_in": timedelta(minutes=30)},
            )
    smtp_server.handler.delay_seconds = 0.25
    env = worker_env(db_url, smtp_server.port)
    worker = subprocess.Popen([sys.executable, "-m", "booking", "worker"], cwd=CHECKOUT_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(smtp_server.messages) < 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    worker.kill()
    worker.wait(timeout=10)
    delivered_before_kill = len(smtp_server.messages)
    assert 5 <= delivered_before_kill < MESSAGES, "the worker should die in the middle of the batch"

    async with database.reader() as session:
        unsent = (await session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))).one()
    assert unsent > 0

    smtp_server.handler.delay_seconds = 0
    await asyncio.sleep(LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
    # The second worker's own lease is long: it does not start a send in the last half of its
    # lease, and on a busy machine 15 sends may take longer than half of the dead worker's 3 s.
    survivor_env = worker_env(db_url, smtp_server.port, lease_seconds=120)
    finished = subprocess.run([sys.executable, "-m", "booking", "worker", "--once"], cwd=CHECKOUT_ROOT, env=survivor_env,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr

    async with database.reader() as session:
        statuses = Counter((await session.exec(select(OutboxMessage.status))).all())
        stored_ids = set((await session.exec(select(OutboxMessage.message_id))).all())
    assert statuses == {"sent": MESSAGES}
    received = Counter(message.message_id for message in smtp_server.messages)
    assert set(received) == stored_ids
    assert max(received.values()) <= 2
    # A duplicate is byte for byte the same message.
    by_id: dict[str, set[bytes]] = {}
    for message in smtp_server.messages:
        by_id.setdefault(message.message_id, set()).add(message.data)
    assert all(len(versions) == 1 for versions in by_id.values())
