"""The legal pages and the accessibility feedback form in Chromium, against a live server.

The server reads the demo operator's texts from a content folder and runs its mail worker, so
the feedback typed into the form arrives at a real SMTP server (aiosmtpd). Every page in both
languages answers 200 with the demo text and has no axe (WCAG 2.1 A/AA) violations.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from booking.services import legal_pages
from booking.settings import load_settings
from tests.browser.conftest import assert_no_axe_violations, own_sqlite_url, screenshot, worker_env
from tests.support.live_server import live_server
from tests.support.smtp import SmtpServer

CONTACT = "barrierefreiheit@stadt.example"
HEADINGS = {
    "de": {"imprint": "Impressum", "privacy": "Datenschutzerklärung", "accessibility": "Erklärung zur Barrierefreiheit"},
    "en": {"imprint": "Imprint", "privacy": "Privacy notice", "accessibility": "Accessibility statement"},
}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    # A database of its own: this module runs the mail worker, which would otherwise deliver
    # the outbox rows other tests left in the session-wide SQLite file to this SMTP server.
    return own_sqlite_url(tmp_path_factory, "privacy-pages")



@pytest.fixture(scope="module")
def content_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("content")
    settings = load_settings(env={"BOOKING_PRIVACY__CONTENT_DIR": str(folder)}, secret_key=secrets.token_hex(32))
    legal_pages.install_demo_pages(settings)
    return folder


@pytest.fixture(scope="module")
def server(db_url: str, mail_server: SmtpServer, content_dir: Path) -> Iterator[str]:
    env = {**worker_env(mail_server), "BOOKING_PRIVACY__CONTENT_DIR": str(content_dir), "BOOKING_PRIVACY__CONTACT_EMAIL": CONTACT}
    with live_server(db_url, extra_env=env) as base_url:
        yield base_url


@pytest.mark.parametrize("language", ["de", "en"])
async def test_footer_links_lead_to_the_legal_pages(page, server: str, language: str) -> None:
    page.problems.ignore(r"favicon\.ico")
    await page.goto(server + "/")
    if language == "en":  # the browser speaks German (de-DE); switch as a visitor does
        await page.locator('form.app-language button[value="en"]').click()
        await page.wait_for_load_state()
    for name in ("imprint", "privacy", "accessibility"):
        await page.goto(server + "/")
        link = page.locator(f'footer a[href="/{name}"]')
        async with page.expect_navigation() as navigation:
            await link.click()
        response = await navigation.value
        assert response is not None and response.status == 200
        assert await page.locator("h1").first.inner_text() == HEADINGS[language][name]
        body = await page.locator("main").inner_text()
        assert "Freiwilligenagentur Förde" in body and "[[" not in body
        await assert_no_axe_violations(page)
        await screenshot(page, f"legal-{name}-{language}")


async def test_feedback_form_reaches_the_operator(page, server: str, mail_server: SmtpServer) -> None:
    page.problems.ignore(r"favicon\.ico")
    await page.goto(server + "/accessibility")
    await page.get_by_role("link", name="Feedback-Formular").first.click()
    assert page.url.endswith("/accessibility/feedback")
    await assert_no_axe_violations(page)
    page.problems.ignore(r"status of 400 .*/accessibility/feedback")  # the empty message, on purpose
    await page.get_by_role("button", name="Nachricht senden").click()
    assert page.url.endswith("/accessibility/feedback")  # the empty message comes back with its error
    assert await page.get_by_label("Ihre Nachricht").get_attribute("aria-invalid") == "true"
    await assert_no_axe_violations(page)
    await page.get_by_label("Ihre Nachricht").fill("Die Monatsansicht des Kalenders liest der Screenreader nicht vor.")
    await page.get_by_label("Ihr Name (freiwillig)").fill("Kim Beispiel")
    await page.get_by_label("Ihre E-Mail-Adresse (freiwillig, für eine Antwort)").fill("kim@example.org")
    await page.get_by_role("button", name="Nachricht senden").click()
    await page.wait_for_url(server + "/accessibility")
    assert "Ihre Nachricht wurde gesendet" in await page.locator("main").inner_text()
    await screenshot(page, "legal-feedback-sent")

    deadline = time.monotonic() + 30  # the in-process worker polls; wait for the delivery, not a time
    while not mail_server.messages and time.monotonic() < deadline:
        await page.wait_for_timeout(100)
    [received] = mail_server.messages
    assert received.rcpt_tos == [CONTACT]
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    assert "Screenreader nicht vor" in text and "kim@example.org" in text
