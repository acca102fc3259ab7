"""Calendar feeds: secret, revocable URLs serving ICS, and the feed documents themselves.

Tokens are derived from a random seed stored with the feed and the app's secret key (an HMAC,
``_derive_token``); the token itself is stored as SHA-256 only. So the owner can be shown the
address again (``feed_address``), while the database alone (a backup, a leak) does not reveal a
single working address: that also needs the secret key, which signs the sessions anyway. A new
secret key makes old addresses impossible to show again (they keep working; "renew" makes a new
one). Feeds made before seeds existed work the same and can only be renewed. A feed is
of a resource or a site (public: busy time and resource; private, for the site's staff: the
details), of an organisation (its members: details) or of a person (their own bookings).
Rights are checked when a feed is made *and* every time it is read: a lender who leaves the
site, or a member who leaves the organisation, stops seeing its details (the feed answers
404 like a revoked one).

Reading a feed is cheap when nothing changed: two statements, the token with its owner's
rights and the target's name (``feed_access.load_live_feed``: rights are checked on every read,
never cached in the process) and one aggregate (count, newest ``updated_at``, sum of
SEQUENCEs), give the ETag — the aggregate is reused, without its scan, while nothing at all
was written to the database since (``direct.all_rows_until_a_write``); an If-None-Match
or If-Modified-Since that matches answers 304 without loading a booking, and an unchanged
feed is served from a small in-process cache of finished documents keyed by that ETag, and
after a restart (or in another app process) from the feed's last document kept in the
database (``FeedDocumentCache``) while its ETag still matches.
Otherwise ONE query loads the bookings (joined with resource, site, organisation, booker) and
``ical.feeds.assemble_feed`` writes them, reusing the text of every booking row that did not change. What the feed may show is
decided in ``ical.feeds.feed_event`` (pure, unit-tested).

Known limit: renaming an organisation or a person changes a private feed's text only with the
next change of one of its bookings (the ETag does not see names other than the feed's own).
"""

from __future__ import annotations

import base64
import gzip

import hashlib
import hmac
import secrets
from bisect import insort
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from operator import itemgetter

from sqlalchemy import bindparam, delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.auth.tokens import hash_token
from booking.db import direct
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied
from booking.i18n import get_translations
from booking.ical import CalendarEvent
from booking.ical.feeds import (
    EVENT_CACHE_SIZE, PUBLIC_STATUSES, FeedEntry, FeedLabels, assemble_feed, event_text, feed_event, feed_event_zone_years,
)
from booking.models import Booking, FeedDocumentCache, FeedToken, Organisation, Resource, Site, User
from booking.db.types import raw_instant
from booking.services.context import AppContext
from booking.services.feed_access import FeedKey, FeedTarget, load_live_feed, may_have

#: Scopes as the API names them; a person's feed is stored with scope "user".
FEED_SCOPES: tuple[str, ...] = ("resource", "site", "organisation", "person")
_STORED_SCOPE = {"resource": "resource", "site": "site", "organisation": "organisation", "person": "user"}
_API_SCOPE = {stored: api for api, stored in _STORED_SCOPE.items()}
TOKEN_PREFIX = "f_"
#: How far back a feed reaches; calendars keep what they already have.
FEED_HISTORY = timedelta(days=180)
#: Bump when the feed's text changes for the same data (invalidates every ETag).
FEED_FORMAT_VERSION = "2"  # 2: names are escaped TEXT (X-WR-CALNAME), control characters dropped
MAX_FEEDS_PER_PERSON = 50


@dataclass(frozen=True)
class FeedView:
    feed: FeedToken
    scope: str  # API name: resource | site | organisation | person
    target_name: str
    token: str | None = None  # only right after creating or regenerating


@dataclass(frozen=True)
class FeedDocument:
    """A feed to answer: ``body`` is None when the client's copy is current (304)."""

    etag: str
    last_modified: datetime
    body: bytes | None
    filename: str
    # The same body gzip-compressed, once the document is asked for a second time: a feed is
    # polled again and again, so it is compressed once and then served from the cache; a
    # document that changes on every request is never compressed.
    gzipped: bytes | None = None


# --------------------------------------------------------------------------- tokens


def api_scope(feed: FeedToken) -> str:
    return _API_SCOPE.get(feed.scope, feed.scope)


