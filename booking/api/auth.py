"""/api/v1/auth: password login into a session, logout, and who am I."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody

from booking.api.schemas import LoginData, MeOut
from booking.auth import ratelimit
from booking.auth.guards import public, requires_login
from booking.auth.middleware import SESSION_EPOCH_KEY, SESSION_USER_KEY
from booking.services import accounts
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]


def start_session(request: Request, user_id: int, epoch: int, language: str) -> None:
    """A fresh session for the logged-in user (never reuse the anonymous one: fixation)."""
    request.clear_session()
    request.set_session({SESSION_USER_KEY: user_id, SESSION_EPOCH_KEY: epoch, "lang": language})


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
        start_session(request, user.id, user.session_epoch, user.language)  # type: ignore[arg-type]
        principal = await accounts.principal_for_user_id(app_context, user.id)  # type: ignore[arg-type]
        assert principal is not None
        return _me(principal)

    @post("/auth/logout", guards=[public], status_code=204)
    async def logout(self, request: Request) -> None:
        request.clear_session()

    @get("/me", guards=[requires_login])
    async def me(self, request: Request) -> MeOut:
        return _me(request.user)


def _me(principal) -> MeOut:  # type: ignore[no-untyped-def]
    return MeOut(
        id=principal.user_id, email=principal.email, display_name=principal.display_name,
        language=principal.language, is_city_admin=principal.is_city_admin,
        organisations=principal.organisation_roles, sites=principal.site_roles,
    )
