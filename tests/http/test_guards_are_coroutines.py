"""Every guard of every route is a coroutine function: Litestar runs a plain-function guard in
its thread pool, a thread hand-off on every request (issue 10: the feed 304 and the create path
paid for one each). A guard written as a plain function fails here with its route named."""

from __future__ import annotations

import inspect

from litestar.handlers import HTTPRouteHandler

from booking.app import create_app


def test_every_route_guard_is_a_coroutine_function(settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    plain: list[str] = []
    guarded = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for guard in handler.resolve_guards():
                guarded += 1
                if not inspect.iscoroutinefunction(guard):
                    plain.append(f"{route.path} {sorted(handler.http_methods)}: {getattr(guard, '__qualname__', guard)}")
    assert guarded > 100  # the routes were really walked
    assert plain == []