async def _target(session: AsyncSession, scope: str, target_id: int) -> FeedTarget:
    """The feed's target; NotFound when it does not exist."""
    model = {"resource": Resource, "site": Site, "organisation": Organisation, "user": User}[scope]
    target = await session.get(model, target_id)  # type: ignore[arg-type]
    if target is None:
        raise NotFound(f"{_API_SCOPE[scope]} {target_id} does not exist", field="target_id")
    if isinstance(target, Resource):
        site = await session.get(Site, target.site_id)
        name = f"{target.name} ({site.name})" if site else target.name
        return FeedTarget(scope, target_id, name, target.site_id, target.is_active, target.visibility, site.timezone if site else None)
    if isinstance(target, User):
        return FeedTarget(scope, target_id, target.display_name)
    if isinstance(target, Site):
        return FeedTarget(scope, target_id, target.name, target_id, timezone=target.timezone)
    return FeedTarget(scope, target_id, target.name)  # type: ignore[union-attr]


async def create_feed(
    app: AppContext, actor: Principal, scope: str, target_id: int | None, *, private: bool = False
) -> FeedView:
    """A new feed URL for ``actor``. Organisation and person feeds are always private."""
    if scope not in FEED_SCOPES:
        raise InvalidInput(f"scope is one of {', '.join(FEED_SCOPES)}", field="scope")
    stored = _STORED_SCOPE[scope]
    if stored == "user":
        target_id = actor.user_id if target_id is None else target_id
    if target_id is None:
        raise InvalidInput("give the id of the resource, site or organisation", field="target_id")
    if stored in ("organisation", "user"):
        private = True
    token, token_hash, seed = _new_feed_secret(app)
    async with app.database.transaction() as session:
        target = await _target(session, stored, target_id)
        name = target.name
        problem = may_have(actor, target, private)
        if problem == "not_found":
            raise NotFound(f"{scope} {target_id} does not exist", field="target_id")
        if problem:
            raise PermissionDenied(problem, field="private" if private and stored in ("resource", "site") else "target_id")
        existing = (
            await session.exec(
                select(func.count()).select_from(FeedToken).where(FeedToken.owner_id == actor.user_id, col(FeedToken.revoked_at).is_(None))
            )
        ).one()
        if existing >= MAX_FEEDS_PER_PERSON:
            raise InvalidInput(f"at most {MAX_FEEDS_PER_PERSON} feeds per person; revoke one first", field="scope")
        feed = FeedToken(
            owner_id=actor.user_id, scope=stored, target_id=target_id, is_private=private,
            token_hash=token_hash, token_seed=seed, created_at=app.now(),
        )
        session.add(feed)
        await session.flush()
    return FeedView(feed, scope, name, token)


async def list_feeds(app: AppContext, actor: Principal, *, include_revoked: bool = False) -> list[FeedView]:
    async with app.database.reader() as session:
        statement = select(FeedToken).where(FeedToken.owner_id == actor.user_id).order_by(col(FeedToken.id))
        if not include_revoked:
            statement = statement.where(col(FeedToken.revoked_at).is_(None))
        views = []
        for feed in (await session.exec(statement)).all():
            try:
                name = (await _target(session, feed.scope, feed.target_id)).name
            except NotFound:
                name = ""
            views.append(FeedView(feed, api_scope(feed), name))
    return views


async def _own_feed(session: AsyncSession, actor: Principal, feed_id: int) -> FeedToken:
    feed = await session.get(FeedToken, feed_id)
    if feed is None or feed.owner_id != actor.user_id:
        raise NotFound(f"feed {feed_id} does not exist")
    return feed


async def revoke_feed(app: AppContext, actor: Principal, feed_id: int) -> FeedView:
    """The feed URL stops working at once (404); revoking twice is harmless."""
    async with app.database.transaction() as session:
        feed = await _own_feed(session, actor, feed_id)
        if feed.revoked_at is None:
            feed.revoked_at = app.now()
            session.add(feed)
        try:
            name = (await _target(session, feed.scope, feed.target_id)).name
        except NotFound:
            name = ""
    return FeedView(feed, api_scope(feed), name)


async def regenerate_feed(app: AppContext, actor: Principal, feed_id: int) -> FeedView:
    """A new secret for the same feed; the old URL answers 404 from now on."""
    token, token_hash, seed = _new_feed_secret(app)
    async with app.database.transaction() as session:
        feed = await _own_feed(session, actor, feed_id)
        if feed.revoked_at is not None:
            raise InvalidInput("a revoked feed cannot be renewed; make a new one", field="feed_id")
        target = await _target(session, feed.scope, feed.target_id)
        name = target.name
        if may_have(actor, target, feed.is_private):
            raise PermissionDenied("you may no longer have this feed")
        feed.token_hash = token_hash
        feed.token_seed = seed
        feed.created_at = app.now()
        session.add(feed)
    return FeedView(feed, api_scope(feed), name, token)


