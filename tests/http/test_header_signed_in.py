"""Every rendered page shows the signed-in header for a signed-in person: also error pages of
the exception handlers (403, 404 of a handler, 409 of a form), and the router's own 404 and 405
for addresses no route knows (where no route middleware ran)."""

from __future__ import annotations

import pytest

from tests.support.pages import post_form
from tests.support.world import PASSWORD

SIGNED_IN_MARK = 'class="app-header app-header--signed-in"'


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/no/such/page", 404),  # the router: no route, no route middleware
        ("GET", "/orte/99999999", 404),  # a handler's 404
        ("GET", "/admin", 403),  # a guard's 403
        ("DELETE", "/", 405),  # the router: wrong method
        ("GET", "/static/../etc/passwd", 404),
    ],
)
async def test_pages_show_the_signed_in_menu(client, world, method, path, status):
    answer = await post_form(client, "/login", {"email": world.emails["member_a"], "password": PASSWORD})
    assert answer.status_code == 303
    page = await client.request(method, path, headers={"Accept": "text/html"})
    assert page.status_code == status, page.text[:500]
    assert SIGNED_IN_MARK in page.text, f"{path} renders the header signed out"
    assert "Log out" in page.text or "Abmelden" in page.text


async def test_the_logout_form_of_an_unknown_address_works(client, world):
    """The router's 404 has no CSRF middleware: the page still carries the person's token."""
    await post_form(client, "/login", {"email": world.emails["member_a"], "password": PASSWORD})
    page = await client.get("/no/such/page")
    import re

    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token and token.group(1)
    out = await client.post("/logout", data={"_csrf_token": token.group(1)})
    assert out.status_code == 303
    assert SIGNED_IN_MARK not in (await client.get("/")).text


async def test_anonymous_error_pages_stay_signed_out(client, world):
    page = await client.get("/no/such/page")
    assert page.status_code == 404 and SIGNED_IN_MARK not in page.text
