"""/api/v1/auth and /api/v1/me: password login into a session, logout, who am I, and the
personal API tokens of the signed-in person (list, create, revoke)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody, PathParameter

from booking.api.schemas import Instant, LoginData, MeOut
from booking.auth import ratelimit
from booking.auth.guards import public, requires_login
from booking.auth.middleware import SESSION_ID_KEY, session_token
from booking.services import accounts, credentials
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]
TokenId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


async def start_session(request: Request, app_context: AppContext, user_id: int, language: str) -> None:
    """A fresh server-side session for the logged-in user (never reuse the anonymous one:
    fixation); the session the cookie named before, if any, ends."""
    await end_session(request, app_context)
    token = await credentials.start_session(app_context, user_id)
    request.set_session({SESSION_ID_KEY: token, "lang": language})


async def end_session(request: Request, app_context: AppContext) -> None:
    """End the login session on the server (a copy of the cookie is refused from now on)."""
    token = session_token(request.scope)
    if token is not None:
        await credentials.end_session(app_context, token)
    request.clear_session()


class ApiTokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="what the token is for")]
    expires_at: Instant | None = None


class ApiTokenOut(msgspec.Struct):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = msgspec.field(default=None)
    is_expired: bool = False

    @classmethod
    def of(cls, view: credentials.ApiTokenView) -> ApiTokenOut:
        return cls(id=view.id, name=view.name, created_at=view.created_at, expires_at=view.expires_at,
                   last_used_at=view.last_used_at, is_expired=view.is_expired)


class ApiTokenCreated(ApiTokenOut, kw_only=True):
    token: str = msgspec.field(default="")


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/login", guards=[public], status_code=200)
    async def login(self, request: Request, app_context: Ctx, data: JSONBody[LoginData]) -> MeOut:
        wait = ratelimit.check(request, "login", data.email, max(1, app_context.settings.login_rate_limit_per_minute))
        if wait:
            raise TooManyRequestsException(
                f"too many login attempts; try again in {wait} seconds", headers={"Retry-After": str(wait)}
            )
        user = await accounts.authenticate(app_context, data.email, data.password)
        if user is None:
            raise NotAuthorizedException("e-mail or password is wrong")
        await start_session(request, app_context, user.id, user.language)  # type: ignore[arg-type]
        principal = await accounts.principal_for_user_id(app_context, user.id)  # type: ignore[arg-type]
        assert principal is not None
        return _me(principal)

    @post("/auth/logout", guards=[public], status_code=204)
    async def logout(self, request: Request, app_context: Ctx) -> None:
        await end_session(request, app_context)

    @get("/me", guards=[requires_login])
    async def me(self, request: Request) -> MeOut:
        return _me(request.user)

    @get("/me/tokens", guards=[requires_login], summary="My personal API tokens (not revoked; expired ones marked)")
    async def list_tokens(self, request: Request, app_context: Ctx) -> list[ApiTokenOut]:
        return [ApiTokenOut.of(view) for view in await credentials.list_api_tokens(app_context, request.user)]

    @post("/me/tokens", guards=[requires_login], status_code=201,
          summary="Make a personal API token (from a login session only); the token is shown once")
    async def create_token(self, request: Request, app_context: Ctx, data: JSONBody[ApiTokenCreate]) -> ApiTokenCreated:
        credentials.require_session(request.scope.get("auth"))
        token, view = await credentials.issue_api_token(app_context, request.user.user_id, data.name, data.expires_at)
        return ApiTokenCreated(id=view.id, name=view.name, created_at=view.created_at, expires_at=view.expires_at,
                               last_used_at=view.last_used_at, is_expired=view.is_expired, token=token)

    @delete("/me/tokens/{token_id:int}", guards=[requires_login], status_code=204,
            summary="Revoke one of my tokens (404 for tokens that are not mine)")
    async def revoke_token(self, request: Request, app_context: Ctx, token_id: TokenId) -> None:
        await credentials.revoke_api_token(app_context, request.user, token_id)


def _me(principal) -> MeOut:  # type: ignore[no-untyped-def]
    return MeOut(
        id=principal.user_id, email=principal.email, display_name=principal.display_name,
        language=principal.language, is_city_admin=principal.is_city_admin,
        organisations=principal.organisation_roles, sites=principal.site_roles,
    )