def _derive_token(secret_key: str, seed: str) -> str:
    digest = hmac.new(secret_key.encode(), b"feed-token:" + seed.encode(), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _new_feed_secret(app: AppContext) -> tuple[str, str, str]:
    """(token, its hash to store, the seed to store)."""
    seed = secrets.token_urlsafe(24)
    token = _derive_token(app.settings.secret_key, seed)
    return token, hash_token(token), seed


async def feed_address(app: AppContext, actor: Principal, feed_id: int) -> FeedView:
    """One of the actor's feeds with its token again (derived, see the module docstring).

    NotFound for other people's and revoked feeds; InvalidInput (field ``feed_id``) when the
    address cannot be derived: made before seeds existed, or the secret key changed since."""
    async with app.database.reader() as session:
        feed = await _own_feed(session, actor, feed_id)
        if feed.revoked_at is not None:
            raise NotFound(f"feed {feed_id} does not exist")
        target = await _target(session, feed.scope, feed.target_id)
        name = target.name
        if may_have(actor, target, feed.is_private):
            raise NotFound(f"feed {feed_id} does not exist")
    if not feed.token_seed:
        raise InvalidInput("this address cannot be shown again; renew it to get a new one", field="feed_id")
    token = _derive_token(app.settings.secret_key, feed.token_seed)
    if not hmac.compare_digest(hash_token(token), feed.token_hash):
        raise InvalidInput("this address cannot be shown again; renew it to get a new one", field="feed_id")
    return FeedView(feed, api_scope(feed), name, token)


def feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """The https (or http) URL of a feed and the same as ``webcal://`` for calendar apps."""
    url = f"{base_url.rstrip('/')}/feeds/{token}.ics"
    scheme, _, rest = url.partition("://")
    return url, f"webcal://{rest}" if scheme in ("http", "https") else url


# --------------------------------------------------------------------------- documents


class _DocumentCache:
    """Finished feed documents by ETag, bounded by total size (least recently used go)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._gzipped: dict[str, bytes] = {}
        self._size = 0

    def get(self, etag: str) -> bytes | None:
        body = self._entries.get(etag)
        if body is not None:
            self._entries.move_to_end(etag)
        return body

    def put(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 4 or etag in self._entries:
            return
        self._entries[etag] = body
        self._size += len(body)
        while self._size > self.max_bytes:
            etag_dropped, dropped = self._entries.popitem(last=False)
            self._size -= len(dropped) + len(self._gzipped.pop(etag_dropped, b""))

    def gzipped(self, etag: str) -> bytes | None:
        """The cached body compressed (made on first use, kept with the body)."""
        compressed = self._gzipped.get(etag)
        if compressed is None and (body := self._entries.get(etag)) is not None:
            compressed = self._gzipped[etag] = gzip.compress(body, compresslevel=6, mtime=0)
            self._size += len(compressed)
        return compressed

    def clear(self) -> None:
        self._entries.clear()
        self._gzipped.clear()
        self._size = 0


_documents = _DocumentCache()


def clear_document_cache() -> None:
    """Forget finished documents and cached event texts (benchmarks of the uncached path)."""
    _documents.clear()
    _texts.clear()
    _states.clear()
    _pending.clear()


@dataclass(frozen=True)
class _Feed:
    feed: FeedKey
    name: str
    timezone: str
    filename: str
    show_email: bool
    write_marker: str | None = None  # see feed_access.LiveFeed


def _conditions(feed: FeedKey | FeedToken, window_start: datetime, *, with_status: bool = True) -> list[object]:
    conditions: list[object] = [Booking.ends_at > window_start]
    if feed.scope == "resource":
        conditions.append(Booking.resource_id == feed.target_id)
    elif feed.scope == "site":
        conditions.append(Resource.site_id == feed.target_id)
        if not feed.is_private:
            conditions.append(Resource.visibility == "public")
    elif feed.scope == "organisation":
        conditions.append(Booking.organisation_id == feed.target_id)
    else:
        conditions.append(Booking.booker_id == feed.target_id)
    if not feed.is_private and with_status:
        conditions.append(col(Booking.status).in_(PUBLIC_STATUSES))
    return conditions


async def _load_feed(connection: AsyncConnection, app: AppContext, token: str) -> _Feed | None:
    """The feed behind a token, if it is live and its owner may still have it (one statement:
    ``feed_access.load_live_feed``)."""
    if not token or len(token) > 200:
        return None
    live = await load_live_feed(connection, hash_token(token))
    if live is None:
        return None
    feed, target = live.feed, live.target
    name = target.name
    if feed.scope == "user":
        name = get_translations(app.settings.default_language).gettext("Bookings of %(name)s") % {"name": name}
    filename = f"{feed.scope}-{feed.target_id}.ics"
    return _Feed(
        feed, name, target.timezone or app.settings.default_timezone, filename,
        show_email=feed.is_private and feed.scope in ("resource", "site"), write_marker=live.write_marker,
    )


class _Parameter:
    """A feed's scope and privacy with its target as a bound parameter, for ``_conditions``."""

    def __init__(self, scope: str, is_private: bool) -> None:
        self.scope, self.is_private, self.target_id = scope, is_private, bindparam("target_id")


_SUMMARIES: dict[tuple[str, bool], object] = {}


def _summary_statement(scope: str, is_private: bool):  # type: ignore[no-untyped-def]
    """Count, newest ``updated_at`` and sum of SEQUENCEs of a feed's bookings: what its ETag
    is made of. Built once per scope and privacy (parameters: target_id, window_start); the
    resource is joined only where a condition needs it (a site's feed)."""
    statement = _SUMMARIES.get((scope, is_private))
    if statement is None:
        summary = select(func.count(col(Booking.id)), func.max(Booking.updated_at), func.coalesce(func.sum(Booking.sequence), 0))
        summary = summary.select_from(Booking)
        if scope == "site":
            summary = summary.join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        conditions = _conditions(_Parameter(scope, is_private), bindparam("window_start"))  # type: ignore[arg-type]
        statement = _SUMMARIES[(scope, is_private)] = summary.where(*conditions)  # type: ignore[arg-type]
    return statement


def _etag(app: AppContext, feed: _Feed, window_start: datetime, count: int, newest: datetime | None, sequences: int) -> str:
    parts = (
        FEED_FORMAT_VERSION, feed.feed.token_hash, app.settings.base_url, app.settings.default_language,
        feed.name, feed.timezone, window_start.isoformat(), str(count),
        newest.isoformat() if newest else "-", str(sequences),
    )
    return '"' + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32] + '"'


