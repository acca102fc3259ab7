"""The organisation directory in Chromium against a live server with its mail worker: the
directory and the contact form at 1280 px (the message arrives at a real SMTP server), and a
request to join at 360 px from the ask to the admin's approval. Screenshots (directory-*.png)
and axe-core on every new page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlmodel import select

from booking.models import FieldOfActivity, Membership, Organisation, OrganisationField
from booking.services.context import AppContext
from tests.browser.conftest import assert_no_axe_violations, own_sqlite_url, screenshot, worker_env
from tests.browser.test_admin_pages import sign_in
from tests.support.live_server import live_server
from tests.support.smtp import ReceivedMessage, SmtpServer
from tests.support.world import World, build_world


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    # A database of its own: this module runs the mail worker, which would otherwise deliver
    # the outbox rows other tests left in the session-wide SQLite file to this SMTP server.
    return own_sqlite_url(tmp_path_factory, "directory-pages")



@pytest.fixture(scope="module")
def server(db_url: str, mail_server: SmtpServer) -> Iterator[str]:
    with live_server(db_url, extra_env=worker_env(mail_server)) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings, mail_server: SmtpServer) -> World:
    mail_server.messages.clear()
    world = await build_world(AppContext(database=database, settings=settings))
    async with world.app.database.transaction() as session:
        fields = [FieldOfActivity(name=name, position=n) for n, name in enumerate(("Sport", "Kultur", "Soziales"))]
        session.add_all(fields)
        await session.flush()
        org_a = await session.get(Organisation, world.org_a.id)
        org_a.listed_in_directory, org_a.website = True, "https://org-a.example"
        org_a.description = "Turnen und Gymnastik für alle Generationen, dienstags und donnerstags."
        session.add(org_a)
        session.add(OrganisationField(organisation_id=org_a.id, field_id=fields[0].id))
        session.add(Organisation(name="Chor Harmonie", description="Wir singen mittwochs.", listed_in_directory=True))
    return world


async def wait_for_mail(mail_server: SmtpServer, recipient: str, subject: str) -> ReceivedMessage:
    """The first message to ``recipient`` whose subject contains ``subject``, once it arrived.

    Found by what it is, not by its position: the worker of the server delivers on its own
    schedule and the other test of this module shares the server."""
    deadline = time.monotonic() + 30  # the in-process worker polls; wait for the delivery, not a time
    while time.monotonic() < deadline:
        for received in list(mail_server.messages):
            if received.rcpt_tos == [recipient] and subject in str(received.message["Subject"]):
                return received
        await asyncio.sleep(0.1)
    got = [(m.rcpt_tos, str(m.message["Subject"])) for m in mail_server.messages]
    raise AssertionError(f"no message to {recipient} about {subject!r}; got {got}")


async def test_directory_and_contact_form_at_1280(page, server: str, world: World, mail_server: SmtpServer) -> None:
    page.problems.ignore(r"favicon\.ico")
    await page.goto(server + "/")
    async with page.expect_navigation():
        await page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Organisationen").click()
    assert page.url.endswith("/organisationen")
    main = page.locator("main")
    assert "2 Organisationen" in await main.inner_text()
    await screenshot(page, "directory-index-1280")
    await assert_no_axe_violations(page)

    await page.get_by_label("Tätigkeitsfeld").select_option(label="Sport")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Suchen").click()
    text = await main.inner_text()
    assert "1 Organisation" in text and "Org A" in text and "Chor Harmonie" not in text

    async with page.expect_navigation():
        await page.get_by_role("link", name="Org A").click()
    assert "Turnen und Gymnastik" in await main.inner_text()
    await assert_no_axe_violations(page)
    page.problems.ignore(r"status of 400 .*/contact")  # the empty message, on purpose
    await page.get_by_label("Ihr Name").fill("Kim Beispiel")
    await page.get_by_label("Ihre E-Mail-Adresse").fill("kim@example.org")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Nachricht senden").click()
    assert await page.get_by_label("Nachricht", exact=True).get_attribute("aria-invalid") == "true"
    await assert_no_axe_violations(page)
    await page.get_by_label("Nachricht", exact=True).fill("Darf ich einmal zum Probetraining kommen?")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Nachricht senden").click()
    assert "Ihre Nachricht wurde an die Organisation geschickt" in await main.inner_text()
    assert "admin_a@example.org" not in await page.content()
    await screenshot(page, "directory-profile-sent-1280")

    received = await wait_for_mail(mail_server, "admin_a@example.org", "Nachricht an Org A")
    assert "kim@example.org" in str(received.message["Reply-To"])
    assert "Probetraining" in received.message.get_body(preferencelist=("plain",)).get_content()


async def test_join_request_at_360(phone_page, server: str, world: World, mail_server: SmtpServer) -> None:
    page = phone_page
    await sign_in(page, server, world, "member_b")
    await page.goto(f"{server}/organisationen/{world.org_a.id}")
    await page.get_by_label("Ein paar Worte an die Organisation").fill("Ich turne gern mit.")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Um Aufnahme bitten").click()
    assert "Ihre Bitte ist unterwegs" in await page.locator("main").inner_text()
    await screenshot(page, "directory-join-asked-360")
    await assert_no_axe_violations(page)
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    to_admin = await wait_for_mail(mail_server, "admin_a@example.org", "Bitte um Aufnahme bei Org A")
    assert "Ich turne gern mit." in to_admin.message.get_body(preferencelist=("plain",)).get_content()

    await page.context.clear_cookies()
    await sign_in(page, server, world, "org_admin_a")
    await page.goto(f"{server}/organisation/{world.org_a.id}")
    requests = page.locator("section", has=page.get_by_role("heading", name="Bitten um Aufnahme"))
    assert "Ich turne gern mit." in await requests.inner_text()
    await requests.scroll_into_view_if_needed()
    await screenshot(page, "directory-join-requests-360", full_page=False)
    await assert_no_axe_violations(page)
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    async with page.expect_navigation():
        await requests.get_by_role("button", name="Bestätigen").click()
    assert "jetzt Mitglied" in await page.locator("main").inner_text()
    async with world.app.database.reader() as session:
        membership = (await session.exec(select(Membership).where(
            Membership.user_id == world["member_b"].user_id, Membership.organisation_id == world.org_a.id))).first()
    assert membership is not None
    await wait_for_mail(mail_server, "member_b@example.org", "Willkommen bei Org A")


async def test_admin_and_registration_pages_at_1280(page, server: str, world: World) -> None:
    """The list of fields of activity, a new association waiting for confirmation, the
    registration form with its new field: each passes axe."""
    async with world.app.database.transaction() as session:
        session.add(Organisation(name="Umweltgruppe Sandberg", is_pending=True))
        session.add(Organisation(name="Lesekreis Jürgensby", is_pending=True))
    await page.goto(server + "/register")
    await page.get_by_label("Sie registrieren sich für einen neuen Verein? Sein Name").wait_for()
    await assert_no_axe_violations(page)
    await sign_in(page, server, world, "city_admin")
    await page.goto(server + "/admin/fields")
    assert await page.get_by_role("button", name="Umbenennen: Kultur").count() == 1
    await screenshot(page, "directory-admin-fields-1280")
    await assert_no_axe_violations(page)
    await page.goto(server + "/admin/organisations")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Umweltgruppe Sandberg").click()
    await assert_no_axe_violations(page)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Organisation bestätigen").click()
    assert "bestätigt" in await page.locator("main").inner_text()
    async with world.app.database.reader() as session:
        confirmed = (await session.exec(select(Organisation).where(Organisation.name == "Umweltgruppe Sandberg"))).one()
    assert not confirmed.is_pending

    # A site manager sees the other one on the administration overview and confirms it there.
    await page.context.clear_cookies()
    await sign_in(page, server, world, "manager_a")
    await page.goto(server + "/admin")
    pending = page.locator("section", has=page.get_by_role("heading", name="Neue Vereine, die auf Bestätigung warten"))
    assert "Lesekreis Jürgensby" in await pending.inner_text()
    await screenshot(page, "directory-admin-pending-1280", full_page=False)
    await assert_no_axe_violations(page)
    async with page.expect_navigation():
        await pending.get_by_role("button", name="Bestätigen").click()
    assert page.url.endswith("/admin")
    assert "Lesekreis Jürgensby" not in await page.locator("main").inner_text()
