"""Post/Redirect/Get: every form of the pages that changes data answers 303 See Other on success,
to a page that can be reloaded (GET) without doing anything again.

The POST routes come from the app itself: a route of the pages (not /api) without an entry in
``SUCCESS`` fails ``test_every_page_post_route_has_a_success_case``. Each entry is the form a
person sends when all is well; the test sends it (with a CSRF token, as the role named) and
expects 303 and a Location that answers a GET below 400. Routes whose success needs a secret
from an e-mail (links) are covered where the mail is read (``Covered``, the test must exist).

Errors re-render the form (4xx) — that is tested per form elsewhere.
"""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import func, select

from booking.app import create_app
from booking.domain.short_codes import code_for
from booking.models import Booking, JoinRequest, Organisation, Policy, Resource
from booking.services import bookings, series
from tests.http.test_permission_matrix import Caller, Fixture, concrete_path, make_fixture, offer_form, plain_app, route_table  # noqa: F401 (fixture)
from tests.support.world import PASSWORD, World, next_monday

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Extra:
    """What the success cases need beyond the permission matrix's fixture."""

    own_booking_id: int = 0  # member_a's booking of Room A1 (changed, cancelled, restored)
    requested_series_id: int = 0  # waiting series at Hall A (approved) …
    requested_series_2_id: int = 0  # … and another one (declined)
    requested_booking_id: int = 0  # a second request at Hall A (declined)
    partial_series_id: int = 0  # a series of member_a with one date refused (alternative taken)
    refused_start: str = ""
    alternative: dict[str, str] = field(default_factory=dict)
    loan_booking_id: int = 0  # benches for member_a starting soon (handed out, taken back)
    desk_id: int = 0
    desk_day: str = ""
    resource_start: str = ""
    bulk_request_id: int = 0  # a request at Hall A approved from the list (ticked)
    pending_organisation_id: int = 0  # a new association waiting for the city's confirmation
    second_join_request_id: int = 0  # lender_a asks to join Org A (declined)
    taken: dict[str, str] = field(default_factory=dict)  # a taken time of Room A1 (joined on its waiting list)
    holds: tuple[int, int, int] = (0, 0, 0)  # member_b's held bookings (confirmed, declined, taken by the mail's link)
    offer_token: str = ""  # the mail link's token of the third hold
    second_entry_id: int = 0  # org_admin_a's entry behind member_a's (moved up, removed)
    checkin_door_code: str = ""  # a room asking for check-in where member_a's booking starts soon (door)
    checkin_booking_id: int = 0  # … and member_a's booking of a second such room (booking page)
    past_date_id: int = 0  # a date of an offer that has begun (attendance is marked)
    past_signup_id: int = 0
    full_offer_id: int = 0  # an offer whose only date is full (joined on its waiting list)
    full_date_id: int = 0


Body = Callable[[Fixture, Extra], dict[str, Any]]


@dataclass(frozen=True)
class Success:
    role: str
    body: Body = lambda fx, ex: {}
    params: dict[str, Callable[[Fixture, Extra], Any]] = field(default_factory=dict)
    # The session may end (logout, own account deleted): the Location is not fetched as this role.
    ends_session: bool = False


@dataclass(frozen=True)
class Covered:
    """Success needs a secret from an e-mail; the named test reads the mail and checks the 303."""

    test: str  # "tests/http/file.py::test_name"