def _last_modified(feed: _Feed, window_start: datetime, newest: datetime | None) -> datetime:
    moments = [feed.feed.created_at, window_start]
    if newest is not None:
        moments.append(newest)
    return max(moment.astimezone(UTC) for moment in moments).replace(microsecond=0)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [part.strip() for part in if_none_match.split(",")]
    return any(candidate == "*" or candidate.removeprefix("W/") == etag for candidate in candidates)


async def render_feed(
    app: AppContext,
    token: str,
    *,
    if_none_match: str | None = None,
    if_modified_since: datetime | None = None,
) -> FeedDocument:
    """The ICS document of a feed token; NotFound for unknown, revoked or orphaned tokens.

    ``body`` is None when If-None-Match (or, without it, If-Modified-Since) shows the
    client's copy is current.
    """
    now = app.now()
    # Midnight-aligned: the window (and so the ETag) moves once a day, not every request.
    window_start = datetime.combine((now - FEED_HISTORY).date(), time(0), tzinfo=UTC)
    events: list[_Event] | None = None
    seed: dict[bytes, bytes] = {}
    # Core statements on one connection, no ORM session: a 304 is two statements (the feed
    # with its rights, the summary; the summary is given again without its scan while nothing
    # was written since, see direct.all_rows_until_a_write). On SQLite each is its own
    # snapshot (no BEGIN); they need not agree: a body's ETag is computed from the rows it
    # was written from.
    async with app.database.read_connection() as connection:
        feed = await _load_feed(connection, app, token)
        if feed is None:
            raise NotFound("no such feed")
        ((count, newest, sequences),) = await direct.all_rows_until_a_write(
            connection, _summary_statement(feed.feed.scope, feed.feed.is_private),
            {"target_id": feed.feed.target_id, "window_start": window_start}, marker=feed.write_marker,
        )
        newest = _as_utc(newest)
        etag = _etag(app, feed, window_start, count, newest, int(sequences))
        last_modified = _last_modified(feed, window_start, newest)
        not_modified = _matches(if_none_match, etag) if if_none_match else (
            if_modified_since is not None and last_modified <= if_modified_since.astimezone(UTC)
        )
        if not_modified:
            return FeedDocument(etag, last_modified, None, feed.filename)
        cached = _documents.get(etag)
        if cached is not None:
            return FeedDocument(etag, last_modified, cached, feed.filename, _documents.gzipped(etag))
        variant = _variant_of(app, feed)
        state = _states.get(feed.feed.id)
        if state is not None and state.variant == variant and state.window_start == window_start and state.newest is not None:
            # This process rendered the feed before: load only the bookings changed since then
            # (without the status condition, so that one that left a public feed is seen too)
            # and patch the events; the aggregate above tells whether that gave the whole feed.
            # (Before looking for a stored document: patching is cheaper than reading one.)
            changed = (
                await connection.execute(
                    _rows_of(feed.feed.scope, feed.feed.is_private, changed_since=True),
                    {"target_id": feed.feed.target_id, "window_start": window_start, "since": state.newest},
                )
            ).all()
            events = _patched(state, variant, changed, private=feed.feed.is_private)
            body_etag, body_newest = _events_etag(app, feed, window_start, events)
            if body_etag != etag:
                events = None  # something else changed (a booking deleted or moved away): load all
        if events is None:
            # Rendered before, by this process before a restart or by another one.
            stored = (
                await connection.execute(
                    select(FeedDocumentCache.body).where(
                        FeedDocumentCache.feed_id == feed.feed.id, FeedDocumentCache.etag == etag.strip('"')
                    )
                )
            ).first()
            if stored is not None:
                _documents.put(etag, stored[0])
                # The stored document is current now: as if this process had just written it, the
                # next changes within DOCUMENT_STORE_INTERVAL are kept back instead of written
                # (1.5 MB for 5,000 events) in the request of the first change after a start.
                _pending.stored_current(feed.feed.token_hash, now)
                return FeedDocument(etag, last_modified, stored[0], feed.filename)
            if state is None:
                # Not rendered by this process yet: the stored document's events whose rows did
                # not change are reused as they are (writing 5,000 events takes about a second).
                stored_row = (
                    await connection.execute(
                        select(FeedDocumentCache.body, FeedDocumentCache.event_keys).where(
                            FeedDocumentCache.feed_id == feed.feed.id
                        )
                    )
                ).first()
                if stored_row is not None:
                    seed = _stored_events(stored_row[0], stored_row[1])
            # Core, not the ORM: plain rows, none of the ORM's per-row bookkeeping.
            rows = (
                await connection.execute(
                    _rows_of(feed.feed.scope, feed.feed.is_private, changed_since=False),
                    {"target_id": feed.feed.target_id, "window_start": window_start},
                )
            ).all()
            events = [_event_of(row, text) for row, text in zip(rows, _texts.texts(variant, rows, seed), strict=True)]
            # The body's own ETag: a change committed between the two queries must not be
            # cached under the older ETag.
            body_etag, body_newest = _events_etag(app, feed, window_start, events)
    body = assemble_feed(list(map(_TEXT_OF_EVENT, events)), name=feed.name, timezone_hint=feed.timezone)
    _documents.put(body_etag, body)
    _states.put(feed.feed.id, _FeedState(variant, window_start, events, body_newest))  # type: ignore[arg-type]
    await _keep_document(app, feed.feed, body_etag, body, events, now)  # type: ignore[arg-type]
    return FeedDocument(body_etag, _last_modified(feed, window_start, body_newest), body, feed.filename)


