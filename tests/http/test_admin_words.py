"""Admin forms in plain words: opening hours typed as people write them ("9-18 Uhr",
"Mo–Fr 9–18", past midnight), no silent "open around the clock", a new resource waits for its
rules, and the time zone without jargon. Both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from booking.domain.errors import DomainError
from booking.models import Policy, Resource, Site
from booking.services import bookings
from booking.services.bookings import BookingRequest
from tests.http.conftest import login
from tests.support.pages import field_error, post_form
from tests.support.world import World, next_monday

SITE = {"name": "Jugendhaus Süd", "timezone": "Europe/Berlin", "contact_email": "sued@example.org",
        **{f"opening_{day}": "" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


async def load(app_context, model, **where):
    async with app_context.database.reader() as session:
        statement = select(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return list((await session.exec(statement)).all())


async def test_typed_hours_with_days_and_past_midnight(client, world: World, app_context):
    await login(client, world, "city_admin")
    form = {**SITE, "opening_week": "Mo-Fr 9-18 Uhr; Sa 10–14", "opening_fri": "18-2", "opening_sun": "9:00–12:00"}
    response = await post_form(client, "/admin/sites/new", form)
    assert response.status_code == 303, field_error(response.text, "opening_week")
    [site] = await load(app_context, Site, name="Jugendhaus Süd")
    # The quick entry sets Monday to Friday (Friday's own 18-2 gives way to it), Saturday from it.
    assert site.opening_hours == {
        **{day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "sat": [["10:00", "14:00"]], "sun": [["09:00", "12:00"]],
    }
    night = {**SITE, "name": "Nachtcafé", "opening_fri": "18-2 Uhr", "opening_sat": "10-14"}
    response = await post_form(client, "/admin/sites/new", night)
    assert response.status_code == 303
    [cafe] = await load(app_context, Site, name="Nachtcafé")
    assert cafe.opening_hours == {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:00"], ["10:00", "14:00"]]}

    bad = await post_form(client, "/admin/sites/new", {**SITE, "name": "X", "opening_week": "immer 9-18"})
    assert bad.status_code == 400
    assert field_error(bad.text, "opening_week") == "Bitte nennen Sie die Tage wie Mo–Fr 9–18; Sa 10–14."
    slip = await post_form(client, "/admin/sites/new", {**SITE, "name": "Y", "opening_mon": "18-9"})
    assert slip.status_code == 400 and field_error(slip.text, "opening_mon") == "Die Schließzeit muss nach der Öffnungszeit liegen."


async def test_no_hours_asks_before_around_the_clock(client, world: World, app_context):
    await login(client, world, "city_admin")
    page = await client.get("/admin/sites/new")
    assert "always_open" not in page.text
    asked = await post_form(client, "/admin/sites/new", SITE)
    assert asked.status_code == 400
    assert "Es sind keine Öffnungszeiten eingetragen" in field_error(asked.text, "always_open")
    assert "Rund um die Uhr geöffnet (keine Öffnungszeiten)" in asked.text
    assert await load(app_context, Site, name="Jugendhaus Süd") == []

    confirmed = await post_form(client, "/admin/sites/new", {**SITE, "always_open": "1"})
    assert confirmed.status_code == 303
    [site] = await load(app_context, Site, name="Jugendhaus Süd")
    assert site.opening_hours == {}
    # Editing it again: the confirmation stands ticked; removing all hours of a site asks again.
    edit = await client.get(f"/admin/sites/{site.id}/edit")
    assert re.search(r'<input[^>]*name="always_open"[^>]*checked', edit.text)
    again = await post_form(client, f"/admin/sites/{world.site_a.id}/edit",
                            {**SITE, "name": "Site A", "contact_email": "a@site.example"})
    assert again.status_code == 400 and field_error(again.text, "always_open")


async def test_time_zone_in_plain_words(client, world: World):
    await login(client, world, "city_admin")
    page = await client.get("/admin/sites/new")
    assert "IANA" not in page.text
    assert ">Zeitzone<" in page.text and "z. B. Europe/Berlin" in page.text
    wrong = await post_form(client, "/admin/sites/new", {**SITE, "timezone": "Berlin", "opening_mon": "9-18"})
    assert field_error(wrong.text, "timezone") == "Bitte geben Sie eine Zeitzone wie Europe/Berlin ein."


async def test_a_new_resource_waits_for_its_rules(client, world: World, app_context):
    await login(client, world, "manager_a")
    created = await post_form(client, f"/admin/sites/{world.site_a.id}/resources/new",
                              {"kind": "room", "name": "Werkraum", "capacity": "1", "visibility": "public"})
    assert created.status_code == 303
    [room] = await load(app_context, Resource, name="Werkraum")
    assert not room.is_active and await load(app_context, Policy, resource_id=room.id) == []
    start = next_monday(datetime.now(UTC), 2) + timedelta(hours=10)
    with pytest.raises(DomainError):
        await bookings.create_booking(app_context, world["member_a"], BookingRequest(room.id, start, start + timedelta(hours=1)))

    rules = await client.get(f"/admin/resources/{room.id}/rules")
    assert "Diese Ressource kann noch nicht gebucht werden" in rules.text
    assert "Regeln speichern und Buchungen erlauben" in rules.text
    saved = await post_form(client, f"/admin/resources/{room.id}/rules", {
        "lead_time_minutes": "0", "min_duration_minutes": "15", "max_duration_minutes": "", "max_horizon_days": "365",
        "buffer_before_minutes": "0", "buffer_after_minutes": "0", "opening_hours_mode": "contain", "audience": "public",
    })
    assert saved.status_code == 303, saved.text
    [room] = await load(app_context, Resource, id=room.id)
    assert room.is_active
    booked = await bookings.create_booking(app_context, world["member_a"], BookingRequest(room.id, start, start + timedelta(hours=1)))
    assert booked.status == "confirmed"
    rules = await client.get(f"/admin/resources/{room.id}/rules")
    assert "noch nicht gebucht" not in rules.text
