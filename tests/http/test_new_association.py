"""Registering on behalf of a new association: the association waits for the city's
confirmation (it cannot book), the city administrators are told by e-mail once the address is
confirmed, and a city administrator confirms it. Both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from booking.domain.errors import PolicyViolation
from booking.models import Membership, Organisation
from booking.services import accounts, bookings
from tests.http.conftest import login
from tests.support.pages import csrf_token, field_error, mail_link, post_form, send_outbox
from tests.support.world import next_monday

FORM = {"display_name": "Vera Vorsitz", "email": "vera@example.org", "password": "ein-langes-passwort-42",
        "password_repeat": "ein-langes-passwort-42", "new_organisation": "  Umweltgruppe   Sandberg "}


async def _pending(app_context) -> Organisation:
    async with app_context.database.reader() as session:
        return (await session.exec(select(Organisation).where(Organisation.name == "Umweltgruppe Sandberg"))).one()


async def test_a_new_association_waits_for_the_city_and_cannot_book(client, world, app_context, smtp_server) -> None:
    registered = await post_form(client, "/register", FORM)
    assert registered.status_code == 303
    organisation = await _pending(app_context)
    assert organisation.is_pending
    async with app_context.database.reader() as session:
        membership = (await session.exec(select(Membership).where(Membership.organisation_id == organisation.id))).one()
    assert membership.role == "admin"

    # Registering the unconfirmed address again with the same name keeps the one association.
    again = await post_form(client, "/register", FORM)
    assert again.status_code == 303
    # Nobody is told before the address is confirmed: only the confirmation links go out.
    await send_outbox(app_context, smtp_server)
    assert {tuple(m.rcpt_tos) for m in smtp_server.messages} == {("vera@example.org",)}
    link = mail_link(smtp_server, "vera@example.org", "/verify/")
    confirmed = await client.post(link, data={"_csrf_token": await csrf_token(client, link)})
    assert confirmed.status_code == 303
    await send_outbox(app_context, smtp_server)
    to_city = [m for m in smtp_server.messages if m.rcpt_tos == ["city@example.org"]]
    assert len(to_city) == 1 and "Umweltgruppe Sandberg" in str(to_city[0].message["Subject"])
    assert f"/admin/organisations/{organisation.id}" in to_city[0].message.get_body(preferencelist=("plain",)).get_content()

    vera = await accounts.principal_for_user_id(app_context, membership.user_id)
    start = next_monday(app_context.now(), 2) + timedelta(hours=9)
    request = bookings.BookingRequest(world.room.id, start, start + timedelta(hours=1), organisation_id=organisation.id)
    try:
        await bookings.create_booking(app_context, vera, request)
    except PolicyViolation as error:
        assert error.field == "organisation_id"
    else:
        raise AssertionError("a pending association booked")

    # Its own admin and a lender cannot confirm it; a city admin or a site manager can.
    confirm = f"/admin/organisations/{organisation.id}/confirm"
    for role in ("org_admin_a", "lender_a"):
        await login(client, world, role)
        assert (await post_form(client, confirm, {}, form_page="/bookings")).status_code == 403
    await login(client, world, "city_admin")
    listing = await client.get("/admin/organisations")
    assert "wartet auf Bestätigung" in listing.text
    await login(client, world, "manager_a")
    overview = await client.get("/admin")
    assert "Umweltgruppe Sandberg" in overview.text and f'action="{confirm}"' in overview.text
    confirmed = await post_form(client, confirm, {}, form_page="/admin")
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/admin"
    assert "Umweltgruppe Sandberg" not in (await client.get("/admin")).text
    assert not (await _pending(app_context)).is_pending
    await send_outbox(app_context, smtp_server)
    assert any(m.rcpt_tos == ["vera@example.org"] and "bestätigt" in str(m.message["Subject"]) for m in smtp_server.messages)
    booked = await bookings.create_booking(app_context, vera, request)
    assert booked.organisation_id == organisation.id


async def test_the_name_of_an_existing_organisation_is_refused(client, world, app_context) -> None:
    refused = await post_form(client, "/register", {**FORM, "new_organisation": "org a"})
    assert refused.status_code == 400 and field_error(refused.text, "new_organisation")
    async with app_context.database.reader() as session:
        assert (await session.exec(select(Organisation).where(Organisation.is_pending))).first() is None
    too_long = await post_form(client, "/register", {**FORM, "new_organisation": "x" * 201})
    assert too_long.status_code == 400 and field_error(too_long.text, "new_organisation")
    plain = await post_form(client, "/register", {**FORM, "email": "ohne@example.org", "new_organisation": ""})
    assert plain.status_code == 303
    async with app_context.database.reader() as session:
        assert (await session.exec(select(Organisation).where(Organisation.is_pending))).first() is None