#: How often one process writes a feed's document to the database. The stored document serves
#: other processes and the next start; an older one still gives them every event that did not
#: change since (``_stored_events``). Writing the 1.5 MB of a 5,000-event feed on every change
#: was most of the request after a change (PostgreSQL: 60-110 ms on a busy machine).
DOCUMENT_STORE_INTERVAL = timedelta(seconds=30)
#: Documents kept back by the interval, at most this many bytes (past it they are written).
PENDING_DOCUMENTS_BYTES = 16 * 1024 * 1024


class _PendingDocuments:
    """When this process last wrote each feed's document, and the newer ones it kept back, by
    the feed's token hash (a regenerated token starts afresh)."""

    def __init__(self) -> None:
        self.stored_at: dict[str, datetime] = {}
        # token hash -> (database, feed id, ETag, body, events, rendered at)
        self.pending: dict[str, tuple[object, int, str, bytes, list[_Event], datetime]] = {}

    def size(self) -> int:
        return sum(len(entry[3]) for entry in self.pending.values())

    def stored_current(self, key: str, now: datetime) -> None:
        """The stored document of ``key`` was found current at ``now`` (served from the database)."""
        if key not in self.stored_at:
            if len(self.stored_at) > 4096:
                self.stored_at.clear()
            self.stored_at[key] = now

    def clear(self) -> None:
        self.stored_at.clear()
        self.pending.clear()


