"""HTML pages. ``web_route_handlers`` lists the page controllers app.py mounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from booking.services.context import AppContext


WEB_MODULES = (
    "booking.web.accounts",
    "booking.web.home",
    "booking.web.resources",
    "booking.web.my_bookings",
    "booking.web.borrower",
    "booking.web.feed_pages",
    "booking.web.organisation",
    "booking.web.lender",
    "booking.web.admin",
    "booking.web.calendar",
    "booking.web.loans",
    "booking.web.coworking",
    "booking.web.legal",
    "booking.web.privacy",
    "booking.web.site_map",
    "booking.web.directory",
    "booking.web.admin_fields",
    "booking.web.report",
    "booking.web.labels",
    "booking.web.waiting_list",
    "booking.web.checkin",
    "booking.web.admin_quotas",
    "booking.web.offers",
    "booking.web.offer_dates",
)


def web_route_handlers() -> list[Any]:
    """Every page module listed above that exists; each exposes ``ROUTES``."""
    from booking.api.routers import collect_routes

    return collect_routes(WEB_MODULES)


def person_of(request: Any) -> Any:
    from booking.web.base import UserView

    scope = getattr(request, "scope", None) or {}
    return UserView.of(scope.get("user"))


def web_template_callables(app_context: AppContext) -> Callable[[Any], None]:
    """Registers template globals and filters on the Jinja engine."""

    def configure(engine: Any) -> None:
        from booking.i18n import install_jinja_i18n
        from booking.web import filters

        environment = engine.engine
        install_jinja_i18n(environment)
        environment.filters.update(filters.FILTERS)
        environment.globals.update(filters.globals_for(app_context))
        # The layout's header reads the signed-in person from the request when a page was not
        # rendered by render_page (error pages): one source, request.scope["user"].
        environment.globals["person_of"] = person_of

    return configure
