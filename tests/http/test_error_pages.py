"""Error pages in the person's language (German by default, English by the session's choice or
Accept-Language), also for addresses no route knows; API requests keep problem details."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.exceptions import HTTPException
from litestar.template import TemplateConfig

from booking.api.errors import EXCEPTION_HANDLERS
from booking.resources import TEMPLATES_DIR
from booking.web import web_template_callables
from booking.web.base import LanguageMiddleware
from tests.support.pages import post_form
from tests.support.world import PASSWORD

HEADINGS = {
    "de": {404: "Seite nicht gefunden", 403: "Zugriff verweigert", 405: "Das ist hier nicht möglich",
           500: "Bei uns ist etwas schiefgegangen", 503: "Kurz nicht erreichbar"},
    "en": {404: "Page not found", 403: "Access denied", 405: "This is not possible here",
           500: "Something went wrong on our side", 503: "Briefly unavailable"},
}
DETAILS = {
    "de": {404: "Fehler 404: Nicht gefunden", 405: "Fehler 405: Diese Anfrageart ist hier nicht erlaubt",
           500: "Fehler 500: Bei uns ist etwas schiefgegangen",
           503: "Fehler 503: Der Dienst ist kurz nicht erreichbar."},
    "en": {404: "Error 404: Not Found", 405: "Error 405: Method Not Allowed",
           500: "Error 500: something went wrong on our side",
           503: "Error 503: The service is briefly unavailable; please try again in a moment."},
}


def heading(page: str) -> str:
    return re.search(r'<h1 class="kern-heading-large">([^<]+)</h1>', page).group(1)


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([a-z]+)"', page).group(1)


@pytest.mark.parametrize("language", ["de", "en"])
async def test_unknown_address_and_wrong_method_by_accept_language(client, language):
    headers = {"Accept-Language": f"{language}-DE,{language};q=0.9", "Accept": "text/html"}
    missing = await client.get("/no/such/page", headers=headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert html_lang(missing.text) == language and heading(missing.text) == HEADINGS[language][404]
    assert DETAILS[language][404] in missing.text
    wrong_method = await client.delete("/", headers=headers)
    assert wrong_method.status_code == 405
    assert html_lang(wrong_method.text) == language and heading(wrong_method.text) == HEADINGS[language][405]
    assert DETAILS[language][405] in wrong_method.text


async def test_the_chosen_language_of_the_session_wins_also_for_unknown_addresses(client, world):
    # A browser that says German, a person who chose English with the switch.
    await post_form(client, "/language", {"lang": "en", "next": "/"})
    missing = await client.get("/no/such/page", headers={"Accept-Language": "de"})
    assert missing.status_code == 404 and heading(missing.text) == "Page not found"
    await post_form(client, "/language", {"lang": "de", "next": "/"}, form_page="/")
    again = await client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert heading(again.text) == "Seite nicht gefunden"


@pytest.mark.parametrize("language", ["de", "en"])
async def test_forbidden_page_in_both_languages(client, world, language):
    answer = await post_form(client, "/login", {"email": world.emails["member_a"], "password": PASSWORD})
    assert answer.status_code == 303
    # Signed in, the account's language (German) counts; English by the switch.
    if language == "en":
        await post_form(client, "/language", {"lang": "en", "next": "/"}, form_page="/")
    forbidden = await client.get("/admin")
    assert forbidden.status_code == 403
    assert heading(forbidden.text) == HEADINGS[language][403]
    assert ("Zugriff" in forbidden.text) == (language == "de")


async def test_api_keeps_problem_details(client):
    answer = await client.get("/api/v1/no/such/thing", headers={"Accept-Language": "de"})
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Not found"


# 500 and 503 through the real handlers and templates, on a small app whose routes fail.

@get("/boom")
async def boom() -> str:
    raise RuntimeError("a bug")


@get("/away")
async def away() -> str:
    raise HTTPException(status_code=503, detail="the service is briefly unavailable; please try again in a moment")


@pytest.fixture
async def failing_client(app_context):
    app = Litestar(
        route_handlers=[boom, away],
        middleware=[LanguageMiddleware()],
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine,
                                       engine_callback=web_template_callables(app_context)),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        state={"app_context": app_context},
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(("path", "status"), [("/boom", 500), ("/away", 503)])
async def test_server_errors_in_both_languages(failing_client, language, path, status):
    answer = await failing_client.get(path, headers={"Accept-Language": language})
    assert answer.status_code == status
    assert html_lang(answer.text) == language and heading(answer.text) == HEADINGS[language][status]
    assert DETAILS[language][status] in answer.text
    assert "a bug" not in answer.text
    problem = await failing_client.get(path, headers={"Accept": "application/json", "Accept-Language": language})
    assert problem.status_code == status and problem.headers["content-type"] == "application/problem+json"
