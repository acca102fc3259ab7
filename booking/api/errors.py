"""Errors to answers: domain errors and HTTP errors become 4xx with a reason.

API paths answer RFC 9457 problem details (``application/problem+json``); pages answer an
HTML error page. Nothing unexpected leaks: a 500 says only that something went wrong.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from booking.domain.alternatives import Alternative
from booking.domain.errors import ConfirmationNeeded, Conflict, DomainError
from booking.domain.quotas import QuotaExceeded, QuotaState, unit_of
from booking.log_redaction import redact

logger = logging.getLogger("booking")
PROBLEM_JSON = "application/problem+json"
#: How long clients should wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 5


def _wants_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return not (request.url.path.startswith("/api/") or ("json" in accept and "html" not in accept))


def _problem(
    request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[Any]:
    if not _wants_page(request):
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        return Response(msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)
    page = render_error_page(request, status, title, detail)
    if headers:
        page.headers.update(headers)
    return page


def _session_from_cookie(request: Request) -> dict[str, Any]:
    """The session of a request no middleware saw (an unknown address: the router answered 404
    or 405 before the middleware stack), read with the app's own session backend."""
    for middleware in request.app.middleware:
        backend = getattr(middleware, "kwargs", {}).get("backend")
        if backend is not None and hasattr(backend, "get_cookie_keys") and hasattr(backend, "load_data"):
            keys = backend.get_cookie_keys(request)
            if not keys:
                return {}
            try:
                return backend.load_data([request.cookies[key].encode("utf-8") for key in keys])
            except Exception:  # noqa: BLE001 - a damaged or foreign cookie: no session
                return {}
    return {}


def error_page_language(request: Request) -> str:
    """The person's language for an error page: as the page would have had it (session choice,
    account, Accept-Language), also where the language middleware did not run."""
    from booking.web.base import language_of

    state = request.scope.get("state") or {}
    if state.get("language"):
        return str(state["language"])
    scope: Any = request.scope
    if "session" not in scope:
        scope = {**scope, "session": _session_from_cookie(request)}
    return language_of(scope)


class ErrorPage(Template):
    """error.html, rendered once the request knows who is asking.

    Requests the router answers itself (an unknown address: 404; a wrong method: 405) pass no
    route middleware: no session, no principal, no CSRF token. The page loads them here, at
    send time (rendering is synchronous, loading is not), so the header shows the signed-in
    menu and a working logout form on every error page, like on every other page.
    """

    def to_asgi_response(self, app: Any, request: Request, **kwargs: Any) -> Any:  # type: ignore[override]
        render = super().to_asgi_response

        async def respond(scope: Any, receive: Any, send: Any) -> None:
            await _complete_unrouted_request(request)
            await render(None, request, **kwargs)(scope, receive, send)

        return respond


async def _complete_unrouted_request(request: Request) -> None:
    from litestar.utils.scope.state import ScopeState

    from booking.app import CSRF_COOKIE
    from booking.auth.middleware import principal_of

    scope: Any = request.scope
    if "user" not in scope:
        if "session" not in scope:
            scope["session"] = _session_from_cookie(request)
        try:
            scope["user"], scope["auth"] = await principal_of(request.app.state["app_context"], scope)
        except Exception:  # noqa: BLE001 - e.g. the database is away (a 503 page): signed out
            scope["user"], scope["auth"] = None, None
    state = ScopeState.from_scope(scope)
    if not isinstance(state.csrf_token, str) and request.cookies.get(CSRF_COOKIE):
        # The token the CSRF middleware would have given the page: the cookie's own value.
        state.csrf_token = request.cookies[CSRF_COOKIE]


def render_error_page(request: Request, status: int, title: str, detail: str) -> Response[Any]:
    """An HTML error page (templates/error.html) in the person's language, with their header."""
    # error.html reads the language from the request's state, like every page.
    request.scope.setdefault("state", {})["language"] = error_page_language(request)
    try:
        return ErrorPage("error.html", context={"status": status, "title": title, "detail": detail}, status_code=status)  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - the plain page below always works
        from html import escape

        html = f"<!doctype html><html lang='de'><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(detail)}</p></html>"
        return Response(html, status_code=status, media_type=MediaType.HTML)


