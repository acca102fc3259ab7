"""The API routers beyond the core; app.py mounts every module listed here that exists.

Each module exposes ``ROUTES``: a list of Litestar controllers or handlers.
"""

from __future__ import annotations

import importlib
from typing import Any

API_MODULES = (
    "booking.api.series",
    "booking.api.feeds",
    "booking.api.calendars",
    "booking.api.loans",
    "booking.api.coworking",
    "booking.api.admin",
    "booking.api.privacy",
    "booking.api.site_map",
    "booking.api.directory",
    "booking.api.waiting_list",
    "booking.api.offers",
    "booking.api.offer_organisers",
    "booking.api.offer_participants",
)


def collect_routes(module_names: tuple[str, ...]) -> list[Any]:
    routes: list[Any] = []
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue  # that part is not built (yet)
            raise
        routes.extend(module.ROUTES)
    return routes


def extra_routers() -> list[Any]:
    return collect_routes(API_MODULES)
