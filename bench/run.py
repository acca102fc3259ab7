"""Every comparison of issue 10 in one go; writes bench/RESULTS.md.

    python3 tasks.py bench            (or: .venv/bin/python bench/run.py [--duration 12] [--quick])
    .venv/bin/python bench/run.py --only create [--compare-with /work/main]   (printed only)

1. Create rate: 10 concurrent httpx clients for ``--duration`` seconds, non-overlapping
   bookings over 500 rooms of a site open around the clock (no approval), against
   - the bare endpoint (bench/bare_app.py): one INSERT via asyncpg, and via SQLAlchemy Core,
     on PostgreSQL with 2 app processes; the checked insert via aiosqlite on SQLite with 1;
   - ``POST /api/v1/bookings`` of the app (``booking.asgi:create`` under uvicorn), same setup.
   p50, p99, rate and the ratio to the bare endpoint.
2. Feeds (5,000 events, 100,000 bookings, bench/calendar_bench.py's data): first request
   after a restart (the document rendered by the previous process is in the database),
   unchanged, 304, the first change after a restart, after one booking changed; against Radicale serving the same events.
3. Availability search at a million bookings (PostgreSQL): "rooms free Tuesday 18–20" over
   500 resources through ``GET /api/v1/resources?kind=room&free_from=…&free_until=…``, with
   the plan of the holdings query (EXPLAIN ANALYZE).

Benchmarks print figures; nothing here fails on a timing. The machine may be shared with other
work: RESULTS.md says so, and figures vary from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import calendar_bench as cb  # noqa: E402
from booking.auth.tokens import hash_token  # noqa: E402
from booking.db import Database  # noqa: E402
from booking.db.migrate import upgrade  # noqa: E402

CLIENTS = 10
ROOMS = 500
API_TOKEN = "bk_benchmark-token-0123456789abcdefghijklmnopqrstuv"
SCALE_BOOKINGS = 1_000_000


# --------------------------------------------------------------------------- load generator


@dataclass
class LoadResult:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    first_error: str = ""
    #: CPU seconds of the server processes per request, warm-up included (less load-bound than the rate)
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _slot(number: int, origin: datetime) -> tuple[int, str, str]:
    resource_id = number % ROOMS + 1
    starts_at = origin + timedelta(hours=number // ROOMS)
    return resource_id, starts_at.isoformat(), (starts_at + timedelta(minutes=50)).isoformat()


async def _load(name: str, url: str, headers: dict[str, str], duration: float, origin: datetime, extra: dict) -> LoadResult:
    result = LoadResult(name)
    counter = iter(range(10**9))
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            resource_id, starts_at, ends_at = _slot(next(counter), origin)
            body = {"resource_id": resource_id, "starts_at": starts_at, "ends_at": ends_at, **extra}
            started = time.perf_counter()
            try:
                response = await client.post(url, json=body, headers=headers)
                ok = response.status_code in (200, 201)
                if not ok and not result.first_error:
                    result.first_error = f"{response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as error:
                ok = False
                result.first_error = result.first_error or repr(error)
            if ok:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        # Warm up the connections and the server processes first.
        for _ in range(CLIENTS * 2):
            resource_id, starts_at, ends_at = _slot(next(counter), origin)
            await client.post(url, json={"resource_id": resource_id, "starts_at": starts_at, "ends_at": ends_at, **extra}, headers=headers)
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
        result.seconds = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------- servers


@contextlib.contextmanager
def uvicorn(factory: str, env: dict[str, str], workers: int, root: Path = ROOT) -> Iterator[str]:
    """``factory`` served by uvicorn, imported from the checkout ``root`` (default: this one)."""
    with served(factory, env, workers, root) as (base_url, _process):
        yield base_url


def server_cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU time of ``process`` and its descendants (uvicorn's workers), from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family = {process.pid}
    grew = True
    while grew:
        grown = {pid for pid, parent in parents.items() if parent in family} | family
        grew, family = grown != family, grown
    return sum(times.get(pid, 0.0) for pid in family)


@contextlib.contextmanager
def served(factory: str, env: dict[str, str], workers: int, root: Path = ROOT) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``uvicorn`` that also hands out the server process (for its CPU time)."""
    port = cb.free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=root, env={**os.environ, **env, "PYTHONPATH": str(root)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(base_url + "/health", process, factory)
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker finish its start
        yield base_url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], what: str, seconds: float = 300) -> None:
    """Like calendar_bench.wait_until_up, with room for a loaded machine (several workers start)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"{what} exited early:\n{output}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


def booking_env(database_url: str, base_url_port_hint: str = "http://127.0.0.1") -> dict[str, str]:
    return {
        "BOOKING_DATABASE_URL": database_url,
        "BOOKING_SECRET_KEY": "bench-secret-" + "x" * 40,
        "BOOKING_RUN_WORKER_IN_PROCESS": "false",
        "BOOKING_BASE_URL": base_url_port_hint,
    }


# --------------------------------------------------------------------------- data


def _pg_database(name: str) -> str | None:
    saved = cb.PG_DATABASE
    cb.PG_DATABASE = name
    try:
        return cb.postgres_url()
    finally:
        cb.PG_DATABASE = saved


async def _fill_create_data(database: Database) -> None:
    from booking.models import ApiToken, Resource, Site, User

    now = datetime.now(UTC)
    async with database.transaction() as session:
        connection = await session.connection()
        await connection.execute(User.__table__.insert(), [{  # type: ignore[attr-defined]
            "id": 1, "email": "bench@example.org", "display_name": "Bench Booker", "language": "de", "is_city_admin": False,
            "is_active": True, "session_epoch": 0, "created_at": now}])
        await connection.execute(ApiToken.__table__.insert(), [{  # type: ignore[attr-defined]
            "id": 1, "user_id": 1, "name": "bench", "token_hash": hash_token(API_TOKEN), "created_at": now}])
        await connection.execute(Site.__table__.insert(), [{  # type: ignore[attr-defined]
            "id": 1, "name": "Rund um die Uhr", "address": "Straße 1", "timezone": "Europe/Berlin",
            "contact_email": "site@example.org", "description": "", "opening_hours": {}, "created_at": now}])
        await connection.execute(Resource.__table__.insert(), [{  # type: ignore[attr-defined]
            "id": index, "site_id": 1, "kind": "room", "name": f"Raum {index:03d}", "category": "Seminar", "description": "",
            "accessibility_notes": "", "capacity": 1, "seats": 12, "visibility": "public", "is_active": True, "created_at": now}
            for index in range(1, ROOMS + 1)])
        if database.is_postgresql:
            for table in ("user", "api_token", "site", "resource"):
                await session.exec(cb._text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))  # type: ignore[call-overload]


def prepare_create_database(url: str) -> None:
    upgrade(url)

    async def run() -> None:
        database = Database(url)
        try:
            await _fill_create_data(database)
        finally:
            await database.dispose()

    asyncio.run(run())


def prepare_bare_table(mode: str, dsn: str) -> None:
    from bench import bare_app

    if mode == "aiosqlite":
        import sqlite3

        connection = sqlite3.connect(dsn)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(bare_app.TABLE_SQL_SQLITE)
        connection.execute(bare_app.INDEX_SQL)
        connection.commit()
        connection.close()
        return
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(bare_app.TABLE_SQL_PG)
            await connection.execute(bare_app.INDEX_SQL)
        finally:
            await connection.close()

    asyncio.run(run())


# --------------------------------------------------------------------------- runs


def _measured_load(name: str, served_at: tuple[str, subprocess.Popen[bytes]], path: str, headers: dict[str, str],
                   duration: float, origin: datetime) -> LoadResult:
    """One create-rate measurement against a served app, with its server processes' CPU per request."""
    base, process = served_at
    cpu_before = server_cpu_seconds(process)
    result = asyncio.run(_load(name, base + path, headers, duration, origin, {}))
    result.server_cpu = (server_cpu_seconds(process) - cpu_before) / max(1, len(result.latencies) + result.errors + CLIENTS * 2)
    print(f"  {name:<66} {result.rate:8.1f}/s  p50 {result.percentile(0.5) * 1000:7.1f} ms  "
          f"p99 {result.percentile(0.99) * 1000:7.1f} ms  server CPU {result.server_cpu * 1000:5.2f} ms/request  "
          f"errors {result.errors} {result.first_error[:80]}")
    return result


