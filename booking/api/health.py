"""/health: does the database answer?"""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from booking.auth.guards import public
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]


@get("/health", guards=[public], tags=["operations"])
async def health(app_context: Ctx) -> Response[dict[str, Any]]:
    database_ok = await app_context.database.ping()
    body = {"status": "ok" if database_ok else "degraded", "database": "ok" if database_ok else "unreachable",
            "dialect": app_context.database.dialect}
    return Response(body, status_code=200 if database_ok else 503)
