"""Pages and API of volunteer offers (issue 14) over HTTP on both databases: sign-up by e-mail
(double opt-in through the mailed links, each working once), the address never shown to others,
errors at the field, rate limits, the certificate page, and the JSON API."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import func, select

from booking.models import Booking, Offer, OfferSignup
from booking.services import offer_organisers, offer_publishing, offer_signups
from booking.services.offer_publishing import OfferInput
from tests.http.conftest import login
from tests.support.pages import csrf_token, field_error, mail_link, post_form, send_outbox
from tests.support.world import World, next_monday


async def make_offer(app_context, world: World, *, places: int = 3, count: int = 1, kind: str = "task") -> Offer:
    start = next_monday(app_context.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    return await offer_publishing.create_offer(app_context, world["org_admin_a"], OfferInput(
        kind=kind, title="Parkputz am Sonntag", site_id=world.site_a.id, places=places, local_start=start, duration=timedelta(hours=3),
        organisation_id=world.org_a.id, repeat="weekly" if count > 1 else "none", count=count, category="Umwelt"))


async def held(app_context, offer: Offer) -> int:
    async with app_context.database.reader() as session:
        return (await session.exec(select(func.count()).select_from(Booking).where(
            Booking.resource_id == offer.resource_id, Booking.status == "confirmed"))).one()


async def test_sign_up_by_email_confirm_and_cancel_once(client: httpx.AsyncClient, app_context, world, smtp_server):
    offer = await make_offer(app_context, world)
    page = f"/mitmachen/{offer.id}"
    answer = await post_form(client, f"{page}/anmelden", {"name": "Jona Gast", "email": "jona@example.org", "date_id": "all"}, form_page=page)
    assert answer.status_code == 303 and answer.headers["location"] == page
    assert await held(app_context, offer) == 0
    assert await send_outbox(app_context, smtp_server) == 1
    link = mail_link(smtp_server, "jona@example.org", "/mitmachen/bestaetigen/")
    # Opening the link (a mail scanner may) changes nothing; the button confirms.
    shown = await client.get(link)
    assert shown.status_code == 200 and "Parkputz" in shown.text
    assert await held(app_context, offer) == 0
    confirmed = await client.post(link, data={"_csrf_token": await csrf_token(client, link)})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == page
    assert await held(app_context, offer) == 1
    token = await csrf_token(client, page)
    assert (await client.post(link, data={"_csrf_token": token})).status_code == 404  # works once
    assert (await client.get(link)).status_code == 404
    # Another participant sees the free places, never Jona's name or address.
    await login(client, world, "member_b")
    other = await client.get(page)
    assert "2 freie Plätze" in other.text or "2 Plätze frei" in other.text
    assert "jona@example.org" not in other.text and "Jona Gast" not in other.text
    client.cookies.clear()
    assert await send_outbox(app_context, smtp_server) == 1
    cancel = mail_link(smtp_server, "jona@example.org", "/mitmachen/absagen/")
    assert (await client.get(cancel)).status_code == 200
    token = await csrf_token(client, cancel)
    first = await client.post(cancel, data={"_csrf_token": token})
    assert first.status_code == 303
    assert await held(app_context, offer) == 0
    assert (await client.post(cancel, data={"_csrf_token": token})).status_code == 404


async def test_sign_up_errors_are_shown_at_the_field_and_change_nothing(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world)
    page = f"/mitmachen/{offer.id}"
    answer = await post_form(client, f"{page}/anmelden", {"name": "", "email": "kein-adresse", "date_id": "all"}, form_page=page)
    assert answer.status_code == 400 and field_error(answer.text, "name")
    answer = await post_form(client, f"{page}/anmelden", {"name": "X", "email": "kein-adresse", "date_id": "all"}, form_page=page)
    assert answer.status_code == 400 and field_error(answer.text, "email")
    async with app_context.database.reader() as session:
        assert (await session.exec(select(func.count()).select_from(OfferSignup))).one() == 0
    # Publishing: a missing title is named at its field; nothing is created.
    await login(client, world, "org_admin_a")
    form = {"kind": "task", "title": "", "site_id": str(world.site_a.id), "organisation_id": str(world.org_a.id), "location_kind": "site", "places": "3",
            "starts_at": "2031-06-02T10:00", "ends_at": "2031-06-02T12:00", "repeat": "none", "count": "1"}
    answer = await post_form(client, "/mitmachen/neu", form, form_page="/mitmachen/neu")
    assert answer.status_code == 400 and 'id="offer-title-error"' in answer.text
    answer = await post_form(client, "/mitmachen/neu", {**form, "title": "Gut", "ends_at": "2031-06-02T09:00"}, form_page="/mitmachen/neu")
    assert answer.status_code == 400 and 'id="offer-ends-at-error"' in answer.text
    async with app_context.database.reader() as session:
        assert (await session.exec(select(func.count()).select_from(Offer))).one() == 1
    created = await post_form(client, "/mitmachen/neu", {**form, "title": "Gut"}, form_page="/mitmachen/neu")
    assert created.status_code == 303
    assert (await client.get(created.headers["location"])).status_code == 200


async def test_e_mail_sign_ups_are_rate_limited_per_address(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world)
    page = f"/mitmachen/{offer.id}"
    statuses = []
    for _ in range(4):
        answer = await post_form(client, f"{page}/anmelden", {"name": "Viel", "email": "viel@example.org", "date_id": "all"}, form_page=page)
        statuses.append(answer.status_code)
    assert statuses == [303, 303, 303, 429]


async def test_a_training_asks_for_a_login(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world, kind="training")
    page = await client.get(f"/mitmachen/{offer.id}")
    assert 'name="email"' not in page.text and "/login?next=" in page.text


async def test_certificate_page_lists_attended_dates_only(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world, count=2)
    await offer_signups.sign_up(app_context, world["member_a"], offer.id, None)  # type: ignore[arg-type]
    view, per_date = await offer_organisers.participants(app_context, world["org_admin_a"], offer.id)  # type: ignore[arg-type]
    async with app_context.database.transaction() as session:  # both dates lie in the past now
        from booking.models import OfferDate

        for d in view.dates:
            row = await session.get(OfferDate, d.id)
            row.starts_at, row.ends_at = row.starts_at - timedelta(days=60), row.ends_at - timedelta(days=60)
            session.add(row)
    await login(client, world, "org_admin_a")
    token = await csrf_token(client, f"/mitmachen/{offer.id}/teilnehmende")
    for item, mark in zip(per_date, ("present", "absent"), strict=True):
        answer = await client.post(f"/mitmachen/termine/{item.date.id}/anwesenheit",
                                   data={f"attendance-{item.participants[0].signup_id}": mark, "_csrf_token": token})
        assert answer.status_code == 303
    sheet = await client.get(f"/mitmachen/termine/{per_date[0].date.id}/liste")
    assert sheet.status_code == 200 and "Member A" in sheet.text and "/static/offers.css" in sheet.text
    client.cookies.clear()
    await login(client, world, "member_a")
    certificate = await client.get("/mitmachen/mein-engagement/bescheinigung")
    assert certificate.status_code == 200
    assert certificate.text.count("Parkputz am Sonntag") == 1  # one attended date of two
    assert "<strong>3</strong>" in certificate.text


async def test_api_lists_offers_and_signs_up(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world, places=1)
    listed = await client.get("/api/v1/offers", params={"kind": "task", "free": "true"})
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["id"] == offer.id and item["dates"][0]["places_free"] == 1
    assert "email" not in listed.text
    assert (await client.post(f"/api/v1/offers/{offer.id}/signups", json={})).status_code == 401
    await login(client, world, "member_a")
    date_id = item["dates"][0]["id"]
    taken = await client.post(f"/api/v1/offers/{offer.id}/signups", json={"date_id": date_id})
    assert taken.status_code == 201 and taken.json()["confirmed_date_ids"] == [date_id]
    assert (await client.post(f"/api/v1/offers/{offer.id}/signups", json={"date_id": date_id, "x": 1})).status_code == 400
    client.cookies.clear()
    await login(client, world, "member_b")
    full = await client.post(f"/api/v1/offers/{offer.id}/signups", json={"date_id": date_id})
    assert full.status_code == 409 and full.headers["content-type"].startswith("application/problem+json")
    empty = await client.get("/api/v1/offers", params={"free": "true"})
    assert empty.json()["total"] == 0


async def test_public_feeds_and_site_page_show_offers_without_participants(client: httpx.AsyncClient, app_context, world):
    from tests.support.icaljs import parse_with_icaljs

    offer = await make_offer(app_context, world, count=2)
    await offer_signups.sign_up(app_context, world["member_a"], offer.id, None)  # type: ignore[arg-type]
    ics = await client.get("/mitmachen/angebote.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert b"ATTENDEE" not in ics.content and b"member_a" not in ics.content
    reading = parse_with_icaljs(ics.content)
    assert [e["summary"] for e in reading["events"]] == ["Parkputz am Sonntag"] * 2
    atom = await client.get("/mitmachen/angebote.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    from xml.etree import ElementTree

    feed = ElementTree.fromstring(atom.content)
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries] == ["Parkputz am Sonntag"]
    assert b"member_a" not in atom.content
    site_page = await client.get(f"/orte/{world.site_a.id}")
    assert site_page.status_code == 200 and f"/mitmachen/{offer.id}" in site_page.text
