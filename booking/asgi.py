"""ASGI entry point for uvicorn workers: ``uvicorn --factory booking.asgi:create``."""

from __future__ import annotations

from litestar import Litestar

from booking.app import create_app
from booking.settings import load_settings


def create() -> Litestar:
    return create_app(load_settings())
