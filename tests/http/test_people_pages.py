"""The people's own views: a borrower's "Borrowed" page, the lender's request list with
bulk approval and the lent-out list, the phone number on the profile. Real app, real
databases (SQLite and PostgreSQL), a fixed clock."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from sqlmodel import select

from booking.domain.errors import InvalidInput
from booking.models import Booking, FeedToken, Loan, User
from booking.services import feeds, registration
from booking.services.context import AppContext
from booking.services.privacy.erasure import erase_user_in_session
from booking.services.privacy.export import export_json, export_person
from booking.services.reminders import enqueue_overdue_notices
from tests.http.conftest import login
from tests.support.pages import csrf_token, field_error, post_form, send_outbox
from tests.support.world import World

NOW = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)  # a Wednesday


def at(days: float, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


async def add_booking(world: World, role: str, resource, starts_at: datetime, ends_at: datetime, status: str,
                      *, handed_out_by: str = "lender_a", quantity: int = 1) -> Booking:
    """A booking written as the lending steps leave it (with its loan when handed out)."""
    async with world.app.database.transaction() as session:
        booking = Booking(resource_id=resource.id, quantity=quantity, starts_at=starts_at, ends_at=ends_at, status=status,
                          is_exclusive=resource.capacity == 1, booker_id=world[role].user_id,
                          organisation_id=world.org_a.id if role in ("member_a", "org_admin_a") else None)
        session.add(booking)
        await session.flush()
        if status == "checked_out":
            session.add(Loan(booking_id=booking.id, checked_out_at=starts_at, checked_out_by_id=world[handed_out_by].user_id))
    return booking


@pytest.fixture
def fixed_clock(app_context):
    app_context.clock = lambda: NOW
    return NOW


def section(html: str, heading_id: str) -> str:
    """The HTML from the heading with ``heading_id`` to the next h2."""
    start = html.index(f'id="{heading_id}"')
    end = html.find("<h2", start)
    return html[start:end if end != -1 else None]


async def test_borrowed_page_lists_overdue_first_then_due_then_pickups(client, app_context, world, fixed_clock):
    late = await add_booking(world, "member_a", world.benches, at(-3), at(-1), "checked_out", quantity=2)
    due = await add_booking(world, "member_a", world.benches, at(-1), at(2), "checked_out")
    pickup = await add_booking(world, "member_a", world.benches, at(5), at(6), "confirmed")
    waiting = await add_booking(world, "member_a", world.benches, at(8), at(9), "requested")
    # Not shown: someone else's loan, a returned one, a room booking, a cancelled pick-up.
    await add_booking(world, "member_b", world.benches, at(-3), at(-1), "checked_out")
    await add_booking(world, "member_a", world.benches, at(-6), at(-5), "returned")
    await add_booking(world, "member_a", world.room, at(3), at(3, 2), "confirmed")
    await add_booking(world, "member_a", world.benches, at(4), at(5), "cancelled")
    # After the next three weeks: counted and linked, not listed (a phone page stays short).
    later = await add_booking(world, "member_a", world.benches, at(30), at(31), "confirmed")

    await login(client, world, "member_a")
    response = await client.get("/bookings/loans")
    assert response.status_code == 200
    html = response.text
    assert 'href="/bookings/loans" aria-current="page"' in html  # the menu link, marked current
    assert "1 Sache ist überfällig" in html and 'kern-alert--danger' in html
    out = section(html, "out-heading")
    ids = [int(i) for i in re.findall(r'href="/bookings/(\d+)"', out)]
    assert ids == [late.id, due.id]
    # The overdue row says so in words; the other one shows its status.
    late_row = out[out.index(f'/bookings/{late.id}"'):out.index(f'/bookings/{due.id}"')]
    assert "Überfällig" in late_row and "app-row--overdue" in out
    assert "(× 2)" in late_row  # one notation with the lender's list (partials/loan_table.html)
    due_row = out[out.index(f'/bookings/{due.id}"'):]
    assert "Überfällig" not in due_row
    pickups = section(html, "pickups-heading")
    assert [int(i) for i in re.findall(r'href="/bookings/(\d+)"', pickups)] == [pickup.id, waiting.id]
    assert f'href="/bookings/{later.id}"' not in html
    assert "Die nächsten 21 Tage, früheste zuerst" in pickups and "1 weitere Abholung später:" in pickups


async def test_borrowed_page_without_loans_and_in_english(client, app_context, world, fixed_clock):
    await login(client, world, "member_b")
    await post_form(client, "/language", {"lang": "en", "next": "/bookings/loans"}, form_page="/bookings/loans")
    response = await client.get("/bookings/loans")
    assert response.status_code == 200
    assert "You have nothing borrowed at the moment." in response.text and "Nothing to pick up in the next 21 days." in response.text
    assert ">Borrowed</a>" in response.text
    assert "kern-alert--danger" not in response.text


async def test_borrowed_page_needs_a_login(client, world):
    response = await client.get("/bookings/loans")
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]


async def test_the_borrower_gets_one_overdue_email_a_day(app_context, world, fixed_clock, smtp_server):
    """The scheduled job the mail runner runs every minute tells the borrower (and the site's
    lenders) once per day; the message arrives at a real SMTP server."""
    late = await add_booking(world, "member_a", world.benches, at(-3), at(-1), "checked_out")
    await add_booking(world, "member_a", world.benches, at(-1), at(2), "checked_out")  # not due yet: no mail
    assert await enqueue_overdue_notices(app_context) == 1
    assert await enqueue_overdue_notices(app_context) == 1  # found again, but not queued twice
    await send_outbox(app_context, smtp_server)
    to_borrower = [m for m in smtp_server.messages if world.emails["member_a"] in m.rcpt_tos]
    assert len(to_borrower) == 1
    message = to_borrower[0].message
    assert "Benches" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Benches" in text and "zurück" in text
    assert f"/bookings/{late.id}" in text
    assert {world.emails["lender_a"], world.emails["manager_a"]} <= {r for m in smtp_server.messages for r in m.rcpt_tos}
    # The next day: one more reminder.
    app_context.clock = lambda: NOW + timedelta(days=1)
    await enqueue_overdue_notices(app_context)
    await send_outbox(app_context, smtp_server)
    assert len([m for m in smtp_server.messages if world.emails["member_a"] in m.rcpt_tos]) == 2


# ---------------------------------------------------------------- the lender's requests


async def test_requests_are_a_compact_list_with_filters(client, app_context, world, fixed_clock):
    hall = await add_booking(world, "member_a", world.room_approval, at(2), at(2, 2), "requested")
    benches = await add_booking(world, "member_a", world.benches, at(6), at(7), "requested")
    elsewhere = await add_booking(world, "member_b", world.room_b, at(2), at(2, 2), "requested")
    await login(client, world, "lender_a")
    page = await client.get("/lender")
    assert page.status_code == 200
    html = page.text
    assert f'value="booking-{hall.id}"' in html and f'value="booking-{benches.id}"' in html
    assert f'value="booking-{elsewhere.id}"' not in html  # another site's request
    assert "Org A – Member A" in html
    assert 'aria-current="page">Anfragen</a>' in html  # one name: menu, heading, sub-navigation

    only_things = await client.get("/lender", params={"kind": "item"})
    assert f'value="booking-{benches.id}"' in only_things.text and f'value="booking-{hall.id}"' not in only_things.text
    first_days = await client.get("/lender", params={"from": at(1).date().isoformat(), "to": at(3).date().isoformat()})
    assert f'value="booking-{hall.id}"' in first_days.text and f'value="booking-{benches.id}"' not in first_days.text
    # The filter travels with the approve form.
    assert 'type="hidden" name="from"' in first_days.text

    bad = await client.get("/lender", params={"from": "gestern", "kind": "boat"})
    assert bad.status_code == 400
    assert "Bitte geben Sie ein Datum als JJJJ-MM-TT ein." in bad.text and "Bitte wählen Sie eine Art aus der Liste." in bad.text
    assert f'value="booking-{hall.id}"' in bad.text  # the unreadable filters are left out
    backwards = await client.get("/lender", params={"from": at(3).date().isoformat(), "to": at(1).date().isoformat()})
    assert backwards.status_code == 400 and "Der letzte Tag darf nicht vor dem ersten liegen." in backwards.text


async def test_approve_several_at_once_reports_each_that_failed(client, app_context, world, fixed_clock):
    first = await add_booking(world, "member_a", world.room_approval, at(2), at(2, 2), "requested")
    second = await add_booking(world, "member_a", world.room_approval, at(3), at(3, 2), "requested")
    third = await add_booking(world, "member_a", world.room_approval, at(4), at(4, 2), "requested")
    elsewhere = await add_booking(world, "member_b", world.room_b, at(2), at(2, 2), "requested")
    await login(client, world, "lender_a")
    token = await csrf_token(client, "/lender")
    # Meanwhile the booker cancels the third one.
    async with app_context.database.transaction() as session:
        row = await session.get(Booking, third.id)
        row.status = "cancelled"
        session.add(row)

    answer = await client.post("/lender/requests/approve", data={
        "_csrf_token": token,
        "selected": [f"booking-{first.id}", f"booking-{second.id}", f"booking-{third.id}", f"booking-{elsewhere.id}", "nonsense"],
    })
    assert answer.status_code == 409
    assert "2 Anfragen wurden bestätigt" in answer.text
    assert "Sie wurde schon entschieden oder storniert." in answer.text
    assert "Es gibt sie nicht, oder sie gehört nicht zu Ihren Orten." in answer.text
    async with app_context.database.reader() as session:
        statuses = {b: (await session.get(Booking, b)).status for b in (first.id, second.id, third.id, elsewhere.id)}
    assert statuses == {first.id: "confirmed", second.id: "confirmed", third.id: "cancelled", elsewhere.id: "requested"}

    nothing = await client.post("/lender/requests/approve", data={"_csrf_token": token})
    assert nothing.status_code == 400 and "Bitte kreuzen Sie mindestens eine Anfrage zum Bestätigen an." in nothing.text
    no_token = await client.post("/lender/requests/approve", data={"selected": f"booking-{first.id}"})
    assert no_token.status_code == 403


async def test_approve_all_selected_redirects_with_the_filter(client, app_context, world, fixed_clock):
    first = await add_booking(world, "member_a", world.room_approval, at(2), at(2, 2), "requested")
    second = await add_booking(world, "member_a", world.room_approval, at(3), at(3, 2), "requested")
    await login(client, world, "lender_a")
    token = await csrf_token(client, "/lender")
    done = await client.post("/lender/requests/approve", data={
        "_csrf_token": token, "kind": "room", "selected": [f"booking-{first.id}", f"booking-{second.id}"],
    })
    assert done.status_code == 303 and done.headers["location"] == "/lender?kind=room"
    after = await client.get(done.headers["location"])
    assert "2 Anfragen wurden bestätigt" in after.text and "Es gibt keine offenen Anfragen." in after.text


async def test_lent_out_list_overdue_first(client, app_context, world, fixed_clock):
    due = await add_booking(world, "member_a", world.benches, at(-1), at(2), "checked_out")
    late = await add_booking(world, "member_a", world.benches, at(-3), at(-1), "checked_out")
    other_site = await add_booking(world, "member_b", world.room_b, at(-1), at(1), "checked_out", handed_out_by="lender_b")
    await add_booking(world, "member_a", world.benches, at(-6), at(-5), "returned")
    await login(client, world, "lender_a")
    page = await client.get("/lender/lent-out")
    assert page.status_code == 200
    html = page.text
    body = html[html.index("<tbody"):]
    assert body.index(f"#loan-{late.id}-title") < body.index(f"#loan-{due.id}-title")
    assert f"loan-{other_site.id}-title" not in html
    assert "1 Ausleihe ist überfällig" in html and "Überfällig" in body
    assert f'href="/lender/overdue#loan-{late.id}-title"' in html
    assert f'/lender/today?day={at(2).date().isoformat()}&amp;site={world.site_a.id}#loan-{due.id}-title' in html
    assert 'href="/lender/today">Ausgabe und Rücknahme</a>' in html  # in the menu and on the lender pages
    await login(client, world, "member_a")
    assert (await client.get("/lender/lent-out")).status_code == 403


# ---------------------------------------------------------------- the phone number


async def test_phone_on_the_profile_is_checked_and_shown_to_the_lenders_only(client, app_context, world, fixed_clock):
    await login(client, world, "member_a")
    bad = await post_form(client, "/profile", {"display_name": "Member A", "language": "de", "phone": "ruf mich an"}, form_page="/profile")
    assert bad.status_code == 400
    assert field_error(bad.text, "phone") == "Eine Telefonnummer besteht nur aus Ziffern, Leerzeichen und + - / ( )."
    assert 'value="ruf mich an"' in bad.text  # the form again with what was typed
    saved = await post_form(client, "/profile", {"display_name": "Member A", "language": "de", "phone": " +49 461  12345 "}, form_page="/profile")
    assert saved.status_code == 303
    assert 'value="+49 461 12345"' in (await client.get("/profile")).text

    request = await add_booking(world, "member_a", world.room_approval, at(2), at(2, 2), "requested")
    out = await add_booking(world, "member_a", world.benches, at(-1), at(1), "checked_out")
    # The booker's own pages do not need it; nobody else's pages show it.
    assert "12345" not in (await client.get(f"/bookings/{request.id}")).text

    await login(client, world, "lender_a")
    assert "+49 461 12345" in (await client.get("/lender")).text
    assert 'href="tel:+4946112345"' in (await client.get(f"/lender/requests/{request.id}")).text
    assert "+49 461 12345" in (await client.get("/lender/lent-out")).text
    assert "+49 461 12345" in (await client.get(f"/lender/today?day={at(1).date().isoformat()}")).text

    await login(client, world, "lender_b")  # a lender of another site
    assert "12345" not in (await client.get("/lender")).text
    assert "12345" not in (await client.get("/lender/lent-out")).text
    assert (await client.get(f"/lender/requests/{request.id}")).status_code == 403
    await login(client, world, "org_admin_a")  # may see the booking, is not its lender
    page = await client.get(f"/bookings/{out.id}")
    assert page.status_code == 200 and "12345" not in page.text


async def test_phone_is_in_the_export_and_goes_with_the_account(app_context, world):
    await registration.update_profile(app_context, world["member_b"], display_name="Member B", language="de", phone="0461 999")
    exported = await export_person(app_context, world["member_b"].user_id)
    assert exported.account.phone == "0461 999"
    assert json.loads(export_json(exported))["account"]["phone"] == "0461 999"
    async with app_context.database.transaction() as session:
        user = await session.get(User, world["member_b"].user_id)
        await erase_user_in_session(session, app_context, user, actor_id=None)
    async with app_context.database.reader() as session:
        assert (await session.exec(select(User).where(User.phone == "0461 999"))).first() is None


# ---------------------------------------------------------------- calendar addresses


async def test_a_feed_address_is_shown_again_and_works(client, app_context, world):
    await login(client, world, "member_a")
    made = await post_form(client, "/bookings/feeds", {}, form_page="/bookings")
    assert made.status_code == 303 and re.fullmatch(r"/bookings/feeds/\d+", made.headers["location"])
    page = await client.get(made.headers["location"])
    assert page.status_code == 200
    url = re.search(r'id="feed-url" type="text" value="([^"]+)" readonly', page.text).group(1)
    assert url.startswith("http://testserver.local/feeds/f_") and url.endswith(".ics")
    assert 'href="webcal://testserver.local/feeds/' in page.text
    assert "data-copy-from=\"feed-url\"" in page.text and " hidden>" in page.text  # the copy button needs JavaScript
    assert "calendar.google.com" in page.text and "Outlook" in page.text and "Kalenderabonnement" in page.text
    feed = await client.get(url.removeprefix("http://testserver.local"))
    assert feed.status_code == 200 and feed.text.startswith("BEGIN:VCALENDAR")
    # Later, from the list: the same address again.
    listing = (await client.get("/bookings")).text
    assert f'href="{made.headers["location"]}"' in listing
    again = await client.get(made.headers["location"])
    assert url in again.text

    # Renewed: a new address; the old one stops working.
    renewed = await post_form(client, made.headers["location"] + "/renew", {}, form_page="/bookings")
    assert renewed.status_code == 303
    new_url = re.search(r'id="feed-url" type="text" value="([^"]+)"', (await client.get(renewed.headers["location"])).text).group(1)
    assert new_url != url
    assert (await client.get(url.removeprefix("http://testserver.local"))).status_code == 404
    assert (await client.get(new_url.removeprefix("http://testserver.local"))).status_code == 200

    await login(client, world, "member_b")
    assert (await client.get(made.headers["location"])).status_code == 404


async def test_the_address_is_not_in_the_database(app_context, world):
    """Only the seed and the hash are stored: the address needs the secret key as well."""
    view = await feeds.create_feed(app_context, world["member_a"], "person", None)
    async with app_context.database.reader() as session:
        row = await session.get(FeedToken, view.feed.id)
    assert view.token and view.token not in (row.token_hash, row.token_seed)
    assert (await feeds.feed_address(app_context, world["member_a"], view.feed.id)).token == view.token
    other_key = dataclasses.replace(app_context.settings, secret_key="another-secret-key-" + "x" * 40)
    with pytest.raises(InvalidInput):
        await feeds.feed_address(AppContext(app_context.database, other_key, app_context.clock), world["member_a"], view.feed.id)


async def test_an_old_feed_cannot_be_shown_again_and_says_so(client, app_context, world):
    async with app_context.database.transaction() as session:
        old = FeedToken(owner_id=world["member_a"].user_id, scope="user", target_id=world["member_a"].user_id, is_private=True,
                        token_hash="o" * 64)
        session.add(old)
    await login(client, world, "member_a")
    page = await client.get(f"/bookings/feeds/{old.id}")
    assert page.status_code == 200
    assert "Die Adresse kann nicht erneut angezeigt werden" in page.text and 'id="feed-url"' not in page.text
    assert f'action="/bookings/feeds/{old.id}/renew"' in page.text


async def test_public_subscriptions_on_the_resource_page(client, app_context, world):
    anonymous = await client.get(f"/resources/{world.benches.id}")
    assert f'href="/api/v1/resources/{world.benches.id}/freebusy.ics"' in anonymous.text
    assert f'href="/api/v1/sites/{world.site_a.id}/freebusy.ics"' in anonymous.text
    ics = await client.get(f"/api/v1/sites/{world.site_a.id}/freebusy.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert f'action="/resources/{world.benches.id}/feed"' not in anonymous.text

    await login(client, world, "member_b")
    page = await client.get(f"/resources/{world.benches.id}")
    assert f'action="/resources/{world.benches.id}/feed"' in page.text and f'action="/sites/{world.site_a.id}/feed"' in page.text
    for action in (f"/resources/{world.benches.id}/feed", f"/sites/{world.site_a.id}/feed"):
        made = await post_form(client, action, {}, form_page=f"/resources/{world.benches.id}")
        assert made.status_code == 303
        shown = (await client.get(made.headers["location"])).text
        assert "ohne Namen" in shown
        url = re.search(r'id="feed-url" type="text" value="([^"]+)"', shown).group(1)
        assert (await client.get(url.removeprefix("http://testserver.local"))).status_code == 200
