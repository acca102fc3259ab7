"""GET /api/v1/sites.geojson: valid RFC 7946 (the official GeoJSON schema, [lon, lat] order),
licensed, documented, and free of personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema_rs
from sqlmodel import select

from booking.app import create_app
from booking.models import Organisation, Site, User
from booking.services import offer_publishing, offer_signups
from booking.services.context import AppContext
from booking.services.demo import load_demo_data
from booking.services.offer_publishing import OfferInput
from tests.support.world import build_world, next_monday

SCHEMA = json.loads((Path(__file__).parents[1] / "support" / "geojson-FeatureCollection.schema.json").read_text())
# A fixed clock: the demo books relative to "now" and the hours of "today" must not depend on the day.
NOW = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)  # a Monday


async def _demo(database, settings) -> AppContext:
    app = AppContext(database=database, settings=settings, clock=lambda: NOW)
    await load_demo_data(app)
    return app


async def test_the_sites_are_a_valid_feature_collection_in_longitude_latitude_order(client, database, settings):
    app = await _demo(database, settings)
    response = await client.get("/api/v1/sites.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    document = response.json()
    jsonschema_rs.validate(SCHEMA, document)
    async with app.database.reader() as session:
        sites = list((await session.exec(select(Site))).all())
    assert len(document["features"]) == len(sites) == 5
    neustadt = next(f for f in document["features"] if f["properties"]["name"] == "Engagement-Ort Neustadt")
    # RFC 7946 §3.1.1: longitude first. Flensburg lies at 54.8° N, 9.4° E.
    assert neustadt["geometry"] == {"type": "Point", "coordinates": [9.4327, 54.7993]}
    assert neustadt["properties"]["url"] == f"http://testserver.local/orte/{neustadt['id']}"
    assert neustadt["properties"]["resources"] == {"room": 4, "desk": 1, "item": 0}
    assert neustadt["properties"]["opening_hours_today"] == [["08:00", "22:00"]]
    assert neustadt["properties"]["accessibility"]["step_free"] is True
    fruerlund = next(f for f in document["features"] if f["properties"]["name"] == "Stadtteilhaus Fruerlund")
    assert fruerlund["properties"]["accessibility"]["hearing_loop"] is None  # not known is not "no"
    assert document["license"]["name"] == settings.open_data.licence
    assert document["license"]["url"].startswith("https://")


async def test_a_site_without_coordinates_has_no_geometry_and_still_validates(client, database, settings):
    async with database.transaction() as session:
        session.add(Site(name="Noch ohne Ort", contact_email="ort@site.example"))
    document = (await client.get("/api/v1/sites.geojson")).json()
    jsonschema_rs.validate(SCHEMA, document)
    assert document["features"][0]["geometry"] is None


async def test_no_personal_data_in_the_open_data(client, database, settings):
    app = await _demo(database, settings)
    text = (await client.get("/api/v1/sites.geojson")).text.casefold()
    async with app.database.reader() as session:
        users = list((await session.exec(select(User))).all())
        organisations = list((await session.exec(select(Organisation))).all())
    assert len(users) >= 6
    for user in users:
        assert user.email.casefold() not in text
        assert user.display_name.casefold() not in text
        assert user.email.split("@")[0].casefold() + "@" not in text
    for organisation in organisations:  # who booked where is nobody's business
        assert organisation.name.casefold() not in text


async def test_the_open_data_is_documented_in_the_openapi(client):
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/sites.geojson"]["get"]
    content = operation["responses"]["200"]["content"]
    assert "application/geo+json" in content
    assert "license" in json.dumps(schema["components"]["schemas"])


async def test_each_feature_counts_the_open_offers_and_offers_1_keeps_those_sites(database, settings):
    app = AppContext(database=database, settings=settings, clock=lambda: NOW)
    world = await build_world(app)
    start = next_monday(NOW, 2).replace(tzinfo=None) + timedelta(hours=10)
    full = None
    for site, places in ((world.site_b, 2), (world.site_b, 1), (world.site_a, 1)):
        created = await offer_publishing.create_offer(app, world["city_admin"], OfferInput(
            kind="training", title="Erste Hilfe", site_id=site.id, places=places, local_start=start, duration=timedelta(hours=2)))
        full = created if site is world.site_a else full
    await offer_signups.sign_up(app, world["member_a"], full.id, None)  # site A's only offer is full
    transport = httpx.ASGITransport(app=create_app(settings, app_context=app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        everything = (await client.get("/api/v1/sites.geojson")).json()
        jsonschema_rs.validate(SCHEMA, everything)
        assert {f["properties"]["name"]: f["properties"]["offers"] for f in everything["features"]} == {"Site A": 0, "Site B": 2}
        with_offers = await client.get("/api/v1/sites.geojson", params={"offers": "1"})
        assert with_offers.status_code == 200
        assert [f["properties"]["name"] for f in with_offers.json()["features"]] == ["Site B"]
        assert len((await client.get("/api/v1/sites.geojson", params={"offers": "0"})).json()["features"]) == 2
        for bad in ("2", "ja", "-1"):
            answer = await client.get("/api/v1/sites.geojson", params={"offers": bad})
            assert answer.status_code == 400, bad
            assert answer.headers["content-type"].startswith("application/problem+json")
        parameters = (await client.get("/schema/openapi.json")).json()["paths"]["/api/v1/sites.geojson"]["get"]["parameters"]
        assert [p["name"] for p in parameters] == ["offers"]
