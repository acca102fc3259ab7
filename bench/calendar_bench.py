"""Calendar benchmarks: a 5,000-booking feed against Radicale, and the month view over
200 resources / 100,000 bookings, on SQLite and PostgreSQL.

    .venv/bin/python bench/calendar_bench.py [--rounds 40] [--skip-postgresql] [--skip-radicale]

What it does, per database:
1. a fresh database (SQLite: a temporary file; PostgreSQL: ``booking_bench`` on
   127.0.0.1:5432, dropped and created), migrated with Alembic;
2. bulk SQL inserts (not the service): 25 sites x 20 resources (500), 100,000 bookings over a year
   around today, 5,000 of them on one resource (the feed), a public feed token for it;
3. the app under uvicorn on loopback (one worker, like ``booking serve``), timed with one
   keep-alive HTTP client, sequential requests:
   - feed, first request after start (both in-process caches empty; one sample),
   - feed after a booking changed (the document is rebuilt from the cached VEVENTs),
   - feed unchanged (200 with the full body, served from the document cache),
   - feed with If-None-Match (must answer 304),
   - month, week and agenda of all sites (paged, 30 resources a page; sizes printed);
4. Radicale (PyPI ``radicale``) on loopback, no auth, a temporary storage folder: the same
   5,000 events PUT into one collection, then GET of the collection .ics, timed the same way.

Prints p50/p95 per measurement and the ratio of request rates to Radicale's GET. Nothing is
asserted on timings (the 304 is checked: that is a behaviour).
"""

from __future__ import annotations

import argparse
import asyncio
import calendar as gregorian
import contextlib
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from booking.auth.tokens import hash_token  # noqa: E402
from booking.db import Database  # noqa: E402
from booking.db.migrate import upgrade  # noqa: E402
from booking.auth.passwords import HashCost, hash_password  # noqa: E402
from booking.models import Booking, FeedToken, Membership, Organisation, Resource, Site, SiteRole, User  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
SITES = 25
RESOURCES_PER_SITE = 20
BOOKINGS = 100_000
FEED_BOOKINGS = 5_000
FEED_TOKEN = "f_benchmark-feed-token-0123456789abcdefghijklmnop"
# The bench booker signs in for the pages of a person (lender inbox, series page, Ausgeliehen).
BENCH_EMAIL, BENCH_PASSWORD = "bench@example.org", "bench-passwort-2026"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, os.environ.get("BOOKING_BENCH_PG_USER", "postgres")
PG_DATABASE = "booking_bench"
OPEN_HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}


# --------------------------------------------------------------------------- data


def _slots(resource_count: int, per_resource: list[int], first_day: date, days: int) -> Iterator[tuple[int, datetime, datetime]]:
    """Non-overlapping hour-long slots per resource (capacity-1 resources may not overlap)."""
    rng = random.Random(20261125)
    hours = list(range(8, 22))
    for resource_index in range(resource_count):
        wanted = per_resource[resource_index]
        taken: set[tuple[int, int]] = set()
        while len(taken) < wanted:
            taken.add((rng.randrange(days), rng.choice(hours)))
        for day_offset, hour in sorted(taken):
            local = datetime.combine(first_day + timedelta(days=day_offset), datetime.min.time(), BERLIN).replace(hour=hour)
            starts_at = local.astimezone(UTC)
            yield resource_index, starts_at, starts_at + timedelta(minutes=rng.choice((30, 45, 60)))


