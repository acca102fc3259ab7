"""The API routers beyond the core, one line each; app.py mounts them all."""

from __future__ import annotations


def extra_routers() -> list[object]:
    return []
