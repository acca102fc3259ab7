"""Errors of the domain. The web and API layers map each to a 4xx answer with its message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DomainError(Exception):
    """A rule refused the request. ``field`` names the input it is about, where there is one."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    code = "invalid_input"


class PolicyViolation(DomainError):
    status_code = 422
    code = "policy_violation"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"


class TransitionNotAllowed(DomainError):
    status_code = 409
    code = "transition_not_allowed"


@dataclass
class Conflict(DomainError):
    """The requested time is taken. Carries what is taken and what would be free instead."""

    message: str
    conflicts: list[Any] = field(default_factory=list)
    alternatives: list[Any] = field(default_factory=list)
    field: str | None = None

    status_code = 409
    code = "conflict"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)


class ConfirmationNeeded(DomainError):
    """The request would do more than it says (e.g. start a loan days early): the client asks
    the person and repeats it with ``field`` set to true. ``details`` tell what would happen."""

    status_code = 409
    code = "confirmation_needed"

    def __init__(self, message: str, *, field: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, field=field)
        self.details = details or {}