_pending = _PendingDocuments()


async def _keep_document(app: AppContext, feed: FeedKey, etag: str, body: bytes, events: list[_Event], now: datetime) -> None:
    """Write the document now, or keep it back when this process wrote the feed's document
    less than ``DOCUMENT_STORE_INTERVAL`` ago (``store_pending_documents`` writes it at the end)."""
    key = feed.token_hash
    last = _pending.stored_at.get(key)
    if last is not None and timedelta(0) <= now - last < DOCUMENT_STORE_INTERVAL and (
        _pending.size() + len(body) <= PENDING_DOCUMENTS_BYTES
    ):
        _pending.pending[key] = (app.database, feed.id, etag, body, events, now)  # type: ignore[assignment]
        return
    _pending.pending.pop(key, None)
    if len(_pending.stored_at) > 4096:
        _pending.stored_at.clear()
    _pending.stored_at[key] = now
    await _store_document(app, feed.id, etag, body, b"".join(event[4][3] for event in events), now)  # type: ignore[arg-type]


async def store_pending_documents(app: AppContext) -> int:
    """Write the documents kept back (the app calls it when it stops); how many were written.
    Only those of ``app``'s database (one process, one database; tests make many)."""
    pending = [(key, entry) for key, entry in _pending.pending.items() if entry[0] is app.database]
    for key, _ in pending:
        del _pending.pending[key]
    for key, (_, feed_id, etag, body, events, now) in pending:
        _pending.stored_at[key] = now
        await _store_document(app, feed_id, etag, body, b"".join(event[4][3] for event in events), now)
    return len(pending)


async def _store_document(app: AppContext, feed_id: int, etag: str, body: bytes, event_keys: bytes, now: datetime) -> None:
    """Keep the feed's newest document for every app process and the next start."""
    try:
        async with app.database.transaction() as session:
            await session.exec(delete(FeedDocumentCache).where(col(FeedDocumentCache.feed_id) == feed_id))
            session.add(FeedDocumentCache(feed_id=feed_id, etag=etag.strip('"'), body=body, event_keys=event_keys, stored_at=now))
    except IntegrityError:
        pass  # another process stored it at the same moment; either copy serves


# --------------------------------------------------------------------------- patching

#: One event of a document: (sort key (start, id), booking id, SEQUENCE, updated_at, text).
_Event = tuple[tuple[datetime, int], int, int, "datetime | None", "_Text"]
#: A VEVENT's text, its TZID, the local years its VTIMEZONE covers, the digest of its row.
_Text = tuple[bytes, str, tuple[int, ...], bytes]


@dataclass
class _FeedState:
    """The events of the document this process last wrote for a feed, to patch."""

    variant: _Variant
    window_start: datetime
    events: list[_Event]
    newest: datetime | None


class _States:
    """The last written events per feed id (bounded: past ``limit`` feeds it starts afresh)."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._by_feed: dict[int, _FeedState] = {}

    def get(self, feed_id: int) -> _FeedState | None:
        return self._by_feed.get(feed_id)

    def put(self, feed_id: int, state: _FeedState) -> None:
        if len(self._by_feed) >= self.limit and feed_id not in self._by_feed:
            self._by_feed.clear()
        self._by_feed[feed_id] = state

    def clear(self) -> None:
        self._by_feed.clear()


_states = _States()


def _event_of(row: tuple, text: _Text) -> _Event:  # type: ignore[type-arg]
    booking_id, starts_at, sequence, updated_at = row[0], _as_utc(row[1]), row[4], _as_utc(row[5])
    return ((starts_at, booking_id), booking_id, sequence, updated_at, text)  # type: ignore[return-value]


def _patched(state: _FeedState, variant: _Variant, changed: list, *, private: bool) -> list[_Event]:  # type: ignore[type-arg]
    """``state``'s events with the ``changed`` rows replaced, added or (status no longer
    shown) dropped, in the feed's order (kept sorted: the few changed ones are inserted)."""
    changed_ids = {row[0] for row in changed}
    kept = [row for row in changed if private or row[3] in PUBLIC_STATUSES]
    events = [event for event in state.events if event[1] not in changed_ids]
    for event in (_event_of(row, text) for row, text in zip(kept, _texts.texts(variant, kept), strict=True)):
        insort(events, event, key=_ORDER_OF_EVENT)
    return events