async def fill(database: Database) -> tuple[int, int]:
    """Bulk-insert the benchmark data; returns (feed resource id, number of bookings)."""
    now = datetime.now(UTC)
    async with database.transaction() as session:
        connection = await session.connection()
        await connection.execute(User.__table__.insert(), [  # type: ignore[attr-defined]
            {"id": 1, "email": BENCH_EMAIL, "display_name": "Bench Booker", "language": "de", "is_city_admin": False,
             "is_active": True, "session_epoch": 0, "created_at": now, "password_hash": hash_password(BENCH_PASSWORD, HashCost()),
             "email_verified_at": now},
        ])
        await connection.execute(Organisation.__table__.insert(), [  # type: ignore[attr-defined]
            {"id": 1, "name": "Bench e. V.", "description": "Ein Verein zum Messen", "created_at": now, "listed_in_directory": True},
        ])
        await connection.execute(Site.__table__.insert(), [  # type: ignore[attr-defined]
            {"id": site, "name": f"Engagement-Ort {site:02d}", "address": f"Straße {site}", "timezone": "Europe/Berlin",
             "contact_email": f"site{site}@example.org", "description": "", "opening_hours": OPEN_HOURS, "created_at": now,
             "latitude": 54.78 + site / 1000, "longitude": 9.43 + site / 1000}
            for site in range(1, SITES + 1)
        ])
        # The booker is an admin of the organisation and a lender of every site: the lender's
        # inbox lists the requested bookings of all 500 resources.
        await connection.execute(Membership.__table__.insert(), [  # type: ignore[attr-defined]
            {"user_id": 1, "organisation_id": 1, "role": "admin", "created_at": now},
        ])
        await connection.execute(SiteRole.__table__.insert(), [  # type: ignore[attr-defined]
            {"user_id": 1, "site_id": site, "role": "lender", "created_at": now} for site in range(1, SITES + 1)
        ])
        resources = []
        for index in range(SITES * RESOURCES_PER_SITE):
            kind = ("room", "desk", "item")[index % 3]
            resources.append({
                "id": index + 1, "site_id": index // RESOURCES_PER_SITE + 1, "kind": kind, "name": f"{kind.title()} {index + 1:03d}",
                "category": ("Seminar", "Werkstatt", "Technik")[index % 3], "description": "", "accessibility_notes": "",
                "capacity": 1, "seats": 12 if kind == "room" else None, "visibility": "public", "is_active": True, "created_at": now,
            })
        await connection.execute(Resource.__table__.insert(), resources)  # type: ignore[attr-defined]
        resource_count = len(resources)
        others = BOOKINGS - FEED_BOOKINGS
        per_resource = [FEED_BOOKINGS] + [others // (resource_count - 1) + (1 if i < others % (resource_count - 1) else 0) for i in range(resource_count - 1)]
        first_day = (now - timedelta(days=60)).astimezone(BERLIN).date()
        rows = []
        statuses = ["confirmed"] * 17 + ["requested", "cancelled", "confirmed"]
        for number, (resource_index, starts_at, ends_at) in enumerate(_slots(resource_count, per_resource, first_day, 400), start=1):
            status = statuses[number % len(statuses)]
            if resource_index == 0 and status == "cancelled":
                status = "confirmed"  # the public feed shows all 5,000 (it leaves cancelled ones out)
            rows.append({
                "id": number, "resource_id": resource_index + 1, "quantity": 1, "starts_at": starts_at, "ends_at": ends_at,
                "status": status, "is_exclusive": True, "organisation_id": 1, "booker_id": 1,
                "title": f"Treffen {number}", "purpose": "Vereinsarbeit", "is_public": number % 10 == 0, "sequence": 0,
                "decision_reason": "", "created_at": now, "updated_at": now - timedelta(seconds=number),
            })
            if len(rows) == 5_000:
                await connection.execute(Booking.__table__.insert(), rows)  # type: ignore[attr-defined]
                rows = []
        if rows:
            await connection.execute(Booking.__table__.insert(), rows)  # type: ignore[attr-defined]
        await connection.execute(FeedToken.__table__.insert(), [  # type: ignore[attr-defined]
            {"id": 1, "owner_id": 1, "scope": "resource", "target_id": 1, "is_private": False,
             "token_hash": hash_token(FEED_TOKEN), "created_at": now},
        ])
        if database.is_postgresql:
            # Bulk inserts with explicit ids leave the sequences behind.
            for table in ("user", "organisation", "site", "resource", "booking", "feed_token", "membership", "site_role"):
                await session.exec(_text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))  # type: ignore[call-overload]
            await session.exec(_text("ANALYZE"))  # type: ignore[call-overload]
    async with database.reader() as session:
        count = (await session.exec(_text("SELECT count(*) FROM booking"))).one()[0]  # type: ignore[call-overload]
    return 1, count


