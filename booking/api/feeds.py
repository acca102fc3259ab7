"""Calendar feeds: /api/v1/feeds (make, list, revoke, renew secret feed URLs) and the feed
itself at /feeds/{token}.ics (no login: the secret in the URL is the key).

The API shows a feed's token in the answer that makes (or renews) it (the owner's page
/bookings/feeds/{id} can show it again: see services/feeds.py), together with its
https URL and the same as ``webcal://`` (calendar apps subscribe to that). Unknown and revoked
tokens answer 404. Feeds answer ``text/calendar; charset=utf-8`` with ETag and Last-Modified,
and 304 to a matching If-None-Match or If-Modified-Since. What a public or a private feed shows
is documented in ``booking.ical.feeds``.

Series in feeds: expanded. Every occurrence is its own VEVENT with its own stable UID
(``booking-<id>@<host>`` of the occurrence's booking row), STATUS and SEQUENCE — no master with
RRULE/EXDATE (invitations by mail carry the RRULE). See ``booking.ical.feeds`` for why.

Unsafe requests authenticated by the session cookie need a JSON body (``{}`` will do), as
everywhere under /api (see ``booking.auth.middleware``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, get, head, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from booking.auth.guards import public, requires_login
from booking.auth.middleware import SKIP_AUTHENTICATION
from booking.domain.errors import NotFound
from booking.services import feeds
from booking.services.context import AppContext
from booking.services.feeds import FeedView

Ctx = NamedDependency[AppContext]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
# Litestar appends "; charset=utf-8" to text/* media types.
CALENDAR_MEDIA_TYPE = "text/calendar"
GZIP_ETAG_SUFFIX = "-gzip"


class FeedCreate(msgspec.Struct, forbid_unknown_fields=True):
    scope: Literal["resource", "site", "organisation", "person"]
    target_id: Id | None = None
    private: bool = False


class FeedOut(msgspec.Struct):
    id: int
    scope: str
    target_id: int
    target_name: str
    private: bool
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, view: FeedView) -> FeedOut:
        feed = view.feed
        return cls(
            id=feed.id, scope=view.scope, target_id=feed.target_id, target_name=view.target_name,  # type: ignore[arg-type]
            private=feed.is_private, created_at=feed.created_at, revoked_at=feed.revoked_at,
        )


class FeedSecretOut(msgspec.Struct):
    """A feed with its secret: shown once; only a hash is kept."""

    id: int
    scope: str
    target_id: int
    target_name: str
    private: bool
    created_at: datetime
    token: str
    url: str
    webcal_url: str

    @classmethod
    def of(cls, view: FeedView, base_url: str) -> FeedSecretOut:
        assert view.token is not None
        url, webcal_url = feeds.feed_urls(base_url, view.token)
        feed = view.feed
        return cls(
            id=feed.id, scope=view.scope, target_id=feed.target_id, target_name=view.target_name,  # type: ignore[arg-type]
            private=feed.is_private, created_at=feed.created_at, token=view.token, url=url, webcal_url=webcal_url,
        )


class FeedTokenController(Controller):
    path = "/api/v1/feeds"
    tags = ["feeds"]
    guards = [requires_login]

    @post("/", summary="Make a secret feed URL (shown once)")
    async def create(self, request: Request, app_context: Ctx, data: JSONBody[FeedCreate]) -> FeedSecretOut:
        view = await feeds.create_feed(app_context, request.user, data.scope, data.target_id, private=data.private)
        return FeedSecretOut.of(view, app_context.settings.base_url)

    @get("/", summary="My feeds (without their secrets)")
    async def list_mine(self, request: Request, app_context: Ctx, include_revoked: FromQuery[bool] = False) -> list[FeedOut]:
        return [FeedOut.of(view) for view in await feeds.list_feeds(app_context, request.user, include_revoked=include_revoked)]

    @post("/{feed_id:int}/revoke", status_code=200, summary="Revoke a feed URL (it answers 404 from now on)")
    async def revoke(self, request: Request, app_context: Ctx, feed_id: FromPath[int]) -> FeedOut:
        return FeedOut.of(await feeds.revoke_feed(app_context, request.user, feed_id))

    @post("/{feed_id:int}/regenerate", status_code=200, summary="A new secret for a feed (the old URL stops working)")
    async def regenerate(self, request: Request, app_context: Ctx, feed_id: FromPath[int]) -> FeedSecretOut:
        view = await feeds.regenerate_feed(app_context, request.user, feed_id)
        return FeedSecretOut.of(view, app_context.settings.base_url)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


# A feed is polled by calendar apps, anonymously (the secret is in the URL): no CSRF cookie, no
# session and no signed-in person to look up for it (the middleware skip these per route).
FEED_OPTIONS = {
    "guards": [public], "tags": ["feeds"], "media_type": CALENDAR_MEDIA_TYPE,
    "opt": {"exclude_from_csrf": True, "skip_session": True, SKIP_AUTHENTICATION: True},
}


def _variant_etag(etag: str, gzipped: bool) -> str:
    """Gzip and plain bodies differ, so their strong ETags must too (RFC 9110 8.8.3)."""
    return etag[:-1] + GZIP_ETAG_SUFFIX + '"' if gzipped else etag


def _base_etags(if_none_match: str | None) -> str | None:
    """If-None-Match with our gzip suffix taken off: both variants validate the same version."""
    return if_none_match.replace(GZIP_ETAG_SUFFIX + '"', '"') if if_none_match else if_none_match


async def _feed_answer(request: Request, app_context: AppContext, filename: str, *, with_body: bool) -> Response[bytes]:
    if not filename.endswith(".ics"):
        raise NotFound("no such feed")
    if_none_match = request.headers.get("if-none-match")
    document = await feeds.render_feed(
        app_context,
        filename.removesuffix(".ics"),
        if_none_match=_base_etags(if_none_match),
        if_modified_since=_http_date(request.headers.get("if-modified-since")),
    )
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
    headers = {
        "Last-Modified": format_datetime(document.last_modified, usegmt=True),
        # A secret URL: no shared caches; clients revalidate with the ETag.
        "Cache-Control": "private, no-cache",
        "X-Robots-Tag": "noindex",
        "Vary": "Accept-Encoding",
    }
    if document.body is None:
        # The ETag of the variant the client holds (the one it sent back).
        headers["ETag"] = _variant_etag(document.etag, GZIP_ETAG_SUFFIX + '"' in (if_none_match or ""))
        return Response(b"", status_code=304, headers=headers, media_type=CALENDAR_MEDIA_TYPE)
    headers["Content-Disposition"] = f'inline; filename="{document.filename}"'
    gzipped = document.gzipped is not None and accepts_gzip
    headers["ETag"] = _variant_etag(document.etag, gzipped)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    body = document.gzipped if gzipped else document.body
    if not with_body:
        headers["Content-Length"] = str(len(body))  # type: ignore[arg-type]
        return Response(b"", status_code=200, headers=headers, media_type=CALENDAR_MEDIA_TYPE)
    return Response(body, status_code=200, headers=headers, media_type=CALENDAR_MEDIA_TYPE)  # type: ignore[arg-type]


@get("/feeds/{filename:str}", summary="A calendar feed (ICS)", **FEED_OPTIONS)
async def feed_document(request: Request, app_context: Ctx, filename: FromPath[str]) -> Response[bytes]:
    return await _feed_answer(request, app_context, filename, with_body=True)


@head("/feeds/{filename:str}", summary="The headers of a calendar feed (ETag, Last-Modified)", **FEED_OPTIONS)
async def feed_headers(request: Request, app_context: Ctx, filename: FromPath[str]) -> Response[None]:
    return await _feed_answer(request, app_context, filename, with_body=False)  # type: ignore[return-value]


ROUTES = [FeedTokenController, feed_document, feed_headers]
