"""What every page needs: the language, the signed-in person, flash messages, CSRF, forms.

Controllers call ``render_page`` (never ``Template`` directly) so every page gets the same
context: ``lang``/``language``, ``current_user``, ``messages``, ``csrf_input`` (Litestar),
``request``. Pages that need a login declare ``guards=[page_login]``: an anonymous visitor is
sent to the login page and back afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request

from booking.auth.ratelimit import RateLimiter, hourly_limiter  # noqa: F401 - the pages' import
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Receive, Scope, Send

from booking.auth.principal import Principal
from booking.domain.errors import DomainError, InvalidInput
from booking.domain.recurrence import local_to_utc
from booking.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalise_language, use_language

LANGUAGE_SESSION_KEY = "lang"
FLASH_SESSION_KEY = "_messages"


def language_of(scope: Scope) -> str:
    """Session choice, then the person's setting, then the browser's Accept-Language."""
    session = scope.get("session") or {}
    if isinstance(session, dict) and session.get(LANGUAGE_SESSION_KEY) in LANGUAGES:
        return session[LANGUAGE_SESSION_KEY]
    user = scope.get("user")
    if user is not None and getattr(user, "language", None) in LANGUAGES:
        return user.language
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag[:2] in LANGUAGES:
            return tag[:2]
    return DEFAULT_LANGUAGE


class LanguageMiddleware(ASGIMiddleware):
    """Sets the request's language for gettext (also inside imported macros)."""

    scopes = (ScopeType.HTTP,)

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        return scope["path"].startswith(("/static/", "/api/", "/feeds/"))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        language = language_of(scope)
        scope.setdefault("state", {})["language"] = language
        with use_language(language):
            await next_app(scope, receive, send)


@dataclass(frozen=True)
class UserView:
    """What templates may know about the signed-in person."""

    is_authenticated: bool = False
    user_id: int | None = None
    display_name: str = ""
    email: str = ""
    is_lender: bool = False
    is_manager: bool = False
    is_city_admin: bool = False
    organisation_roles: dict[int, str] = field(default_factory=dict)
    site_roles: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, principal: Principal | None) -> UserView:
        if principal is None:
            return cls()
        return cls(
            is_authenticated=True,
            user_id=principal.user_id,
            display_name=principal.display_name,
            email=principal.email,
            is_lender=principal.is_lender_anywhere,
            is_manager=principal.is_manager_anywhere,
            is_city_admin=principal.is_city_admin,
            organisation_roles=dict(principal.organisation_roles),
            site_roles=dict(principal.site_roles),
        )


def page_language(request: Request) -> str:
    return request.scope.get("state", {}).get("language") or language_of(request.scope)


def flash(request: Request, level: str, text: str) -> None:
    """A message shown once on the next page (level: info, success, warning, danger)."""
    messages = list(request.session.get(FLASH_SESSION_KEY, []))
    messages.append([level, text])
    request.session[FLASH_SESSION_KEY] = messages


def _pop_flashes(request: Request) -> list[tuple[str, str]]:
    if not request.session or FLASH_SESSION_KEY not in request.session:
        return []
    messages = request.session.pop(FLASH_SESSION_KEY, [])
    return [(level, text) for level, text in messages]


def render_page(
    request: Request, template_name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Template:
    language = page_language(request)
    full_context = {
        "request": request,
        "lang": language,
        "language": language,
        "current_user": UserView.of(request.scope.get("user")),
        "messages": _pop_flashes(request) + list((context or {}).pop("messages", []) if context else []),
        "next_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    full_context.update(context or {})
    return Template(template_name, context=full_context, status_code=status_code)


def redirect(path: str, status_code: int = 303) -> Redirect:
    """After a POST: 303 See Other, so a reload does not post again."""
    return Redirect(path, status_code=status_code)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths as redirect targets (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def login_url_for(path: str) -> str:
    return "/login?next=" + quote(path, safe="/")


# Guards are coroutines: Litestar runs a plain-function guard in its thread pool, a thread
# hand-off on every page request for a check of a few attributes.
def _signed_in(connection: ASGIConnection) -> Principal:
    """The visitor's principal; anonymous visitors are redirected to the login page (see errors)."""
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("please log in")
    return user


async def page_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard for pages: anonymous visitors are redirected to the login page (see errors)."""
    _signed_in(connection)


async def page_lender(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not _signed_in(connection).is_lender_anywhere:
        raise PermissionDeniedException("only lenders may see this page")


async def page_manager(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not _signed_in(connection).is_manager_anywhere:
        raise PermissionDeniedException("only site managers may see this page")


async def page_city_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not _signed_in(connection).is_city_admin:
        raise PermissionDeniedException("only city administrators may see this page")


class FormErrors(dict[str, str]):
    """Field name -> message; ``general`` for what belongs to no field."""

    def add(self, error: DomainError, default_field: str = "general") -> FormErrors:
        self[error.field or default_field] = error.message
        return self


def form_value(form: Any, name: str, default: str = "") -> str:
    value = form.get(name, default) if form is not None else default
    if isinstance(value, list):
        value = value[0] if value else default
    return str(value).strip()


def parse_local_datetime(value: str, timezone: str, field_name: str) -> datetime:
    """A ``datetime-local`` form value ("2026-03-03T18:00") in the site's zone, as an instant.

    A local time that does not exist (the spring-forward gap) is refused, not shifted.
    """
    if not value:
        raise InvalidInput("please enter a date and time", field=field_name)
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("please enter a date and time like 2026-03-03 18:00", field=field_name) from None
    if naive.tzinfo is not None:
        return naive
    try:
        return local_to_utc(naive, timezone)
    except OverflowError:
        # A wall time at the very edge of the calendar (year 1) has no instant in UTC.
        raise InvalidInput("please enter a date and time like 2026-03-03 18:00", field=field_name) from None


def parse_int(value: str, field_name: str, *, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("please enter a whole number", field=field_name) from None
    if minimum is not None and number < minimum:
        raise InvalidInput(f"at least {minimum}", field=field_name)
    return number


__all__ = [
    "FormErrors",
    "LanguageMiddleware",
    "UserView",
    "flash",
    "form_value",
    "login_url_for",
    "normalise_language",
    "page_city_admin",
    "page_language",
    "page_lender",
    "page_login",
    "page_manager",
    "parse_int",
    "parse_local_datetime",
    "redirect",
    "render_page",
    "safe_next",
]
