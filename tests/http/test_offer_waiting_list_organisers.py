"""The organisers' waiting-list controls on an offer's participants page (issue 14), over HTTP on
both databases: move up/down within a date, remove (the person is mailed, rate-limited per
organiser), CSRF, and the staff's page naming offers by title and date instead of ``offer-N``."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, select

from booking.app import create_app
from booking.models import OutboxMessage, User, WaitingListEntry
from booking.services import offer_catalogue, offer_publishing, offer_signups, offer_waiting_list
from booking.services.accounts import load_principal
from booking.services.offer_publishing import OfferInput
from booking.auth.action_limits import WAITING_LIST_LIMITER_KEY as LIMITER_KEY
from booking.auth.action_limits import WAITING_LIST_REMOVALS_PER_HOUR as REMOVALS_PER_HOUR
from tests.http.conftest import login
from tests.support.pages import csrf_token
from tests.support.world import next_monday


@pytest.fixture
async def organiser_app(settings, app_context, world):
    app = create_app(settings, app_context=app_context)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")
    await login(client, world, "org_admin_a")
    yield app, client
    await client.aclose()


async def offer_with_line(app_context, world):
    """One place, taken; three people wait for the date."""
    start = next_monday(app_context.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(app_context, world["org_admin_a"], OfferInput(
        kind="task", title="Kleiderkammer sortieren", site_id=world.site_a.id, places=1, local_start=start,
        duration=timedelta(hours=2), organisation_id=world.org_a.id))
    date_id = (await offer_catalogue.get_offer(app_context, None, offer.id)).dates[0].id
    async with app_context.database.transaction() as session:
        users = [User(email=f"line{n}@example.org", display_name=f"Person {n}", email_verified_at=app_context.now()) for n in range(4)]
        session.add_all(users)
        await session.flush()
        people = [await load_principal(session, user) for user in users]
    await offer_signups.sign_up(app_context, people[0], offer.id, None)
    entries = [await offer_waiting_list.join_waiting_list(app_context, person, offer.id, date_id) for person in people[1:]]
    return offer, date_id, [e.id for e in entries]


async def line(app_context, offer) -> list[int]:
    async with app_context.database.reader() as session:
        return list((await session.exec(select(WaitingListEntry.id).where(
            WaitingListEntry.resource_id == offer.resource_id, WaitingListEntry.status == "waiting")
            .order_by(col(WaitingListEntry.position), col(WaitingListEntry.id)))).all())


async def removal_mails(app_context) -> int:
    async with app_context.database.reader() as session:
        return len((await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "waiting_list_removed"))).all())


async def test_organiser_moves_and_removes_on_the_participants_page(app_context, world, organiser_app):
    _app, client = organiser_app
    offer, date_id, (a, b, c) = await offer_with_line(app_context, world)
    page = (await client.get(f"/mitmachen/{offer.id}/teilnehmende")).text
    waiting = page[page.index(f'id="waiting-{date_id}"'):]
    # The first cannot move up, the last not down; everyone can be removed.
    assert f"/warteliste/{a}/verschieben" in waiting and waiting.count("Nach oben") == 2 and waiting.count("Nach unten") == 2
    assert waiting.count(">Entfernen<") == 3
    token = await csrf_token(client, f"/mitmachen/{offer.id}/teilnehmende")
    moved = await client.post(f"/mitmachen/{offer.id}/warteliste/{c}/verschieben", data={"direction": "up", "_csrf_token": token})
    assert moved.status_code == 303 and moved.headers["location"] == f"/mitmachen/{offer.id}/teilnehmende#waiting-{date_id}"
    assert await line(app_context, offer) == [a, c, b]
    # Bad input: the page again with the message, nothing changed.
    stuck = await client.post(f"/mitmachen/{offer.id}/warteliste/{a}/verschieben", data={"direction": "up", "_csrf_token": token})
    assert stuck.status_code == 400 and 'role="alert"' in stuck.text
    sideways = await client.post(f"/mitmachen/{offer.id}/warteliste/{a}/verschieben", data={"direction": "x", "_csrf_token": token})
    assert sideways.status_code == 400 and "Die Richtung ist nach oben oder nach unten." in sideways.text
    # Without the CSRF token: refused, nothing removed.
    forged = await client.post(f"/mitmachen/{offer.id}/warteliste/{b}/entfernen", data={})
    assert forged.status_code == 403
    removed = await client.post(f"/mitmachen/{offer.id}/warteliste/{b}/entfernen", data={"_csrf_token": token})
    assert removed.status_code == 303
    assert await line(app_context, offer) == [a, c] and await removal_mails(app_context) == 1
    assert "Der Eintrag ist von der Warteliste genommen." in (await client.get(removed.headers["location"])).text
    again = await client.post(f"/mitmachen/{offer.id}/warteliste/{b}/entfernen", data={"_csrf_token": token})
    assert again.status_code == 409 and await removal_mails(app_context) == 1


async def test_removals_are_rate_limited_per_organiser(app_context, world, organiser_app):
    app, client = organiser_app
    offer, _date_id, (a, b, c) = await offer_with_line(app_context, world)
    token = await csrf_token(client, f"/mitmachen/{offer.id}/teilnehmende")
    first = await client.post(f"/mitmachen/{offer.id}/warteliste/{a}/entfernen", data={"_csrf_token": token})
    assert first.status_code == 303  # the limiter exists now; use up the hour's removals
    limiter = app.state[LIMITER_KEY]
    for _ in range(REMOVALS_PER_HOUR - 1):
        limiter.hit(f"waiting-list-removal|{world['org_admin_a'].user_id}", REMOVALS_PER_HOUR)
    limited = await client.post(f"/mitmachen/{offer.id}/warteliste/{b}/entfernen", data={"_csrf_token": token})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Zu viele Entfernungen" in limited.text
    assert await line(app_context, offer) == [b, c] and await removal_mails(app_context) == 1


async def test_the_staff_page_names_offers_by_title_and_links_the_organiser_view(app_context, world, settings):
    offer, date_id, _entries = await offer_with_line(app_context, world)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, app_context=app_context)), base_url="http://testserver.local")
    await login(client, world, "lender_a")
    page = (await client.get(f"/lender/waiting-lists?site={world.site_a.id}")).text
    await client.aclose()
    assert f"offer-{offer.id}" not in page
    link = re.search(rf'href="/mitmachen/{offer.id}/teilnehmende#date-{date_id}">Kleiderkammer sortieren, [^<]+</a>', page)
    assert link, page
    assert "3 warten" in page


async def test_cancel_offer_page_says_whom_it_tells_and_cancels_once(app_context, world, organiser_app):
    _app, client = organiser_app
    offer, _date_id, _entries = await offer_with_line(app_context, world)
    participants = (await client.get(f"/mitmachen/{offer.id}/teilnehmende")).text
    assert f'href="/mitmachen/{offer.id}/absagen"' in participants
    page = await client.get(f"/mitmachen/{offer.id}/absagen")
    assert page.status_code == 200
    assert "1 teilnehmende Person wird per E-Mail informiert" in page.text and "3 Personen auf den Wartelisten" in page.text
    token = await csrf_token(client, f"/mitmachen/{offer.id}/absagen")
    forged = await client.post(f"/mitmachen/{offer.id}/absagen", data={})
    assert forged.status_code == 403
    assert (await offer_catalogue.get_offer(app_context, None, offer.id)).offer.cancelled_at is None
    done = await client.post(f"/mitmachen/{offer.id}/absagen", data={"_csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/mitmachen/{offer.id}/teilnehmende"
    after = (await client.get(done.headers["location"])).text
    assert "Das Angebot ist abgesagt; 1 teilnehmende Person wird per E-Mail informiert." in after
    assert "Dieses Angebot wurde abgesagt." in after and f'href="/mitmachen/{offer.id}/absagen"' not in after
    async with app_context.database.reader() as session:
        kinds = sorted(m.kind for m in (await session.exec(select(OutboxMessage).where(
            col(OutboxMessage.kind).in_(["offer_cancelled", "waiting_list_removed"])))).all())
    assert kinds == ["offer_cancelled"] + ["waiting_list_removed"] * 3
    again = await client.post(f"/mitmachen/{offer.id}/absagen", data={"_csrf_token": token})
    assert again.status_code == 409 and "Dieses Angebot ist bereits abgesagt." in again.text
    assert "(abgesagt)" in (await client.get("/mitmachen/verwalten")).text
