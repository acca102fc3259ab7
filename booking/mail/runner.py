"""Running the outbox worker: inside `booking serve` (default) or as `booking worker`.

Besides sending, the loop queues scheduled messages (reminders, overdue notices) once a
minute; their dedupe keys make that safe with several workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from booking.db.errors import is_unavailable
from booking.mail.sender import SmtpSender
from booking.mail.worker import OutboxWorker
from booking.services.context import AppContext

log = logging.getLogger(__name__)
SCHEDULE_EVERY_SECONDS = 60.0


def make_worker(app: AppContext) -> OutboxWorker:
    return OutboxWorker(
        app.database, app.settings, SmtpSender(app.settings.mail), clock=app.clock,
        lease_seconds=app.settings.mail.lease_seconds,
    )


async def run_loop(app: AppContext, stop: asyncio.Event) -> None:
    """Send and schedule until ``stop`` is set; errors are logged and retried, never fatal."""
    from booking.services.reminders import run_scheduled_jobs

    worker = make_worker(app)
    loop = asyncio.get_running_loop()
    next_schedule = 0.0
    while not stop.is_set():
        try:
            if loop.time() >= next_schedule:
                await run_scheduled_jobs(app)
                next_schedule = loop.time() + SCHEDULE_EVERY_SECONDS
            claimed = await worker.run_once()
        except Exception as error:  # noqa: BLE001 - the database may be away for a moment; keep going
            if is_unavailable(error):
                app.database.outage.failed(error)  # one line per outage, not one per round
            else:
                log.exception("mail worker round failed")
            claimed = 0
        if claimed:
            continue
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=app.settings.mail.poll_seconds)


def start_in_process_worker(app: AppContext, stop: asyncio.Event) -> asyncio.Task[None]:
    return asyncio.create_task(run_loop(app, stop), name="booking-mail-worker")


async def run_worker_until_interrupted(app: AppContext, *, once: bool = False) -> None:
    try:
        if once:
            from booking.services.reminders import run_scheduled_jobs

            await run_scheduled_jobs(app)
            worker = make_worker(app)
            while await worker.run_once():
                pass
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        print(f"mail worker sending through {app.settings.mail.smtp_host}:{app.settings.mail.smtp_port}", flush=True)
        await run_loop(app, stop)
    finally:
        await app.database.dispose()
