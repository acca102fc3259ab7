from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import httpx

from booking.app import create_app
from booking.services.context import AppContext
from tests.support.world import PASSWORD, World, build_world


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings)


@pytest.fixture
async def world(app_context) -> World:
    return await build_world(app_context)


@pytest.fixture
async def client(settings, app_context) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in this event loop (no lifespan: no mail worker)."""
    app = create_app(settings, app_context=app_context)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client


async def login(client: httpx.AsyncClient, world: World, role: str) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": world.emails[role], "password": PASSWORD})
    assert response.status_code == 200, response.text
