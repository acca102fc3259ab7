"""Looking up a site's coordinates from its address (optional: map.geocoding_url), against a
real local HTTP server that answers like Nominatim's /search (jsonv2). The look-up saves
nothing, offers the places as choices, names the operator in its User-Agent, and its failures
(an error, a timeout, a foreign format, nothing found) are messages at the address field; saving
never calls the service."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from booking.app import create_app
from booking.models import Site
from tests.http.conftest import login
from tests.http.test_pages_admin import SITE_FORM, load, post_form
from tests.support.pages import field_error

RATHAUS = [
    {"place_id": 1, "lat": "54.7836", "lon": "9.4321", "display_name": "Rathaus, Am Pferdewasser, Flensburg, Deutschland",
     "type": "townhall", "importance": 0.5},
    {"place_id": 2, "lat": "54.79", "lon": "9.43", "display_name": "Rathausstraße, Flensburg, Deutschland", "type": "road"},
    {"place_id": 3, "lat": "not a number", "lon": "9.4", "display_name": "kaputt"},
]


class FakeNominatim(BaseHTTPRequestHandler):
    """GET /search?q=…&format=jsonv2: the answer depends on the address asked for."""

    requests: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        FakeNominatim.requests.append({"path": urlsplit(self.path).path, "user_agent": self.headers.get("User-Agent", ""), **query})
        address = query.get("q", "").lower()
        if "langsam" in address:
            time.sleep(2)
            body, status = b"[]", 200
        elif "kaputt" in address:
            body, status = b'{"error": "Internal"}', 500
        elif "fremd" in address:
            body, status = b"<html>nicht JSON</html>", 200
        elif "nirgends" in address:
            body, status = b"[]", 200
        else:
            body, status = json.dumps(RATHAUS).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def nominatim() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNominatim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/search"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def geo_client(settings, app_context, nominatim):
    configured = settings.replace(map=dataclasses.replace(settings.map, geocoding_url=nominatim, geocoding_timeout_seconds=0.5))
    app_context.settings = configured
    app = create_app(configured, app_context=app_context)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as client:
        yield client


async def test_without_a_service_there_is_no_look_up(client, world):
    await login(client, world, "manager_a")
    edit = (await client.get(f"/admin/sites/{world.site_a.id}/edit")).text
    assert 'name="lookup"' not in edit and "app-default-submit" not in edit


async def test_the_look_up_offers_places_and_saving_takes_the_chosen_one(geo_client, world, app_context):
    await login(geo_client, world, "manager_a")
    path = f"/admin/sites/{world.site_a.id}/edit"
    edit = (await geo_client.get(path)).text
    assert 'name="lookup" value="1"' in edit
    assert edit.index("app-default-submit") < edit.index('name="lookup"'), "Enter saves, it does not look up"

    FakeNominatim.requests.clear()
    form = {**SITE_FORM, "name": "Site A", "address": "Rathausplatz 1\n24937 Flensburg", "latitude": "", "longitude": ""}
    found = await post_form(geo_client, path, {**form, "lookup": "1"})
    assert found.status_code == 200, found.text[:300]
    [asked] = FakeNominatim.requests
    assert asked["path"] == "/search" and asked["q"] == "Rathausplatz 1 24937 Flensburg"
    assert asked["format"] == "jsonv2" and asked["limit"] == "5"
    assert "http://testserver.local" in asked["user_agent"] and app_context.settings.mail.sender in asked["user_agent"]
    assert "Rathaus, Am Pferdewasser, Flensburg, Deutschland (54.7836, 9.4321)" in found.text
    assert 'value="54.79,9.43"' in found.text and "kaputt" not in found.text  # the odd entry is left out
    assert "Rathausplatz 1" in found.text, "the form keeps what was typed"
    [unchanged] = await load(app_context, Site, id=world.site_a.id)
    assert unchanged.latitude is None, "looking up saves nothing"

    saved = await post_form(geo_client, path, {**form, "coordinates": "54.7836,9.4321"})
    assert saved.status_code == 303, saved.text[:500]
    [site] = await load(app_context, Site, id=world.site_a.id)
    assert (site.latitude, site.longitude) == (54.7836, 9.4321)
    assert len(FakeNominatim.requests) == 1, "saving does not ask the service"

    # "None of these": the typed fields count.
    typed = await post_form(geo_client, path, {**form, "latitude": "54.8", "longitude": "9.5", "coordinates": ""})
    assert typed.status_code == 303
    [site] = await load(app_context, Site, id=world.site_a.id)
    assert (site.latitude, site.longitude) == (54.8, 9.5)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("Kaputtweg 1", "Der Dienst für die Koordinatensuche ist nicht erreichbar"),
        ("Langsamer Weg 2", "Der Dienst für die Koordinatensuche hat nicht rechtzeitig geantwortet"),
        ("Fremdformat 3", "Der Dienst für die Koordinatensuche hat in einem unbekannten Format geantwortet."),
        ("Nirgendsweg 4", "Zu dieser Adresse wurde kein Ort gefunden."),
        ("", "Bitte geben Sie die Adresse ein, die gesucht werden soll."),
    ],
)
async def test_failures_are_messages_at_the_address_field_and_saving_still_works(geo_client, world, app_context, address, message):
    await login(geo_client, world, "manager_a")
    path = f"/admin/sites/{world.site_a.id}/edit"
    form = {**SITE_FORM, "name": "Site A", "address": address}
    failed = await post_form(geo_client, path, {**form, "lookup": "1"})
    assert failed.status_code == 400
    assert field_error(failed.text, "address").startswith(message), field_error(failed.text, "address")
    assert "Es wurden keine Koordinaten gefunden" in failed.text and "Der Ort wurde nicht gespeichert" not in failed.text
    saved = await post_form(geo_client, path, form)
    assert saved.status_code == 303
    [site] = await load(app_context, Site, id=world.site_a.id)
    assert site.latitude == 54.7936
