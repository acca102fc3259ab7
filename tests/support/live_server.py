"""A real `booking` server in child processes on loopback, for race and browser tests."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from booking.resources import CHECKOUT_ROOT
from tests.support.world import TEST_PASSWORD_COST_ENV


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(
    database_url: str, *, workers: int = 1, extra_env: dict[str, str] | None = None, via_cli: bool = False,
    log_level: str = "warning", log_file: Path | None = None,
) -> Iterator[str]:
    """Serve the app with uvicorn (``workers`` processes) and yield its base URL.

    ``via_cli``: start it the way operators do, with ``booking serve``.
    ``log_file``: where the server's output goes (read it after requests); else a pipe.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **TEST_PASSWORD_COST_ENV,
        "BOOKING_DATABASE_URL": database_url,
        "BOOKING_SECRET_KEY": secrets.token_hex(32),
        "BOOKING_RUN_WORKER_IN_PROCESS": "false",
        "BOOKING_BASE_URL": base_url,
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "booking.asgi:create",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", log_level,
        "--no-proxy-headers",  # like `booking serve`: the app decides which proxies to believe
    ]
    if via_cli:
        command = [sys.executable, "-m", "booking", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(workers), "--log-level", log_level]
    output = open(log_file, "ab") if log_file is not None else subprocess.PIPE  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=CHECKOUT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90  # a busy CI machine starts slowly
        while True:
            if process.poll() is not None:
                early = process.stdout.read().decode() if process.stdout else log_file.read_text() if log_file else ""
                raise RuntimeError(f"server exited early:\n{early}")
            try:
                if httpx.get(base_url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not come up within 90 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if log_file is not None:
            output.close()  # type: ignore[union-attr]
