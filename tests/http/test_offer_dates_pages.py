"""/mitmachen/<id>/termine over HTTP on both databases: only the offer's organisers see and use
it (others: 404 before any input is read), errors come back at the field with nothing changed,
a move of a date with participants answers 303 and moves their places, removing needs the
confirmation box, and the mail actions are rate-limited per organiser."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import select

from booking.models import OfferDate
from booking.services import offer_catalogue, offer_signups
from booking.auth import action_limits
from tests.http.conftest import login
from tests.http.test_offers_pages import make_offer
from tests.support.pages import post_form

BERLIN = ZoneInfo("Europe/Berlin")


def local(instant) -> str:  # type: ignore[no-untyped-def]
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


async def only_date(app_context, offer) -> OfferDate:  # type: ignore[no-untyped-def]
    async with app_context.database.reader() as session:
        return (await session.exec(select(OfferDate).where(OfferDate.offer_id == offer.id))).one()


async def test_only_organisers_see_and_change_the_dates(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world)
    date = await only_date(app_context, offer)
    page = f"/mitmachen/{offer.id}/termine"
    assert (await client.get(page)).status_code in (302, 303)  # anonymous: to the login
    for role in ("member_a", "lender_b"):
        await login(client, world, role)
        assert (await client.get(page)).status_code == 404
        later = local(date.starts_at + timedelta(days=1))
        moved = await post_form(client, f"/mitmachen/termine/{date.id}/verschieben", {"starts_at": later, "ends_at": later},
                                form_page="/mitmachen")
        assert moved.status_code == 404
    assert (await only_date(app_context, offer)).starts_at == date.starts_at
    await login(client, world, "lender_a")
    shown = await client.get(page)
    assert shown.status_code == 200 and 'id="move-' in shown.text and local(date.starts_at) in shown.text


async def test_move_errors_at_the_field_then_a_move_that_works(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world)
    await offer_signups.sign_up(app_context, world["member_a"], offer.id, None)  # type: ignore[arg-type]
    date = await only_date(app_context, offer)
    page = f"/mitmachen/{offer.id}/termine"
    action = f"/mitmachen/termine/{date.id}/verschieben"
    await login(client, world, "org_admin_a")
    start = local(date.starts_at + timedelta(days=1))
    answer = await post_form(client, action, {"starts_at": start, "ends_at": local(date.starts_at)}, form_page=page)
    assert answer.status_code == 400
    assert f'id="move-{date.id}-ends-at-error"' in answer.text
    answer = await post_form(client, action, {"starts_at": "gestern", "ends_at": start}, form_page=page)
    assert answer.status_code == 400 and f'id="move-{date.id}-starts-at-error"' in answer.text
    past = local(app_context.now() - timedelta(days=1))
    answer = await post_form(client, action, {"starts_at": past, "ends_at": local(app_context.now() - timedelta(hours=23))}, form_page=page)
    assert answer.status_code == 400 and f'id="move-{date.id}-starts-at-error"' in answer.text
    assert (await only_date(app_context, offer)).starts_at == date.starts_at
    new_start = date.starts_at + timedelta(days=1)
    answer = await post_form(client, action, {"starts_at": local(new_start), "ends_at": local(new_start + timedelta(hours=2))}, form_page=page)
    assert answer.status_code == 303 and answer.headers["location"].startswith(page)
    assert (await only_date(app_context, offer)).starts_at == new_start
    view = await offer_catalogue.get_offer(app_context, None, offer.id)  # type: ignore[arg-type]
    assert [d.taken for d in view.dates] == [1]  # the place moved with the date


async def test_add_remove_and_places(client: httpx.AsyncClient, app_context, world):
    offer = await make_offer(app_context, world)
    date = await only_date(app_context, offer)
    page = f"/mitmachen/{offer.id}/termine"
    await login(client, world, "org_admin_a")
    # Overlapping the existing date: the conflict at the start field.
    overlap = date.starts_at + timedelta(hours=1)
    answer = await post_form(client, page, {"starts_at": local(overlap), "ends_at": local(overlap + timedelta(hours=1))}, form_page=page)
    assert answer.status_code == 409 and 'id="add-starts-at-error"' in answer.text
    later = date.starts_at + timedelta(days=3)
    answer = await post_form(client, page, {"starts_at": local(later), "ends_at": local(later + timedelta(hours=1))}, form_page=page)
    assert answer.status_code == 303
    # Remove without the confirmation box: asked for it, nothing removed.
    answer = await post_form(client, f"/mitmachen/termine/{date.id}/entfernen", {}, form_page=page)
    assert answer.status_code == 400 and f'id="remove-{date.id}-confirm-error"' in answer.text
    answer = await post_form(client, f"/mitmachen/termine/{date.id}/entfernen", {"confirm": "1"}, form_page=page)
    assert answer.status_code == 303
    view = await offer_catalogue.get_offer(app_context, None, offer.id)  # type: ignore[arg-type]
    assert [d.starts_at for d in view.dates if not d.is_cancelled] == [later]
    answer = await post_form(client, f"/mitmachen/{offer.id}/plaetze", {"places": "viele"}, form_page=page)
    assert answer.status_code == 400 and 'id="dates-places-error"' in answer.text
    answer = await post_form(client, f"/mitmachen/{offer.id}/plaetze", {"places": "7"}, form_page=page)
    assert answer.status_code == 303
    assert (await offer_catalogue.get_offer(app_context, None, offer.id)).offer.places == 7  # type: ignore[arg-type]


async def test_mail_actions_are_rate_limited(client: httpx.AsyncClient, app_context, world, monkeypatch):
    monkeypatch.setattr(action_limits, "OFFER_DATE_CHANGES_PER_HOUR", 2)
    offer = await make_offer(app_context, world)
    page = f"/mitmachen/{offer.id}/termine"
    await login(client, world, "org_admin_a")
    statuses = []
    for places in ("4", "5", "6"):
        statuses.append((await post_form(client, f"/mitmachen/{offer.id}/plaetze", {"places": places}, form_page=page)).status_code)
    assert statuses == [303, 303, 429]
    assert (await offer_catalogue.get_offer(app_context, None, offer.id)).offer.places == 5  # type: ignore[arg-type]