_ORDER_OF_EVENT = itemgetter(0)
_SEQUENCE_OF_EVENT = itemgetter(2)
_UPDATED_OF_EVENT = itemgetter(3)
_TEXT_OF_EVENT = itemgetter(4)


def _events_etag(app: AppContext, feed: _Feed, window_start: datetime, events: list[_Event]) -> tuple[str, datetime | None]:
    newest = max(filter(None, map(_UPDATED_OF_EVENT, events)), default=None)
    return _etag(app, feed, window_start, len(events), newest, sum(map(_SEQUENCE_OF_EVENT, events))), newest


_VEVENT_START = b"BEGIN:VEVENT\r\n"
_VEVENT_END = b"END:VEVENT\r\n"


def _stored_events(body: bytes, keys: bytes | None) -> dict[bytes, bytes]:
    """The VEVENT texts of a stored document by the digest of the row each was written from."""
    if not keys:
        return {}
    start, end = body.find(_VEVENT_START), body.rfind(b"END:VCALENDAR\r\n")
    if start < 0 or end < start:
        return {}
    parts = body[start:end].split(_VEVENT_END)
    if parts[-1] != b"" or (len(parts) - 1) * 8 != len(keys):
        return {}
    return {keys[index * 8:(index + 1) * 8]: part + _VEVENT_END for index, part in enumerate(parts[:-1])}


_ROWS: dict[tuple[str, bool, bool], object] = {}


def _rows_of(scope: str, is_private: bool, *, changed_since: bool):  # type: ignore[no-untyped-def]
    """The statement loading a feed's rows, built once per scope and privacy (parameters:
    target_id, window_start; with ``changed_since`` also since: only the rows updated since,
    whatever their status, so that one that left a public feed is seen too)."""
    key = (scope, is_private, changed_since)
    statement = _ROWS.get(key)
    if statement is None:
        conditions = _conditions(_Parameter(scope, is_private), bindparam("window_start"), with_status=not changed_since)  # type: ignore[arg-type]
        if changed_since:
            conditions.append(col(Booking.updated_at) >= bindparam("since"))
        statement = _ROWS[key] = _rows_statement(conditions)
    return statement


def _rows_statement(conditions: list[object]):  # type: ignore[no-untyped-def]
    return (
        select(
            Booking.id, raw_instant(Booking.starts_at), raw_instant(Booking.ends_at), Booking.status, Booking.sequence,
            raw_instant(Booking.updated_at),
            Booking.title, Booking.purpose, Booking.is_public, Booking.series_id,
            Resource.name, Site.name, Site.address, Site.timezone, Organisation.name, User.display_name, User.email,
            Booking.quantity, Resource.capacity,
        )
        .select_from(Booking)
        .join(Resource, Resource.id == Booking.resource_id)  # type: ignore[arg-type]
        .join(Site, Site.id == Resource.site_id)  # type: ignore[arg-type]
        .join(User, User.id == Booking.booker_id)  # type: ignore[arg-type]
        .outerjoin(Organisation, Organisation.id == Booking.organisation_id)  # type: ignore[arg-type]
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(col(Booking.starts_at), col(Booking.id))
    )


