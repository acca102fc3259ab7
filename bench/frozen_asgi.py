"""uvicorn factory for ``calendar_bench.py --gc-freeze``: the app, then ``gc.freeze()``.

Moves every object alive after start-up out of the garbage collector's reach, so that full
collections walk only what requests create. Not used by the app itself (a deployment
decision, see the benchmark's README); here to show what it changes.
"""

from __future__ import annotations

import gc

from booking.asgi import create as create_app


def create():  # type: ignore[no-untyped-def]
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
