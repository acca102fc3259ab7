"""The admin's site form: accessibility (yes / no / not known), coordinates typed with range
checks at their fields, and the click-on-map picker offered as an enhancement."""

from __future__ import annotations

from tests.http.conftest import login
from tests.http.test_pages_admin import SITE_FORM, field_error, is_marked_invalid, load, post_form
from booking.models import Site


async def test_accessibility_is_saved_and_shown_again(client, world, app_context):
    await login(client, world, "manager_a")
    site_id = world.site_a.id
    form = {**SITE_FORM, "name": "Site A", "step_free": "yes", "accessible_toilet": "no", "hearing_loop": "",
            "accessibility_notes": "Rampe am Seiteneingang"}
    response = await post_form(client, f"/admin/sites/{site_id}/edit", form)
    assert response.status_code == 303, response.text
    [site] = await load(app_context, Site, id=site_id)
    assert (site.step_free, site.accessible_toilet, site.hearing_loop) == (True, False, None)
    assert site.accessibility_notes == "Rampe am Seiteneingang"
    edit = (await client.get(f"/admin/sites/{site_id}/edit")).text
    assert '<option value="yes" selected' in edit and "Rampe am Seiteneingang" in edit
    assert 'id="site-map-picker"' in edit and "/static/site-map.js" in edit
    public = (await client.get(f"/orte/{site_id}")).text
    assert "Rampe am Seiteneingang" in public


async def test_out_of_range_coordinates_and_unknown_choices_are_refused_at_their_fields(client, world, app_context):
    await login(client, world, "manager_a")
    site_id = world.site_a.id
    bad = {**SITE_FORM, "name": "Site A", "latitude": "91", "longitude": "-181", "step_free": "vielleicht"}
    response = await post_form(client, f"/admin/sites/{site_id}/edit", bad)
    assert response.status_code == 400
    for field_id in ("field-latitude", "field-longitude", "field-step_free"):
        assert is_marked_invalid(response.text, field_id), field_id
    assert "-90" in field_error(response.text, "field-latitude")
    assert "-180" in field_error(response.text, "field-longitude")
    assert 'value="91"' in response.text
    [site] = await load(app_context, Site, id=site_id)
    assert site.latitude is None and site.step_free is None