#: A ratio's two sides are measured in turns (bare, app, bare, app), each for its share of the
#: duration: the machine's speed drifts within a minute on a shared host (a side measured 12 s
#: after the other saw a different machine); the turns see the same drift.
TURNS = 3

_Served = tuple[str, dict[str, str], int]


def _interleaved(reference: tuple[str, _Served, str, dict[str, str]], measured: tuple[str, _Served, str, dict[str, str]],
                 duration: float, origin: datetime) -> tuple[LoadResult, LoadResult]:
    """Both servers up at once, loaded in ``TURNS`` alternating turns; each side's turns merged.
    Every turn books its own days (no turn meets an earlier one's bookings)."""
    (reference_name, reference_app, reference_path, reference_headers) = reference
    (measured_name, measured_app, measured_path, measured_headers) = measured
    parts: dict[str, list[LoadResult]] = {reference_name: [], measured_name: []}
    with served(*reference_app) as reference_server, served(*measured_app) as measured_server:
        for turn in range(TURNS):
            turn_origin = origin + timedelta(days=7 * turn)
            parts[reference_name].append(_measured_load(
                f"{reference_name} (turn {turn + 1})", reference_server, reference_path, reference_headers, duration / TURNS, turn_origin))
            parts[measured_name].append(_measured_load(
                f"{measured_name} (turn {turn + 1})", measured_server, measured_path, measured_headers, duration / TURNS, turn_origin))
    merged = tuple(_merged(name, results) for name, results in parts.items())
    for result in merged:
        print(f"  {result.name:<66} {result.rate:8.1f}/s  p50 {result.percentile(0.5) * 1000:7.1f} ms  "
              f"p99 {result.percentile(0.99) * 1000:7.1f} ms  server CPU {(result.server_cpu or 0) * 1000:5.2f} ms/request  "
              f"errors {result.errors}  (all turns)")
    return merged  # type: ignore[return-value]