def _alternative(alternative: Alternative) -> dict[str, Any]:
    return {
        "resource_id": alternative.resource_id,
        "resource_name": alternative.resource_name,
        "starts_at": alternative.interval.starts_at.isoformat(),
        "ends_at": alternative.interval.ends_at.isoformat(),
        "kind": alternative.kind,
    }


def quota_state_body(state: QuotaState) -> dict[str, Any]:
    """A quota's state for API answers, in its own unit (hours, days, bookings)."""
    unit = unit_of(state.quota.metric)
    scale = 60 if unit == "hours" else 1
    return {
        "metric": state.quota.metric, "subject": state.quota.subject, "enforcement": state.quota.enforcement,
        "unit": unit, "limit": state.quota.limit, "used": state.used / scale, "remaining": state.remaining / scale,
        "requested": state.requested / scale,
        "period_starts_at": state.period.starts_at.isoformat() if state.period else None,
        "period_ends_at": state.period.ends_at.isoformat() if state.period else None,
    }


def domain_error_handler(request: Request, error: DomainError) -> Response[Any]:
    extra: dict[str, Any] = {"code": error.code}
    if error.field:
        extra["field"] = error.field
    if isinstance(error, Conflict):
        extra["conflicts"] = [
            {"starts_at": c.starts_at.isoformat(), "ends_at": c.ends_at.isoformat(), "quantity": getattr(c, "quantity", 1)}
            for c in error.conflicts
        ]
        extra["alternatives"] = [_alternative(a) for a in error.alternatives]
    if isinstance(error, QuotaExceeded):
        extra["quota"] = quota_state_body(error.state)
    if isinstance(error, ConfirmationNeeded):
        extra.update(error.details)
    titles = {400: "Invalid input", 403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Not allowed by the rules"}
    return _problem(request, error.status_code, titles.get(error.status_code, "Error"), error.message, **extra)


def http_error_handler(request: Request, error: HTTPException) -> Response[Any]:
    if error.status_code == 401 and _wants_page(request) and request.method == "GET":
        from booking.web.base import login_url_for, redirect

        query = f"?{request.url.query}" if request.url.query else ""
        return redirect(login_url_for(request.url.path + query))  # type: ignore[return-value]
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationException) and error.extra:
        extra["errors"] = error.extra
        field = _field_of(error.extra)
        if field:
            extra["field"] = field
    detail = error.detail or "the request could not be processed"
    return _problem(request, error.status_code, _title(error.status_code), detail, headers=dict(error.headers or {}), **extra)


_NAMED_FIELD = re.compile(r"field `([^`]{1,100})`")


def _field_of(errors: Any) -> str | None:
    """The field a validation error is about, as domain errors name it: the key of the first
    error, or for a body that misses or adds a field (key ``data``) the field its message names."""
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        key = str(error.get("key") or "")
        if key and key != "data":
            return key
        named = _NAMED_FIELD.search(str(error.get("message") or ""))
        if named:
            return named.group(1)
    return None


def value_error_handler(request: Request, error: ValueError) -> Response[Any]:
    # A naive datetime reaching the database layer, or a similar bad value.
    return _problem(request, 400, "Invalid input", str(error) or "invalid value")


def internal_error_handler(request: Request, error: Exception) -> Response[Any]:
    from booking.db.errors import is_bad_value, is_unavailable

    if is_unavailable(error):
        return database_unavailable(request, error)
    if is_bad_value(error):
        return _problem(request, 400, "Invalid input", "a value is out of range (for example an id that is too large)")
    logger.exception("unhandled error on %s %s", request.method, redact(request.url.path), exc_info=error)
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "something went wrong on our side")


def database_unavailable(request: Request, error: BaseException) -> Response[Any]:
    """503 with Retry-After while the database is away; the outage is logged once, not per request."""
    request.app.state["app_context"].database.outage.failed(error)
    return _problem(
        request, 503, "Service unavailable", "the service is briefly unavailable; please try again in a moment",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _title(status: int) -> str:
    return {
        400: "Invalid input",
        401: "Not logged in",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        413: "Request too large",
        429: "Too many requests",
        503: "Service unavailable",
    }.get(status, "Error")


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    ValueError: value_error_handler,
    Exception: internal_error_handler,
}
