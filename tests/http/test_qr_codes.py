"""QR codes on things and doors over HTTP, on both databases: where a scan leads whom, the
label sheet and who may print it, the door sign and what it hides."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from booking.domain.short_codes import code_for
from booking.models import Resource
from booking.services import bookings, handover
from booking.services.context import AppContext
from tests.http.conftest import login
from tests.support.world import World

# A Tuesday, 10:00 in Berlin: the clock of every service and page here.
NOW = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=lambda: NOW)


async def book(app_context: AppContext, world: World, resource_id: int, starts_at: datetime, hours: int, **extra) -> int:  # type: ignore[no-untyped-def]
    made = await bookings.create_booking(
        app_context, world["member_a"],
        bookings.BookingRequest(resource_id, starts_at, starts_at + timedelta(hours=hours), organisation_id=world.org_a.id, **extra),
    )
    assert made.id is not None
    return made.id


async def test_anyone_is_led_to_the_public_page(client: httpx.AsyncClient, world: World) -> None:
    for resource in (world.room, world.benches):
        response = await client.get(f"/r/{code_for(resource.id)}")  # type: ignore[arg-type]
        assert response.status_code == 303
        assert response.headers["location"] == f"/resources/{resource.id}"
    await login(client, world, "member_a")
    response = await client.get(f"/r/{code_for(world.benches.id).lower()}")  # type: ignore[arg-type]
    assert response.headers["location"] == f"/resources/{world.benches.id}"


async def test_a_lender_is_led_to_hand_out_then_return_of_the_current_booking(
    client: httpx.AsyncClient, app_context: AppContext, world: World,
) -> None:
    code = code_for(world.benches.id)  # type: ignore[arg-type]
    await login(client, world, "lender_a")
    # No booking: the lender's page of the thing.
    assert (await client.get(f"/r/{code}")).headers["location"] == f"/lender/items/{world.benches.id}"

    later = await book(app_context, world, world.benches.id, NOW + timedelta(days=3), 4)  # type: ignore[arg-type]
    response = await client.get(f"/r/{code}")
    assert response.headers["location"] == f"/lender/today?day=2031-03-07&site={world.site_a.id}#loan-{later}-title"
    today = await book(app_context, world, world.benches.id, NOW + timedelta(hours=1), 3)  # type: ignore[arg-type]
    response = await client.get(f"/r/{code}")
    assert response.headers["location"] == f"/lender/today?site={world.site_a.id}#loan-{today}-title"
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert f'action="/lender/loans/{today}/hand-out"' in page.text

    await handover.hand_out(app_context, world["lender_a"], today)
    response = await client.get(f"/r/{code}")
    assert response.headers["location"] == f"/lender/today?site={world.site_a.id}#loan-{today}-title"
    page = await client.get(response.headers["location"])
    assert f'action="/lender/loans/{today}/take-back"' in page.text

    # A lender of another site is anyone else here.
    await login(client, world, "lender_b")
    assert (await client.get(f"/r/{code}")).headers["location"] == f"/resources/{world.benches.id}"


async def test_a_room_leads_its_lender_to_the_public_page(client: httpx.AsyncClient, world: World) -> None:
    await login(client, world, "lender_a")
    response = await client.get(f"/r/{code_for(world.room.id)}")  # type: ignore[arg-type]
    assert response.headers["location"] == f"/resources/{world.room.id}"


async def test_unknown_mistyped_and_hidden_codes_answer_404(
    client: httpx.AsyncClient, app_context: AppContext, world: World,
) -> None:
    async with app_context.database.transaction() as session:
        hidden = Resource(site_id=world.site_a.id, kind="room", name="Members' room", visibility="members")
        session.add(hidden)
    assert hidden.id is not None
    good = code_for(world.room.id)  # type: ignore[arg-type]
    typo = good[:-1] + ("1" if good[-1] != "1" else "2")
    for path in (f"/r/{typo}", "/r/nothing", f"/r/{code_for(999_999)}", f"/r/{code_for(hidden.id)}", "/r/%00", f"/r/{'9' * 80}"):
        response = await client.get(path, headers={"accept": "text/html"})
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]
    german = await client.get("/r/nothing", headers={"accept": "text/html", "accept-language": "de"})
    assert "Zu diesem Code gibt es keine Ressource." in german.text
    # A member of an organisation may see members' resources: led to the page.
    await login(client, world, "member_a")
    assert (await client.get(f"/r/{code_for(hidden.id)}")).headers["location"] == f"/resources/{hidden.id}"


async def test_the_label_sheet_lists_every_active_resource_of_the_site(
    client: httpx.AsyncClient, app_context: AppContext, world: World,
) -> None:
    async with app_context.database.reader() as session:
        at_a = list((await session.exec(select(Resource).where(Resource.site_id == world.site_a.id))).all())
    for role in ("lender_a", "manager_a", "city_admin"):
        await login(client, world, role)
        response = await client.get(f"/admin/sites/{world.site_a.id}/labels")
        assert response.status_code == 200, role
        for resource in at_a:
            assert f">{code_for(resource.id)}<" in response.text  # type: ignore[arg-type]
            assert resource.name in response.text
        assert response.text.count('<svg aria-hidden="true" focusable="false"') == len(at_a)
        assert world.room_b.name not in response.text
        # Rooms and desks link to their door signs; things do not have one.
        assert f'href="/r/{code_for(world.room.id)}/tuer?refresh=1"' in response.text  # type: ignore[arg-type]
        assert f"/r/{code_for(world.benches.id)}/tuer" not in response.text  # type: ignore[arg-type]
        assert code_for(world.room_b.id) not in response.text  # type: ignore[arg-type]


@pytest.mark.parametrize("role", ["lender_b", "member_a", "org_admin_a"])
async def test_others_may_not_print_the_label_sheet(client: httpx.AsyncClient, world: World, role: str) -> None:
    await login(client, world, role)
    response = await client.get(f"/admin/sites/{world.site_a.id}/labels")
    assert response.status_code == 403
    assert code_for(world.room.id) not in response.text  # type: ignore[arg-type]
    if role == "lender_b":  # a lender, but of another site: the service says why
        assert "Nur Verleihende und Verwaltende dieses Ortes dürfen seine Etiketten drucken." in (
            await client.get(f"/admin/sites/{world.site_a.id}/labels", headers={"accept-language": "de"})
        ).text


async def test_the_label_sheet_of_an_unknown_site_is_404_and_anonymous_must_log_in(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"/admin/sites/{world.site_a.id}/labels")
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/login")
    await login(client, world, "city_admin")
    assert (await client.get("/admin/sites/999999/labels")).status_code == 404


async def test_the_door_sign_shows_todays_bookings_without_who_or_why(
    client: httpx.AsyncClient, app_context: AppContext, world: World,
) -> None:
    room = world.room.id
    assert room is not None
    private = await book(app_context, world, room, NOW + timedelta(hours=1), 2, title="Secret strategy meeting", purpose="nobody's business")
    public = await book(app_context, world, room, NOW + timedelta(hours=4), 1, title="Open repair café", is_public=True)
    tomorrow = await book(app_context, world, room, NOW + timedelta(days=1), 1, title="Open tomorrow", is_public=True)
    assert private and public and tomorrow
    response = await client.get(f"/r/{code_for(room)}/tuer", headers={"accept-language": "de"})
    assert response.status_code == 200
    text = response.text
    assert "Room A1" in text
    assert "11:00" in text and "13:00" in text  # the private one, Berlin time
    assert "Open repair café" in text and "Org A" in text
    for hidden in ("Secret strategy meeting", "nobody's business", "Member A", "member_a@example.org", "Open tomorrow"):
        assert hidden not in text
    assert "Belegt" in text
    assert f"{code_for(room)}" in text and '<svg aria-hidden="true"' in text
    # Things have no door.
    assert (await client.get(f"/r/{code_for(world.benches.id)}/tuer")).status_code == 404  # type: ignore[arg-type]
    assert (await client.get("/r/nothing/tuer")).status_code == 404


async def test_the_door_sign_is_empty_on_a_free_day(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"/r/{code_for(world.room.id)}/tuer", headers={"accept-language": "en"})  # type: ignore[arg-type]
    assert response.status_code == 200
    assert "No bookings today." in response.text
    assert re.search(r"<h1[^>]*>Room A1</h1>", response.text)
    # A timed reload only where asked for (an unattended tablet), not for a person reading it.
    assert 'http-equiv="refresh"' not in response.text
    tablet = await client.get(f"/r/{code_for(world.room.id)}/tuer?refresh=1")  # type: ignore[arg-type]
    assert '<meta http-equiv="refresh" content="300">' in tablet.text
