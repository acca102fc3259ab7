"""ASGI entry point for uvicorn workers: ``uvicorn --factory --no-proxy-headers booking.asgi:create``.

(``--no-proxy-headers``: the app itself believes X-Forwarded-For only from ``auth.trusted_proxies``.)
"""

from __future__ import annotations

import gc

from litestar import Litestar

from booking import log_redaction
from booking.app import create_app
from booking.settings import load_settings


def create() -> Litestar:
    log_redaction.install()
    app = create_app(load_settings())
    # Everything built so far (modules, templates, routes) lives as long as the process:
    # keep it out of the collector's generations so its pauses stay short under load.
    gc.collect()
    gc.freeze()
    return app
