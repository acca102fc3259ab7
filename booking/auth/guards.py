"""Route guards. Every route declares one; object-level rules live in services."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler


def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("please log in")


def requires_lender(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    requires_login(connection, handler)
    if not connection.scope["user"].is_lender_anywhere:
        raise PermissionDeniedException("only lenders may do this")


def requires_manager(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    requires_login(connection, handler)
    if not connection.scope["user"].is_manager_anywhere:
        raise PermissionDeniedException("only site managers may do this")


def requires_city_admin(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    requires_login(connection, handler)
    if not connection.scope["user"].is_city_admin:
        raise PermissionDeniedException("only city administrators may do this")


def public(_: ASGIConnection, __: BaseRouteHandler) -> None:
    """Open to everyone, signed in or not (declared so that "no guard" is never an accident)."""
