"""CSRF: every state-changing route of the HTML app refuses a form without a token.

The routes come from the app's own route table, not from a hand-written list: a new form
route is covered the day it is added. Only the JSON API (``^/api/``, which has its own
defence in ``booking.auth.middleware``) and GET-only routes that opt out (feeds, static
files) are exempt.
"""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from booking.app import create_app
from tests.support.pages import csrf_token
from tests.support.world import PASSWORD

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def form_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every unsafe HTML route in the app's route table."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/api/"):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods & UNSAFE_METHODS):
                found.append((method, route.path))
    return found


def concrete(path_template: str, feed_id: int) -> str:
    """A real path for a template: ids that exist (the own feed), strings that look like tokens."""
    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if kind == "int":
            return str(feed_id) if name == "feed_id" else "1"
        return "x" * 20
    return re.sub(r"\{(\w+):(\w+)\}", value, path_template)


async def test_every_form_route_refuses_a_post_without_token(client, settings, app_context, world):
    # Logged in as a city admin with a CSRF cookie: everything but the token is in place.
    token = await csrf_token(client, "/login")
    logged_in = await client.post("/login", data={"email": world.emails["city_admin"], "password": PASSWORD, "_csrf_token": token})
    assert logged_in.status_code == 303
    feed = await client.post("/api/v1/feeds", json={"scope": "person"})
    assert feed.status_code == 201, feed.text
    feed_id = feed.json()["id"]

    routes = form_routes(create_app(settings, app_context=app_context))
    assert ("POST", "/bookings/feeds/{feed_id:int}/revoke") in routes
    assert len(routes) > 30, routes
    wrong = []
    for method, template in routes:
        path = concrete(template, feed_id)
        for body in ({"data": {"next": "/", "lang": "en"}}, {"data": {"_csrf_token": "forged"}}):
            answer = await client.request(method, path, headers={"accept": "application/json"}, **body)
            if answer.status_code != 403 or "CSRF" not in answer.text:
                wrong.append((method, path, answer.status_code, answer.text[:120]))
    assert not wrong, wrong

    # The feed was not revoked by any of those posts; with the token the same form works.
    listed = (await client.get("/api/v1/feeds")).json()
    assert [item["id"] for item in listed] == [feed_id]
    revoked = await client.post(f"/bookings/feeds/{feed_id}/revoke", data={"_csrf_token": await csrf_token(client, "/bookings")})
    assert revoked.status_code == 303
    assert (await client.get("/api/v1/feeds")).json() == []