def _text(sql: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    return text(sql)


async def touch_one_booking(database: Database, booking_id: int) -> None:
    """Change a booking of the feed (as the service would: updated_at and SEQUENCE)."""
    async with database.transaction() as session:
        await session.exec(  # type: ignore[call-overload]
            _text("UPDATE booking SET sequence = sequence + 1, updated_at = :now WHERE id = :id"),
            params={"now": datetime.now(UTC).replace(tzinfo=None) if database.is_sqlite else datetime.now(UTC), "id": booking_id},
        )


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"{what} exited early:\n{output}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up")


@contextlib.contextmanager
def booking_server(database_url: str) -> Iterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BOOKING_DATABASE_URL": database_url,
        "BOOKING_SECRET_KEY": secrets.token_hex(32),
        "BOOKING_RUN_WORKER_IN_PROCESS": "false",
        "BOOKING_BASE_URL": base_url,
    }
    factory = ["booking.asgi:create"]  # the production factory (it freezes the start-up heap)
    command = [sys.executable, "-m", "uvicorn", "--factory", *factory, "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until_up(base_url + "/health", process, "booking")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def radicale_server() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="radicale-bench-"))
    port = free_port()
    config = folder / "config"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[rights]\ntype = authenticated\n"
        f"[storage]\nfilesystem_folder = {folder / 'collections'}\n[logging]\nlevel = warning\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", process, "radicale")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    name: str
    samples: list[float]
    size: int = 0

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def rate(self) -> float:
        return len(self.samples) / sum(self.samples)

    def line(self, reference: Timing | None = None) -> str:
        ratio = f"  {self.rate / reference.rate:7.1f}x Radicale" if reference else ""
        return (f"  {self.name:<46} p50 {self.p50 * 1000:8.1f} ms   p95 {self.p95 * 1000:8.1f} ms   "
                f"{self.rate:8.1f} req/s  {self.size / 1024:7.0f} KiB{ratio}")


def timed(name: str, rounds: int, request: Callable[[], httpx.Response], expect: int = 200, before: Callable[[], None] | None = None) -> Timing:
    samples = []
    size = 0
    for _ in range(rounds):
        if before is not None:
            before()
        started = time.perf_counter()
        response = request()
        body = response.content
        samples.append(time.perf_counter() - started)
        if response.status_code != expect:
            raise RuntimeError(f"{name}: expected {expect}, got {response.status_code}: {response.text[:300]}")
        size = len(body)
    return Timing(name, samples, size)


# --------------------------------------------------------------------------- runs


def prepare(database_url: str) -> int:
    upgrade(database_url)

    async def run() -> int:
        database = Database(database_url)
        try:
            _, count = await fill(database)
            return count
        finally:
            await database.dispose()

    return asyncio.run(run())


