"""What bench/profile_create.py and bench/profile_feed.py share: the app in this process behind
httpx's ASGI transport, with cProfile switched on only while the app handles a request."""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import run as bench_run


def profiled(app, profiler: cProfile.Profile):  # type: ignore[no-untyped-def]
    """The app with the profiler on only while it handles a request (not the client's work)."""

    async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
        profiler.enable()
        try:
            await app(scope, receive, send)
        finally:
            profiler.disable()

    return asgi


def parser(description: str, *, requests: int, postgresql_database: str) -> argparse.ArgumentParser:
    """The options every profile takes; a profile adds its own."""
    arguments = argparse.ArgumentParser(description=description)
    arguments.add_argument("--requests", type=int, default=requests)
    arguments.add_argument("--postgresql", action="store_true", help=f"PostgreSQL ({postgresql_database}) instead of SQLite")
    arguments.add_argument("--top", type=int, default=40)
    arguments.add_argument("--sort", default="tottime")
    arguments.add_argument("--dump", help="also write the raw profile here (for pstats or snakeviz)")
    return arguments


def app_on_fresh_data(args: argparse.Namespace, *, postgresql_database: str, prepare: Callable[[str], None]):  # type: ignore[no-untyped-def]
    """The booking app on a database ``prepare`` filled: PostgreSQL's ``postgresql_database``
    (dropped and created) with ``--postgresql``, else a new SQLite file."""
    if args.postgresql:
        url = bench_run._pg_database(postgresql_database)  # noqa: SLF001
        if url is None:
            raise SystemExit("PostgreSQL does not listen on 127.0.0.1:5432")
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='booking-profile-')) / 'profile.sqlite3'}"
    prepare(url)
    os.environ.update(bench_run.booking_env(url, "http://bench.example"))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from booking.app import create_app
    from booking.settings import load_settings

    return create_app(load_settings())
