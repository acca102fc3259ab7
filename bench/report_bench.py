"""Report benchmark: the figures of the yearly report over a million bookings on PostgreSQL.

    .venv/bin/python bench/report_bench.py [--bookings 1000000] [--rounds 5]

A fresh database ``booking_report_bench`` on 127.0.0.1:5432 (dropped and created), migrated;
25 sites, 500 resources (rooms, desks, things), 2,000 organisations, 5,000 people and N bookings
over 2025 and 2026 written by ``INSERT … SELECT generate_series`` (not the service), then
``ANALYZE``. Rebuilds the report summary (the fill bypasses the sessions that note changes), then
times ``services.reporting.build_report`` for 2026 from the summary (what /admin/bericht runs;
the yearly page runs it twice, for the year and the one before), the refresh after one booking
changed, and the direct SQL figures (``build_report_direct``, the "before") side by side, and
prints p50 and max. Nothing is asserted on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from booking.db import Database  # noqa: E402
from booking.db.migrate import upgrade  # noqa: E402
from booking.services import reporting  # noqa: E402
from booking.services.context import AppContext  # noqa: E402
from booking.settings import load_settings  # noqa: E402

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
PG_DATABASE = "booking_report_bench"

FILL = [
    """INSERT INTO site (name, address, timezone, contact_email, description, opening_hours, created_at)
       SELECT 'Ort ' || n, '', 'Europe/Berlin', 'ort' || n || '@example.org', '',
              '{"mon": [["08:00", "22:00"]], "tue": [["08:00", "22:00"]], "wed": [["08:00", "22:00"]],
                "thu": [["08:00", "22:00"]], "fri": [["08:00", "22:00"]], "sat": [["10:00", "18:00"]]}', now()
       FROM generate_series(1, 25) n""",
    """INSERT INTO resource (site_id, kind, name, category, description, accessibility_notes, capacity, visibility, is_active, created_at)
       SELECT 1 + (n % 25), (ARRAY['room', 'desk', 'item'])[1 + n % 3], 'Angebot ' || n, 'Kategorie ' || (n % 7), '', '',
              CASE WHEN n % 3 = 0 THEN 1 ELSE 1 + n % 5 END, 'public', true, now()
       FROM generate_series(1, 500) n""",
    """INSERT INTO organisation (name, description, created_at) SELECT 'Verein ' || n, '', now() FROM generate_series(1, 2000) n""",
    """INSERT INTO "user" (email, display_name, language, is_city_admin, is_active, session_epoch, created_at)
       SELECT 'person' || n || '@example.org', 'Person ' || n, 'de', false, true, 0, now() FROM generate_series(1, 5000) n""",
    """INSERT INTO booking (resource_id, quantity, starts_at, ends_at, status, is_exclusive, organisation_id, booker_id,
                           title, purpose, is_public, sequence, decision_reason, created_at, updated_at)
       SELECT 1 + (n % 500), 1,
              timestamptz '2025-01-01 07:00+00' + (n % 730) * interval '1 day' + (n % 12) * interval '1 hour',
              timestamptz '2025-01-01 07:00+00' + (n % 730) * interval '1 day' + (n % 12) * interval '1 hour' + interval '2 hours',
              (ARRAY['confirmed', 'confirmed', 'returned', 'checked_out', 'cancelled', 'declined', 'requested'])[1 + n % 7],
              false, CASE WHEN n % 5 = 0 THEN NULL ELSE 1 + (n * 7) % 2000 END, 1 + (n * 13) % 5000,
              'Titel', '', false, 0, CASE WHEN n % 2 = 0 THEN 'belegt' ELSE '' END, now(), now()
       FROM generate_series(1, :bookings) n""",
    """INSERT INTO booking_event (booking_id, action, from_status, to_status, reason, details, at)
       SELECT id, 'cancel', 'confirmed', 'cancelled', '', '{}', starts_at - (id % 20) * interval '1 day'
       FROM booking WHERE status = 'cancelled'""",
    """INSERT INTO unmet_demand (resource_id, requested_starts_at, requested_ends_at, quantity, recorded_at)
       SELECT 1 + (n % 500), timestamptz '2025-01-01 09:00+00' + (n % 730) * interval '1 day',
              timestamptz '2025-01-01 11:00+00' + (n % 730) * interval '1 day', 1, now()
       FROM generate_series(1, :bookings / 50) n""",
]


async def recreate() -> None:
    import asyncpg

    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    finally:
        await admin.close()


async def fill(database: Database, bookings: int) -> None:
    async with database.engine.begin() as connection:
        for statement in FILL:
            await connection.execute(text(statement), {"bookings": bookings} if ":bookings" in statement else {})
        await connection.execute(text("ANALYZE"))


CPU_TIMES: list[float] = []


async def _backend_cpu_seconds(database: Database) -> float:
    """CPU seconds used so far by the PostgreSQL backends of the bench database (from /proc: the
    server runs on this machine). With the Python process's own CPU time this estimates what a
    call costs on a quiet machine, when the shared machine's wall-clock times are inflated by
    other work."""
    import os

    async with database.engine.connect() as connection:
        pids = (await connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ))).scalars().all()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def _timed(rounds: int, work, database: Database | None = None) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    timings, result = [], None
    CPU_TIMES.clear()
    for _ in range(rounds):
        backend_before = await _backend_cpu_seconds(database) if database else 0.0
        cpu_before = time.process_time()
        started = time.perf_counter()
        result = await work()
        timings.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu_before
        if database:
            cpu += await _backend_cpu_seconds(database) - backend_before
        CPU_TIMES.append(cpu)
    return timings, result


def _ms(timings: list[float]) -> str:
    cpu = f"; CPU (Python + PostgreSQL backends) p50 {statistics.median(CPU_TIMES) * 1000:.0f} ms" if CPU_TIMES else ""
    return f"wall p50 {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms{cpu}"


async def _summary_sizes(database: Database) -> str:
    async with database.engine.connect() as connection:
        sizes = [
            (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("report_summary", "report_month_organisation", "report_month_person")
        ]
    return "summary rows {:,}, organisation sets {:,}, person sets {:,}".format(*sizes)


async def _page_timings(app: AppContext, rounds: int, path: str) -> list[float]:
    import httpx

    from booking.app import create_app
    from booking.auth.passwords import hash_password

    password = "bench-password-123"
    async with app.database.transaction() as session:
        await session.exec(text(
            "UPDATE \"user\" SET is_city_admin = true, password_hash = :hash, email_verified_at = now() "
            "WHERE email = 'person1@example.org'"
        ).bindparams(hash=hash_password(password, app.settings.auth.password_cost)))
    asgi = create_app(app.settings, app_context=app)
    timings = []
    CPU_TIMES.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://bench.local") as client:
        response = await client.post("/api/v1/auth/login", json={"email": "person1@example.org", "password": password})
        assert response.status_code == 200, response.text
        for _ in range(rounds):
            backend_before, cpu_before = await _backend_cpu_seconds(app.database), time.process_time()
            started = time.perf_counter()
            page = await client.get(path)
            timings.append(time.perf_counter() - started)
            CPU_TIMES.append(time.process_time() - cpu_before + await _backend_cpu_seconds(app.database) - backend_before)
            assert page.status_code == 200, page.status_code
    return timings


async def bench(url: str, bookings: int, rounds: int, direct_rounds: int, reuse: bool = False) -> None:
    from booking.services import report_summary

    database = Database(url)
    app = AppContext(database=database, settings=load_settings(env={}, database_url=url))
    if reuse:
        print(f"reusing the filled database; {await _summary_sizes(database)}")
    else:
        started = time.perf_counter()
        await fill(database, bookings)
        print(f"filled {bookings:,} bookings in {time.perf_counter() - started:.1f} s")
        # The fill wrote around the sessions, as an import would: build the summary once.
        started = time.perf_counter()
        await report_summary.rebuild(app)
        print(f"rebuild summary (booking report --rebuild-summary): {time.perf_counter() - started:.1f} s; "
              f"{await _summary_sizes(database)}")
    async with database.engine.begin() as connection:
        await connection.execute(text("ANALYZE report_summary, report_month_organisation, report_month_person"))
    period = reporting.Period.year(2026)

    timings, report = await _timed(rounds, lambda: reporting.build_report(app, period), database)
    print(f"build_report(2026) from the summary (/admin/bericht): {_ms(timings)} ({rounds} rounds; "
          f"{report.hours_booked:,.0f} hours booked, {report.organisations} organisations, {report.persons} persons)")

    async def yearly_page():  # type: ignore[no-untyped-def]
        await reporting.build_report(app, period)
        return await reporting.build_report(app, period.previous_year(), key_figures_only=True)

    timings, _ = await _timed(rounds, yearly_page, database)
    print(f"yearly page figures (2026 and 2025, /admin/bericht/2026): {_ms(timings)}")

    # One booking changes: the worker (or the next page view) recomputes its month only.
    async def change_and_refresh():  # type: ignore[no-untyped-def]
        async with app.database.transaction() as session:
            await session.exec(text("UPDATE booking SET quantity = 3 - quantity WHERE id = 4242"))
            await session.exec(text(
                "INSERT INTO report_summary_change (resource_id, starts_at) SELECT resource_id, starts_at FROM booking WHERE id = 4242"
            ))
        started = time.perf_counter()
        await report_summary.refresh(app)
        return time.perf_counter() - started

    CPU_TIMES.clear()
    refresh_timings = [await change_and_refresh() for _ in range(rounds)]
    print(f"refresh after one booking changed (one site-month recomputed): {_ms(refresh_timings)}")

    # The page itself, through the app (ASGI, no network): what a city administrator waits for.
    for path in ("/admin/bericht?since=2026-01&until=2026-12", "/admin/bericht/2026"):
        page_timings = await _page_timings(app, rounds, path)
        print(f"GET {path} (page, rendered): {_ms(page_timings)}")

    if direct_rounds:
        timings, direct = await _timed(direct_rounds, lambda: reporting.build_report_direct(app, period), database)
        current = await reporting.build_report(app, period)  # after the changes above
        same = reporting.tables_as_json(direct) == reporting.tables_as_json(current)
        print(f"build_report_direct(2026) from the bookings (before): {_ms(timings)} ({direct_rounds} rounds; "
              f"same tables as the summary: {same})")
    started = time.perf_counter()
    await reporting.open_data(app, period)
    print(f"open_data(2026): {(time.perf_counter() - started) * 1000:.0f} ms")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--direct-rounds", type=int, default=1, help="rounds of the direct SQL report (0: skip)")
    parser.add_argument("--reuse", action="store_true", help="time again on the database of the last run (no fill)")
    args = parser.parse_args()
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
    if not args.reuse:
        asyncio.run(recreate())
    upgrade(url)
    asyncio.run(bench(url, args.bookings, args.rounds, args.direct_rounds, args.reuse))


if __name__ == "__main__":
    main()
