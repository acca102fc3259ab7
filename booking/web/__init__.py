"""HTML pages. ``web_route_handlers`` lists the page controllers app.py mounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from booking.services.context import AppContext


def web_route_handlers() -> list[Any]:
    return []


def web_template_callables(app_context: AppContext) -> Callable[[Any], None]:
    """Registers template globals and filters on the Jinja engine."""

    def configure(engine: Any) -> None:
        engine.engine.add_extension("jinja2.ext.i18n")
        engine.engine.install_null_translations(newstyle=True)

    return configure
