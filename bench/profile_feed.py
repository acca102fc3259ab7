"""Where one feed request spends its Python: the app in this process, driven through httpx's
ASGI transport (no network, no uvicorn), under cProfile, on bench/calendar_bench.py's data
(100,000 bookings, the public feed of the resource with 5,000).

    .venv/bin/python bench/profile_feed.py [--kind 304|unchanged|changed] [--requests 200] [--postgresql] [--top 40]

Prints, per kind of request, the CPU time and Python calls per request and the SQL statements
per request (an SQLAlchemy event listener counts them), then the top functions of ``--kind``.
``changed``: before every request one booking of the feed gets a new SEQUENCE and
``updated_at`` by SQL (as bench/run.py does), outside the profiler. ``first-change``: the
first change after a start (the process's caches emptied, the feed served once from the
stored document, then one booking changed): what a restarted process pays once.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import calendar_bench as cb  # noqa: E402
from bench import profiling  # noqa: E402

PATH = f"/feeds/{cb.FEED_TOKEN}.ics"


def main() -> None:
    arguments = profiling.parser(__doc__.split("\n")[0], requests=200, postgresql_database="booking_bench_profile_feed")
    arguments.add_argument("--kind", choices=("304", "unchanged", "changed", "first-change"), default="304")
    args = arguments.parse_args()
    app = profiling.app_on_fresh_data(args, postgresql_database="booking_bench_profile_feed", prepare=cb.prepare)
    booking_ids = iter(range(1, cb.FEED_BOOKINGS, 7))

    async def session() -> None:
        async with app.lifespan():
            database = app.state["app_context"].database
            statements: list[str] = []

            def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
                statements.append(" ".join(statement.split())[:160])

            for engine in database.engines:
                event.listen(engine.sync_engine, "before_cursor_execute", record)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench.example") as client:
                first = await client.get(PATH)
                assert first.status_code == 200, first.status_code
                etag = first.headers["etag"]
                kinds = ("304", "unchanged", "changed")
                for kind in kinds:
                    profiler = cProfile.Profile()
                    profiled_client = httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=profiling.profiled(app, profiler)), base_url="http://bench.example"
                    )
                    await profiled_client.get(PATH)  # warm: this kind's first request is not counted
                    cpu = 0.0
                    statements.clear()
                    rounds = args.requests if kind != "changed" else max(5, args.requests // 10)
                    for _ in range(rounds):
                        headers = {"If-None-Match": etag} if kind == "304" else {}
                        if kind == "changed":
                            mark = len(statements)
                            await cb.touch_one_booking(database, next(booking_ids))
                            del statements[mark:]  # the change is not the request's
                        started = time.process_time()
                        response = await profiled_client.get(PATH, headers=headers)
                        cpu += time.process_time() - started
                        expected = 304 if kind == "304" else 200
                        if response.status_code != expected:
                            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:200]}")
                    stats = pstats.Stats(profiler)
                    print(f"{kind}: {cpu / rounds * 1000:.2f} ms CPU per request (client included), "
                          f"{stats.total_calls / rounds:,.0f} Python calls per request, "  # type: ignore[attr-defined]
                          f"{len(statements) / rounds:.1f} SQL statements per request")
                    if kind == args.kind:
                        print("  statements of the last request:")
                        for statement in statements[-(len(statements) // rounds):]:
                            print("   ", statement)
                        if args.dump:
                            stats.dump_stats(args.dump)
                        stats.sort_stats(args.sort).print_stats(args.top)
                    await profiled_client.aclose()
                from booking.services import feeds

                profiler = cProfile.Profile()
                profiled_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=profiling.profiled(app, profiler)), base_url="http://bench.example")
                rounds = 5
                for use in (client, profiled_client):  # without the profiler first: its CPU time is the figure
                    cpu = 0.0
                    for _ in range(rounds):
                        # As after a restart: the stopping app stored its last document, the new one has nothing else.
                        await feeds.store_pending_documents(app.state["app_context"])
                        feeds.clear_document_cache()
                        assert (await client.get(PATH)).status_code == 200
                        await cb.touch_one_booking(database, next(booking_ids))
                        statements.clear()
                        started = time.process_time()
                        response = await use.get(PATH)
                        cpu += time.process_time() - started
                        assert response.status_code == 200
                    if use is client:
                        print(f"first-change: {cpu / rounds * 1000:.2f} ms CPU per request (client included), "
                              f"{len(statements)} SQL statements")
                stats = pstats.Stats(profiler)
                print(f"first-change: {stats.total_calls / rounds:,.0f} Python calls per request")  # type: ignore[attr-defined]
                if args.kind == "first-change":
                    for statement in statements:
                        print("   ", statement)
                    stats.sort_stats(args.sort).print_stats(args.top)
                await profiled_client.aclose()

    asyncio.run(session())


if __name__ == "__main__":
    main()
