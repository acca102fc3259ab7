"""Who is asking: a personal API token (``Authorization: Bearer …``) or the login session.

Sets ``scope["user"]`` to a Principal or None for every HTTP request; guards and handlers
read ``request.user``. Session cookies are honoured on unsafe API methods only with a JSON
body, which a cross-site form cannot send (the API is exempt from the form CSRF check).
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from booking.services import accounts
from booking.services.context import AppContext

SESSION_USER_KEY = "uid"
SESSION_EPOCH_KEY = "epoch"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthenticationMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        return scope["path"].startswith("/static/")

    def __init__(self, app_context: AppContext) -> None:
        self.app_context = app_context

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = await self._principal(scope)
        await next_app(scope, receive, send)

    async def _principal(self, scope: Scope):  # type: ignore[no-untyped-def]
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization.lower().startswith("bearer "):
            return await accounts.principal_for_api_token(self.app_context, authorization[7:].strip())
        session_data = scope.get("session") or {}
        user_id = session_data.get(SESSION_USER_KEY) if isinstance(session_data, dict) else None
        if not isinstance(user_id, int):
            return None
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        if path.startswith("/api/") and method not in SAFE_METHODS:
            content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
            if not content_type.startswith("application/json"):
                return None
        return await accounts.principal_for_user_id(
            self.app_context, user_id, session_data.get(SESSION_EPOCH_KEY, 0)
        )
