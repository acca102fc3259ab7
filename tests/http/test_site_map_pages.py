"""The map page /karte and a site's page /orte/<id> over HTTP, on both databases: the filters
(kind, category, free time, step-free, distance) work as a plain GET form; bad input answers
400 with the form and the message at its field; unknown sites are 404."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from booking.models import Blackout, Resource, Site
from booking.services import bookings, offer_publishing
from booking.services.bookings import BookingRequest
from booking.services.offer_publishing import OfferInput
from booking.services.context import AppContext
from tests.support.pages import field_error, is_described_by_error, post_form
from tests.support.world import PASSWORD, next_monday

# A fixed clock: bookings within the horizon of the rules, "today" always a Monday.
NOW = datetime(2030, 6, 3, 8, 0, tzinfo=UTC)
SATURDAY = "2030-06-08"
SATURDAY_10_TO_13 = (datetime(2030, 6, 8, 8, 0, tzinfo=UTC), datetime(2030, 6, 8, 11, 0, tzinfo=UTC))  # 10–13 in Berlin


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=lambda: NOW)


def listed_sites(page: str) -> list[str]:
    return [unescape(name) for name in re.findall(r'<h3 class="kern-title app-site-card__title"><a class="kern-link" href="/orte/\d+">([^<]+)</a>', page)]


def map_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="site-map-data">(.*?)</script>', page, re.S)
    assert match
    return json.loads(match.group(1))


async def _place(world, site: Site, latitude: float, longitude: float, **extra) -> None:
    async with world.app.database.transaction() as session:
        stored = await session.get(Site, site.id)
        stored.latitude, stored.longitude = latitude, longitude
        for name, value in extra.items():
            setattr(stored, name, value)
        session.add(stored)


async def test_the_map_lists_every_site_with_what_it_offers(client, world):
    await _place(world, world.site_a, 54.7993, 9.4327)
    page = (await client.get("/karte")).text
    assert listed_sites(page) == ["Site A", "Site B"]
    assert "3 Räume, 1 Ding zum Ausleihen" in page  # German by default
    data = map_data(page)
    assert [f["properties"]["name"] for f in data["features"]] == ["Site A", "Site B"]
    assert data["features"][0]["geometry"]["coordinates"] == [9.4327, 54.7993]
    assert data["features"][1]["geometry"] is None  # no coordinates yet: listed, not drawn
    english = (await client.get("/map", headers={"Accept-Language": "en"})).text
    assert "3 rooms, 1 thing to borrow" in english and listed_sites(english) == ["Site A", "Site B"]


async def test_filter_by_kind_category_and_step_free(client, world):
    assert listed_sites((await client.get("/karte", params={"kind": "item"})).text) == ["Site A"]
    assert listed_sites((await client.get("/karte", params={"category": "Seminar"})).text) == ["Site A", "Site B"]
    assert listed_sites((await client.get("/karte", params={"category": "Hall"})).text) == ["Site A"]
    await _place(world, world.site_b, 54.8, 9.45, step_free=True)
    page = (await client.get("/karte", params={"step_free": "1"})).text
    assert listed_sites(page) == ["Site B"]
    assert [f["properties"]["name"] for f in map_data(page)["features"]] == ["Site B"]  # the map shows the same


async def test_filter_free_on_a_date_leaves_out_sites_whose_resources_are_taken(client, app_context, world):
    starts, ends = SATURDAY_10_TO_13
    await bookings.create_booking(app_context, world["member_a"], BookingRequest(world.benches.id, starts, ends, quantity=10))
    params = {"kind": "item", "date": SATURDAY, "from": "10:00", "to": "13:00"}
    page = (await client.get("/karte", params=params)).text
    assert listed_sites(page) == []
    assert map_data(page)["features"] == []
    later = (await client.get("/karte", params={**params, "from": "14:00", "to": "16:00"})).text
    assert listed_sites(later) == ["Site A"]
    rooms = (await client.get("/karte", params={"kind": "room", "date": "8.6.2030", "from": "10:00", "to": "13:00"})).text
    assert listed_sites(rooms) == ["Site A", "Site B"]  # the German way of writing the date works too


def offers_link(page: str, site: Site) -> str | None:
    """The text of a card's link to the site's open offers (None: the card shows none)."""
    match = re.search(rf'<a class="kern-link" href="/mitmachen\?site={site.id}&amp;free=1">([^<]+)<span', page)
    return unescape(match.group(1)).strip() if match else None


async def test_cards_and_map_count_the_open_offers_and_offers_1_keeps_those_sites(client, app_context, world):
    start = next_monday(NOW, 2).replace(tzinfo=None) + timedelta(hours=10)
    for site, where in ((world.site_a, {}), (world.site_a, {}), (world.site_b, {"location_kind": "address", "address": "Südermarkt 1"})):
        await offer_publishing.create_offer(app_context, world["city_admin"], OfferInput(
            kind="task", title="Beete gießen", site_id=site.id, places=2, local_start=start, duration=timedelta(hours=2), **where))
    await _place(world, world.site_a, 54.7993, 9.4327)
    page = (await client.get("/karte")).text
    assert listed_sites(page) == ["Site A", "Site B"]
    assert offers_link(page, world.site_a) == "2 Angebote mit freien Plätzen"
    assert offers_link(page, world.site_b) is None  # its offer is at another address: not on the map
    assert [f["properties"]["offers"] for f in map_data(page)["features"]] == [2, 0]
    assert '<a class="kern-link" href="/mitmachen">alle Angebote unter Mitmachen</a>' in page
    assert 'data-label-offers="Mitmachen"' in page
    only = (await client.get("/karte", params={"offers": "1"})).text
    assert listed_sites(only) == ["Site A"]
    assert [f["properties"]["name"] for f in map_data(only)["features"]] == ["Site A"]  # the map shows the same
    assert re.search(r'id="field-offers" name="offers" value="1"\s+checked', only)
    assert "Filter zurücksetzen" in only
    english = (await client.get("/karte", params={"offers": "1"}, headers={"Accept-Language": "en"})).text
    assert offers_link(english, world.site_a) == "2 offers with free places"
    assert "Only places with volunteer offers" in english and "are not on the map" in english
    site_page = (await client.get(f"/orte/{world.site_a.id}")).text
    assert map_data(site_page)["features"][0]["properties"]["offers"] == 2  # the site page's map agrees
    # Any other value is no filter (a checkbox sends "1" or nothing).
    assert listed_sites((await client.get("/karte", params={"offers": "ja"})).text) == ["Site A", "Site B"]


async def test_sort_by_distance_from_a_position(client, world):
    await _place(world, world.site_a, 54.7993, 9.4327)
    await _place(world, world.site_b, 54.8046, 9.4466)
    near_b = {"sort": "distance", "lat": "54,8040", "lon": "9.4460"}
    page = (await client.get("/karte", params=near_b)).text
    assert listed_sites(page) == ["Site B", "Site A"]
    assert "Entfernung" in page
    assert listed_sites((await client.get("/karte", params={**near_b, "sort": "name"})).text) == ["Site A", "Site B"]


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"kind": "boat"}, "kind", "Liste"),
    ({"date": "morgen", "from": "10:00", "to": "13:00"}, "date", "Datum"),
    ({"date": SATURDAY, "from": "zehn", "to": "13:00"}, "from", "Uhrzeit"),
    ({"date": SATURDAY, "from": "13:00", "to": "10:00"}, "to", "nach"),
    ({"date": SATURDAY}, "from", "Uhrzeit"),
    ({"lat": "91", "lon": "9.4"}, "lat", "-90 und 90"),
    ({"lat": "54.8", "lon": "200"}, "lon", "-180 und 180"),
    ({"lat": "Norden", "lon": "9.4"}, "lat", "Zahl"),
    ({"lat": "54.8"}, "lon", "Längengrad"),
    ({"sort": "distance"}, "sort", "Entfernung"),
    ({"sort": "random()"}, "sort", "Reihenfolge"),
])
async def test_bad_filter_input_answers_400_with_the_message_at_its_field(client, world, params, field, message):
    answer = await client.get("/karte", params=params)
    assert answer.status_code == 400
    error = field_error(answer.text, field)
    assert error is not None and message in error, error
    assert is_described_by_error(answer.text, field)
    assert listed_sites(answer.text) == ["Site A", "Site B"]  # the list stays usable


async def test_long_and_hostile_input_does_not_break_the_page(client, world):
    answer = await client.get("/karte", params={"category": "x" * 5000, "lat": "1e308", "lon": "9"})
    assert answer.status_code == 400 and field_error(answer.text, "lat")
    answer = await client.get("/karte", params={"lat": "54.8", "lon": "nan"})
    assert answer.status_code == 400 and field_error(answer.text, "lon")
    script = await client.get("/karte", params={"category": "</script><script>alert(1)</script>"})
    assert script.status_code == 200 and "<script>alert(1)" not in script.text


async def test_the_site_page_shows_address_hours_accessibility_resources_and_closures(client, app_context, world):
    await _place(world, world.site_a, 54.7993, 9.4327, address="Neustadt 12, 24939 Flensburg", step_free=True,
                 accessible_toilet=False, accessibility_notes="Eingang über den Hof")
    async with app_context.database.transaction() as session:
        session.add(Blackout(site_id=world.site_a.id, starts_at=NOW + timedelta(days=10), ends_at=NOW + timedelta(days=11), reason="Betriebsausflug"))
        session.add(Blackout(site_id=world.site_a.id, starts_at=NOW + timedelta(days=60), ends_at=NOW + timedelta(days=61), reason="Sommerpause"))
        session.add(Resource(site_id=world.site_a.id, kind="room", name="Vorstandszimmer", visibility="members"))
    page = (await client.get(f"/orte/{world.site_a.id}")).text
    text = unescape(page)
    assert "Neustadt 12, 24939 Flensburg" in text
    assert "https://www.openstreetmap.org/directions?to=54.799300%2C9.432700" in text
    assert "mailto:a@site.example" in text
    assert "Betriebsausflug" in text and "Sommerpause" not in text  # four weeks ahead, not more
    assert re.search(r"Stufenloser Zugang</dt><dd>ja", text) and re.search(r"Barrierefreies WC</dt><dd>nein", text)
    assert re.search(r"Induktionsschleife</dt><dd>nicht bekannt", text)
    assert "Eingang über den Hof" in text
    for name in ("Room A1", "Room A2", "Hall A", "Benches"):
        assert name in text
    assert "Room B1" not in text and "Vorstandszimmer" not in text  # other site; members only
    assert "nächste freie Zeit:" in text
    assert f"/calendar?site={world.site_a.id}" in text


async def test_unknown_sites_are_404(client, world):
    assert (await client.get("/orte/999999")).status_code == 404
    assert (await client.get("/orte/99999999999999999999")).status_code in (400, 404)


async def test_a_signed_in_person_subscribes_to_the_sites_calendar(client, world):
    anonymous = (await client.get(f"/orte/{world.site_a.id}")).text
    assert f"/login?next=/orte/{world.site_a.id}" in anonymous
    answer = await post_form(client, "/login", {"email": world.emails["member_b"], "password": PASSWORD})
    assert answer.status_code == 303
    created = await post_form(client, f"/orte/{world.site_a.id}/feed", {}, form_page=f"/orte/{world.site_a.id}")
    assert created.status_code == 303  # Post/Redirect/Get: to the feed's own page
    shown = unescape((await client.get(created.headers["location"])).text)
    url = re.search(r'id="feed-url" type="text" value="([^"]+)"', shown).group(1)
    feed = await client.get(url.replace("http://testserver.local", ""))
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text


async def test_the_next_free_time_of_each_resource_sees_bookings_and_closures(client, app_context, world):
    # NOW is Monday 2030-06-03 10:00 in Flensburg; the world's sites are open around the clock.
    await bookings.create_booking(app_context, world["member_a"], BookingRequest(
        world.room.id, NOW, NOW + timedelta(hours=4)))  # Room A1 taken 10:00–14:00
    await bookings.create_booking(app_context, world["member_a"], BookingRequest(
        world.benches.id, NOW, NOW + timedelta(hours=2), quantity=10))  # every bench until 12:00
    async with app_context.database.transaction() as session:
        session.add(Blackout(site_id=world.site_a.id, resource_id=world.comparable_room.id,
                             starts_at=NOW, ends_at=NOW + timedelta(hours=3), reason="Maler"))
    text = unescape((await client.get(f"/orte/{world.site_a.id}")).text)

    def next_free(name: str) -> str:
        match = re.search(re.escape(name) + r"</a>.*?nächste freie Zeit:\s*([^<\n]+)", text, re.S)
        assert match, name
        return match.group(1).strip()

    assert next_free("Room A1") == "03.06.30, 14:00"
    assert next_free("Room A2") == "03.06.30, 13:00"
    assert next_free("Benches") == "03.06.30, 12:00"
    assert next_free("Hall A") == "03.06.30, 10:00"
