"""Who is asking: a personal API token (``Authorization: Bearer …``) or the login session.

Sets ``scope["user"]`` to a Principal or None and ``scope["auth"]`` to the ``Credential`` used
(or None) for every HTTP request; guards and handlers read ``request.user``. The session cookie
holds only the id of a server-side ``LoginSession`` row (``services.credentials``), so a
session ends on the server, for every app process, when the row goes. Session cookies are
honoured on unsafe API methods only with a JSON body, which a cross-site form cannot send
(the API is exempt from the form CSRF check).
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from booking.auth.principal import Principal
from booking.services import credentials
from booking.services.context import AppContext

SESSION_ID_KEY = "sid"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_token(scope: Scope) -> str | None:
    """The login session's secret id from the cookie session, if there is one."""
    session_data = scope.get("session") or {}
    token = session_data.get(SESSION_ID_KEY) if isinstance(session_data, dict) else None
    return token if isinstance(token, str) and token else None


#: Route ``opt`` key: the route needs no principal (feeds: the secret URL is the key), so the
#: middleware does not look one up (its handlers must not read ``request.user``).
SKIP_AUTHENTICATION = "skip_authentication"


class AuthenticationMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    exclude_opt_key = SKIP_AUTHENTICATION

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        return scope["path"].startswith("/static/")

    def __init__(self, app_context: AppContext) -> None:
        self.app_context = app_context

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal, credential = await principal_of(self.app_context, scope)
        scope["user"] = principal
        scope["auth"] = credential
        await next_app(scope, receive, send)


async def principal_of(
    app_context: AppContext, scope: Scope
) -> tuple[Principal | None, credentials.Credential | None]:
    """Who is asking, from the bearer token or the (already decoded) cookie session of ``scope``.

    The middleware calls it for every routed request; the error pages call it for the requests
    the router answers itself (404, 405), which no route middleware sees.
    """
    headers = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if authorization.lower().startswith("bearer "):
        # One query: the token, its user and the user's roles.
        found = await credentials.principal_for_api_token(app_context, authorization[7:].strip())
        if found is None:
            return None, None
        principal, token_id = found
        return principal, credentials.Credential("token", token_id)
    token = session_token(scope)
    if token is None:
        return None, None
    path: str = scope.get("path", "")
    method: str = scope.get("method", "GET")
    if path.startswith("/api/") and method not in SAFE_METHODS:
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if not content_type.startswith("application/json"):
            return None, None
    found = await credentials.principal_for_session(app_context, token)
    if found is None:
        return None, None
    principal, session_id = found
    return principal, credentials.Credential("session", session_id)
