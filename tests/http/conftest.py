from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import httpx

from litestar import Litestar

from booking.app import create_app
from booking.settings import Settings
from booking.services.context import AppContext, system_clock
from tests.support.world import PASSWORD, World, build_world


# One app per worker and kind of settings: building one registers some 600 route handlers
# (about 0.8 s; with one per HTTP test that was about half of the suite's CPU). The app keeps one
# AppContext, which each test gets as its own ``app_context`` with its database, settings and
# the system clock put in; the app's state (rate limiters) is put back as it was when built.
_SHARED: dict[Settings, AppContext] = {}
_APPS: dict[Settings, tuple[Litestar, dict[str, Any]]] = {}


def _kind_of(settings: Settings) -> Settings:
    return dataclasses.replace(settings, secret_key="", database_url="")


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    context = _SHARED.setdefault(_kind_of(settings), AppContext(database=database, settings=settings))
    context.database, context.settings, context.clock = database, settings, system_clock
    return context


@pytest.fixture
async def world(app_context) -> World:
    return await build_world(app_context)


@pytest.fixture
async def client(settings, app_context) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in this event loop (no lifespan: no mail worker)."""
    found = _APPS.get(_kind_of(settings))
    if found is None or found[0].state["app_context"] is not app_context:
        app = create_app(settings, app_context=app_context)
        found = _APPS[_kind_of(settings)] = (app, dict(app.state))
    app, initial_state = found
    for name in [name for name in app.state if name not in initial_state]:
        del app.state[name]
    app.state.update(initial_state)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client


async def login(client: httpx.AsyncClient, world: World, role: str) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": world.emails[role], "password": PASSWORD})
    assert response.status_code == 200, response.text
