"""Route guards. Every route declares one; object-level rules live in services.

Guards are coroutines: Litestar runs a plain function guard in its thread pool (a hand-off to
a worker thread and back on every request); these only read the scope.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from booking.auth.principal import Principal


def _signed_in(connection: ASGIConnection) -> Principal:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("please log in")
    return user  # type: ignore[no-any-return]


async def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _signed_in(connection)


async def requires_lender(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not _signed_in(connection).is_lender_anywhere:
        raise PermissionDeniedException("only lenders may do this")


async def requires_manager(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not _signed_in(connection).is_manager_anywhere:
        raise PermissionDeniedException("only site managers may do this")


async def requires_city_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not _signed_in(connection).is_city_admin:
        raise PermissionDeniedException("only city administrators may do this")


async def public(_: ASGIConnection, __: BaseRouteHandler) -> None:
    """Open to everyone, signed in or not (declared so that "no guard" is never an accident)."""
