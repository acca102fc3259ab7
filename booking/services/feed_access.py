"""Who may read a feed: the rule (``may_have``) and, for every read of a feed URL, ONE statement
that loads the token with every fact the rule needs (``load_live_feed``).

A feed URL is polled again and again, mostly to hear "not modified". Its rights are checked on
every read, not cached in the process: a revoked or renewed token, an owner who was deactivated
or erased, a member who left the organisation, a lender who left the site, a resource that was
deactivated or hidden stop the feed on the very next request, in every app process. That check
is one indexed statement: the token row by its hash, its owner, its target (resource with its
site, site, organisation) and the owner's few roles the rule can ask about (the role in the
target organisation, any membership at all, the role at the target's site).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from booking.auth.permissions import can_see_resource
from booking.auth.principal import Principal
from booking.db import direct
from booking.models import FeedToken, Membership, Organisation, Resource, Site, SiteRole, User


@dataclass(frozen=True)
class FeedTarget:
    """What a feed shows: a resource, site, organisation or person (scope ``user``)."""

    scope: str
    id: int
    name: str
    site_id: int | None = None  # a resource's site; a site's own id
    is_active: bool = True  # resources can be deactivated
    visibility: str = "public"  # a resource's
    timezone: str | None = None  # the site's, for resources and sites


def may_have(actor: Principal, target: FeedTarget, private: bool) -> str | None:
    """None when ``actor`` may have (and read) a feed of ``target``, else the reason;
    ``"not_found"`` when the target is not theirs to see at all."""
    if target.scope == "resource":
        if not target.is_active or not can_see_resource(actor, target.visibility, target.site_id):  # type: ignore[arg-type]
            return "not_found"
        if private and not actor.is_lender_at(target.site_id):  # type: ignore[arg-type]
            return "only the site's lenders and managers may have a private feed of a resource"
        return None
    if target.scope == "site":
        if private and not actor.is_lender_at(target.id):
            return "only the site's lenders and managers may have a private feed of a site"
        return None
    if target.scope == "organisation":
        if not (actor.is_member_of(target.id) or actor.is_city_admin):
            return "only members may have the feed of an organisation"
        return None
    if target.scope == "user":
        if target.id != actor.user_id:
            return "a person's feed is only for that person"
        return None
    return "unknown feed"


@dataclass(frozen=True)
class FeedKey:
    """The columns of a feed token a document depends on (never its seed)."""

    id: int
    owner_id: int
    scope: str
    target_id: int
    is_private: bool
    token_hash: str
    created_at: datetime


@dataclass(frozen=True)
class LiveFeed:
    """A live token whose owner may still read it, with its target."""

    feed: FeedKey
    target: FeedTarget
    owner_name: str
    #: ``direct.write_marker()`` read with the token: lets the feed's summary be reused while
    #: nothing was written since (``direct.all_rows_until_a_write``).
    write_marker: str | None = None


_TOKEN_HASH = bindparam("token_hash")


def _live_feed_statement():  # type: ignore[no-untyped-def]
    token = FeedToken.__table__  # type: ignore[attr-defined]
    owner = User.__table__.alias("owner")  # type: ignore[attr-defined]
    resource = Resource.__table__  # type: ignore[attr-defined]
    site = Site.__table__  # type: ignore[attr-defined]
    organisation = Organisation.__table__  # type: ignore[attr-defined]
    membership = Membership.__table__  # type: ignore[attr-defined]
    site_role = SiteRole.__table__  # type: ignore[attr-defined]
    # A resource's site, or the site itself: the site whose staff the rule asks about.
    site_id = func.coalesce(resource.c.site_id, case((token.c.scope == "site", token.c.target_id)))
    role_in_organisation = (
        select(membership.c.role)
        .where(membership.c.user_id == token.c.owner_id, membership.c.organisation_id == organisation.c.id)
        .limit(1).scalar_subquery()
    )
    any_organisation = select(membership.c.organisation_id).where(membership.c.user_id == token.c.owner_id).limit(1).scalar_subquery()
    role_at_site = (
        select(site_role.c.role).where(site_role.c.user_id == token.c.owner_id, site_role.c.site_id == site.c.id).limit(1).scalar_subquery()
    )
    return (
        select(
            token.c.id, token.c.owner_id, token.c.scope, token.c.target_id, token.c.is_private, token.c.token_hash,
            token.c.created_at, token.c.revoked_at,
            owner.c.is_active, owner.c.is_city_admin, owner.c.display_name,
            resource.c.id, resource.c.name, resource.c.is_active, resource.c.visibility,
            site.c.id, site.c.name, site.c.timezone,
            organisation.c.id, organisation.c.name,
            role_in_organisation, any_organisation, role_at_site, direct.write_marker().label("write_marker"),
        )
        .select_from(token)
        .join(owner, owner.c.id == token.c.owner_id)
        .outerjoin(resource, and_(token.c.scope == "resource", resource.c.id == token.c.target_id))
        .outerjoin(site, site.c.id == site_id)
        .outerjoin(organisation, and_(token.c.scope == "organisation", organisation.c.id == token.c.target_id))
        .where(token.c.token_hash == _TOKEN_HASH)
    )


_LIVE_FEED = _live_feed_statement()  # built once: every read of a feed runs it


async def load_live_feed(connection: AsyncConnection, token_hash: str) -> LiveFeed | None:
    """The feed behind ``token_hash`` when it is live and its owner may still read it; None
    for unknown, revoked and orphaned tokens alike. One statement."""
    rows = await direct.all_rows(connection, _LIVE_FEED, {"token_hash": token_hash})
    if not rows:
        return None
    row = rows[0]
    (feed_id, owner_id, scope, target_id, is_private, stored_hash, created_at, revoked_at,
     owner_active, owner_city_admin, owner_name,
     resource_id, resource_name, resource_active, visibility, site_id, site_name, timezone,
     organisation_id, organisation_name, role_in_organisation, any_organisation, role_at_site, write_marker) = row
    if revoked_at is not None or not owner_active:
        return None
    if scope == "resource":
        if resource_id is None:
            return None
        name = f"{resource_name} ({site_name})" if site_id is not None else resource_name
        target = FeedTarget(scope, resource_id, name, site_id, bool(resource_active), visibility, timezone)
    elif scope == "site":
        if site_id is None:
            return None
        target = FeedTarget(scope, site_id, site_name, site_id, timezone=timezone)
    elif scope == "organisation":
        if organisation_id is None:
            return None
        target = FeedTarget(scope, organisation_id, organisation_name)
    elif scope == "user":
        # Only the owner's own bookings (the rule): the owner is the person.
        target = FeedTarget(scope, target_id, owner_name)
    else:
        return None
    # The owner's principal with just the roles this feed's rule can ask about.
    organisation_roles: dict[int, str] = {}
    if any_organisation is not None:
        organisation_roles[any_organisation] = "member"
    if role_in_organisation is not None:
        organisation_roles[organisation_id] = role_in_organisation
    owner = Principal(
        user_id=owner_id, email="", display_name=owner_name, is_city_admin=bool(owner_city_admin),
        organisation_roles=organisation_roles,
        site_roles={site_id: role_at_site} if role_at_site is not None else {},
    )
    if may_have(owner, target, bool(is_private)):
        return None
    key = FeedKey(feed_id, owner_id, scope, target_id, bool(is_private), stored_hash, created_at)
    return LiveFeed(key, target, owner_name, write_marker)


__all__ = ["FeedKey", "FeedTarget", "LiveFeed", "load_live_feed", "may_have"]