def _merged(name: str, parts: list[LoadResult]) -> LoadResult:
    requests = [len(part.latencies) + part.errors for part in parts]
    cpu = sum((part.server_cpu or 0) * max(1, count) for part, count in zip(parts, requests, strict=True)) / max(1, sum(requests))
    return LoadResult(
        name, [latency for part in parts for latency in part.latencies], sum(part.errors for part in parts),
        sum(part.seconds for part in parts), next((part.first_error for part in parts if part.first_error), ""), cpu,
    )


def run_create(duration: float, skip_postgresql: bool, scratch: Path) -> list[tuple[str, LoadResult, LoadResult | None]]:
    rows: list[tuple[str, LoadResult, LoadResult | None]] = []
    origin = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}

    def load(name: str, served_at: tuple[str, subprocess.Popen[bytes]], path: str, hdrs: dict[str, str], shift_days: int) -> LoadResult:
        return _measured_load(name, served_at, path, hdrs, duration, origin + timedelta(days=shift_days))

    print("\n== create rate (10 clients) ==")
    if not skip_postgresql:
        url = _pg_database("booking_bench_create")
        if url is None:
            print("PostgreSQL does not listen on 127.0.0.1:5432: skipped")
        else:
            dsn = url.replace("postgresql+asyncpg://", "postgresql://")
            prepare_bare_table("asyncpg", dsn)
            with served("bench.bare_app:create", {"BARE_MODE": "asyncpg", "BARE_DATABASE": dsn}, 2) as base:
                bare_pg = load("PostgreSQL, 2 procs: bare endpoint, asyncpg INSERT", base, "/bookings", {}, 0)
            prepare_create_database(url)
            core_pg, app_pg = _interleaved(
                ("PostgreSQL, 2 procs: bare endpoint, SQLAlchemy Core INSERT",
                 ("bench.bare_app:create", {"BARE_MODE": "core", "BARE_DATABASE": url}, 2), "/bookings", {}),
                ("PostgreSQL, 2 procs: POST /api/v1/bookings", ("booking.asgi:create", booking_env(url), 2), "/api/v1/bookings", headers),
                duration, origin,
            )
            rows += [("PostgreSQL bare asyncpg", bare_pg, None), ("PostgreSQL bare SQLAlchemy Core", core_pg, None),
                     ("PostgreSQL POST /api/v1/bookings", app_pg, core_pg)]
    sqlite_file = scratch / "bare.sqlite3"
    prepare_bare_table("aiosqlite", str(sqlite_file))
    app_url = f"sqlite+aiosqlite:///{scratch / 'create.sqlite3'}"
    prepare_create_database(app_url)
    bare_sqlite, app_sqlite = _interleaved(
        ("SQLite, 1 proc: bare checked insert (BEGIN IMMEDIATE)",
         ("bench.bare_app:create", {"BARE_MODE": "aiosqlite", "BARE_DATABASE": str(sqlite_file)}, 1), "/bookings", {}),
        ("SQLite, 1 proc: POST /api/v1/bookings", ("booking.asgi:create", booking_env(app_url), 1), "/api/v1/bookings", headers),
        duration, origin,
    )
    rows += [("SQLite bare checked insert", bare_sqlite, None), ("SQLite POST /api/v1/bookings", app_sqlite, bare_sqlite)]
    return rows