def local(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def weeks_ahead(weeks: int) -> dict[str, str]:
    """A two-hour date ``weeks`` weeks from now (inside every horizon), as the date forms take it."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(weeks=weeks)
    return {"starts_at": local(start), "ends_at": local(start + timedelta(hours=2))}


SUCCESS: dict[str, Success | Covered] = {
    # --- accounts
    "/login": Success("anonymous", lambda fx, ex: {"email": "member_b@example.org", "password": PASSWORD}),
    "/logout": Success("manager_a", ends_session=True),
    "/register": Success("anonymous", lambda fx, ex: {"email": "newcomer@example.org", "display_name": "New Comer",
                                                      "password": "a long and good passphrase", "password_repeat": "a long and good passphrase"}),
    "/verify/{token:str}": Covered("tests/http/test_pages_accounts.py::test_register_confirm_and_log_in"),
    "/verify/resend": Success("anonymous", lambda fx, ex: {"email": "newcomer@example.org"}),
    "/login/link": Success("anonymous", lambda fx, ex: {"email": "member_b@example.org"}),
    "/login/link/{token:str}": Covered("tests/http/test_pages_accounts.py::test_login_by_email_link"),
    "/password/forgot": Success("anonymous", lambda fx, ex: {"email": "member_b@example.org"}),
    "/password/reset/{token:str}": Covered("tests/http/test_pages_accounts.py::test_password_reset_ends_old_sessions"),
    "/profile": Success("member_a", lambda fx, ex: {"display_name": "Member A", "language": "de"}),
    "/profile/password": Success("lender_b", lambda fx, ex: {"current_password": PASSWORD, "new_password": "another long passphrase 2",
                                                            "new_password_repeat": "another long passphrase 2"}, ends_session=True),
    "/profile/tokens": Success("member_a", lambda fx, ex: {"name": "PRG", "expires_days": "30"}),
    "/profile/tokens/{token_id:int}/revoke": Success("member_a", params={"token_id": lambda fx, ex: fx.api_token_ids[1]}),
    "/language": Success("anonymous", lambda fx, ex: {"lang": "en", "next": "/"}),
    # --- administration
    "/admin/sites/new": Success("city_admin", lambda fx, ex: {"name": "PRG-Haus", "contact_email": "prg@example.org",
                                                             "timezone": "Europe/Berlin", "opening_mon": "09:00–18:00"}),
    "/admin/sites/{site_id:int}/edit": Success("manager_a", lambda fx, ex: {"name": "Site A", "contact_email": "a@site.example",
                                                                            "timezone": "Europe/Berlin", "opening_mon": "09:00–18:00"}),
    "/admin/sites/{site_id:int}/blackouts": Success("manager_a", lambda fx, ex: {"starts_at": "2031-07-01T08:00", "ends_at": "2031-07-02T08:00",
                                                                                 "kind": "closed", "reason": "PRG"}),
    "/admin/blackouts/{blackout_id:int}/edit": Success("manager_a", lambda fx, ex: {"starts_at": "2031-08-01T08:00", "ends_at": "2031-08-02T08:00",
                                                                                    "kind": "closed", "reason": "PRG"}),
    "/admin/sites/{site_id:int}/blackouts/{blackout_id:int}/delete": Success("manager_a"),
    "/admin/sites/{site_id:int}/staff": Success("manager_a", lambda fx, ex: {"email": "spare@example.org", "role": "lender"}),
    "/admin/sites/{site_id:int}/staff/{user_id:int}/remove": Success("manager_a"),
    "/admin/sites/{site_id:int}/resources/new": Success("manager_a", lambda fx, ex: {"kind": "room", "name": "PRG room", "category": "Seminar",
                                                                                     "capacity": "1", "seats": "10", "visibility": "public"}),
    "/admin/resources/{resource_id:int}/edit": Success("manager_a", lambda fx, ex: {"kind": "room", "name": "Room A1", "category": "Seminar",
                                                                                    "capacity": "1", "seats": "10", "visibility": "public"}),
    "/admin/resources/{resource_id:int}/active": Success("manager_a", lambda fx, ex: {"active": "1"}),
    "/admin/resources/{resource_id:int}/rules": Success("manager_a", lambda fx, ex: {
        "lead_time_minutes": "0", "min_duration_minutes": "15", "buffer_before_minutes": "0", "buffer_after_minutes": "0",
        "opening_hours_mode": "contain", "audience": "public"}),
    "/admin/sites/{site_id:int}/quotas": Success("manager_a", lambda fx, ex: {
        "scope": "category:Seminar", "metric": "hours_per_week", "subject": "person", "amount": "40", "enforcement": "ask"}),
    "/admin/quotas/{quota_id:int}/delete": Success("manager_a"),
    "/admin/organisations/new": Success("city_admin", lambda fx, ex: {"name": "PRG e. V."}),
    "/admin/organisations/{organisation_id:int}/edit": Success("city_admin", lambda fx, ex: {"name": "Org A"}),
    "/admin/organisations/{organisation_id:int}/members": Success("city_admin", lambda fx, ex: {"email": "spare@example.org", "role": "member"}),
    "/admin/organisations/{organisation_id:int}/members/{user_id:int}/remove": Success("city_admin"),
    "/admin/users/{user_id:int}/city-admin": Success("city_admin", lambda fx, ex: {"value": "0"}),
    "/admin/users/{user_id:int}/active": Success("city_admin", lambda fx, ex: {"value": "1"}),
    "/admin/mail/{message_id:int}/retry": Success("city_admin"),
    "/admin/privacy/erase": Success("city_admin", lambda fx, ex: {"email": "newcomer@example.org", "confirm": "1"}),
    # --- booking
    "/resources/{resource_id:int}/book": Success("member_a", lambda fx, ex: {"starts_at": ex.resource_start[:16],
                                                                            "ends_at": ex.resource_start[:11] + "11:00", "quantity": "1",
                                                                            "repeat": "none"}),
    "/desks/{site_id:int}/book": Success("member_a", lambda fx, ex: {"resource_id": str(ex.desk_id), "day": ex.desk_day, "part": "full"}),
    "/bookings/feeds": Success("member_a"),
    "/bookings/feeds/{feed_id:int}/revoke": Success("member_a"),
    "/bookings/{booking_id:int}/change": Success("member_a", lambda fx, ex: {"starts_at": ex.resource_start[:11] + "13:00",
                                                                             "ends_at": ex.resource_start[:11] + "14:00"},
                                                 params={"booking_id": lambda fx, ex: ex.own_booking_id}),
    "/bookings/{booking_id:int}/cancel": Success("member_a", lambda fx, ex: {"confirm": "yes"}, params={"booking_id": lambda fx, ex: ex.own_booking_id}),
    "/bookings/{booking_id:int}/undo-cancel": Success("member_a", params={"booking_id": lambda fx, ex: ex.own_booking_id}),
    "/bookings/series/{series_id:int}/change": Success("member_a", lambda fx, ex: {"start_time": "19:00", "duration": "60"}),
    "/bookings/series/{series_id:int}/cancel": Success("member_a", lambda fx, ex: {"confirm": "yes"}),
    "/bookings/series/{series_id:int}/alternative": Success("member_a", lambda fx, ex: ex.alternative,
                                                            params={"series_id": lambda fx, ex: ex.partial_series_id}),
    "/r/{code:str}/check-in": Success("member_a", params={"code": lambda fx, ex: ex.checkin_door_code}),
    "/bookings/{booking_id:int}/check-in": Success("member_a", params={"booking_id": lambda fx, ex: ex.checkin_booking_id}),
    # --- lenders
    "/lender/requests/{booking_id:int}/approve": Success("lender_a", lambda fx, ex: {"view": "inbox"}),
    "/lender/requests/{booking_id:int}/decline": Success("lender_a", lambda fx, ex: {"reason": "PRG", "view": "inbox", "confirm": "yes"},
                                                         params={"booking_id": lambda fx, ex: ex.requested_booking_id}),
    "/lender/series/{series_id:int}/approve": Success("lender_a", params={"series_id": lambda fx, ex: ex.requested_series_id}),
    "/lender/series/{series_id:int}/decline": Success("lender_a", lambda fx, ex: {"reason": "PRG", "confirm": "yes"},
                                                      params={"series_id": lambda fx, ex: ex.requested_series_2_id}),
    "/lender/loans/{booking_id:int}/hand-out": Success("lender_a", lambda fx, ex: {"condition": "fine", "view": "today", "confirm": "yes"},
                                                       params={"booking_id": lambda fx, ex: ex.loan_booking_id}),
    "/lender/loans/{booking_id:int}/take-back": Success("lender_a", lambda fx, ex: {"condition": "fine", "view": "today"},
                                                        params={"booking_id": lambda fx, ex: ex.loan_booking_id}),
    "/lender/items/{resource_id:int}/repair-blocks": Success("lender_a", lambda fx, ex: {"first_day": "2031-09-01", "last_day": "2031-09-02",
                                                                                          "reason": "PRG"},
                                                             params={"resource_id": lambda fx, ex: fx.world.benches.id}),
    "/lender/items/{resource_id:int}/repair-blocks/{block_id:int}/lift": Success(
        "lender_a", params={"resource_id": lambda fx, ex: fx.world.benches.id, "block_id": lambda fx, ex: fx.repair_block_ids[1]}),
    # --- organisations and invitations
    "/organisation/{organisation_id:int}/invite": Success("org_admin_a", lambda fx, ex: {"email": "guest@example.org", "role": "member"}),
    "/organisation/{organisation_id:int}/invitations/{invitation_id:int}/resend": Success("org_admin_a"),
    "/organisation/{organisation_id:int}/invitations/{invitation_id:int}/revoke": Success("org_admin_a"),
    "/organisation/{organisation_id:int}/feed": Success("member_a"),
    "/invitations/{token:str}/accept": Covered("tests/http/test_pages_accounts.py::test_invitation_lets_a_new_person_register_and_join"),
    "/invitations/{token:str}/register": Covered("tests/http/test_pages_accounts.py::test_invitation_lets_a_new_person_register_and_join"),
    "/lender/requests/approve": Success("lender_a", lambda fx, ex: {"selected": f"booking-{ex.bulk_request_id}"}),
    # --- organisation directory, profiles and join requests
    "/organisation/{organisation_id:int}/profile": Success("org_admin_a", lambda fx, ex: {
        "listed_in_directory": "1", "description": "PRG", "website": "", "field_ids": str(fx.field_ids[0])}),
    "/organisation/{organisation_id:int}/join-requests/{request_id:int}/approve": Success("org_admin_a"),
    "/organisation/{organisation_id:int}/join-requests/{request_id:int}/decline": Success(
        "org_admin_a", lambda fx, ex: {"reason": "PRG"}, params={"request_id": lambda fx, ex: ex.second_join_request_id}),
    "/organisationen/{organisation_id:int}/contact": Success("anonymous", lambda fx, ex: {
        "name": "PRG", "email": "prg@example.org", "message": "Hallo, wann trefft ihr euch?"}),
    "/organisationen/{organisation_id:int}/join": Success("lender_b", lambda fx, ex: {"message": "PRG"}),
    "/admin/organisations/{organisation_id:int}/confirm": Success(
        "manager_a", params={"organisation_id": lambda fx, ex: ex.pending_organisation_id}),
    "/admin/fields": Success("city_admin", lambda fx, ex: {"name": "PRG field"}),
    "/admin/fields/{field_id:int}/edit": Success("city_admin", lambda fx, ex: {"name": "PRG renamed"}),
    "/admin/fields/{field_id:int}/delete": Success("city_admin", params={"field_id": lambda fx, ex: fx.field_ids[1]}),
    # --- report, feeds
    "/admin/bericht/{year:int}/einleitung": Success("city_admin", lambda fx, ex: {"introduction": "PRG"}),
    "/bookings/feeds/{feed_id:int}/renew": Success("member_a", params={"feed_id": lambda fx, ex: fx.live_feed_id}),
    "/resources/{resource_id:int}/feed": Success("member_a"),
    "/sites/{site_id:int}/feed": Success("member_a"),
    "/orte/{site_id:int}/feed": Success("member_a"),
    # --- privacy and feedback
    "/accessibility/feedback": Success("anonymous", lambda fx, ex: {"message": "The contrast of the footer is low."}),
    "/profile/delete": Success("member_b", lambda fx, ex: {"password": PASSWORD}, ends_session=True),
    "/profile/delete/link": Success("member_a"),
    "/profile/delete/{token:str}": Covered("tests/http/test_privacy_pages.py::test_delete_by_mailed_link"),
    # --- waiting lists
    "/resources/{resource_id:int}/waiting-list": Success("org_admin_a", lambda fx, ex: {**ex.taken, "quantity": "1"}),
    "/waiting-list/{entry_id:int}/withdraw": Success("member_a", params={"entry_id": lambda fx, ex: fx.waiting_entry_id}),
    "/waiting-list/holds/{booking_id:int}/confirm": Success("member_b", params={"booking_id": lambda fx, ex: ex.holds[0]}),
    "/waiting-list/holds/{booking_id:int}/decline": Success("member_b", params={"booking_id": lambda fx, ex: ex.holds[1]}),
    "/waiting-list/offers/{token:str}": Success("anonymous", lambda fx, ex: {"answer": "confirm"}, params={"token": lambda fx, ex: ex.offer_token}),
    "/lender/waiting-lists/{entry_id:int}/move": Success("lender_a", lambda fx, ex: {"direction": "up", "site": str(fx.world.site_a.id)},
                                                         params={"entry_id": lambda fx, ex: ex.second_entry_id}),
    "/lender/waiting-lists/{entry_id:int}/remove": Success("lender_a", lambda fx, ex: {"site": str(fx.world.site_a.id)},
                                                           params={"entry_id": lambda fx, ex: ex.second_entry_id}),
    # --- volunteer offers (issue 14)
    "/mitmachen/{offer_id:int}/anmelden": Success("member_b", lambda fx, ex: {"date_id": "all"}),
    "/mitmachen/{offer_id:int}/warteliste": Success("member_b", lambda fx, ex: {"date_id": str(ex.full_date_id)},
                                                    params={"offer_id": lambda fx, ex: ex.full_offer_id}),
    "/mitmachen/bestaetigen/{token:str}": Covered("tests/http/test_offers_pages.py::test_sign_up_by_email_confirm_and_cancel_once"),
    "/mitmachen/absagen/{token:str}": Covered("tests/http/test_offers_pages.py::test_sign_up_by_email_confirm_and_cancel_once"),
    "/mitmachen/neu": Success("org_admin_a", lambda fx, ex: offer_form(fx)),
    "/mitmachen/{offer_id:int}/bearbeiten": Success("org_admin_a", lambda fx, ex: {**offer_form(fx), "title": "PRG-Angebot"}),
    "/mitmachen/termine/{date_id:int}/anwesenheit": Success("org_admin_a", lambda fx, ex: {f"attendance-{ex.past_signup_id}": "present"},
                                                            params={"date_id": lambda fx, ex: ex.past_date_id}),
    "/mitmachen/termine/{date_id:int}/nachricht": Success("org_admin_a", lambda fx, ex: {"message": "PRG"}),
    "/mitmachen/anmeldungen/{signup_id:int}/absagen": Success("member_a"),
    "/mitmachen/{offer_id:int}/absagen": Success("org_admin_a", params={"offer_id": lambda fx, ex: fx.cancel_offer_id}),
    "/mitmachen/{offer_id:int}/warteliste/{entry_id:int}/verschieben": Success(
        "org_admin_a", lambda fx, ex: {"direction": "down"},
        params={"offer_id": lambda fx, ex: fx.waiting_offer_id, "entry_id": lambda fx, ex: fx.offer_waiting_entry_ids[0]}),
    "/mitmachen/{offer_id:int}/warteliste/{entry_id:int}/entfernen": Success(
        "org_admin_a", params={"offer_id": lambda fx, ex: fx.waiting_offer_id, "entry_id": lambda fx, ex: fx.offer_waiting_entry_ids[2]}),
    "/mitmachen/{offer_id:int}/termine": Success("org_admin_a", lambda fx, ex: weeks_ahead(3)),
    "/mitmachen/{offer_id:int}/plaetze": Success("org_admin_a", lambda fx, ex: {"places": "6"}),
    "/mitmachen/termine/{date_id:int}/verschieben": Success("lender_a", lambda fx, ex: weeks_ahead(4)),
    # Last of the offer's cases (see LAST): the fixture's date is gone afterwards.
    "/mitmachen/termine/{date_id:int}/entfernen": Success("org_admin_a", lambda fx, ex: {"confirm": "1"}),
}

# The order the cases run in where it matters (a state one case needs, another one ends; the
# site's edit leaves it open on Mondays only, so bookings come before it).
FIRST = ("/resources/{resource_id:int}/book", "/resources/{resource_id:int}/waiting-list", "/desks/{site_id:int}/book", "/bookings/{booking_id:int}/change", "/bookings/{booking_id:int}/cancel", "/bookings/{booking_id:int}/undo-cancel",
         "/bookings/series/{series_id:int}/alternative", "/bookings/series/{series_id:int}/change",
         "/bookings/series/{series_id:int}/cancel", "/lender/loans/{booking_id:int}/hand-out",
         "/lender/loans/{booking_id:int}/take-back", "/register", "/verify/resend", "/admin/privacy/erase",
         "/admin/sites/{site_id:int}/staff/{user_id:int}/remove", "/admin/sites/{site_id:int}/staff",
         "/admin/organisations/{organisation_id:int}/members/{user_id:int}/remove", "/admin/organisations/{organisation_id:int}/members",
         "/organisation/{organisation_id:int}/invitations/{invitation_id:int}/resend",
         "/organisation/{organisation_id:int}/invitations/{invitation_id:int}/revoke")
LAST = ("/mitmachen/termine/{date_id:int}/entfernen", "/login", "/logout", "/profile/password", "/profile/delete")


def page_post_routes(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {path for (method, path) in route_table(app) if method == "POST" and not path.startswith("/api/")}


def test_every_page_post_route_has_a_success_case(plain_app) -> None:  # type: ignore[no-untyped-def]
    routes = page_post_routes(plain_app)
    missing = sorted(routes - SUCCESS.keys())
    stale = sorted(SUCCESS.keys() - routes)
    assert not missing, "POST routes without a success case (Post/Redirect/Get):\n  " + "\n  ".join(missing)
    assert not stale, "success cases for routes that do not exist:\n  " + "\n  ".join(stale)


def test_covered_cases_name_tests_that_exist() -> None:
    for path, case in SUCCESS.items():
        if isinstance(case, Covered):
            file, name = case.test.split("::")
            tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
            names = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
            assert name in names, f"{path}: {case.test} does not exist"


async def make_extra(app_context, world: World, fx: Fixture) -> Extra:  # type: ignore[no-untyped-def]
    extra = Extra()
    start = next_monday(datetime.now(UTC), 5) + timedelta(hours=9)
    extra.resource_start = (start + timedelta(days=2)).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M")  # Wed 10:00 Berlin
    own = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        world.room.id, start + timedelta(days=3), start + timedelta(days=3, hours=1), title="PRG own"))
    extra.own_booking_id = own.id  # type: ignore[assignment]
    request = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        world.room_approval.id, start + timedelta(days=4), start + timedelta(days=4, hours=1), organisation_id=world.org_a.id))
    extra.requested_booking_id = request.id  # type: ignore[assignment]
    for index in range(2):
        waiting = await series.create_series(app_context, world["member_a"], series.SeriesRequest(
            resource_id=world.room_approval.id, local_start=(start + timedelta(days=7 + index)).replace(tzinfo=None, hour=8),
            duration=timedelta(hours=1), rule="FREQ=WEEKLY;COUNT=2", organisation_id=world.org_a.id))
        setattr(extra, "requested_series_id" if index == 0 else "requested_series_2_id", waiting.series.id)
    # A weekly series of Room A1 whose second date is taken: its alternative joins it.
    first = (start + timedelta(days=5)).replace(hour=16)
    await bookings.create_booking(app_context, world["member_b"], bookings.BookingRequest(
        world.room.id, first + timedelta(weeks=1), first + timedelta(weeks=1, hours=1)))
    partial = await series.create_series(app_context, world["member_a"], series.SeriesRequest(
        resource_id=world.room.id, local_start=first.astimezone(world_zone()).replace(tzinfo=None), duration=timedelta(hours=1),
        rule="FREQ=WEEKLY;COUNT=3"), mode="book_free")
    assert len(partial.refused) == 1 and partial.refused[0].alternatives
    refused = partial.refused[0]
    alternative = refused.alternatives[0]
    extra.partial_series_id = partial.series.id  # type: ignore[assignment]
    extra.alternative = {"refused_start": refused.local_start.isoformat(timespec="minutes"), "resource_id": str(alternative.resource_id),
                         "starts_at": local(alternative.interval.starts_at), "ends_at": local(alternative.interval.ends_at)}
    # Benches for member_a from a few minutes from now: handed out and taken back.
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    loan = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        world.benches.id, soon, soon + timedelta(hours=3), quantity=2))
    extra.loan_booking_id = loan.id  # type: ignore[assignment]
    async with app_context.database.transaction() as session:
        desk = Resource(site_id=world.site_a.id, kind="desk", name="PRG desk", category="Desk")
        session.add(desk)
        await session.flush()
        extra.desk_id = desk.id  # type: ignore[assignment]
    extra.desk_day = (start + timedelta(days=1)).date().isoformat()
    bulk = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(
        world.room_approval.id, start + timedelta(days=4, hours=3), start + timedelta(days=4, hours=4), organisation_id=world.org_a.id))
    extra.bulk_request_id = bulk.id  # type: ignore[assignment]
    async with app_context.database.transaction() as session:
        pending = Organisation(name="PRG Neuverein e. V.", is_pending=True)
        second_join = JoinRequest(organisation_id=world.org_a.id, user_id=world["lender_a"].user_id)
        session.add_all([pending, second_join])
        await session.flush()
        extra.pending_organisation_id, extra.second_join_request_id = pending.id, second_join.id  # type: ignore[assignment]
    # Waiting lists: member_b's booking above is a taken time; three holds offered to member_b
    # (Room B1), and a second entry behind member_a's (the fixture's) on Room A1.
    extra.taken = {"starts_at": local(first + timedelta(weeks=1)), "ends_at": local(first + timedelta(weeks=1, hours=1))}
    from booking.auth.tokens import sign_waiting_list_offer
    from booking.models import WaitingListEntry

    async with app_context.database.transaction() as session:
        holds, entries = [], []
        for index in range(3):
            begins = start + timedelta(days=10 + index)
            hold = Booking(resource_id=world.room_b.id, starts_at=begins, ends_at=begins + timedelta(hours=1), status="held",
                           booker_id=world["member_b"].user_id, hold_expires_at=datetime.now(UTC) + timedelta(days=1))
            session.add(hold)
            await session.flush()
            entry = WaitingListEntry(resource_id=world.room_b.id, starts_at=begins, ends_at=begins + timedelta(hours=1),
                                     person_id=world["member_b"].user_id, position=index + 1, status="offered", booking_id=hold.id)
            holds.append(hold)
            entries.append(entry)
        second = WaitingListEntry(resource_id=world.room.id, starts_at=start, ends_at=start + timedelta(hours=2),
                                  person_id=world["org_admin_a"].user_id, position=2, status="waiting")
        session.add_all([*entries, second])
        await session.flush()
        extra.holds = (holds[0].id, holds[1].id, holds[2].id)  # type: ignore[assignment]
        extra.offer_token = sign_waiting_list_offer(app_context.settings.secret_key, entries[2].id, holds[2].id)  # type: ignore[arg-type]
        extra.second_entry_id = second.id  # type: ignore[assignment]
    # Two rooms asking for check-in, member_a's bookings of them starting in five minutes.
    checkin_rooms = []
    async with app_context.database.transaction() as session:
        for name in ("PRG door room", "PRG check-in room"):
            room = Resource(site_id=world.site_a.id, kind="room", name=name, category="Check-in")
            session.add(room)
            await session.flush()
            session.add(Policy(resource_id=room.id, checkin_required=True, checkin_opens_minutes=15, checkin_release_minutes=15))  # type: ignore[arg-type]
            checkin_rooms.append(room.id)
    for room_id in checkin_rooms:
        made = await bookings.create_booking(app_context, world["member_a"], bookings.BookingRequest(room_id, soon, soon + timedelta(hours=1)))
        extra.checkin_booking_id = made.id  # type: ignore[assignment]
    extra.checkin_door_code = code_for(checkin_rooms[0])
    # An offer whose date has begun: moved into the past after the sign-up (the service takes
    # future dates only).
    from booking.models import OfferDate, OfferSignup
    from booking.services import offer_catalogue, offer_publishing, offer_signups

    past = await offer_publishing.create_offer(app_context, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="PRG vorbei", site_id=world.site_a.id, places=2, organisation_id=world.org_a.id,
        local_start=(start + timedelta(days=1)).replace(tzinfo=None, hour=8), duration=timedelta(hours=1)))
    await offer_signups.sign_up(app_context, world["member_a"], past.id, None)  # type: ignore[arg-type]
    async with app_context.database.transaction() as session:
        signup = (await session.exec(select(OfferSignup).where(OfferSignup.offer_id == past.id))).one()
        offer_date = await session.get(OfferDate, signup.offer_date_id)
        assert offer_date is not None
        offer_date.starts_at, offer_date.ends_at = datetime.now(UTC) - timedelta(hours=3), datetime.now(UTC) - timedelta(hours=2)
        session.add(offer_date)
        extra.past_date_id, extra.past_signup_id = offer_date.id, signup.id  # type: ignore[assignment]
    full = await offer_publishing.create_offer(app_context, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="PRG voll", site_id=world.site_a.id, places=1, organisation_id=world.org_a.id,
        local_start=(start + timedelta(days=2)).replace(tzinfo=None, hour=8), duration=timedelta(hours=1)))
    await offer_signups.sign_up(app_context, world["member_a"], full.id, None)  # type: ignore[arg-type]
    extra.full_offer_id = full.id  # type: ignore[assignment]
    extra.full_date_id = (await offer_catalogue.get_offer(app_context, None, full.id)).dates[0].id  # type: ignore[arg-type]
    return extra


def world_zone():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


async def booking_count(app_context) -> int:  # type: ignore[no-untyped-def]
    async with app_context.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking))).one()


async def test_every_page_form_answers_303_on_success(settings, app_context, world: World) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, app_context=app_context)
    fx = await make_fixture(app_context, world)
    extra = await make_extra(app_context, world, fx)
    transport = httpx.ASGITransport(app=app)
    callers: dict[str, Caller] = {}
    problems: list[str] = []

    async def caller_for(role: str) -> Caller:
        if role not in callers:
            callers[role] = Caller(httpx.AsyncClient(transport=transport, base_url="http://testserver.local"), role)
            await callers[role].sign_in(world)
        return callers[role]

    def params_for(case: Success) -> dict[str, Callable[[Fixture], Any]]:
        return {name: (lambda fx, value=value: value(fx, extra)) for name, value in case.params.items()}

    order = [p for p in FIRST if p in SUCCESS] + sorted(p for p in page_post_routes(app) if p not in FIRST and p not in LAST) + list(LAST)
    try:
        for template in order:
            case = SUCCESS[template]
            if isinstance(case, Covered):
                continue
            caller = await caller_for(case.role)
            path = concrete_path(template, fx, params_for(case))
            response = await caller.call("POST", path, case.body(fx, extra))
            if response.status_code != 303:
                problems.append(f"POST {template} as {case.role}: HTTP {response.status_code}, expected 303: {_message_of(response)}")
                continue
            location = response.headers["location"]
            if case.role != "anonymous" and location.startswith("/login"):
                problems.append(f"POST {template} as {case.role}: sent to the login page ({location}), not a success")
                continue
            if case.ends_session:
                continue
            before = await booking_count(app_context)
            for _ in range(2):  # the page after the redirect can be reloaded and changes nothing
                shown = await caller.client.get(location)
                if shown.status_code >= 400:
                    problems.append(f"POST {template}: its Location {location} answers {shown.status_code}")
            if await booking_count(app_context) != before:
                problems.append(f"POST {template}: reloading {location} booked something")
    finally:
        for caller in callers.values():
            await caller.client.aclose()
    assert not problems, "\n".join(problems)


def _message_of(response: httpx.Response) -> str:
    """The error messages of a page answered instead of a redirect (for the failure report)."""
    import re

    found = re.findall(r'class="kern-(?:error|alert__body)"[^>]*>(.*?)</', response.text, re.S)
    return " | ".join(re.sub(r"<[^>]+>|\s+", " ", text).strip() for text in found)[:300]
