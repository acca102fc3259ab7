"""The OpenAPI document tells the whole truth about answers.

Litestar documents what handlers return; the errors come from ``booking.api.errors`` for every
route alike, as RFC 9457 problem details. ``document_problem_answers`` adds them once the
routes are known (at start-up): every API operation may answer 400, 401, 403, 404, 409, 413,
422, 429 and 503 as ``application/problem+json`` (429 and 503 with ``Retry-After``); feeds
answer 404 and 503 as problems and 304 when the client's copy is current.

Request bodies are msgspec structs with ``forbid_unknown_fields`` (a test holds every one to
it), so their schemas say ``additionalProperties: false``: a client, or schemathesis, learns
from the document that an unknown field is refused.
"""

from __future__ import annotations

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import OpenAPI, OpenAPIHeader, OpenAPIMediaType, OpenAPIResponse, Operation, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

from booking.api.errors import PROBLEM_JSON

PROBLEM_STATUSES = {
    400: "Invalid input (the reason is in detail; field names the field)",
    401: "Not logged in (no or an unknown token or session)",
    403: "Forbidden for this person",
    404: "Does not exist, or is not visible to this person",
    409: "Conflict (for bookings: the taken intervals and alternatives)",
    413: "Request body too large",
    422: "Not allowed by the rules of the resource",
    429: "Too many requests; try again after Retry-After seconds",
    503: "Briefly unavailable (the database is away); try again after Retry-After seconds",
}
FEED_PROBLEM_STATUSES = (400, 404, 429, 503)
RETRY_AFTER = {"Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), description="seconds to wait")}
PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "code": Schema(type=OpenAPIType.STRING),
        "field": Schema(type=OpenAPIType.STRING),
    },
    description="RFC 9457 problem details; conflicts add conflicts and alternatives",
)
#: Operations whose problem answers say more than the generic text (path, method) -> status -> text.
SPECIFIC_PROBLEMS = {
    ("/api/v1/bookings/{booking_id}/hand-out", "post"): {
        409: "Conflict: `code` `confirmation_needed` (field `confirm_early_start`; `booked_start`, `starts_at`, "
        "`resource_names`): the hand-out would start the loan early, repeat with confirm_early_start: true; "
        "`transition_not_allowed`: not confirmed; `conflict`: booked by someone else in between",
    },
}
DOCUMENTED_PREFIXES = ("/api/", "/feeds/", "/health")
CALENDAR = "text/calendar"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def _problem(description: str, status: int, *, page_too: bool) -> OpenAPIResponse:
    content = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    if page_too:  # outside /api/ a browser (Accept: text/html) gets an error page
        content["text/html"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
    return OpenAPIResponse(
        description=description, content=content, headers=dict(RETRY_AFTER) if status in (429, 503) else None
    )


def _add(operation: Operation, statuses: tuple[int, ...] | list[int], *, page_too: bool = False) -> None:
    responses = operation.responses if operation.responses is not None else {}
    for status in statuses:
        # Replaces Litestar's generic 400 (our handler answers problem details, not its shape).
        responses[str(status)] = _problem(PROBLEM_STATUSES[status], status, page_too=page_too)
    operation.responses = responses


class _ProblemDocumentingPlugin(OpenAPIPlugin):
    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        schema = super()._build_openapi()
        document_problem_answers(schema)
        return schema


def install(app: Litestar) -> None:
    """Document the error answers whenever Litestar builds ``app``'s OpenAPI document.

    Litestar builds it lazily (on the first request for it, again after routes change) and
    offers no hook for it; its plugin becomes our subclass (same slots), so the cost stays
    off start-up.
    """
    app.plugins.get(OpenAPIPlugin).__class__ = _ProblemDocumentingPlugin


def document_problem_answers(schema: OpenAPI) -> None:
    """Add the error answers to every operation of an OpenAPI document (in place)."""
    if schema.components.schemas is None:
        schema.components.schemas = {}
    schema.components.schemas["Problem"] = PROBLEM_SCHEMA
    # The document describes the JSON API, feeds and /health; HTML pages are not an API.
    schema.paths = {path: item for path, item in (schema.paths or {}).items() if path.startswith(DOCUMENTED_PREFIXES)}
    close_request_bodies(schema)
    for path, item in schema.paths.items():
        for method in METHODS:
            operation = getattr(item, method, None)
            if operation is None:
                continue
            if path.startswith("/api/"):
                _add(operation, list(PROBLEM_STATUSES))
                for status, text in SPECIFIC_PROBLEMS.get((path, method), {}).items():
                    operation.responses[str(status)].description = text  # type: ignore[index]
                if path.endswith(".ics") and operation.responses and "200" in operation.responses:
                    operation.responses["200"].content = {CALENDAR: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))}  # type: ignore[union-attr]
            elif path.startswith("/feeds/"):
                _add(operation, FEED_PROBLEM_STATUSES, page_too=True)
                operation.responses["304"] = OpenAPIResponse(description="Not modified: the client's copy is current")  # type: ignore[index]
            elif path == "/health":
                operation.responses["503"] = OpenAPIResponse(  # type: ignore[index]
                    description="The database does not answer",
                    content={"application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT))},
                )


def close_request_bodies(schema: OpenAPI) -> None:
    """Mark every object schema reachable from a JSON request body as closed (in place)."""
    components = schema.components.schemas or {}
    seen: set[int] = set()

    def close(node: object) -> None:
        if isinstance(node, Reference):
            node = components.get(node.ref.rsplit("/", 1)[-1])
        if not isinstance(node, Schema) or id(node) in seen:
            return
        seen.add(id(node))
        if node.properties is not None:
            node.additional_properties = False
            for child in node.properties.values():
                close(child)
        for child in (*(node.one_of or ()), *(node.any_of or ()), *(node.all_of or ())):
            close(child)
        if node.items is not None:
            close(node.items)

    for item in (schema.paths or {}).values():
        for method in METHODS:
            operation = getattr(item, method, None)
            body = getattr(operation, "request_body", None)
            if body is None or isinstance(body, Reference) or not body.content:
                continue
            for media in body.content.values():
                close(media.schema)