def run_create_side_by_side(duration: float, skip_postgresql: bool, scratch: Path, other: Path) -> None:
    """The create rate of this checkout's app and of the app in ``other`` (e.g. the main branch),
    each against the bare endpoint, in one run: on a shared machine only ratios measured
    together compare. Each app gets a fresh database; the schema is this checkout's."""
    origin = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    checkouts = [("this checkout", ROOT), (f"{other}", other)]

    def load(name: str, served_at: tuple[str, subprocess.Popen[bytes]], path: str, hdrs: dict[str, str]) -> LoadResult:
        return _measured_load(name, served_at, path, hdrs, duration, origin)

    def ratios(bare: LoadResult, apps: list[LoadResult]) -> None:
        for app in apps:
            print(f"    {app.name}: {app.rate / bare.rate:.0%} of the bare endpoint" if bare.rate else "")

    print(f"\n== create rate (10 clients), side by side; load average {_load_average()} ==")
    if not skip_postgresql and _pg_database("booking_bench_create") is not None:
        url = _pg_database("booking_bench_create")
        assert url is not None
        prepare_bare_table("asyncpg", url.replace("postgresql+asyncpg://", "postgresql://"))
        with served("bench.bare_app:create", {"BARE_MODE": "core", "BARE_DATABASE": url}, 2) as server:
            core_pg = load("PostgreSQL, 2 procs: bare endpoint, SQLAlchemy Core INSERT", server, "/bookings", {})
        apps = []
        for label, root in checkouts:
            url = _pg_database("booking_bench_create")
            assert url is not None
            prepare_create_database(url)
            with served("booking.asgi:create", booking_env(url), 2, root) as server:
                apps.append(load(f"PostgreSQL, 2 procs: POST /api/v1/bookings ({label})", server, "/api/v1/bookings", headers))
        ratios(core_pg, apps)
    sqlite_file = scratch / "bare.sqlite3"
    prepare_bare_table("aiosqlite", str(sqlite_file))
    with served("bench.bare_app:create", {"BARE_MODE": "aiosqlite", "BARE_DATABASE": str(sqlite_file)}, 1) as server:
        bare_sqlite = load("SQLite, 1 proc: bare checked insert (BEGIN IMMEDIATE)", server, "/bookings", {})
    apps = []
    for index, (label, root) in enumerate(checkouts):
        app_url = f"sqlite+aiosqlite:///{scratch / f'create-{index}.sqlite3'}"
        prepare_create_database(app_url)
        with served("booking.asgi:create", booking_env(app_url), 1, root) as server:
            apps.append(load(f"SQLite, 1 proc: POST /api/v1/bookings ({label})", server, "/api/v1/bookings", headers))
    ratios(bare_sqlite, apps)
    print(f"  load average at the end {_load_average()}")