def _as_utc(value: datetime | str | None) -> datetime | None:
    # Aggregates bypass the column type: SQLite hands back text, PostgreSQL an aware value.
    # Called several times per row of a 5,000-event feed: the common cases go first. Parsing
    # with an explicit offset is several times faster than parsing and then replace(tzinfo=).
    if value is None:
        return None
    if isinstance(value, str):
        if value[-6:-5] not in ("+", "-") and not value.endswith("Z"):
            return datetime.fromisoformat(value + "+00:00")
        value = datetime.fromisoformat(value)
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _entry(row: tuple) -> FeedEntry:  # type: ignore[type-arg]
    (booking_id, starts_at, ends_at, status, sequence, updated_at, title, purpose, is_public, series_id,
     resource_name, site_name, site_address, timezone, organisation_name, booker_name, booker_email, quantity, capacity) = row
    return FeedEntry(
        booking_id=booking_id, starts_at=_as_utc(starts_at), ends_at=_as_utc(ends_at), status=status,  # type: ignore[arg-type]
        sequence=sequence, updated_at=_as_utc(updated_at), title=title, purpose=purpose, is_public=is_public,  # type: ignore[arg-type]
        resource_name=resource_name, site_name=site_name, site_address=site_address, timezone=timezone,
        organisation_name=organisation_name, booker_name=booker_name, booker_email=booker_email, series_id=series_id,
        quantity=quantity, capacity=capacity,
    )


def _labels(language: str) -> FeedLabels:
    translations = get_translations(language)
    return FeedLabels(
        busy=translations.gettext("Busy"),
        booked_by=translations.gettext("Booked by"),
        organisation=translations.gettext("Organisation"),
        part_of_series=translations.gettext("Part of a series"),
        units_taken=translations.gettext("%(taken)s of %(capacity)s taken"),
    )


@dataclass(frozen=True)
class _Variant:
    """Everything besides the row that decides an event's text."""

    private: bool
    show_email: bool
    host: str
    base_url: str
    labels: FeedLabels


class _TextCache:
    """VEVENT texts per feed variant, keyed by the digest of the booking row's values: a
    booking that did not change (same values, same SEQUENCE and updated_at) is not written
    again, and a changed one gets a new key. The digest is what a stored document keeps per
    event (``event_keys``), so one hash per row serves both; hashing the row tuple itself as
    the key cost two tuple hashes per row (datetimes included) on every full load.
    Bounded: past ``limit`` entries a variant starts afresh."""

    def __init__(self, limit: int = EVENT_CACHE_SIZE) -> None:
        self.limit = limit
        self._by_variant: dict[_Variant, dict[bytes, _Text]] = {}

    def texts(self, variant: _Variant, rows: list, seed: dict[bytes, bytes] | None = None) -> list[_Text]:  # type: ignore[type-arg]
        """The text of every row; one missing here is taken from ``seed`` (texts of a stored
        document by row digest) when its row is the same, else written."""
        cache = self._by_variant.get(variant)
        if cache is None:
            if len(self._by_variant) > 64:
                self._by_variant.clear()
            cache = self._by_variant[variant] = {}
        if len(cache) + len(rows) > self.limit:
            cache.clear()
        prefix = repr(variant).encode()
        blake2b = hashlib.blake2b
        texts = []
        for row in rows:
            key = tuple(row)
            digest = blake2b(prefix + repr(key).encode(), digest_size=8).digest()
            text = cache.get(digest)
            if text is None:
                kept = seed.get(digest) if seed else None
                if kept is not None:
                    zone_years = feed_event_zone_years(_as_utc(key[1]), _as_utc(key[2]), key[13])  # type: ignore[arg-type]
                    text = cache[digest] = (kept, *zone_years, digest)
                else:
                    text = cache[digest] = (*_row_text(key, variant), digest)
            texts.append(text)
        return texts

    def clear(self) -> None:
        self._by_variant.clear()


def _row_text(row: tuple, variant: _Variant) -> tuple[bytes, str, tuple[int, ...]]:  # type: ignore[type-arg]
    return event_text(_row_event(row, variant))


def _row_event(row: tuple, variant: _Variant) -> CalendarEvent:  # type: ignore[type-arg]
    entry = _entry(row)
    return feed_event(
        entry, private=variant.private, host=variant.host, labels=variant.labels, show_email=variant.show_email,
        url=f"{variant.base_url}/bookings/{entry.booking_id}" if variant.private else None,
    )


_texts = _TextCache()


def _variant_of(app: AppContext, feed: _Feed) -> _Variant:
    return _Variant(
        private=feed.feed.is_private, show_email=feed.show_email, host=app.settings.host_name,
        base_url=app.settings.base_url.rstrip("/"), labels=_labels(app.settings.default_language),
    )


__all__ = [
    "FEED_SCOPES",
    "FeedDocument",
    "FeedView",
    "api_scope",
    "clear_document_cache",
    "create_feed",
    "feed_urls",
    "list_feeds",
    "regenerate_feed",
    "render_feed",
    "revoke_feed",
    "store_pending_documents",
]
