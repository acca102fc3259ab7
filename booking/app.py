"""create_app(settings) -> Litestar: plugins, routes, templates, errors, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from booking.api.options import UNCOMPRESSED
from booking.api.auth import AuthController
from booking.api.bookings import BookingController
from booking.api.catalogue import CatalogueController
from booking.api.docs import SwaggerPage
from booking.api import openapi
from booking.api.errors import EXCEPTION_HANDLERS
from booking.api.requests import BoundedRequest
from booking.api.health import health
from booking.auth.client_address import ClientAddressMiddleware
from booking.auth.middleware import AuthenticationMiddleware
from booking.db import Database
from booking.i18n import preload_translations
from booking.services.context import AppContext
from booking.resources import STATIC_DIR, TEMPLATES_DIR
from booking.settings import Settings, check_secret_key
from booking.web.base import LanguageMiddleware
from booking.web.security_headers import security_headers_hook

SESSION_COOKIE = "booking_session"
CSRF_COOKIE = "booking_csrf"
CSRF_EXEMPT_PATHS = r"^/api/"


def _derived_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


async def _store_pending_feed_documents(context: AppContext) -> None:
    """Feed documents kept back from the database (services.feeds.DOCUMENT_STORE_INTERVAL) are
    written before the process ends, so the next start serves them as they are."""
    from booking.services.feeds import store_pending_documents

    try:
        await store_pending_documents(context)
    except Exception:  # noqa: BLE001 - the next start renders from an older document instead
        logging.getLogger(__name__).warning("feed documents not stored at shutdown", exc_info=True)


def create_app(settings: Settings, *, app_context: AppContext | None = None) -> Litestar:
    """The whole application for ``settings``; tests may pass their own context (clock)."""
    check_secret_key(settings.secret_key)  # also for settings not read by load_settings
    context = app_context or AppContext(database=Database(settings.database_url), settings=settings)
    preload_translations()

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        worker_task = None
        stop = asyncio.Event()
        if settings.run_worker_in_process:
            from booking.mail.runner import start_in_process_worker

            worker_task = start_in_process_worker(context, stop)
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                    await asyncio.wait_for(worker_task, timeout=10)
            await _store_pending_feed_documents(context)
            if app_context is None:
                await context.database.dispose()

    from booking.web import web_route_handlers, web_template_callables

    session_config = CookieBackendConfig(
        secret=_derived_key(settings.secret_key, "session"),
        key=SESSION_COOKIE,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=14 * 24 * 3600,
    )
    csrf_config = CSRFConfig(
        secret=_derived_key(settings.secret_key, "csrf").hex(),
        cookie_name=CSRF_COOKIE,
        cookie_secure=settings.secure_cookies,
        cookie_httponly=True,
        cookie_samesite="lax",
        # Anchored: only the JSON API (its own cross-site defence: booking.auth.middleware).
        # Feeds and static files opt out per route (``exclude_from_csrf``); they are GET only.
        exclude=[CSRF_EXEMPT_PATHS],
    )
    template_config = TemplateConfig(
        directory=TEMPLATES_DIR,
        engine=JinjaTemplateEngine,
        engine_callback=web_template_callables(context),
    )
    app = Litestar(
        route_handlers=[
            health,
            AuthController,
            CatalogueController,
            BookingController,
            *_optional_api_handlers(),
            *web_route_handlers(),
            create_static_files_router(path="/static", directories=[STATIC_DIR], name="static", opt={"exclude_from_csrf": True}),
        ],
        dependencies={"app_context": Provide(lambda: context, use_cache=True, sync_to_thread=False)},
        middleware=[ClientAddressMiddleware(settings.auth.trusted_proxies), session_config.middleware, AuthenticationMiddleware(context), LanguageMiddleware()],
        csrf_config=csrf_config,
        template_config=template_config,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_class=BoundedRequest,
        openapi_config=OpenAPIConfig(title="booking", version="1", path="/schema", render_plugins=[SwaggerPage()]),
        before_send=[security_headers_hook(settings.base_url, image_sources=(settings.map.tile_origin,))],
        request_max_body_size=settings.max_request_body_bytes,
        # Calendar pages over many resources are large and repetitive HTML.
        # Feeds compress themselves once per version (booking/services/feeds.py).
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=6, exclude="^/feeds/", exclude_opt_key=UNCOMPRESSED
        ),
        lifespan=[lifespan],
        debug=settings.debug,
        state={"app_context": context},
    )
    openapi.install(app)
    return app


def _optional_api_handlers() -> list[object]:
    """API routers of later modules (feeds, series, loans, admin), registered where present."""
    from booking.api import routers

    return list(routers.extra_routers())