def _load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def run_feeds(rounds: int, skip_postgresql: bool, scratch: Path) -> tuple[dict[str, dict[str, cb.Timing]], cb.Timing | None]:
    print("\n== feeds (5,000 events) ==")
    backends = [("SQLite", f"sqlite+aiosqlite:///{scratch / 'feeds.sqlite3'}")]
    if not skip_postgresql:
        url = _pg_database("booking_bench")
        if url is not None:
            backends.insert(0, ("PostgreSQL", url))
    results: dict[str, dict[str, cb.Timing]] = {}
    body = b""
    for label, url in backends:
        count = cb.prepare(url)
        print(f"{label}: {count:,} bookings")
        path = f"/feeds/{cb.FEED_TOKEN}.ics"
        timings: dict[str, cb.Timing] = {}
        # One public base URL for both processes, as in production: it is part of the ETag.
        env = booking_env(url, "http://bench.example")
        with uvicorn("booking.asgi:create", env, 1) as base, httpx.Client(base_url=base, timeout=600) as client:
            timings["first_ever"] = cb.timed("feed, first request ever (nothing stored)", 1, lambda: client.get(path))
        # A new process: its memory is empty, the document the last one rendered is stored.
        with uvicorn("booking.asgi:create", env, 1) as base, httpx.Client(base_url=base, timeout=600) as client:
            server = _child_pid("uvicorn")
            timings["after_restart"] = _with_cpu(label, server, lambda: cb.timed("feed, first request after a restart", 1, lambda: client.get(path)))
            first = client.get(path)
            body = first.content
            timings["unchanged"] = _with_cpu(label, server, lambda: cb.timed("feed, unchanged (200, full body)", rounds, lambda: client.get(path)))
            etag = first.headers["etag"]
            timings["not_modified"] = _with_cpu(label, server, lambda: cb.timed(
                "feed, If-None-Match (304)", rounds, lambda: client.get(path, headers={"If-None-Match": etag}), expect=304))
            ids = iter(range(1, cb.FEED_BOOKINGS, 97))

            def touch() -> None:
                async def run() -> None:
                    database = Database(url)
                    try:
                        await cb.touch_one_booking(database, next(ids))
                    finally:
                        await database.dispose()

                asyncio.run(run())

            # The first change after a start rebuilds the process's events of the feed from all its
            # rows (one sample, its own line); every later change patches them.
            timings["first_change"] = _with_cpu(label, server, lambda: cb.timed(
                "feed, first change after a restart (200)", 1, lambda: client.get(path), before=touch))
            timings["changed"] = _with_cpu(label, server, lambda: cb.timed(
                "feed after one booking changed (200)", max(5, rounds // 4), lambda: client.get(path), before=touch))
        for timing in timings.values():
            print(timing.line())
        results[label] = timings
    radicale = None
    try:
        radicale = cb.bench_radicale(body, max(10, rounds // 2)) if body else None
        if radicale:
            print(radicale.line())
    except Exception as error:  # noqa: BLE001 - Radicale missing: the rest still counts
        print(f"Radicale not measured: {error}")
    return results, radicale


# CPU seconds per request of the app process, by (backend label, timing name), for RESULTS.md.
_FEED_CPU: dict[tuple[str, str], float] = {}


def _with_cpu(label: str, server: int | None, measure) -> cb.Timing:  # type: ignore[no-untyped-def]
    """``measure()``, noting the app process's CPU time per request it took."""
    before = _cpu_seconds(server)
    timing = measure()
    _FEED_CPU[(label, timing.name)] = (_cpu_seconds(server) - before) / len(timing.samples)
    return timing


async def _fill_scale(database: Database, bookings: int) -> None:
    """500 rooms over 10 sites; ``bookings`` hour slots over two years (bulk SQL in PostgreSQL)."""
    await _fill_create_data(database)
    async with database.transaction() as session:
        await session.exec(cb._text(  # type: ignore[call-overload]
            "INSERT INTO site (id, name, address, timezone, contact_email, description, opening_hours, created_at) "
            "SELECT g, 'Ort ' || g, 'Straße', 'Europe/Berlin', 'site' || g || '@example.org', '', '{}'::json, now() "
            "FROM generate_series(2, 10) g"))
        await session.exec(cb._text("UPDATE resource SET site_id = 1 + (id - 1) % 10"))  # type: ignore[call-overload]
        # Slot n of resource r: day n / 14, hour 8 + n % 14 (UTC), from 70 days ago on; a fifth cancelled.
        await session.exec(cb._text(  # type: ignore[call-overload]
            "INSERT INTO booking (resource_id, quantity, starts_at, ends_at, status, is_exclusive, organisation_id, booker_id,"
            " title, purpose, is_public, sequence, decision_reason, created_at, updated_at) "
            "SELECT r, 1, s, s + interval '50 minutes', CASE WHEN (k + k / 500) % 5 = 0 THEN 'cancelled' ELSE 'confirmed' END, true,"
            " NULL, 1, 'Treffen', '', false, 0, '', now(), now() FROM ("
            "  SELECT k, 1 + (k % 500) AS r, k / 500 AS n,"
            "   date_trunc('day', now() - interval '70 days') + (((k / 500) / 14) * interval '1 day')"
            "     + ((8 + (k / 500) % 14) * interval '1 hour') AS s"
            f"  FROM generate_series(0, {bookings - 1}) k) slots"))
        await session.exec(cb._text("ANALYZE"))  # type: ignore[call-overload]


def run_availability(rounds: int, skip_postgresql: bool, bookings: int, *, reuse: bool = False,
                     keep: bool = False) -> tuple[cb.Timing | None, str]:
    print(f"\n== availability search, {bookings:,} bookings, {ROOMS} rooms (PostgreSQL) ==")
    if skip_postgresql:
        return None, ""
    url = _scale_database(reuse)
    if url is None:
        return None, ""
    try:
        return _measure_availability(url, rounds, bookings, reuse)
    finally:
        if not keep:
            _drop_database(SCALE_DATABASE)


SCALE_DATABASE = "booking_bench_scale"


def _scale_database(reuse: bool) -> str | None:
    """The scale database: dropped and created, or with ``reuse`` the last one as it is (filled
    once: a million rows take minutes to insert and index)."""
    if not reuse:
        return _pg_database(SCALE_DATABASE)
    return f"postgresql+asyncpg://{cb.PG_USER}@{cb.PG_HOST}:{cb.PG_PORT}/{SCALE_DATABASE}"


def _drop_database(name: str) -> None:
    subprocess.run(["psql", "-h", cb.PG_HOST, "-U", cb.PG_USER, "-d", "postgres", "-qc",
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)


async def _booking_count(url: str) -> int:
    import asyncpg

    try:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    except Exception:  # noqa: BLE001 - no such database yet
        return 0
    try:
        return await connection.fetchval("SELECT count(*) FROM booking")
    except Exception:  # noqa: BLE001 - not migrated yet
        return 0
    finally:
        await connection.close()


def _measure_availability(url: str, rounds: int, bookings: int, reuse: bool) -> tuple[cb.Timing, str]:
    if reuse and asyncio.run(_booking_count(url)) >= bookings:
        upgrade(url)  # the current head's indexes
        print(f"  reusing {SCALE_DATABASE}")
    else:
        if reuse:
            url = _pg_database(SCALE_DATABASE) or url
        upgrade(url)

        async def fill() -> None:
            database = Database(url)
            try:
                await _fill_scale(database, bookings)
            finally:
                await database.dispose()

        started = time.perf_counter()
        asyncio.run(fill())
        print(f"  filled in {time.perf_counter() - started:.0f} s")
    today = datetime.now(cb.BERLIN).date()
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    free_from = datetime.combine(tuesday, datetime.min.time(), cb.BERLIN).replace(hour=18)
    windows = [("Tuesday 18-20", free_from),
               # 06:00 UTC: before the bench's 08-22 UTC slots, every room is free.
               ("Tuesday 06-08 UTC (all free)", datetime.combine(tuesday, datetime.min.time(), UTC).replace(hour=6))]
    timing: cb.Timing | None = None
    with cb.booking_server(url) as base, httpx.Client(base_url=base, timeout=120) as client:
        server = _child_pid("uvicorn")
        for label, start in windows:
            params = {"kind": "room", "free_from": start.isoformat(), "free_until": (start + timedelta(hours=2)).isoformat()}
            answer = client.get("/api/v1/resources", params=params)
            found = len(answer.json()) if answer.status_code == 200 else answer.text[:200]
            cpu_before, backends_before = _cpu_seconds(server), _backend_cpu_seconds(SCALE_DATABASE)
            measured = cb.timed(f"rooms free {label} ({found} of {ROOMS} free)", rounds,
                                lambda params=params: client.get("/api/v1/resources", params=params))
            cpu = (_cpu_seconds(server) - cpu_before) / rounds
            backends = (_backend_cpu_seconds(SCALE_DATABASE) - backends_before) / rounds
            print(f"{measured.line()}  CPU per request: app {cpu * 1000:.1f} ms, PostgreSQL {backends * 1000:.1f} ms")
            timing = timing or measured
            _AVAILABILITY_LINES.append((measured, cpu, backends))
    plan = asyncio.run(_explain(url, free_from))
    print(plan)
    return timing, plan  # type: ignore[return-value]


# (timing, CPU seconds per request of the app and of its PostgreSQL backends) of every window
# measured, for RESULTS.md: on a loaded machine the wall time is mostly waiting for a core.
_AVAILABILITY_LINES: list[tuple[cb.Timing, float, float]] = []


def _child_pid(name: str) -> int | None:
    """The pid of this process's child whose command line names ``name`` (the server)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and name in (entry / "cmdline").read_text():
                return int(entry.name)
    return None


def _backend_cpu_seconds(database: str) -> float:
    """CPU time of the PostgreSQL backends connected to ``database`` (their process titles name it)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if f" {database} ".encode() in (entry / "cmdline").read_bytes().replace(b"\0", b" "):
                    total += _cpu_seconds(int(entry.name))
    return total


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _explain(url: str, free_from: datetime) -> str:
    """EXPLAIN ANALYZE of the query the search really sends: run the service's loader once with
    the SQL captured, then explain that SQL with its own parameters."""
    from sqlalchemy import event

    from booking.domain.intervals import Interval
    from booking.services.loading import load_holding_summaries

    database = Database(url)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    try:
        window = Interval(free_from.astimezone(UTC), (free_from + timedelta(hours=2)).astimezone(UTC))
        async with database.reader() as session:
            event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
            try:
                await load_holding_summaries(session, list(range(1, ROOMS + 1)), window, timedelta(0), now=datetime.now(UTC))
            finally:
                event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
            statement, parameters = captured[-1]
            connection = await session.connection()
            result = await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) " + statement,
                                                      parameters)  # type: ignore[arg-type]
            return "\n".join(row[0] for row in result)
    finally:
        await database.dispose()


# --------------------------------------------------------------------------- report


def versions() -> str:
    import importlib.metadata as metadata

    names = ["litestar", "uvicorn", "sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "httpx", "icalendar", "radicale"]
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    pg = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-Atc", "SHOW server_version"],
                        capture_output=True, text=True, check=False).stdout.strip()
    import sqlite3

    return f"Python {platform.python_version()}, PostgreSQL {pg or '?'}, SQLite {sqlite3.sqlite_version}; " + ", ".join(found)


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


#: RESULTS.md below this line is kept as it is by a full run (earlier ``--only`` sections, the
#: report bench's figures): a full run rewrites only what stands above it.
KEPT_MARKER = "<!-- Sections below are kept by bench/run.py: earlier runs and other benches. -->"


def write_results(create: list, feeds: dict, radicale: cb.Timing | None, availability: cb.Timing | None, plan: str, args,
                  load_before: tuple[float, float, float]) -> str:
    load = os.getloadavg()
    lines = [
        "# Benchmark results (issue 10)",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `python3 tasks.py bench` (bench/run.py, duration {args.duration:.0f} s)",
        f"- Machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
        f"load average before {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, "
        f"at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        "- Client, servers and databases share the cores: read the ratios measured in the same run rather than",
        "  absolute figures, and the CPU time per request where it is given (it depends less on the load).",
        f"- Versions: {versions()}",
        "",
        "## Create rate (10 concurrent clients, non-overlapping bookings over 500 rooms)",
        "",
        "| | rate | p50 | p99 | errors | server CPU per request | ratio to bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, result, reference in create:
        ratio = f"{result.rate / reference.rate:.0%} of {reference.name.split(': ', 1)[1]}" if reference and reference.rate else ""
        cpu = ms(result.server_cpu) if result.server_cpu is not None else ""
        lines.append(f"| {label} | {result.rate:.0f} /s | {ms(result.percentile(0.5))} | {ms(result.percentile(0.99))} | {result.errors} "
                     f"| {cpu} | {ratio} |")
    lines += ["", "Goals: PostgreSQL (2 procs) >= 50 % of the SQLAlchemy-Core endpoint; SQLite >= 50 % of the bare checked",
              "insert; p99 < 100 ms at 10 clients.", "", "## Feeds (5,000 events, 100,000 bookings, one keep-alive client)", ""]
    lines += feeds_section(feeds, radicale)[3:]
    lines += ["", "\"First request after a restart\": a new server process whose memory is empty; the document the",
              "previous process rendered is read from `feed_document_cache` while the feed's ETag still matches.",
              "Goals: first request after a restart < 150 ms; after one change >= 30x Radicale; 304 < 2 ms of server time.", ""]
    lines += [f"## Availability search ({args.scale_bookings:,} bookings, {ROOMS} rooms, PostgreSQL)", ""]
    if availability:
        lines += [f"`GET /api/v1/resources?kind=room&free_from=<Tuesday 18:00>&free_until=<20:00>`: p50 {ms(availability.p50)}, "
                  f"p95 {ms(availability.p95)} over {len(availability.samples)} requests (goal: p50 < 30 ms).", ""]
        lines += availability_section(args)[2:]
        lines += ["", "Plan of the holdings query:", "", "```", plan, "```"]
    else:
        lines.append("not measured (no PostgreSQL)")
    text = "\n".join(lines) + "\n"
    path = ROOT / "bench" / "RESULTS.md"
    previous = path.read_text() if path.exists() else ""
    kept = previous[previous.index(KEPT_MARKER):] if KEPT_MARKER in previous else KEPT_MARKER + "\n"
    path.write_text(text + "\n" + kept)
    return text


def only_create(args: argparse.Namespace, scratch: Path) -> None:
    """``--only create``: the create rates, printed (side by side with ``--compare-with``)."""
    if args.compare_with:
        run_create_side_by_side(args.duration, args.skip_postgresql, scratch, args.compare_with.resolve())
    else:
        run_create(args.duration, args.skip_postgresql, scratch)
        print(f"  load average at the end {_load_average()}")


# --only PART: one function per part of the run.
ONLY = {
    "create": only_create,
    "availability": lambda args, scratch: print("\n" + run_one_part(args, scratch)),
    "feeds": lambda args, scratch: print("\n" + run_one_part(args, scratch)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=12.0, help="seconds of load per create measurement")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--scale-bookings", type=int, default=SCALE_BOOKINGS)
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--quick", action="store_true", help="short run to check the script (3 s, 10 rounds, 50,000 bookings)")
    parser.add_argument("--only", choices=sorted(ONLY),
                        help="run one part: create is printed; availability and feeds append their section to RESULTS.md")
    parser.add_argument("--compare-with", type=Path, metavar="CHECKOUT",
                        help="with --only create: also the app of another checkout (e.g. /work/main), in the same run")
    parser.add_argument("--reuse", action="store_true", help="availability: time the last scale database again (kept with --keep)")
    parser.add_argument("--keep", action="store_true", help="availability: keep the scale database for --reuse (dropped otherwise)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds, args.scale_bookings = 3.0, 10, 50_000
    scratch = Path(tempfile.mkdtemp(prefix="booking-bench-run-"))
    try:
        if args.only:
            ONLY[args.only](args, scratch)
            return
        load_before = os.getloadavg()
        create = run_create(args.duration, args.skip_postgresql, scratch)
        feeds, radicale = run_feeds(args.rounds, args.skip_postgresql, scratch)
        availability, plan = run_availability(args.rounds, args.skip_postgresql, args.scale_bookings, reuse=args.reuse, keep=args.keep)
        print("\n" + write_results(create, feeds, radicale, availability, plan, args, load_before))
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


def run_one_part(args: argparse.Namespace, scratch: Path) -> str:
    """``--only availability|feeds``: run that part and append a labelled section to RESULTS.md."""
    load_before = os.getloadavg()
    if args.only == "availability":
        run_availability(args.rounds, args.skip_postgresql, args.scale_bookings, reuse=args.reuse, keep=args.keep)
        body = availability_section(args)
    else:
        feeds, radicale = run_feeds(args.rounds, args.skip_postgresql, scratch)
        body = feeds_section(feeds, radicale)
    load_after = os.getloadavg()
    heading = [
        "", f"## `--only {args.only}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
        f"- Machine: {platform.node()}, {os.cpu_count()} cores; load average before {load_before[0]:.1f} / "
        f"{load_before[1]:.1f} / {load_before[2]:.1f}, after {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f}"
        " (shared with other work: read the ratios measured side by side)",
        f"- Versions: {versions()}", "",
    ]
    text = "\n".join(heading + body) + "\n"
    with (ROOT / "bench" / "RESULTS.md").open("a") as results:
        results.write(text)
    return text


def availability_section(args: argparse.Namespace) -> list[str]:
    lines = [f"Availability search, {args.scale_bookings:,} bookings over {ROOMS} rooms (PostgreSQL), "
             "`GET /api/v1/resources?kind=room&free_from=…&free_until=…`, one keep-alive client:", "",
             "| window | p50 | p95 | CPU per request: app | CPU per request: PostgreSQL |", "|---|---|---|---|---|"]
    for timing, cpu, backends in _AVAILABILITY_LINES:
        lines.append(f"| {timing.name} | {ms(timing.p50)} | {ms(timing.p95)} | {ms(cpu)} | {ms(backends)} |")
    return lines


def feeds_section(feeds: dict[str, dict[str, cb.Timing]], radicale: cb.Timing | None) -> list[str]:
    lines = ["Feeds (5,000 events, 100,000 bookings, one keep-alive client); app CPU: the server process's CPU time",
             "per request (what a quiet machine's latency would be without the database's share):", "",
             "| | p50 | p95 | rate | x Radicale | app CPU per request |", "|---|---|---|---|---|---|"]
    if radicale:
        lines.append(f"| Radicale GET of the same collection | {ms(radicale.p50)} | {ms(radicale.p95)} | {radicale.rate:.1f} /s | 1.0 | |")
    for label, timings in feeds.items():
        for timing in timings.values():
            ratio = f"{timing.rate / radicale.rate:.1f}" if radicale else ""
            cpu = _FEED_CPU.get((label, timing.name))
            lines.append(f"| {label}: {timing.name} | {ms(timing.p50)} | {ms(timing.p95)} | {timing.rate:.1f} /s | {ratio} | "
                         f"{ms(cpu) if cpu is not None else ''} |")
    return lines


if __name__ == "__main__":
    main()
