"""Who may use which route: every route of the app × every role, allowed or denied as designed.

The route list comes from the app itself (``app.route_handler_method_map``), and every route
must have an entry in ``EXPECTED`` below: a route added without one fails
``test_every_route_is_in_the_table`` — deny by default is only real when every route is listed.
Stale entries (routes that no longer exist) fail as well.

How a response is judged:
  denied   anonymous: a redirect to /login (pages, GET) or 401; signed-in roles: 403
           (``Expect.denied_status`` may name another, e.g. 404 for things hidden on purpose)
  allowed  anything else below 500 — the guard and the service let the person through; a
           400/409 for an empty or repeated form still means "passed the permission check"
  500+     always a failure.

Adding a route: add one line ``("METHOD", "/path/{param:type}"): Expect(<roles>)``. Roles are
the people of tests/support/world.py; use the sets below. Routes with path parameters get ids
from the world through ``PARAMS`` (add a parameter name there when a new one appears). POST
routes of pages are sent as a form with a valid CSRF token, /api routes as JSON; give a body
with ``Expect(body=...)`` when an empty one would be refused before the permission check.
Routes that may end the session (logout, password change) set ``relogin=True``: afterwards
the role is checked and logged in again where needed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from booking.app import create_app
from booking.domain.short_codes import code_for
from booking.models import (
    ApiToken, Blackout, FeedToken, FieldOfActivity, Invitation, JoinRequest, Membership, Organisation, OutboxMessage, Quota, SiteRole,
    User, WaitingListEntry,
)
from booking.services import bookings, series
from booking.settings import load_settings
from tests.support.world import PASSWORD, World, next_monday, password_hash

ROLES = ("anonymous", "member_a", "org_admin_a", "lender_a", "lender_b", "manager_a", "city_admin")
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
NOBODY: frozenset[str] = frozenset()
CITY_ADMIN = frozenset({"city_admin"})
MANAGERS_OF_A = frozenset({"manager_a", "city_admin"})
MANAGERS = MANAGERS_OF_A  # manager_a is the only site manager of the world
STAFF_OF_A = frozenset({"lender_a", "manager_a", "city_admin"})  # lenders and managers of site A
LENDERS = frozenset({"lender_a", "lender_b", "manager_a", "city_admin"})  # staff of any site
MEMBERS_OF_A = frozenset({"member_a", "org_admin_a"})
# The booking of the world (see Fixture): made by member_a for Org A at site A.
MAY_SEE_BOOKING = MEMBERS_OF_A | STAFF_OF_A
MAY_CHANGE_BOOKING = MEMBERS_OF_A | STAFF_OF_A  # the booker, Org A's admins, site A's staff
HIDDEN_BOOKING = SIGNED_IN - MAY_SEE_BOOKING
# Volunteer offers: who may publish at all (organisation admins, any site's staff), and who
# organises the fixture's offer of Org A at site A (Org A's admins, site A's staff).
OFFER_PUBLISHERS = frozenset({"org_admin_a", "lender_a", "lender_b", "manager_a", "city_admin"})
OFFER_ORGANISERS = frozenset({"org_admin_a", "lender_a", "manager_a", "city_admin"})

Body = Callable[["Fixture"], dict[str, Any]]


@dataclass(frozen=True)
class Expect:
    allowed: frozenset[str]
    body: Body | None = None
    denied_status: int = 403
    # Signed-in roles that may not even see the object: told it does not exist (404), the
    # same answer as for an id that does not exist (no existence oracle).
    hidden_from: frozenset[str] = frozenset()
    relogin: bool = False
    # Path parameter values for this route only (name -> value from the fixture).
    params: dict[str, Callable[["Fixture"], Any]] = field(default_factory=dict)
    # The roles that call it (default: all). Only for framework routes that are slow and
    # the same for everybody (the OpenAPI document rendered as YAML).
    roles: tuple[str, ...] = ROLES
    note: str = ""
    # A redirect to exactly this location is the route's success, not a login demand (e.g.
    # /verify/resend answers every address with a redirect to /login).
    success_redirect: str = ""


@dataclass
class Fixture:
    """The ids the routes are called with."""

    world: World
    booking_id: int
    blackout_id: int
    spare_user_id: int
    parked_message_id: int
    series_id: int
    feed_id: int
    repair_block_ids: tuple[int, int]
    invitation_id: int = 0
    # Two API tokens of member_a: one revoked over the API, one on the profile page.
    api_token_ids: tuple[int, int] = (0, 0)
    # member_b's open request to join Org A; two fields of activity (one renamed, one removed).
    join_request_id: int = 0
    field_ids: tuple[int, int] = (0, 0)
    # A second feed of member_a that no route revokes (the feed page is read after the API
    # routes have revoked the first one).
    live_feed_id: int = 0
    # member_a waits for a time of Room A1 (the waiting list's routes).
    waiting_entry_id: int = 0
    # A quota of site A (issue 16), removed by the first manager who may.
    quota_id: int = 0
    # A volunteer offer of Org A at site A (issue 14), its first date and member_a's place on it.
    offer_id: int = 0
    offer_date_id: int = 0
    offer_signup_id: int = 0
    # A full offer of Org A (its one place taken by member_a) with three people waiting for its
    # date (member_b, lender_b, city_admin), in this order.
    waiting_offer_id: int = 0
    # An offer of Org A with member_a's place, cancelled by the first organiser who may.
    cancel_offer_id: int = 0
    offer_waiting_entry_ids: tuple[int, int, int] = (0, 0, 0)
    # An offer of Org A with two dates for the organisers' API: its second date is removed, then
    # the offer is cancelled, each by the first organiser who may.
    api_offer_id: int = 0
    api_removable_date_id: int = 0


def site_form(fx: Fixture) -> dict[str, Any]:
    return {"name": "Matrix-Haus", "contact_email": "matrix@example.org", "timezone": "Europe/Berlin", "opening_mon": "09:00–18:00"}


def resource_form(fx: Fixture) -> dict[str, Any]:
    return {"kind": "room", "name": "Room A1", "category": "Seminar", "capacity": "1", "seats": "10", "visibility": "public"}


def policy_form(fx: Fixture) -> dict[str, Any]:
    return {"lead_time_minutes": "0", "min_duration_minutes": "15", "buffer_before_minutes": "0", "buffer_after_minutes": "0",
            "opening_hours_mode": "contain", "audience": "public"}


def blackout_form(fx: Fixture) -> dict[str, Any]:
    return {"starts_at": "2031-07-01T08:00", "ends_at": "2031-07-02T08:00", "kind": "closed", "reason": "Matrix"}


def offer_form(fx: Fixture) -> dict[str, Any]:
    return {"kind": "task", "title": "Matrix-Einsatz", "site_id": str(fx.world.site_a.id), "organisation_id": str(fx.world.org_a.id),
            "location_kind": "site", "places": "3", "starts_at": "2031-06-02T10:00", "ends_at": "2031-06-02T12:00", "repeat": "none",
            "count": "1", "is_published": "1"}


def api_offer(fx: Fixture) -> dict[str, Any]:
    return {"kind": "task", "title": "Matrix-Einsatz", "site_id": fx.world.site_a.id, "organisation_id": fx.world.org_a.id,
            "places": 3, "starts_at": "2031-06-02T10:00:00+02:00", "ends_at": "2031-06-02T12:00:00+02:00"}


def api_offer_update(fx: Fixture) -> dict[str, Any]:
    # What the fixture's offer says already: every organiser may send it, nothing else changes.
    return {"kind": "task", "title": "Matrix-Angebot", "places": 5, "organisation_id": fx.world.org_a.id}


def past_times(fx: Fixture) -> dict[str, Any]:
    # A date in the past: refused (400 at starts_at) once the organiser is let through.
    return {"starts_at": "2020-06-02T10:00:00+02:00", "ends_at": "2020-06-02T12:00:00+02:00"}


def spare_email(fx: Fixture) -> dict[str, Any]:
    return {"email": "spare@example.org", "role": "lender"}


def reason(fx: Fixture) -> dict[str, Any]:
    # decline refuses an empty reason before it looks at who asks: give one.
    return {"reason": "Matrix test", "view": "inbox"}


# Path parameters -> values from the world. Add new parameter names here.
PARAMS: dict[str, Callable[[Fixture], Any]] = {
    "site_id": lambda fx: fx.world.site_a.id,
    "resource_id": lambda fx: fx.world.room.id,
    "booking_id": lambda fx: fx.booking_id,
    "organisation_id": lambda fx: fx.world.org_a.id,
    "blackout_id": lambda fx: fx.blackout_id,
    "user_id": lambda fx: fx.spare_user_id,
    "message_id": lambda fx: fx.parked_message_id,
    "token": lambda fx: "not-a-real-token",
    "file_path": lambda fx: "app.css",
    "path": lambda fx: "redoc",
    "series_id": lambda fx: fx.series_id,
    "feed_id": lambda fx: fx.feed_id,
    "block_id": lambda fx: fx.repair_block_ids[0],
    "filename": lambda fx: "not-a-real-token.ics",
    "invitation_id": lambda fx: fx.invitation_id,
    "token_id": lambda fx: fx.api_token_ids[0],
    "request_id": lambda fx: fx.join_request_id,
    "field_id": lambda fx: fx.field_ids[0],
    "year": lambda fx: 2026,
    "code": lambda fx: code_for(fx.world.room.id),
    "entry_id": lambda fx: fx.waiting_entry_id,
    "quota_id": lambda fx: fx.quota_id,
    "offer_id": lambda fx: fx.offer_id,
    "date_id": lambda fx: fx.offer_date_id,
    "signup_id": lambda fx: fx.offer_signup_id,
}
# The repair blocks lie on the benches (a thing to lend at site A); the page lifts the second
# one, since the API route before it has lifted the first.
ON_BENCHES: dict[str, Callable[[Fixture], Any]] = {"resource_id": lambda fx: fx.world.benches.id}
ON_BENCHES_2: dict[str, Callable[[Fixture], Any]] = {**ON_BENCHES, "block_id": lambda fx: fx.repair_block_ids[1]}

EXPECTED: dict[tuple[str, str], Expect] = {
    # --- framework: health, OpenAPI, static files -------------------------------------
    ("GET", "/health"): Expect(EVERYONE),
    ("GET", "/schema"): Expect(EVERYONE),
    ("GET", "/schema/openapi.json"): Expect(EVERYONE),
    ("GET", "/schema/swagger"): Expect(EVERYONE),
    ("GET", "/schema/{path:str}"): Expect(EVERYONE),
    ("GET", "/static/{file_path:path}"): Expect(EVERYONE),
    # --- JSON API: auth and catalogue (booking/api/auth.py, catalogue.py) ---------------
    ("POST", "/api/v1/auth/login"): Expect(EVERYONE, body=lambda fx: {"email": "spare@example.org", "password": PASSWORD}, relogin=True),
    ("POST", "/api/v1/auth/logout"): Expect(EVERYONE, relogin=True),
    ("GET", "/api/v1/me"): Expect(SIGNED_IN),
    ("GET", "/api/v1/sites"): Expect(EVERYONE),
    ("GET", "/api/v1/sites/{site_id:int}"): Expect(EVERYONE),
    ("GET", "/api/v1/resources"): Expect(EVERYONE),
    ("GET", "/api/v1/resources/{resource_id:int}"): Expect(EVERYONE),
    ("GET", "/api/v1/resources/{resource_id:int}/availability"): Expect(EVERYONE),
    # --- JSON API: bookings (booking/api/bookings.py) ------------------------------------
    ("GET", "/api/v1/bookings"): Expect(SIGNED_IN),
    ("POST", "/api/v1/bookings"): Expect(SIGNED_IN),
    # What a create would do (issue 16): signed-in people, an empty body is refused after the guard.
    ("POST", "/api/v1/bookings/preview"): Expect(SIGNED_IN),
    ("GET", "/api/v1/bookings/{booking_id:int}"): Expect(MAY_SEE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("PATCH", "/api/v1/bookings/{booking_id:int}"): Expect(MAY_CHANGE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("GET", "/api/v1/bookings/{booking_id:int}/history"): Expect(MAY_SEE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("POST", "/api/v1/bookings/{booking_id:int}/approve"): Expect(STAFF_OF_A, hidden_from=HIDDEN_BOOKING),
    ("POST", "/api/v1/bookings/{booking_id:int}/decline"): Expect(STAFF_OF_A, hidden_from=HIDDEN_BOOKING, body=lambda fx: {"reason": "Matrix test"}),
    ("POST", "/api/v1/bookings/{booking_id:int}/cancel"): Expect(MAY_CHANGE_BOOKING, hidden_from=HIDDEN_BOOKING, body=lambda fx: {"reason": ""}),
    # --- lender inbox (booking/web/lender.py) --------------------------------------------
    ("GET", "/lender"): Expect(LENDERS),
    ("GET", "/lender/requests/{booking_id:int}"): Expect(STAFF_OF_A),
    # Several ticked requests at once; an empty selection is refused (400) after the guard.
    ("POST", "/lender/requests/approve"): Expect(LENDERS),
    ("POST", "/lender/requests/{booking_id:int}/approve"): Expect(STAFF_OF_A, body=lambda fx: {"view": "inbox"}, hidden_from=HIDDEN_BOOKING),
    ("POST", "/lender/requests/{booking_id:int}/decline"): Expect(STAFF_OF_A, body=reason, hidden_from=HIDDEN_BOOKING),
    ("POST", "/lender/series/{series_id:int}/approve"): Expect(STAFF_OF_A, body=lambda fx: {"view": "inbox"}),
    ("POST", "/lender/series/{series_id:int}/decline"): Expect(STAFF_OF_A, body=reason),
    # --- administration (booking/web/admin.py): managers their sites, city admins all ----
    ("GET", "/admin"): Expect(MANAGERS),
    ("GET", "/admin/sites/new"): Expect(CITY_ADMIN),
    ("POST", "/admin/sites/new"): Expect(CITY_ADMIN, body=site_form),
    ("GET", "/admin/sites/{site_id:int}"): Expect(MANAGERS_OF_A),
    ("GET", "/admin/sites/{site_id:int}/edit"): Expect(MANAGERS_OF_A),
    ("POST", "/admin/sites/{site_id:int}/edit"): Expect(MANAGERS_OF_A, body=lambda fx: {**site_form(fx), "name": "Site A"}),
    ("POST", "/admin/sites/{site_id:int}/blackouts"): Expect(MANAGERS_OF_A, body=blackout_form),
    ("GET", "/admin/blackouts/{blackout_id:int}/edit"): Expect(MANAGERS_OF_A),
    ("POST", "/admin/blackouts/{blackout_id:int}/edit"): Expect(MANAGERS_OF_A, body=blackout_form),
    ("POST", "/admin/sites/{site_id:int}/blackouts/{blackout_id:int}/delete"): Expect(MANAGERS_OF_A),
    ("POST", "/admin/sites/{site_id:int}/staff"): Expect(MANAGERS_OF_A, body=spare_email),
    ("POST", "/admin/sites/{site_id:int}/staff/{user_id:int}/remove"): Expect(MANAGERS_OF_A),
    ("GET", "/admin/sites/{site_id:int}/resources/new"): Expect(MANAGERS_OF_A),
    ("POST", "/admin/sites/{site_id:int}/resources/new"): Expect(MANAGERS_OF_A, body=lambda fx: {**resource_form(fx), "name": "Matrix room"}),
    ("GET", "/admin/resources/{resource_id:int}/edit"): Expect(MANAGERS_OF_A),
    ("POST", "/admin/resources/{resource_id:int}/edit"): Expect(MANAGERS_OF_A, body=resource_form),
    ("POST", "/admin/resources/{resource_id:int}/active"): Expect(MANAGERS_OF_A, body=lambda fx: {"active": "1"}),
    ("GET", "/admin/resources/{resource_id:int}/rules"): Expect(MANAGERS_OF_A),
    ("POST", "/admin/resources/{resource_id:int}/rules"): Expect(MANAGERS_OF_A, body=policy_form),
    # Quotas of a site (booking/web/admin_quotas.py): its managers and city admins.
    ("GET", "/admin/sites/{site_id:int}/quotas"): Expect(MANAGERS_OF_A),
    ("POST", "/admin/sites/{site_id:int}/quotas"): Expect(MANAGERS_OF_A, body=lambda fx: {
        "scope": f"resource:{fx.world.room.id}", "metric": "upcoming_bookings", "subject": "person", "amount": "50",
        "enforcement": "refuse"}),
    ("POST", "/admin/quotas/{quota_id:int}/delete"): Expect(MANAGERS_OF_A),
    ("GET", "/admin/bericht"): Expect(MANAGERS),
    ("GET", "/offene-daten"): Expect(EVERYONE, note="404 unless open_data.enabled"),
    ("GET", "/offene-daten/daten.json"): Expect(EVERYONE, note="404 unless open_data.enabled"),
    ("GET", "/offene-daten/daten.csv"): Expect(EVERYONE, note="404 unless open_data.enabled"),
    ("GET", "/admin/bericht/export.csv"): Expect(MANAGERS),
    ("GET", "/admin/bericht/export.json"): Expect(MANAGERS),
    ("GET", "/admin/bericht/{year:int}"): Expect(MANAGERS),
    ("POST", "/admin/bericht/{year:int}/einleitung"): Expect(CITY_ADMIN, body=lambda fx: {"introduction": "Matrix"}),
    ("GET", "/admin/organisations"): Expect(CITY_ADMIN),
    ("GET", "/admin/organisations/new"): Expect(CITY_ADMIN),
    ("POST", "/admin/organisations/new"): Expect(CITY_ADMIN, body=lambda fx: {"name": "Matrix e. V."}),
    ("GET", "/admin/organisations/{organisation_id:int}"): Expect(CITY_ADMIN),
    ("POST", "/admin/organisations/{organisation_id:int}/edit"): Expect(CITY_ADMIN, body=lambda fx: {"name": "Org A"}),
    ("POST", "/admin/organisations/{organisation_id:int}/members"): Expect(CITY_ADMIN, body=lambda fx: {"email": "spare@example.org", "role": "member"}),
    ("POST", "/admin/organisations/{organisation_id:int}/members/{user_id:int}/remove"): Expect(CITY_ADMIN),
    ("GET", "/admin/users"): Expect(CITY_ADMIN),
    ("POST", "/admin/users/{user_id:int}/city-admin"): Expect(CITY_ADMIN, body=lambda fx: {"value": "0"}),
    ("POST", "/admin/users/{user_id:int}/active"): Expect(CITY_ADMIN, body=lambda fx: {"value": "1"}),
    ("GET", "/admin/mail"): Expect(CITY_ADMIN),
    ("POST", "/admin/mail/{message_id:int}/retry"): Expect(CITY_ADMIN),
    # --- accounts (booking/web/accounts.py): open pages; the profile needs a login -------
    ("GET", "/login"): Expect(EVERYONE),
    ("POST", "/login"): Expect(EVERYONE, relogin=True),
    ("GET", "/login/link"): Expect(EVERYONE),
    # The three e-mail-link forms answer every well-formed address alike, a redirect to /login
    # (no oracle of who has an account); that redirect is their success, not a login demand.
    ("POST", "/login/link"): Expect(EVERYONE, success_redirect="/login", body=lambda fx: {"email": "matrix-nobody@example.org"}),
    ("GET", "/login/link/{token:str}"): Expect(EVERYONE),
    ("POST", "/login/link/{token:str}"): Expect(EVERYONE, relogin=True),
    ("POST", "/logout"): Expect(EVERYONE, relogin=True),
    ("GET", "/register"): Expect(EVERYONE),
    ("POST", "/register"): Expect(EVERYONE),
    ("GET", "/register/sent"): Expect(EVERYONE),
    ("GET", "/verify/{token:str}"): Expect(EVERYONE),
    ("POST", "/verify/{token:str}"): Expect(EVERYONE),
    ("GET", "/verify/resend"): Expect(EVERYONE),
    ("POST", "/verify/resend"): Expect(EVERYONE, success_redirect="/login", body=lambda fx: {"email": "matrix-nobody@example.org"}),
    ("GET", "/password/forgot"): Expect(EVERYONE),
    ("POST", "/password/forgot"): Expect(EVERYONE, success_redirect="/login", body=lambda fx: {"email": "matrix-nobody@example.org"}),
    ("GET", "/password/reset/{token:str}"): Expect(EVERYONE),
    ("POST", "/password/reset/{token:str}"): Expect(EVERYONE, relogin=True),
    ("POST", "/language"): Expect(EVERYONE),
    ("GET", "/profile"): Expect(SIGNED_IN),
    # Data protection (issue 11). The legal pages and the accessibility feedback form are public.
    ("GET", "/imprint"): Expect(EVERYONE),
    ("GET", "/privacy"): Expect(EVERYONE),
    ("GET", "/accessibility"): Expect(EVERYONE),
    ("GET", "/accessibility/feedback"): Expect(EVERYONE),
    ("POST", "/accessibility/feedback"): Expect(EVERYONE),  # empty form: 400 at the fields (or 429 after 5)
    ("GET", "/.well-known/security.txt"): Expect(EVERYONE),
    ("GET", "/sicherheit"): Expect(EVERYONE),
    ("GET", "/security"): Expect(EVERYONE),
    ("GET", "/profile/export"): Expect(SIGNED_IN),
    ("GET", "/api/v1/me/export"): Expect(SIGNED_IN),
    ("GET", "/profile/delete"): Expect(SIGNED_IN),
    ("POST", "/profile/delete"): Expect(SIGNED_IN),  # without the password: the form again, nothing erased
    ("POST", "/profile/delete/link"): Expect(SIGNED_IN),
    ("GET", "/profile/delete/{token:str}"): Expect(EVERYONE),  # the mailed link is the proof
    ("POST", "/profile/delete/{token:str}"): Expect(EVERYONE),
    # Erases the caller at once: only the anonymous refusal is called here; the signed-in case
    # is tests/http/test_privacy_pages.py (the person is gone, their token answers 401).
    ("DELETE", "/api/v1/me"): Expect(SIGNED_IN, roles=("anonymous",)),
    ("GET", "/admin/privacy"): Expect(CITY_ADMIN),
    ("POST", "/admin/privacy/erase"): Expect(CITY_ADMIN),  # without an address: the form again
    ("POST", "/profile"): Expect(SIGNED_IN),
    ("POST", "/profile/password"): Expect(SIGNED_IN, relogin=True),
    ("POST", "/profile/tokens"): Expect(SIGNED_IN, body=lambda fx: {"name": "Matrix", "expires_days": "30"}),
    # Tokens are their owner's (member_a's); others are told they do not exist.
    ("POST", "/profile/tokens/{token_id:int}/revoke"): Expect(frozenset({"member_a"}), denied_status=404,
                                                              params={"token_id": lambda fx: fx.api_token_ids[1]}),
    ("GET", "/api/v1/me/tokens"): Expect(SIGNED_IN),
    ("POST", "/api/v1/me/tokens"): Expect(SIGNED_IN, body=lambda fx: {"name": "Matrix"}),
    ("DELETE", "/api/v1/me/tokens/{token_id:int}"): Expect(frozenset({"member_a"}), denied_status=404),
    # --- home, resources, my bookings, organisations (booking/web/home.py, resources.py, …)
    ("GET", "/"): Expect(EVERYONE),
    ("GET", "/resources/{resource_id:int}"): Expect(EVERYONE),
    ("POST", "/resources/{resource_id:int}/book"): Expect(SIGNED_IN),
    ("GET", "/bookings"): Expect(SIGNED_IN),
    ("GET", "/bookings/loans"): Expect(SIGNED_IN),  # "Borrowed": what I have now (booking/web/borrower.py)
    ("GET", "/bookings/{booking_id:int}"): Expect(MAY_SEE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("GET", "/bookings/{booking_id:int}/confirmation"): Expect(MAY_SEE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("POST", "/bookings/{booking_id:int}/change"): Expect(MAY_CHANGE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("POST", "/bookings/{booking_id:int}/cancel"): Expect(MAY_CHANGE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("GET", "/bookings/{booking_id:int}/cancelled"): Expect(MAY_SEE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("POST", "/bookings/{booking_id:int}/undo-cancel"): Expect(MAY_CHANGE_BOOKING, hidden_from=HIDDEN_BOOKING),
    # A series is hidden (404) from those who may not see its bookings.
    ("GET", "/bookings/series/{series_id:int}"): Expect(MAY_SEE_BOOKING, denied_status=404),
    ("POST", "/bookings/series/{series_id:int}/cancel"): Expect(MAY_CHANGE_BOOKING, denied_status=404),
    ("POST", "/bookings/series/{series_id:int}/change"): Expect(MAY_CHANGE_BOOKING, denied_status=404,
                                                               body=lambda fx: {"start_time": "19:00", "duration": "60"}),
    ("POST", "/bookings/feeds"): Expect(SIGNED_IN),
    # Taking an alternative for a date the series could not book (an empty form: 400 with the series page).
    ("POST", "/bookings/series/{series_id:int}/alternative"): Expect(MAY_CHANGE_BOOKING, denied_status=404),
    # Feeds are their owner's (member_a's); others are told it does not exist.
    ("POST", "/bookings/feeds/{feed_id:int}/revoke"): Expect(frozenset({"member_a"}), denied_status=404),
    # One's own feed's address again (booking/web/feed_pages.py); others' feeds do not exist for them.
    ("GET", "/bookings/feeds/{feed_id:int}"): Expect(frozenset({"member_a"}), denied_status=404, params={"feed_id": lambda fx: fx.live_feed_id}),
    ("POST", "/bookings/feeds/{feed_id:int}/renew"): Expect(frozenset({"member_a"}), denied_status=404, params={"feed_id": lambda fx: fx.live_feed_id}),
    ("POST", "/resources/{resource_id:int}/feed"): Expect(SIGNED_IN),
    ("POST", "/sites/{site_id:int}/feed"): Expect(SIGNED_IN),
    # An organisation's page is hidden (404) from people outside it.
    ("GET", "/organisation/{organisation_id:int}"): Expect(MEMBERS_OF_A | CITY_ADMIN, denied_status=404),
    ("POST", "/organisation/{organisation_id:int}/invite"): Expect(frozenset({"org_admin_a", "city_admin"})),
    # Resent first (a new link), then withdrawn; withdrawing again is a 400, still "allowed".
    ("POST", "/organisation/{organisation_id:int}/invitations/{invitation_id:int}/resend"): Expect(frozenset({"org_admin_a", "city_admin"})),
    ("POST", "/organisation/{organisation_id:int}/invitations/{invitation_id:int}/revoke"): Expect(frozenset({"org_admin_a", "city_admin"})),
    ("POST", "/organisation/{organisation_id:int}/feed"): Expect(MEMBERS_OF_A | CITY_ADMIN),
    # The public profile and requests to join (booking/web/organisation.py, directory.py).
    ("POST", "/organisation/{organisation_id:int}/profile"): Expect(frozenset({"org_admin_a", "city_admin"}), body=lambda fx: {
        "listed_in_directory": "1", "description": "Matrix", "field_ids": str(fx.field_ids[0])}),
    # Approved by the first admin; the second gets 400 "decided already" (past the permission check).
    ("POST", "/organisation/{organisation_id:int}/join-requests/{request_id:int}/approve"): Expect(frozenset({"org_admin_a", "city_admin"})),
    ("POST", "/organisation/{organisation_id:int}/join-requests/{request_id:int}/decline"): Expect(frozenset({"org_admin_a", "city_admin"})),
    ("GET", "/organisationen"): Expect(EVERYONE),
    ("GET", "/organisationen/{organisation_id:int}"): Expect(EVERYONE),
    ("POST", "/organisationen/{organisation_id:int}/contact"): Expect(EVERYONE),  # empty form: 400 at the fields (or 429)
    ("POST", "/organisationen/{organisation_id:int}/join"): Expect(SIGNED_IN),  # members: 400 "a member already"
    ("GET", "/api/v1/organisations"): Expect(EVERYONE),
    ("GET", "/admin/fields"): Expect(CITY_ADMIN),
    # Org A is confirmed: the city admin and the site manager are told so (a flash), past the permission check.
    ("POST", "/admin/organisations/{organisation_id:int}/confirm"): Expect(MANAGERS),
    ("POST", "/admin/fields"): Expect(CITY_ADMIN, body=lambda fx: {"name": "Matrix"}),
    ("POST", "/admin/fields/{field_id:int}/edit"): Expect(CITY_ADMIN, body=lambda fx: {"name": "Matrix renamed"}),
    ("POST", "/admin/fields/{field_id:int}/delete"): Expect(CITY_ADMIN, params={"field_id": lambda fx: fx.field_ids[1]}),
    ("GET", "/invitations/{token:str}"): Expect(EVERYONE),
    ("POST", "/invitations/{token:str}/accept"): Expect(SIGNED_IN),
    ("POST", "/invitations/{token:str}/register"): Expect(EVERYONE),
    # --- calendars and feeds (booking/web/calendar.py, booking/api/calendars.py, feeds.py)
    ("GET", "/calendar"): Expect(EVERYONE),
    ("GET", "/embed/calendar"): Expect(EVERYONE),
    ("GET", "/feeds/{filename:str}"): Expect(EVERYONE),
    ("GET", "/api/v1/calendar"): Expect(EVERYONE),
    ("GET", "/api/v1/resources/{resource_id:int}/freebusy"): Expect(EVERYONE),
    ("GET", "/api/v1/resources/{resource_id:int}/freebusy.ics"): Expect(EVERYONE),
    ("GET", "/api/v1/sites/{site_id:int}/freebusy"): Expect(EVERYONE),
    ("GET", "/api/v1/sites/{site_id:int}/freebusy.ics"): Expect(EVERYONE),
    ("GET", "/api/v1/feeds"): Expect(SIGNED_IN),
    ("POST", "/api/v1/feeds"): Expect(SIGNED_IN, body=lambda fx: {"scope": "person"}),
    ("POST", "/api/v1/feeds/{feed_id:int}/regenerate"): Expect(frozenset({"member_a"}), denied_status=404),
    ("POST", "/api/v1/feeds/{feed_id:int}/revoke"): Expect(frozenset({"member_a"}), denied_status=404),
    # --- series over JSON (booking/api/series.py) ----------------------------------------
    ("POST", "/api/v1/series"): Expect(SIGNED_IN),
    ("GET", "/api/v1/series/{series_id:int}"): Expect(MAY_SEE_BOOKING, denied_status=404),
    ("PATCH", "/api/v1/series/{series_id:int}"): Expect(MAY_CHANGE_BOOKING, denied_status=404, body=lambda fx: {"duration_minutes": 90}),
    ("POST", "/api/v1/series/{series_id:int}/cancel"): Expect(MAY_CHANGE_BOOKING, denied_status=404),
    # Deciding a whole series: lenders of its site (the fixture's dates are confirmed, so the
    # allowed roles get 409 "nothing waiting" — past the permission check).
    ("POST", "/api/v1/series/{series_id:int}/approve"): Expect(STAFF_OF_A),
    ("POST", "/api/v1/series/{series_id:int}/decline"): Expect(STAFF_OF_A, body=lambda fx: {"reason": "Matrix test"}),
    # --- lending (booking/web/loans.py, booking/api/loans.py): lenders of the item's site -
    ("GET", "/lender/today"): Expect(LENDERS),
    ("GET", "/lender/overdue"): Expect(LENDERS),
    ("GET", "/lender/lent-out"): Expect(LENDERS),
    ("GET", "/lender/items"): Expect(LENDERS),
    ("GET", "/lender/items/{resource_id:int}"): Expect(STAFF_OF_A, params=ON_BENCHES),
    ("POST", "/lender/items/{resource_id:int}/repair-blocks"): Expect(STAFF_OF_A, params=ON_BENCHES),
    ("POST", "/lender/items/{resource_id:int}/repair-blocks/{block_id:int}/lift"): Expect(STAFF_OF_A, params=ON_BENCHES_2),
    ("POST", "/lender/loans/{booking_id:int}/hand-out"): Expect(STAFF_OF_A),
    ("POST", "/lender/loans/{booking_id:int}/take-back"): Expect(STAFF_OF_A),
    ("GET", "/api/v1/lender/today"): Expect(LENDERS),
    ("GET", "/api/v1/lender/overdue"): Expect(LENDERS),
    ("GET", "/api/v1/bookings/{booking_id:int}/loan"): Expect(MAY_SEE_BOOKING, hidden_from=HIDDEN_BOOKING),
    ("POST", "/api/v1/bookings/{booking_id:int}/hand-out"): Expect(STAFF_OF_A),
    ("POST", "/api/v1/bookings/{booking_id:int}/take-back"): Expect(STAFF_OF_A),
    ("GET", "/api/v1/resources/{resource_id:int}/history"): Expect(STAFF_OF_A, params=ON_BENCHES),
    ("POST", "/api/v1/resources/{resource_id:int}/repair-blocks"): Expect(STAFF_OF_A, params=ON_BENCHES),
    ("DELETE", "/api/v1/resources/{resource_id:int}/repair-blocks/{block_id:int}"): Expect(STAFF_OF_A, params=ON_BENCHES),
    ("GET", "/api/v1/sites/{site_id:int}/day-span"): Expect(EVERYONE),
    ("POST", "/api/v1/item-bookings"): Expect(SIGNED_IN),
    ("POST", "/api/v1/kits"): Expect(SIGNED_IN),
    # --- QR codes (booking/web/labels.py): scan and door sign public, labels for site staff
    ("GET", "/r/{code:str}"): Expect(EVERYONE),
    ("GET", "/r/{code:str}/tuer"): Expect(EVERYONE),
    ("GET", "/admin/sites/{site_id:int}/labels"): Expect(STAFF_OF_A),
    # --- check-in (booking/web/checkin.py): the door page is public (the door sign for all);
    # checking in needs a login and is the booker's alone (others: 403, or 404 when hidden).
    # The world's booking asks for no check-in: the booker gets 409 after the guard.
    ("GET", "/r/{code:str}/check-in"): Expect(EVERYONE),
    ("POST", "/r/{code:str}/check-in"): Expect(SIGNED_IN, note="409 without a booking to check in to"),
    ("POST", "/bookings/{booking_id:int}/check-in"): Expect(frozenset({"member_a"}), hidden_from=HIDDEN_BOOKING),
    # --- co-working desks (booking/web/coworking.py, booking/api/coworking.py) -----------
    ("GET", "/desks"): Expect(EVERYONE),
    ("GET", "/desks/{site_id:int}"): Expect(EVERYONE),
    ("POST", "/desks/{site_id:int}/book"): Expect(SIGNED_IN),
    ("GET", "/api/v1/sites/{site_id:int}/desks"): Expect(EVERYONE),
    ("POST", "/api/v1/desk-bookings"): Expect(SIGNED_IN),
    ("POST", "/api/v1/desk-series"): Expect(SIGNED_IN),
    # --- administration over JSON (booking/api/admin.py): the same rules -----------------
    ("POST", "/api/v1/admin/sites"): Expect(CITY_ADMIN, body=lambda fx: {"name": "Matrix-API-Haus", "contact_email": "m@example.org"}),
    ("PUT", "/api/v1/admin/sites/{site_id:int}"): Expect(MANAGERS_OF_A, body=lambda fx: {"name": "Site A", "contact_email": "a@site.example"}),
    ("POST", "/api/v1/admin/sites/{site_id:int}/blackouts"): Expect(
        MANAGERS_OF_A, body=lambda fx: {"starts_at": "2031-07-01T08:00:00+02:00", "ends_at": "2031-07-02T08:00:00+02:00"}),
    ("DELETE", "/api/v1/admin/sites/{site_id:int}/blackouts/{blackout_id:int}"): Expect(MANAGERS_OF_A),
    ("POST", "/api/v1/admin/sites/{site_id:int}/resources"): Expect(MANAGERS_OF_A, body=lambda fx: {"kind": "desk", "name": "Matrix desk"}),
    ("PUT", "/api/v1/admin/resources/{resource_id:int}"): Expect(MANAGERS_OF_A, body=lambda fx: {"kind": "room", "name": "Room A1", "seats": 10}),
    ("PUT", "/api/v1/admin/resources/{resource_id:int}/policy"): Expect(MANAGERS_OF_A),
    ("POST", "/api/v1/admin/sites/{site_id:int}/staff"): Expect(MANAGERS_OF_A, body=spare_email),
    ("DELETE", "/api/v1/admin/sites/{site_id:int}/staff/{user_id:int}"): Expect(MANAGERS_OF_A),
    ("GET", "/api/v1/admin/mail/parked"): Expect(CITY_ADMIN),
    ("POST", "/api/v1/admin/mail/parked/{message_id:int}/retry"): Expect(CITY_ADMIN),
    # --- the map of the sites, a site's page, open data (booking/web/site_map.py, api/site_map.py)
    ("GET", "/karte"): Expect(EVERYONE),
    ("GET", "/map"): Expect(EVERYONE),
    ("GET", "/orte/{site_id:int}"): Expect(EVERYONE),
    ("POST", "/orte/{site_id:int}/feed"): Expect(SIGNED_IN),
    ("GET", "/api/v1/sites.geojson"): Expect(EVERYONE),
    # --- waiting lists (booking/web/waiting_list.py, booking/api/waiting_list.py) ---------
    # The fixture's entry is member_a's; someone else's entry or hold is not there (404).
    ("POST", "/resources/{resource_id:int}/waiting-list"): Expect(SIGNED_IN),
    ("POST", "/waiting-list/{entry_id:int}/withdraw"): Expect(frozenset({"member_a"}), denied_status=404),
    ("POST", "/waiting-list/holds/{booking_id:int}/confirm"): Expect(frozenset({"member_a"}), denied_status=404),
    ("POST", "/waiting-list/holds/{booking_id:int}/decline"): Expect(frozenset({"member_a"}), denied_status=404),
    # The mail's link: the signed token is the proof, for anyone holding it (a wrong one: 404).
    ("GET", "/waiting-list/offers/{token:str}"): Expect(EVERYONE),
    ("POST", "/waiting-list/offers/{token:str}"): Expect(EVERYONE),
    ("GET", "/lender/waiting-lists"): Expect(LENDERS),
    ("POST", "/lender/waiting-lists/{entry_id:int}/move"): Expect(STAFF_OF_A, body=lambda fx: {"direction": "up", "site": str(fx.world.site_a.id)}),
    ("POST", "/lender/waiting-lists/{entry_id:int}/remove"): Expect(STAFF_OF_A, body=lambda fx: {"site": str(fx.world.site_a.id)}),
    ("POST", "/api/v1/waiting-list"): Expect(SIGNED_IN),
    ("GET", "/api/v1/waiting-list"): Expect(SIGNED_IN),
    ("DELETE", "/api/v1/waiting-list/{entry_id:int}"): Expect(frozenset({"member_a"}), denied_status=404),
    ("POST", "/api/v1/waiting-list/holds/{booking_id:int}/confirm"): Expect(frozenset({"member_a"}), denied_status=404),
    ("POST", "/api/v1/waiting-list/holds/{booking_id:int}/decline"): Expect(frozenset({"member_a"}), denied_status=404),
    # --- volunteer offers (booking/web/offers.py, booking/api/offers.py; issue 14) -------
    ("GET", "/mitmachen"): Expect(EVERYONE),
    ("GET", "/get-involved"): Expect(EVERYONE),
    ("GET", "/mitmachen/{offer_id:int}"): Expect(EVERYONE),
    ("POST", "/mitmachen/{offer_id:int}/anmelden"): Expect(EVERYONE),  # anonymous: 400 at the fields (name, e-mail)
    # The fixture's date has free places: signed-in callers are told so at the field (409).
    ("POST", "/mitmachen/{offer_id:int}/warteliste"): Expect(SIGNED_IN, body=lambda fx: {"date_id": str(fx.offer_date_id)}),
    ("GET", "/mitmachen/bestaetigen/{token:str}"): Expect(EVERYONE),  # an unknown token: 404 page
    ("POST", "/mitmachen/bestaetigen/{token:str}"): Expect(EVERYONE),
    ("GET", "/mitmachen/absagen/{token:str}"): Expect(EVERYONE),
    ("POST", "/mitmachen/absagen/{token:str}"): Expect(EVERYONE),
    ("GET", "/mitmachen/angebote.ics"): Expect(EVERYONE),
    ("GET", "/mitmachen/angebote.atom"): Expect(EVERYONE),
    ("GET", "/mitmachen/verwalten"): Expect(SIGNED_IN),  # each sees the offers they manage (maybe none)
    ("GET", "/mitmachen/neu"): Expect(OFFER_PUBLISHERS),
    ("POST", "/mitmachen/neu"): Expect(OFFER_ORGANISERS, body=offer_form),  # for Org A at site A
    ("GET", "/mitmachen/{offer_id:int}/bearbeiten"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/mitmachen/{offer_id:int}/bearbeiten"): Expect(OFFER_ORGANISERS, denied_status=404, body=offer_form),
    ("GET", "/mitmachen/{offer_id:int}/teilnehmende"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/mitmachen/termine/{date_id:int}/anwesenheit"): Expect(OFFER_ORGANISERS, denied_status=404),  # before the date: 422
    ("GET", "/mitmachen/termine/{date_id:int}/liste"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/mitmachen/termine/{date_id:int}/nachricht"): Expect(OFFER_ORGANISERS, denied_status=404, body=lambda fx: {"message": "Matrix"}),
    ("GET", "/mitmachen/mein-engagement"): Expect(SIGNED_IN),
    ("GET", "/mitmachen/mein-engagement/bescheinigung"): Expect(SIGNED_IN),
    ("POST", "/mitmachen/anmeldungen/{signup_id:int}/absagen"): Expect(frozenset({"member_a"}), denied_status=404),
    # The organisers cancel an offer (the page says whom it tells; the second organiser meets it cancelled: 409).
    ("GET", "/mitmachen/{offer_id:int}/absagen"): Expect(OFFER_ORGANISERS, denied_status=404, params={"offer_id": lambda fx: fx.cancel_offer_id}),
    ("POST", "/mitmachen/{offer_id:int}/absagen"): Expect(OFFER_ORGANISERS, denied_status=404, params={"offer_id": lambda fx: fx.cancel_offer_id}),
    # The organisers order a date's waiting list (moves until the entry is last: 400, still allowed)
    # and take people off it (the second organiser meets an entry already gone: 409).
    ("POST", "/mitmachen/{offer_id:int}/warteliste/{entry_id:int}/verschieben"): Expect(
        OFFER_ORGANISERS, body=lambda fx: {"direction": "down"},
        params={"offer_id": lambda fx: fx.waiting_offer_id, "entry_id": lambda fx: fx.offer_waiting_entry_ids[0]}),
    ("POST", "/mitmachen/{offer_id:int}/warteliste/{entry_id:int}/entfernen"): Expect(
        OFFER_ORGANISERS, params={"offer_id": lambda fx: fx.waiting_offer_id, "entry_id": lambda fx: fx.offer_waiting_entry_ids[2]}),
    # The organisers change an offer's dates; without input (or without the confirmation box) a
    # 400 at the field, so the matrix changes nothing.
    ("GET", "/mitmachen/{offer_id:int}/termine"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/mitmachen/{offer_id:int}/termine"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/mitmachen/{offer_id:int}/plaetze"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/mitmachen/termine/{date_id:int}/verschieben"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/mitmachen/termine/{date_id:int}/entfernen"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("GET", "/api/v1/offers"): Expect(EVERYONE),
    ("POST", "/api/v1/offers/{offer_id:int}/signups"): Expect(SIGNED_IN),
    # The organisers' API (booking/api/offer_organisers.py, offer_participants.py): everyone else
    # meets 404 for the offer; input that passes the permission check but not the rules (a date
    # in the past, attendance before the date) changes nothing.
    ("POST", "/api/v1/offers"): Expect(OFFER_ORGANISERS, body=api_offer),  # for Org A at site A
    ("GET", "/api/v1/offers/managed"): Expect(SIGNED_IN),  # each sees the offers they manage (maybe none)
    ("PUT", "/api/v1/offers/{offer_id:int}"): Expect(OFFER_ORGANISERS, denied_status=404, body=api_offer_update),
    ("POST", "/api/v1/offers/{offer_id:int}/cancel"): Expect(
        OFFER_ORGANISERS, denied_status=404, params={"offer_id": lambda fx: fx.api_offer_id}),  # the second organiser: 409
    ("GET", "/api/v1/offers/{offer_id:int}/dates"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/api/v1/offers/{offer_id:int}/dates"): Expect(OFFER_ORGANISERS, denied_status=404, body=past_times),
    ("PUT", "/api/v1/offers/{offer_id:int}/places"): Expect(OFFER_ORGANISERS, denied_status=404, body=lambda fx: {"places": 5}),
    ("PATCH", "/api/v1/offers/dates/{date_id:int}"): Expect(OFFER_ORGANISERS, denied_status=404, body=past_times),
    ("DELETE", "/api/v1/offers/dates/{date_id:int}"): Expect(
        OFFER_ORGANISERS, denied_status=404, params={"date_id": lambda fx: fx.api_removable_date_id}),  # then: 400 removed
    ("GET", "/api/v1/offers/dates/{date_id:int}/participants"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("PUT", "/api/v1/offers/dates/{date_id:int}/attendance"): Expect(  # before the date: 422
        OFFER_ORGANISERS, denied_status=404,
        body=lambda fx: {"marks": [{"signup_id": fx.offer_signup_id, "attendance": "present"}]}),
    ("GET", "/api/v1/offers/dates/{date_id:int}/waiting-list"): Expect(OFFER_ORGANISERS, denied_status=404),
    ("POST", "/api/v1/offers/{offer_id:int}/waiting-list/{entry_id:int}/move"): Expect(
        OFFER_ORGANISERS, denied_status=404, body=lambda fx: {"direction": "down"},
        params={"offer_id": lambda fx: fx.waiting_offer_id, "entry_id": lambda fx: fx.offer_waiting_entry_ids[0]}),
    ("DELETE", "/api/v1/offers/{offer_id:int}/waiting-list/{entry_id:int}"): Expect(  # the second organiser: 409
        OFFER_ORGANISERS, denied_status=404,
        params={"offer_id": lambda fx: fx.waiting_offer_id, "entry_id": lambda fx: fx.offer_waiting_entry_ids[1]}),
}

# Routes the framework owns (no guard of ours): OpenAPI pages and static files.
FRAMEWORK_PATHS = re.compile(r"^/(schema|static)(/|$)")
SKIPPED_METHODS = {"OPTIONS", "HEAD"}


def route_table(app) -> dict[tuple[str, str], Any]:  # type: ignore[no-untyped-def]
    table = {}
    for path, handlers in app.route_handler_method_map.items():
        for method, handler in handlers.items():
            if method not in SKIPPED_METHODS:
                table[(method, path)] = handler
    return table


@pytest.fixture(scope="module")
def plain_app():  # type: ignore[no-untyped-def]
    settings = load_settings(env={}, database_url="sqlite+aiosqlite:///:memory:", secret_key=secrets.token_hex(32), run_worker_in_process=False)
    return create_app(settings)


def test_every_route_is_in_the_table(plain_app) -> None:  # type: ignore[no-untyped-def]
    routes = set(route_table(plain_app))
    missing = sorted(routes - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - routes)
    message = []
    if missing:
        message.append("routes without an entry in EXPECTED (say who may use them):\n  " + "\n  ".join(f"{m} {p}" for m, p in missing))
    if stale:
        message.append("entries in EXPECTED for routes that do not exist:\n  " + "\n  ".join(f"{m} {p}" for m, p in stale))
    assert not message, "\n".join(message)


def test_every_route_declares_a_guard(plain_app) -> None:  # type: ignore[no-untyped-def]
    """Deny by default: "no guard" must never be an accident (public routes say ``public``)."""
    unguarded = sorted(
        f"{method} {path}"
        for (method, path), handler in route_table(plain_app).items()
        if not FRAMEWORK_PATHS.match(path) and not handler.resolve_guards()
    )
    assert not unguarded, "routes without a guard:\n  " + "\n  ".join(unguarded)


# --- the matrix itself ----------------------------------------------------------------------


async def make_fixture(app_context, world: World) -> Fixture:  # type: ignore[no-untyped-def]
    start = next_monday(datetime.now(UTC), 3) + timedelta(hours=9)
    booking = await bookings.create_booking(
        app_context, world["member_a"],
        bookings.BookingRequest(world.room_approval.id, start, start + timedelta(hours=2), organisation_id=world.org_a.id, title="Matrix"),
    )
    made = await series.create_series(
        app_context, world["member_a"],
        series.SeriesRequest(
            resource_id=world.comparable_room.id, local_start=(start + timedelta(days=1)).replace(tzinfo=None, hour=18),
            duration=timedelta(hours=1), rule="FREQ=WEEKLY;COUNT=3", organisation_id=world.org_a.id, title="Matrix series",
        ),
    )
    async with app_context.database.transaction() as session:
        spare = User(email="spare@example.org", display_name="Spare Person", password_hash=password_hash(), email_verified_at=start)
        session.add(spare)
        blackout = Blackout(site_id=world.site_a.id, starts_at=start + timedelta(days=30), ends_at=start + timedelta(days=31), reason="Matrix")
        repairs = [
            Blackout(site_id=world.site_a.id, resource_id=world.benches.id, kind="repair", reason="Matrix",
                     starts_at=start + timedelta(days=40 + n), ends_at=start + timedelta(days=41 + n))
            for n in range(2)
        ]
        parked = OutboxMessage(kind="confirmed", recipient="x@example.org", subject="Matrix", message_id="<matrix@test>", raw="x", status="parked", attempts=8)
        feed = FeedToken(owner_id=world["member_a"].user_id, scope="user", target_id=world["member_a"].user_id, is_private=True, token_hash="m" * 64)
        invitation = Invitation(organisation_id=world.org_a.id, email="invited@example.org", role="member", token_hash="i" * 64,
                                expires_at=start + timedelta(days=14))
        api_tokens = [ApiToken(user_id=world["member_a"].user_id, name=f"Matrix {n}", token_hash=str(n) * 64) for n in range(2)]
        live_feed = FeedToken(owner_id=world["member_a"].user_id, scope="user", target_id=world["member_a"].user_id, is_private=True,
                              token_hash="l" * 64)
        session.add_all([blackout, *repairs, parked, feed, invitation, *api_tokens, live_feed])
        await session.flush()
        session.add(SiteRole(user_id=spare.id, site_id=world.site_a.id, role="lender"))  # type: ignore[arg-type]
        session.add(Membership(user_id=spare.id, organisation_id=world.org_a.id, role="member"))  # type: ignore[arg-type]
        org_a = await session.get(Organisation, world.org_a.id)
        assert org_a is not None
        org_a.listed_in_directory, org_a.description = True, "Matrix"
        session.add(org_a)
        fields = [FieldOfActivity(name="Matrix Sport", position=1), FieldOfActivity(name="Matrix Kultur", position=2)]
        join = JoinRequest(organisation_id=world.org_a.id, user_id=world["member_b"].user_id, created_at=start)
        waiting = WaitingListEntry(resource_id=world.room.id, starts_at=start, ends_at=start + timedelta(hours=2),
                                   person_id=world["member_a"].user_id, position=1, status="waiting", created_at=start)
        quota = Quota(site_id=world.site_a.id, category="Seminar", metric="hours_per_month", subject="organisation", amount=100)
        session.add_all([*fields, join, waiting, quota])
        await session.flush()
    fixture = Fixture(
        world, booking.id, blackout.id, spare.id, parked.id, made.series.id, feed.id, (repairs[0].id, repairs[1].id),  # type: ignore[arg-type]
        invitation.id,  # type: ignore[arg-type]
        (api_tokens[0].id, api_tokens[1].id),  # type: ignore[arg-type]
        join.id, (fields[0].id, fields[1].id),  # type: ignore[arg-type]
        live_feed.id,  # type: ignore[arg-type]
        waiting.id,  # type: ignore[arg-type]
        quota.id,  # type: ignore[arg-type]
    )
    await add_offer(app_context, world, fixture, start)
    return fixture


async def add_offer(app_context, world: World, fixture: Fixture, start: datetime) -> None:  # type: ignore[no-untyped-def]
    from booking.models import OfferSignup
    from booking.services import offer_catalogue, offer_publishing, offer_signups

    offer = await offer_publishing.create_offer(app_context, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Matrix-Angebot", site_id=world.site_a.id, places=5, organisation_id=world.org_a.id,
        local_start=(start + timedelta(days=2)).replace(tzinfo=None, hour=10), duration=timedelta(hours=2)))
    await offer_signups.sign_up(app_context, world["member_a"], offer.id, None)  # type: ignore[arg-type]
    view = await offer_catalogue.get_offer(app_context, None, offer.id)  # type: ignore[arg-type]
    async with app_context.database.reader() as session:
        from sqlmodel import select as select_rows

        signup = (await session.exec(select_rows(OfferSignup).where(OfferSignup.offer_id == offer.id))).one()
    fixture.offer_id, fixture.offer_date_id, fixture.offer_signup_id = offer.id, view.dates[0].id, signup.id  # type: ignore[assignment]
    full = await offer_publishing.create_offer(app_context, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Matrix-Warteliste", site_id=world.site_a.id, places=1, organisation_id=world.org_a.id,
        local_start=(start + timedelta(days=3)).replace(tzinfo=None, hour=10), duration=timedelta(hours=2)))
    await offer_signups.sign_up(app_context, world["member_a"], full.id, None)  # type: ignore[arg-type]
    date = (await offer_catalogue.get_offer(app_context, None, full.id)).dates[0]  # type: ignore[arg-type]
    async with app_context.database.transaction() as session:
        waiting = [WaitingListEntry(resource_id=full.resource_id, starts_at=date.starts_at, ends_at=date.ends_at, title=full.title,  # type: ignore[arg-type]
                                    person_id=world[role].user_id, position=n, status="waiting", created_at=start)
                   for n, role in enumerate(("member_b", "lender_b", "city_admin"), start=1)]
        session.add_all(waiting)
        await session.flush()
        fixture.waiting_offer_id = full.id  # type: ignore[assignment]
        fixture.offer_waiting_entry_ids = tuple(e.id for e in waiting)  # type: ignore[assignment]
    doomed = await offer_publishing.create_offer(app_context, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Matrix-Absage", site_id=world.site_a.id, places=2, organisation_id=world.org_a.id,
        local_start=(start + timedelta(days=4)).replace(tzinfo=None, hour=10), duration=timedelta(hours=2)))
    await offer_signups.sign_up(app_context, world["member_a"], doomed.id, None)  # type: ignore[arg-type]
    fixture.cancel_offer_id = doomed.id  # type: ignore[assignment]
    twice = await offer_publishing.create_offer(app_context, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Matrix-API", site_id=world.site_a.id, places=2, organisation_id=world.org_a.id, repeat="weekly", count=2,
        local_start=(start + timedelta(days=5)).replace(tzinfo=None, hour=10), duration=timedelta(hours=2)))
    await offer_signups.sign_up(app_context, world["member_a"], twice.id, None)  # type: ignore[arg-type]
    fixture.api_offer_id = twice.id  # type: ignore[assignment]
    fixture.api_removable_date_id = (await offer_catalogue.get_offer(app_context, None, twice.id)).dates[1].id  # type: ignore[arg-type]


def concrete_path(template: str, fx: Fixture, overrides: dict[str, Callable[[Fixture], Any]] | None = None) -> str:
    values = {**PARAMS, **(overrides or {})}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AssertionError(f"no value for path parameter {name!r} in {template}: add it to PARAMS")
        return str(values[name](fx))

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, template)


@dataclass
class Caller:
    client: httpx.AsyncClient
    role: str
    cookies: httpx.Cookies | None = None

    async def sign_in(self, world: World) -> None:
        self.client.cookies.clear()
        if self.role != "anonymous":
            response = await self.client.post("/api/v1/auth/login", json={"email": world.emails[self.role], "password": PASSWORD})
            assert response.status_code == 200, f"{self.role} cannot log in: {response.text}"
        await self.client.get("/health")  # the CSRF cookie
        assert "booking_csrf" in self.client.cookies
        self.cookies = httpx.Cookies(self.client.cookies)

    async def still_signed_in(self, world: World) -> None:
        """After a route that may end sessions (logout, login, password change): the saved cookie
        is enough while its server-side session lives; otherwise log in again."""
        if self.role == "anonymous":
            return
        self.client.cookies = httpx.Cookies(self.cookies)
        if (await self.client.get("/api/v1/me")).status_code != 200:
            await self.sign_in(world)

    async def call(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        # Each request starts from the signed-in state (a logout or a flash does not leak on).
        self.client.cookies = httpx.Cookies(self.cookies)
        if method == "GET":
            return await self.client.get(path)
        if path.startswith("/api/"):
            return await self.client.request(method, path, json=body or {})
        form = {**(body or {}), "_csrf_token": self.client.cookies["booking_csrf"]}
        return await self.client.request(method, path, data=form)


def verdict(role: str, response: httpx.Response, expect: Expect) -> str:
    """"allowed", "denied" or a description of what is wrong with a denial."""
    status = response.status_code
    location = response.headers.get("location", "")
    if expect.success_redirect and 300 <= status < 400 and location == expect.success_redirect:
        return "allowed"
    if role == "anonymous" and (status == 401 or (300 <= status < 400 and location.startswith("/login"))):
        return "denied"
    if role != "anonymous" and status == (404 if role in expect.hidden_from else expect.denied_status):
        return "denied"
    if status in (401, 403) or (status == 404 and role in expect.hidden_from) or (300 <= status < 400 and location.startswith("/login")):
        return f"denied with {status} {location}".strip()
    return "allowed"


async def test_permission_matrix(settings, app_context, world: World) -> None:  # type: ignore[no-untyped-def]
    # The login/e-mail-link limiter counts per minute of wall time: with the default limit a
    # slow run and a fast one would meet different answers (429 or not). The limit has tests
    # of its own; here it is out of the way so every answer is the route's own.
    app_context.settings = settings = dataclasses.replace(settings, login_rate_limit_per_minute=100_000)
    app = create_app(settings, app_context=app_context)
    fx = await make_fixture(app_context, world)
    transport = httpx.ASGITransport(app=app)
    callers = {}
    for role in ROLES:
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        callers[role] = Caller(client, role)
        await callers[role].sign_in(world)
    problems: list[str] = []

    async def check(method: str, template: str, path: str, body: dict[str, Any] | None, expect: Expect, role: str) -> None:
        caller = callers[role]
        response = await caller.call(method, path, body)
        if response.status_code >= 500:
            problems.append(f"{method} {path} as {role}: HTTP {response.status_code}")
        else:
            got = verdict(role, response, expect)
            wanted = "allowed" if role in expect.allowed else "denied"
            if got != wanted:
                problems.append(f"{method} {template} as {role}: expected {wanted}, got {got} (HTTP {response.status_code})")
        if expect.relogin:
            await caller.still_signed_in(world)

    try:
        for (method, template), _handler in sorted(route_table(app).items(), key=lambda item: item[0][1]):
            expect = EXPECTED.get((method, template))
            if expect is None:
                continue  # reported by test_every_route_is_in_the_table
            path = concrete_path(template, fx, expect.params)
            body = expect.body(fx) if expect.body else None
            # Denied roles first, all at once: their requests must change nothing, so each
            # meets the state the first allowed role then meets (who may delete the thing).
            # Allowed roles one after the other where their requests may change things.
            # Reading (GET) changes nothing either: every role at once.
            first = [role for role in expect.roles if role not in expect.allowed or method == "GET"]
            await asyncio.gather(*(check(method, template, path, body, expect, role) for role in first))
            for role in expect.roles:
                if role not in first:
                    await check(method, template, path, body, expect, role)
    finally:
        for caller in callers.values():
            await caller.client.aclose()
    assert not problems, f"{len(problems)} permission mismatches:\n  " + "\n  ".join(problems)
