"""Where one ``POST /api/v1/bookings`` spends its Python: the app in this process, driven
through httpx's ASGI transport (no network, no uvicorn), under cProfile.

    .venv/bin/python bench/profile_create.py [--requests 300] [--postgresql] [--top 40] [--sort tottime]

Fills the same data as bench/run.py's create rate (500 rooms open around the clock, one API
token), warms up, then profiles ``--requests`` sequential creates. Prints the Python calls per
create (the figure issue 10 tracks: it falls with every layer of work taken out of the hot path)
and the top functions. Sequential requests: the concurrency of the real benchmark changes the
waiting, not the work per request.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import profiling  # noqa: E402
from bench import run as bench_run  # noqa: E402


async def _drive(app, count: int, origin: datetime, first: int) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {bench_run.API_TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.example") as client:
        for number in range(first, first + count):
            resource_id, starts_at, ends_at = bench_run._slot(number, origin)  # noqa: SLF001
            response = await client.post("/api/v1/bookings", headers=headers,
                                         json={"resource_id": resource_id, "starts_at": starts_at, "ends_at": ends_at})
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")


def main() -> None:
    args = profiling.parser(__doc__.split("\n")[0], requests=300, postgresql_database="booking_bench_profile").parse_args()
    app = profiling.app_on_fresh_data(args, postgresql_database="booking_bench_profile", prepare=bench_run.prepare_create_database)
    origin = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)

    async def session() -> float:
        async with app.lifespan():
            await _drive(app, 20, origin, 0)
            profiler = cProfile.Profile()
            started = time.perf_counter()
            await _drive(profiling.profiled(app, profiler), args.requests, origin, 20)
            elapsed = time.perf_counter() - started
        stats = pstats.Stats(profiler)
        print(f"{args.requests} creates ({'PostgreSQL' if args.postgresql else 'SQLite'}): "
              f"{elapsed / args.requests * 1000:.2f} ms each (wall, under the profiler, client included), "
              f"{stats.total_calls / args.requests:,.0f} Python calls per create")  # type: ignore[attr-defined]
        if args.dump:
            stats.dump_stats(args.dump)
        stats.sort_stats(args.sort).print_stats(args.top)
        return elapsed

    asyncio.run(session())


if __name__ == "__main__":
    main()
