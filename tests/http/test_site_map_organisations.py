"""The map's organisation layer and its fields-of-activity filter, on both databases: the
organisations listed in the directory that meet at a site (from public bookings) are shown in
the list and in the map's data alike; the filter keeps only the sites where an organisation of
that field meets; organisations that did not opt in, and private bookings, show nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking.models import Booking, FieldOfActivity, Organisation, OrganisationField
from booking.services.context import AppContext
from tests.http.test_site_map_pages import NOW, listed_sites, map_data
from tests.support.pages import field_error


@pytest.fixture
async def app_context(database, settings) -> AppContext:
    return AppContext(database=database, settings=settings, clock=lambda: NOW)


@pytest.fixture
async def meetings(world, app_context) -> dict[str, int]:
    """Org A (Sport, listed) meets at Site A; Org B (Kultur, listed) at Site B; an unlisted club
    at Site A; Org B's private booking at Site A does not count."""
    async with app_context.database.transaction() as session:
        sport, kultur = FieldOfActivity(name="Sport", position=1), FieldOfActivity(name="Kultur", position=2)
        hidden = Organisation(name="Geheimclub")
        session.add_all([sport, kultur, hidden])
        await session.flush()
        for organisation_id in (world.org_a.id, world.org_b.id):
            organisation = await session.get(Organisation, organisation_id)
            organisation.listed_in_directory = True
            session.add(organisation)
        session.add_all([OrganisationField(organisation_id=world.org_a.id, field_id=sport.id),
                         OrganisationField(organisation_id=world.org_b.id, field_id=kultur.id),
                         OrganisationField(organisation_id=hidden.id, field_id=kultur.id)])

        def booking(resource, organisation_id: int, days: int, *, public: bool = True) -> Booking:
            start = NOW + timedelta(days=days)
            return Booking(resource_id=resource.id, starts_at=start, ends_at=start + timedelta(hours=2), status="confirmed",
                           organisation_id=organisation_id, booker_id=world["member_a"].user_id, title="Probe", is_public=public)

        session.add_all([
            booking(world.room, world.org_a.id, 2),
            booking(world.room_b, world.org_b.id, 3),
            booking(world.room, hidden.id, 4),
            booking(world.comparable_room, world.org_b.id, 5, public=False),
        ])
        return {"Sport": sport.id, "Kultur": kultur.id}  # type: ignore[dict-item]


def organisations_in_data(page: str) -> dict[str, list[str]]:
    return {f["properties"]["name"]: [o["name"] for o in f["properties"].get("organisations", [])] for f in map_data(page)["features"]}


async def test_the_organisation_layer_lists_who_meets_where_in_list_and_map(client, world, meetings):
    plain = (await client.get("/karte")).text
    assert "Org A" not in plain and "organisations" not in map_data(plain)["features"][0]["properties"]

    page = (await client.get("/karte", params={"organisations": "1"})).text
    assert listed_sites(page) == ["Site A", "Site B"]
    assert organisations_in_data(page) == {"Site A": ["Org A"], "Site B": ["Org B"]}
    layer = page.split('id="organisations-heading"')[1].split("</ul>")[0]
    assert "2 Organisationen treffen sich an diesen Orten" in layer
    assert '<a class="kern-link" href="/organisationen/%d">Org A</a> (Sport):' % world.org_a.id in layer
    assert 'href="#site-%d">Site A</a>' % world.site_a.id in layer
    assert "Geheimclub" not in page and "Probe" not in page and "Member A" not in page
    card_a = page.split(f'id="site-{world.site_a.id}"')[1].split("</article>")[0]
    assert "Hier treffen sich" in card_a and "Org A" in card_a and "Org B" not in card_a


async def test_the_field_filter_keeps_the_sites_where_that_field_meets(client, world, meetings):
    page = (await client.get("/karte", params={"field": str(meetings["Kultur"])})).text
    assert listed_sites(page) == ["Site B"]
    assert organisations_in_data(page) == {"Site B": ["Org B"]}
    assert 'value="%d" selected' % meetings["Kultur"] in page
    # Combined with a kind: Site B has no thing to borrow.
    both = (await client.get("/karte", params={"field": str(meetings["Kultur"]), "kind": "item"})).text
    assert listed_sites(both) == [] and map_data(both)["features"] == []
    sport = (await client.get("/karte", params={"field": str(meetings["Sport"]), "kind": "item"}, headers={"Accept-Language": "en"})).text
    assert listed_sites(sport) == ["Site A"] and organisations_in_data(sport) == {"Site A": ["Org A"]}
    assert "1 organisation meets at these places" in sport


@pytest.mark.parametrize("value", ["999999", "abc", "-1", "1" * 30])
async def test_an_unknown_field_is_refused_at_the_field(client, world, meetings, value):
    answer = await client.get("/karte", params={"field": value})
    assert answer.status_code == 400
    assert field_error(answer.text, "field") == "Bitte wählen Sie ein Tätigkeitsfeld aus der Liste."
    assert listed_sites(answer.text) == ["Site A", "Site B"]
