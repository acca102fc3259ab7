"""Security headers on every kind of answer: pages, API, static files, feeds, errors, docs."""

from __future__ import annotations

import dataclasses

import httpx

from booking.app import create_app
from tests.http.conftest import login

STRICT_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)


def check(response: httpx.Response, *, framable: bool = False, hsts: bool = False, docs: bool = False) -> list[str]:
    """What is wrong with the security headers of ``response`` (empty when all is right)."""
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    problems = []
    policy = response.headers.get("content-security-policy", "")
    directives = [part.strip() for part in policy.split(";")]
    if "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"{where}: {policy}")
    expected = STRICT_DIRECTIVES if not docs else ("default-src 'self'", "object-src 'none'")
    problems += [f"{where}: no {directive!r}" for directive in expected if directive not in directives]
    framing = "frame-ancestors *" if framable else "frame-ancestors 'none'"
    if framing not in directives:
        problems.append(f"{where}: no {framing!r} in {policy!r}")
    if not framable and response.headers.get("x-frame-options") != "DENY":
        problems.append(f"{where}: X-Frame-Options {response.headers.get('x-frame-options')!r}")
    if response.headers.get("x-content-type-options") != "nosniff":
        problems.append(f"{where}: X-Content-Type-Options")
    if response.headers.get("referrer-policy") != "same-origin":
        problems.append(f"{where}: Referrer-Policy {response.headers.get('referrer-policy')!r}")
    if ("strict-transport-security" in response.headers) != hsts:
        problems.append(f"{where}: Strict-Transport-Security {response.headers.get('strict-transport-security')!r}")
    return problems


async def answers_of_every_kind(client: httpx.AsyncClient, world) -> dict[str, list[httpx.Response]]:
    anonymous = [
        await client.get("/"),
        await client.get("/calendar"),
        await client.get("/login"),
        await client.get("/desks"),
        await client.get(f"/resources/{world.room.id}"),
        await client.get("/bookings"),  # redirect to the login page
        await client.get("/static/app.css"),
        await client.get("/static/kern/kern.min.css"),
        await client.get("/static/no-such-file.css"),
        await client.get("/health"),
        await client.get("/api/v1/resources"),
        await client.get("/api/v1/me"),  # 401 problem details
        await client.get("/api/v1/bookings/999999"),
        await client.post("/api/v1/bookings", json={"nonsense": True}),
        await client.get("/no/such/page"),
        await client.delete("/calendar"),  # 405
        await client.post("/login", data={"email": "x"}),  # 403: no CSRF token
        await client.get("/feeds/f_unknown.ics"),
        await client.get("/schema/openapi.json"),
    ]
    await login(client, world, "member_a")
    feed = (await client.post("/api/v1/feeds", json={"scope": "person"})).json()
    feed_path = feed["url"].removeprefix("http://testserver.local")
    member = [
        await client.get("/bookings"),
        await client.get("/profile"),
        await client.get("/api/v1/me"),
        await client.get(feed_path),
        await client.get(feed_path, headers={"accept-encoding": "gzip"}),
        await client.get(feed_path, headers={"if-none-match": (await client.get(feed_path)).headers["etag"]}),
    ]
    return {
        "strict": anonymous + member,
        "framable": [await client.get("/embed/calendar"), await client.get("/embed/calendar?view=nonsense")],
        "docs": [await client.get("/schema"), await client.get("/schema/swagger")],
    }


async def test_every_answer_carries_the_security_headers(client, world):
    answers = await answers_of_every_kind(client, world)
    statuses = {response.status_code for response in answers["strict"]}
    assert {200, 303, 304, 401, 403, 404, 405} <= statuses
    problems = [problem for response in answers["strict"] for problem in check(response)]
    problems += [problem for response in answers["framable"] for problem in check(response, framable=True)]
    problems += [problem for response in answers["docs"] for problem in check(response, docs=True)]
    assert not problems, "\n".join(problems)


async def test_docs_page_has_no_inline_script(client):
    page = (await client.get("/schema/swagger")).text
    assert "<script>" not in page and "<style" not in page and " style=" not in page
    assert '<script src="/static/api-docs.js" defer></script>' in page
    # Swagger UI is vendored: nothing is loaded from another origin.
    assert "https://" not in page and "//cdn" not in page
    assert (await client.get("/static/swagger-ui/swagger-ui-bundle.js")).status_code == 200
    assert (await client.get("/static/api-docs.js")).status_code == 200


async def test_hsts_only_when_the_public_url_is_https(settings, app_context, world):
    https_settings = dataclasses.replace(settings, base_url="https://buchen.example.org")
    app = create_app(https_settings, app_context=dataclasses.replace(app_context, settings=https_settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as client:
        for path in ("/", "/api/v1/resources", "/static/app.css", "/no/such/page", "/embed/calendar"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == "max-age=31536000", path
