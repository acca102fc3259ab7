"""Engagementkalender in Chromium at 360 px against a live server with its mail worker (issue 14):
the public calendar /mitmachen, an offer's page, sign-up by name and e-mail with the confirmation
link from a real mail, the organisers' participants view, the form to publish an offer and the
certificate. axe-core finds no violation on any of them; no page scrolls sideways.
Screenshots: offers-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from booking.services import offer_catalogue, offer_publishing, offer_signups, offer_waiting_list
from booking.services.context import AppContext
from tests.browser.conftest import assert_no_axe_violations, own_sqlite_url, screenshot, worker_env
from tests.browser.test_admin_pages import sign_in
from tests.browser.test_directory_pages import wait_for_mail
from tests.support.live_server import live_server
from tests.support.smtp import SmtpServer
from tests.support.world import World, build_world, next_monday


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return own_sqlite_url(tmp_path_factory, "offer-pages")


@pytest.fixture(scope="module")
def server(db_url: str, mail_server: SmtpServer) -> Iterator[str]:
    with live_server(db_url, extra_env=worker_env(mail_server)) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings, mail_server: SmtpServer) -> World:
    mail_server.messages.clear()
    return await build_world(AppContext(database=database, settings=settings))


async def no_sideways_scroll(page) -> None:
    overflow = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px"


async def test_calendar_sign_up_and_organiser_view_at_360(phone_page, server: str, world: World, mail_server: SmtpServer) -> None:
    page = phone_page
    page.problems.ignore(r"favicon\.ico")
    start = next_monday(world.app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(world.app, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Strandputz an der Förde", site_id=world.site_a.id, places=3, local_start=start, duration=timedelta(hours=3),
        organisation_id=world.org_a.id, category="Umwelt", repeat="weekly", count=2, requirements=["ab 16"],
        description="Wir sammeln Müll am Ufer. Handschuhe und Zangen sind da."))
    await offer_publishing.create_offer(world.app, world["lender_a"], offer_publishing.OfferInput(
        kind="training", title="Erste Hilfe für Ehrenamtliche", site_id=world.site_a.id, places=1, local_start=start + timedelta(days=2),
        duration=timedelta(hours=6), category="Bildung"))
    await offer_signups.sign_up(world.app, world["member_a"], offer.id, None)  # type: ignore[arg-type]

    await page.goto(server + "/mitmachen")
    main = page.locator("main")
    assert "2 Angebote" in await main.inner_text()
    await screenshot(page, "offers-index-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    await page.get_by_label("Ohne Voraussetzungen").check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Angebote zeigen").click()
    text = await main.inner_text()
    assert "1 Angebot" in text and "Erste Hilfe" in text and "Strandputz" not in text

    await page.goto(f"{server}/mitmachen/{offer.id}")
    assert "2 Plätze frei" in await main.inner_text()
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    await page.get_by_label("Ihr Name").fill("Jona Gast")
    await page.get_by_label("Ihre E-Mail-Adresse").fill("jona@example.org")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Für diesen Termin anmelden").first.click()
    assert "Fast geschafft" in await main.inner_text()
    await screenshot(page, "offers-detail-asked-360")
    await assert_no_axe_violations(page)

    received = await wait_for_mail(mail_server, "jona@example.org", "Bitte Anmeldung bestätigen")
    link = re.search(r"https?://[^/\s]+(/mitmachen/bestaetigen/\S+)", received.message.get_body(preferencelist=("plain",)).get_content()).group(1)
    await page.goto(server + link)
    await assert_no_axe_violations(page)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Anmeldung bestätigen").click()
    text = await main.inner_text()
    assert "Ihr Platz für 1 Termin ist bestätigt" in text and "1 Platz frei" in text
    assert "member_a@example.org" not in await page.content() and "Member A" not in text
    await screenshot(page, "offers-detail-confirmed-360")
    await wait_for_mail(mail_server, "jona@example.org", "Ihr Platz ist bestätigt")

    await page.context.clear_cookies()
    await sign_in(page, server, world, "org_admin_a")
    await page.goto(f"{server}/mitmachen/{offer.id}/teilnehmende")
    text = await main.inner_text()
    assert "Jona Gast" in text and "jona@example.org" in text and "2 von 3 Plätzen belegt" in text
    await screenshot(page, "offers-participants-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    await page.goto(f"{server}/mitmachen/neu")
    await screenshot(page, "offers-new-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    await page.goto(f"{server}/mitmachen/termine/{(await offer_catalogue.get_offer(world.app, None, offer.id)).dates[0].id}/liste")  # type: ignore[arg-type]
    await assert_no_axe_violations(page)

    await page.context.clear_cookies()
    await sign_in(page, server, world, "member_a")
    for path in ("/mitmachen/mein-engagement", "/mitmachen/mein-engagement/bescheinigung"):
        await page.goto(server + path)
        await assert_no_axe_violations(page)
        await no_sideways_scroll(page)
    await screenshot(page, "offers-certificate-360")


async def test_full_date_waiting_list_and_organiser_line_at_360(phone_page, server: str, world: World) -> None:
    """Issue 14: a full date offers "Auf die Warteliste" to a signed-in person; the organiser
    sees the line under the participants, moves one up, takes one off it and cancels the offer.
    axe finds nothing; nothing scrolls sideways."""
    page = phone_page
    start = next_monday(world.app.now(), 3).replace(tzinfo=None) + timedelta(hours=9)
    offer = await offer_publishing.create_offer(world.app, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Kleiderkammer sortieren", site_id=world.site_a.id, places=1, local_start=start,
        duration=timedelta(hours=2), organisation_id=world.org_a.id))
    await offer_signups.sign_up(world.app, world["member_a"], offer.id, None)  # type: ignore[arg-type]
    await sign_in(page, server, world, "member_b")
    await page.goto(f"{server}/mitmachen/{offer.id}")
    main = page.locator("main")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Auf die Warteliste").click()
    joined = await main.inner_text()
    assert "Sie stehen auf der Warteliste" in joined and "Sie stehen auf Platz 1 der Warteliste." in joined
    await screenshot(page, "offers-waiting-list-joined-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    await page.context.clear_cookies()
    await sign_in(page, server, world, "org_admin_a")
    date_id = (await offer_catalogue.get_offer(world.app, None, offer.id)).dates[0].id  # type: ignore[arg-type]
    await offer_waiting_list.join_waiting_list(world.app, world["lender_b"], offer.id, date_id)  # type: ignore[arg-type]
    await page.goto(f"{server}/mitmachen/{offer.id}/teilnehmende")
    text = await main.inner_text()
    assert "Warteliste" in text and "Member B" in text[text.index("Warteliste"):]
    await screenshot(page, "offers-participants-waiting-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    # The organiser's controls: the second moves up, then the (new) second is taken off the list.
    entries = page.locator(".app-waiting-entry")
    assert await entries.count() == 2
    async with page.expect_navigation():
        await entries.nth(1).get_by_role("button", name="Nach oben").click()
    assert "Lender B" in await entries.nth(0).inner_text() and "Member B" in await entries.nth(1).inner_text()
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    async with page.expect_navigation():
        await entries.nth(1).get_by_role("button", name="Entfernen").click()
    assert "Der Eintrag ist von der Warteliste genommen." in await main.inner_text()
    assert await entries.count() == 1
    await screenshot(page, "offers-participants-waiting-controls-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    # Cancelling the offer: a page says whom it tells, one button does it.
    async with page.expect_navigation():
        await page.get_by_role("link", name="Angebot absagen").click()
    assert "1 teilnehmende Person wird per E-Mail informiert" in await main.inner_text()
    await screenshot(page, "offers-cancel-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Angebot absagen").click()
    assert "Das Angebot ist abgesagt" in await main.inner_text()
    await assert_no_axe_violations(page)
