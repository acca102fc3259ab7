"""/mitmachen/<id>/termine in Chromium at 360 px against a live server (issue 14): an organiser
moves a date with a participant (the wrong end first: the message at the field), adds a date and
removes one. axe-core finds no violation on the page, with and without errors; no sideways scroll.
Screenshots: offer-dates-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.services import offer_catalogue, offer_dates, offer_publishing, offer_signups, offer_waiting_list
from booking.services.context import AppContext
from tests.browser.conftest import assert_no_axe_violations, own_sqlite_url, screenshot, worker_env
from tests.browser.test_admin_pages import sign_in
from tests.browser.test_offer_pages import no_sideways_scroll
from tests.support.live_server import live_server
from tests.support.smtp import SmtpServer
from tests.support.world import World, build_world, next_monday

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return own_sqlite_url(tmp_path_factory, "offer-dates-pages")


@pytest.fixture(scope="module")
def server(db_url: str, mail_server: SmtpServer) -> Iterator[str]:
    with live_server(db_url, extra_env=worker_env(mail_server)) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings, mail_server: SmtpServer) -> World:
    mail_server.messages.clear()
    return await build_world(AppContext(database=database, settings=settings))


def local(instant) -> str:  # type: ignore[no-untyped-def]
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


async def test_move_add_and_remove_dates_at_360(phone_page, server: str, world: World) -> None:
    page = phone_page
    page.problems.ignore(r"favicon\.ico")
    page.problems.ignore(r"status of 400 .*/mitmachen/termine/\d+/verschieben")  # the end before the start, on purpose
    start = next_monday(world.app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(world.app, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Strandputz an der Förde", site_id=world.site_a.id, places=3, local_start=start, duration=timedelta(hours=3),
        organisation_id=world.org_a.id, repeat="weekly", count=2))
    await offer_signups.sign_up(world.app, world["member_a"], offer.id, None)  # type: ignore[arg-type]
    first, second = (await offer_dates.offer_dates(world.app, world["org_admin_a"], offer.id)).dates  # type: ignore[arg-type]

    await sign_in(page, server, world, "org_admin_a")
    await page.goto(f"{server}/mitmachen/{offer.id}/teilnehmende")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Termine ändern").click()
    main = page.locator("main")
    assert "1 teilnehmende Person" in await main.inner_text()
    await screenshot(page, "offer-dates-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)

    # Move the first date a day later, with an end before the start first: the message at the field.
    section = page.locator(f"#date-{first.id}")
    later = first.starts_at + timedelta(days=1)
    await section.get_by_label("Neuer Beginn").fill(local(later))
    await section.get_by_label("Neues Ende").fill(local(later - timedelta(hours=1)))
    async with page.expect_navigation():
        await section.get_by_role("button", name="Termin verschieben").click()
    error = page.locator(f"#move-{first.id}-ends-at-error")
    assert "Das Ende muss nach dem Beginn liegen" in await error.inner_text()
    await screenshot(page, "offer-dates-error-360")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    section = page.locator(f"#date-{first.id}")
    await section.get_by_label("Neues Ende").fill(local(later + timedelta(hours=3)))
    async with page.expect_navigation():
        await section.get_by_role("button", name="Termin verschieben").click()
    assert "Der Termin wurde verschoben" in await main.inner_text()
    view = await offer_catalogue.get_offer(world.app, None, offer.id)  # type: ignore[arg-type]
    assert view.dates[0].starts_at == later and view.dates[0].taken == 1

    # Add a third date, remove the second.
    added = second.starts_at + timedelta(days=7)
    await page.get_by_label("Beginn", exact=True).fill(local(added))
    await page.get_by_label("Ende", exact=True).fill(local(added + timedelta(hours=2)))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Termin hinzufügen").click()
    assert "Der Termin wurde hinzugefügt" in await main.inner_text()
    section = page.locator(f"#date-{second.id}")
    await section.get_by_label("Ja, diesen Termin entfernen und seine Plätze absagen").check()
    async with page.expect_navigation():
        await section.get_by_role("button", name="Termin entfernen").click()
    assert "Der Termin wurde entfernt" in await main.inner_text()
    assert await page.locator(f"#date-{second.id}").count() == 0
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)


async def test_organiser_pages_at_1280(page, server: str, world: World) -> None:
    """The organiser's pages at desktop width: the list of offers to manage, participants with a
    date's waiting list and its controls, the dates page and the cancel page; axe finds nothing."""
    page.problems.ignore(r"favicon\.ico")
    start = next_monday(world.app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(world.app, world["org_admin_a"], offer_publishing.OfferInput(
        kind="task", title="Bänke aufstellen im Volkspark", site_id=world.site_a.id, places=1, local_start=start,
        duration=timedelta(hours=2), organisation_id=world.org_a.id, repeat="weekly", count=2))
    first = (await offer_dates.offer_dates(world.app, world["org_admin_a"], offer.id)).dates[0]  # type: ignore[arg-type]
    await offer_signups.sign_up(world.app, world["member_a"], offer.id, first.id)  # type: ignore[arg-type]
    for name in ("member_b", "lender_b"):
        await offer_waiting_list.join_waiting_list(world.app, world[name], offer.id, first.id)  # type: ignore[arg-type]

    await sign_in(page, server, world, "org_admin_a")
    main = page.locator("main")
    await page.goto(f"{server}/mitmachen/verwalten")
    assert "Bänke aufstellen im Volkspark" in await main.inner_text()
    await screenshot(page, "offer-manage-1280")
    await assert_no_axe_violations(page)

    await page.goto(f"{server}/mitmachen/{offer.id}/teilnehmende")
    text = await main.inner_text()
    assert "Member A" in text and "Lender B" in text
    await screenshot(page, "offer-participants-1280")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
    # The second in line moves up: the order on the page follows.
    async with page.expect_navigation():
        await page.locator("li.app-waiting-entry", has_text="Lender B").get_by_role("button", name="Nach oben").click()
    text = await main.inner_text()
    assert text.index("1. Lender B") < text.index("2. Member B")

    await page.goto(f"{server}/mitmachen/{offer.id}/termine")
    assert "1 teilnehmende Person" in await main.inner_text()
    await screenshot(page, "offer-dates-1280")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)

    await page.goto(f"{server}/mitmachen/{offer.id}/absagen")
    await screenshot(page, "offer-cancel-1280")
    await assert_no_axe_violations(page)
    await no_sideways_scroll(page)
