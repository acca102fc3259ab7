"""Search terms are text: % and _ (and the escape character) typed by someone match themselves,
never "anything" (SQL LIKE wildcards are escaped), on both databases."""

from __future__ import annotations

from booking.models import Resource
from booking.services import user_admin


async def test_percent_and_underscore_in_a_resource_search_are_letters(client, world, app_context):
    everything = (await client.get("/api/v1/resources")).json()
    assert len(everything) >= 4
    for term in ("%", "_", "%%", "R%m", "Room_A1", "/", "/%"):
        response = await client.get("/api/v1/resources", params={"q": term})
        assert response.status_code == 200 and response.json() == [], (term, response.json())

    async with app_context.database.transaction() as session:
        session.add(Resource(site_id=world.site_a.id, kind="item", name="Bank 50% / Tisch_2", category="Furniture"))
    for term in ("%", "50%", "_", "Tisch_2", "/", "% / t"):
        names = [r["name"] for r in (await client.get("/api/v1/resources", params={"q": term})).json()]
        assert names == ["Bank 50% / Tisch_2"], (term, names)


async def test_percent_in_a_user_search_is_a_letter(world, app_context):
    found = await user_admin.list_users(app_context, world["city_admin"], text="%")
    assert found.users == [] and found.total == 0
    # "er%a" would match member_a@… as a pattern; as text it matches nobody.
    assert (await user_admin.list_users(app_context, world["city_admin"], text="er%a")).users == []
    assert (await user_admin.list_users(app_context, world["city_admin"], text="r_a")).total == 3  # member_a, lender_a, manager_a
