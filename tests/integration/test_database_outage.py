"""PostgreSQL stopped and started under load: 503 with Retry-After while it is away (problem
details for the API, a short page for HTML), never a 500, one log line for the outage, and
the same server process answers normally once the database is back.

Uses a cluster of its own (``tests.support.own_postgres``), never the shared one.
"""

from __future__ import annotations

import secrets
import asyncio
import contextlib
from collections import Counter
from pathlib import Path

import httpx
import pytest

from booking.db import Database
from booking.db.migrate import upgrade
from booking.services import accounts
from booking.services.context import AppContext
from booking.settings import load_settings
from tests.conftest import unavailable
from tests.support.live_server import live_server
from tests.support.own_postgres import OwnPostgres

CONCURRENCY = 6


@pytest.fixture
def own_postgres():
    try:
        cluster = OwnPostgres()
        cluster.start()
    except (FileNotFoundError, OSError) as error:
        unavailable(f"cannot run a PostgreSQL cluster of our own: {error}")
    try:
        yield cluster
    finally:
        cluster.close()


async def make_token(url: str) -> str:
    app = AppContext(database=Database(url), settings=load_settings(env={}, database_url=url, secret_key=secrets.token_hex(32)))
    try:
        await accounts.create_user(app, email="kim@example.org", display_name="Kim", password="ein-gutes-passwort-1")
        return await accounts.create_api_token(app, "kim@example.org", "outage")
    finally:
        await app.database.dispose()


class Load:
    """Clients asking again and again (API anonymous and with a token, a page); records answers."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.requests = [
            ("GET", "/api/v1/resources", {}),
            ("GET", "/api/v1/me", {"authorization": f"Bearer {token}"}),
            ("GET", "/api/v1/bookings", {"authorization": f"Bearer {token}"}),
            ("GET", "/", {"accept": "text/html"}),
        ]
        self.answers: list[tuple[str, httpx.Response]] = []
        self.running = True

    async def worker(self, offset: int) -> None:
        turn = offset
        while self.running:
            method, path, headers = self.requests[turn % len(self.requests)]
            turn += 1
            try:
                response = await self.client.request(method, path, headers=headers)
            except httpx.HTTPError as error:  # the app must answer, not drop connections
                raise AssertionError(f"{path}: no answer ({error!r})") from error
            self.answers.append((path, response))
            await asyncio.sleep(0.01)

    def take(self) -> list[tuple[str, httpx.Response]]:
        answers, self.answers = self.answers, []
        return answers


async def wait_until(predicate, seconds: float) -> bool:
    for _ in range(int(seconds * 10)):
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


async def test_postgres_restart_under_load(own_postgres: OwnPostgres, tmp_path: Path):
    own_postgres.create_database("booking")
    url = own_postgres.url("booking")
    await asyncio.to_thread(upgrade, url)
    token = await make_token(url)
    log_file = tmp_path / "server.log"
    with live_server(url, log_level="info", log_file=log_file) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            load = Load(client, token)
            workers = [asyncio.create_task(load.worker(offset)) for offset in range(CONCURRENCY)]
            try:
                assert await wait_until(lambda: len(load.answers) >= 40, 60)
                before = load.take()
                assert {response.status_code for _, response in before} == {200}, Counter(r.status_code for _, r in before)

                await asyncio.to_thread(own_postgres.stop)
                load.take()  # answers that raced the shutdown
                assert await wait_until(lambda: len(load.answers) >= 80, 60)
                during = load.take()

                await asyncio.to_thread(own_postgres.start)
                # The same server process recovers by itself: soon every answer is a 200 again.
                assert await wait_until(lambda: any(r.status_code == 200 for _, r in load.answers), 60)
                await asyncio.sleep(1)
                load.take()
                assert await wait_until(lambda: len(load.answers) >= 40, 60)
                after = load.take()
            finally:
                load.running = False
                for task in workers:
                    task.cancel()
                for task in workers:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    statuses = Counter(response.status_code for _, response in during)
    assert set(statuses) == {503}, statuses
    for path, response in during:
        assert int(response.headers["retry-after"]) > 0, path
        if path.startswith("/api/"):
            assert response.headers["content-type"] == "application/problem+json", path
            assert response.json()["status"] == 503
        else:
            assert response.headers["content-type"].startswith("text/html"), path
            assert "503" in response.text
    assert {response.status_code for _, response in after} == {200}, Counter(r.status_code for _, r in after)

    lines = [line for line in log_file.read_text().splitlines() if 'HTTP/1.1"' not in line]
    outage_lines = [line for line in lines if "database unavailable" in line]
    assert len(outage_lines) == 1, "\n".join(lines)
    assert sum("database available again" in line for line in lines) == 1, "\n".join(lines)
    assert not [line for line in lines if "Traceback" in line or "ERROR" in line], "\n".join(lines)


async def _select_one(database: Database) -> int:
    from sqlalchemy import text

    async with database.read_connection() as connection:
        return (await connection.execute(text("SELECT 1"))).scalar_one()


async def test_a_connection_that_lay_idle_through_a_restart_is_replaced_before_use(own_postgres: OwnPostgres, monkeypatch):
    """The idle ping (db/engine.py): the server restarted while the pooled connection lay
    unused; the next request gets a working connection instead of the dead one."""
    own_postgres.create_database("idle")
    database = Database(own_postgres.url("idle"), pool_size=1)
    try:
        assert await _select_one(database) == 1  # one pooled connection, now idle
        await asyncio.to_thread(own_postgres.stop)
        await asyncio.to_thread(own_postgres.start)
        monkeypatch.setattr("booking.db.engine.PING_AFTER_IDLE_SECONDS", 0.0)  # it has lain idle long enough
        assert await _select_one(database) == 1
    finally:
        await database.dispose()


async def test_a_connection_in_use_moments_ago_is_not_pinged(own_postgres: OwnPostgres, monkeypatch):
    """Under load a checkout costs no ping round trips (issue 10); after the idle time it does."""
    own_postgres.create_database("busy")
    database = Database(own_postgres.url("busy"), pool_size=1)
    dialect = database.engine.sync_engine.dialect
    pings: list[object] = []
    real_ping = dialect.do_ping

    def counted_ping(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted_ping)
    try:
        for _ in range(5):
            await _select_one(database)
        assert pings == []
        monkeypatch.setattr("booking.db.engine.PING_AFTER_IDLE_SECONDS", 0.0)
        await _select_one(database)
        assert len(pings) == 1
    finally:
        await database.dispose()