def bench_backend(label: str, database_url: str, rounds: int) -> dict[str, Timing]:
    started = time.perf_counter()
    count = prepare(database_url)
    print(f"\n{label}: {count:,} bookings, {SITES * RESOURCES_PER_SITE} resources inserted in {time.perf_counter() - started:.1f} s")
    results: dict[str, Timing] = {}
    month = (datetime.now(BERLIN).date().replace(day=1) + timedelta(days=32)).replace(day=1)
    feed_path = f"/feeds/{FEED_TOKEN}.ics"

    async def touch(booking_id: int) -> None:
        database = Database(database_url)
        try:
            await touch_one_booking(database, booking_id)
        finally:
            await database.dispose()

    with booking_server(database_url) as base_url, httpx.Client(base_url=base_url, timeout=120) as client:
        results["feed_cold"] = timed("feed, first request (caches empty)", 1, lambda: client.get(feed_path))
        first = client.get(feed_path)
        events = first.content.count(b"BEGIN:VEVENT")
        results["feed_unchanged"] = timed("feed, unchanged (200, full body)", rounds, lambda: client.get(feed_path))
        etag = first.headers["etag"]
        results["feed_304"] = timed("feed, If-None-Match (304)", rounds, lambda: client.get(feed_path, headers={"If-None-Match": etag}), expect=304)
        booking_ids = iter(range(1, FEED_BOOKINGS, 97))
        results["feed_changed"] = timed(
            "feed after one booking changed (200)", max(5, rounds // 4), lambda: client.get(feed_path),
            before=lambda: asyncio.run(touch(next(booking_ids))),
        )
        month_path = f"/calendar?view=month&date={month.isoformat()}"
        page = client.get(month_path)
        rows = page.text.count("<th scope=\"row\">")
        results["month"] = timed(f"month view, all sites, page 1 ({rows} resources x {gregorian.monthrange(month.year, month.month)[1]} days)", rounds, lambda: client.get(month_path))
        site_path = f"/calendar?view=month&site=1&date={month.isoformat()}"
        results["month_site"] = timed("month view, one site (20 resources)", rounds, lambda: client.get(site_path))
        week_path = f"/calendar?view=week&date={month.isoformat()}"
        results["week"] = timed("week view, all sites, page 1", rounds, lambda: client.get(week_path))
        agenda_path = f"/calendar?view=agenda&date={month.isoformat()}"
        results["agenda"] = timed("agenda (7 days), all sites, page 1", rounds, lambda: client.get(agenda_path))
        # Every calendar page is paged by resources: the last page of each view, and the size of all.
        last = (SITES * RESOURCES_PER_SITE + 29) // 30
        for view in ("agenda", "week", "month"):
            size = len(client.get(f"/calendar?view={view}&date={month.isoformat()}&page={last}").content)
            print(f"  {view} page {last} of {last}: {size / 1024:.0f} KiB")
        page_sizes(client, base_url, month, heights=HEIGHTS)
    print(f"  (feed: {events:,} events, {len(first.content) / 1024:.0f} KiB; month page: {rows} resource rows)")
    results["_feed_body"] = Timing("body", [1.0], len(first.content))
    results["_feed_bytes"] = first.content  # type: ignore[assignment]
    return results


#: Measure the pages' heights at 360 px too (Chromium via Playwright): --heights.
HEIGHTS = False


def page_sizes(client: httpx.Client, base_url: str, month: date, *, heights: bool = False) -> None:
    """The size of the pages issue 12 made for phones, at this data (500 resources, 100,000
    bookings): bytes of HTML (uncompressed, and gzip as sent), and with ``heights`` the height in
    px of each page at 360 px wide. Signed in as the bench booker (lender of every site)."""
    import gzip

    signed_in = httpx.Client(base_url=base_url, timeout=120)
    login = signed_in.post("/api/v1/auth/login", json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
    login.raise_for_status()
    # A weekly series on a busy resource: some dates are refused and show their alternatives.
    first = month + timedelta(days=7)
    series = signed_in.post("/api/v1/series", json={
        "resource_id": 2, "starts_at": f"{first.isoformat()}T18:00:00", "duration_minutes": 120,
        "frequency": "weekly", "count": 12, "organisation_id": 1, "title": "Chorprobe", "mode": "book_free",
    })
    series_path = f"/bookings/series/{series.json()['id']}" if series.status_code == 201 else None
    pages = [
        ("home", "/", client),
        ("home, search rooms", "/?kind=room", client),
        ("calendar (default view)", "/calendar", client),
        ("calendar agenda, all sites, page 1", f"/calendar?view=agenda&date={month.isoformat()}", client),
        ("map /karte", "/karte", client),
        ("map with organisations", "/karte?organisations=1", client),
        ("directory /organisationen", "/organisationen", client),
        ("lender requests (Anfragen)", "/lender/", signed_in),
        ("lent out", "/lender/lent-out", signed_in),
        ("borrowed (Ausgeliehen)", "/bookings/loans", signed_in),
    ]
    if series_path:
        pages.append(("series page (12 dates)", series_path, signed_in))
    else:
        print(f"  (series not created: {series.status_code} {series.text[:200]})")
    measured: list[tuple[str, str, int, int, int]] = []
    for name, path, http in pages:
        answer = http.get(path)
        body = answer.content
        measured.append((name, path, answer.status_code, len(body), len(gzip.compress(body, 6))))
    height_of: dict[str, int] = {}
    if heights:
        height_of = _heights_at_360(base_url, [(path, http is signed_in) for _, path, http in pages], signed_in)
    print("  page sizes (HTML; gzip as sent; height at 360 px):")
    for name, path, status, size, compressed in measured:
        height = f"{height_of[path]:6d} px" if path in height_of else ""
        print(f"    {name:38s} {status}  {size / 1024:7.0f} KiB  {compressed / 1024:5.0f} KiB gz  {height}")
    signed_in.close()


def _heights_at_360(base_url: str, pages: list[tuple[str, bool]], signed_in: httpx.Client) -> dict[str, int]:
    from playwright.sync_api import sync_playwright

    cookies = [{"name": c.name, "value": c.value or "", "url": base_url} for c in signed_in.cookies.jar]
    heights: dict[str, int] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
        for needs_login in (False, True):
            context = browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE")
            if needs_login:
                context.add_cookies(cookies)  # type: ignore[arg-type]
            # No tiles from the internet: the map keeps its size without them.
            context.route("**/tile.openstreetmap.org/**", lambda route: route.abort())
            page = context.new_page()
            for path, login_needed in pages:
                if login_needed != needs_login:
                    continue
                page.goto(base_url + path, wait_until="load")
                heights[path] = int(page.evaluate("document.documentElement.scrollHeight"))
            context.close()
        browser.close()
    return heights


def bench_radicale(body: bytes, rounds: int) -> Timing:
    with radicale_server() as base_url, httpx.Client(base_url=base_url, timeout=600) as client:
        client.request("MKCOL", "/bench/")
        started = time.perf_counter()
        answer = client.put("/bench/feed.ics/", content=body, headers={"Content-Type": "text/calendar; charset=utf-8"})
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"Radicale refused the calendar: {answer.status_code} {answer.text[:300]}")
        print(f"\nRadicale: PUT of {body.count(b'BEGIN:VEVENT'):,} events into one collection took {time.perf_counter() - started:.1f} s")
        check = client.get("/bench/feed.ics/")
        print(f"  (GET answers {check.status_code}, {check.content.count(b'BEGIN:VEVENT'):,} events, {len(check.content) / 1024:.0f} KiB)")
        return timed("Radicale GET collection .ics (200)", rounds, lambda: client.get("/bench/feed.ics/"))


def postgres_url() -> str | None:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            pass
    except OSError:
        return None
    import asyncpg

    async def recreate() -> None:
        admin = None
        for database in ("postgres", "test", "template1"):
            try:
                admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=database)
                break
            except Exception:  # noqa: BLE001 - try the next maintenance database
                continue
        if admin is None:
            raise RuntimeError("cannot connect to PostgreSQL")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        finally:
            await admin.close()

    asyncio.run(recreate())
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-radicale", action="store_true")
    parser.add_argument("--heights", action="store_true", help="also the height of the phone pages at 360 px (Chromium)")
    arguments = parser.parse_args()
    global HEIGHTS
    HEIGHTS = arguments.heights

    backends: list[tuple[str, str]] = []
    scratch = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    if not arguments.skip_sqlite:
        backends.append(("SQLite", f"sqlite+aiosqlite:///{scratch / 'bench.sqlite3'}"))
    if not arguments.skip_postgresql:
        url = postgres_url()
        if url is None:
            print("PostgreSQL does not listen on 127.0.0.1:5432: skipped")
        else:
            backends.append(("PostgreSQL", url))
    try:
        all_results = {label: bench_backend(label, url, arguments.rounds) for label, url in backends}
        radicale = None
        if not arguments.skip_radicale and all_results:
            body = next(iter(all_results.values()))["_feed_bytes"]
            radicale = bench_radicale(body, max(10, arguments.rounds // 2))  # type: ignore[arg-type]
        print("\n=== results (sequential requests over one keep-alive connection, loopback) ===")
        if radicale:
            print(radicale.line())
        for label, results in all_results.items():
            print(f"{label}:")
            for key, timing in results.items():
                if key.startswith("_"):
                    continue
                print(timing.line(radicale if key.startswith("feed") else None))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
