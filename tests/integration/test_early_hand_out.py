"""Handing a thing out well before its booked start asks first (both databases): the loan would
start now instead of at the booked start. Only after the lender confirms does the start move;
when someone else has the thing booked in between, the page says so (409) and asks nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.domain.errors import Conflict, NotFound, PermissionDenied
from booking.models import Booking
from booking.services import handover
from tests.http.conftest import login
from tests.integration.test_lending import book_days, client, day, post_form, things  # noqa: F401 (fixtures)
from tests.support.world import utc


async def current(app, booking_id: int) -> Booking:  # type: ignore[no-untyped-def]
    async with app.database.reader() as session:
        return (await session.exec(select(Booking).where(Booking.id == booking_id))).one()


async def test_early_start_is_reported_only_beyond_the_grace_and_checks_the_time_between(app, things):
    app.clock.now = utc(2026, 1, 6, 8, 0)  # Tuesday 09:00 local
    thursday = await book_days(app, things, "member_a", things.projector, day(3), day(3))
    early = await handover.early_start(app, things["lender_a"], thursday.id)
    assert early is not None and early.booked_start == thursday.starts_at and early.now == app.now()
    assert early.names == ("Beamer Epson",) and early.timezone == "Europe/Berlin"
    assert (await current(app, thursday.id)).status == "confirmed", "asking changes nothing"

    # Within the grace before the start it is an ordinary hand-out: nothing to ask.
    app.clock.now = thursday.starts_at - handover.EARLY_START_WITHOUT_ASKING + timedelta(minutes=1)
    assert await handover.early_start(app, things["lender_a"], thursday.id) is None

    # Booked by someone else in between: a conflict, before anyone is asked.
    app.clock.now = utc(2026, 1, 6, 8, 0)
    await book_days(app, things, "member_b", things.projector, day(2), day(2))
    with pytest.raises(Conflict) as refused:
        await handover.early_start(app, things["lender_a"], thursday.id)
    assert "before its pick-up time" in refused.value.message
    # Only lenders of the site may ask.
    with pytest.raises((PermissionDenied, NotFound)):
        await handover.early_start(app, things["member_a"], thursday.id)


async def test_the_page_asks_before_an_early_hand_out_and_moves_the_start_only_when_confirmed(client, app, things):  # noqa: F811
    app.clock.now = utc(2026, 1, 6, 8, 0)  # Tuesday 09:00 local
    thursday = await book_days(app, things, "member_a", things.projector, day(3), day(3))
    booked_start = thursday.starts_at
    await login(client, things.world, "lender_a")
    path = f"/lender/loans/{thursday.id}/hand-out"
    asked = await post_form(client, path, {"condition": "gut", "deposit_note": "Ausweis", "view": "today"})
    assert asked.status_code == 200
    assert "Vor dem gebuchten Beginn ausgeben?" in asked.text
    assert "Die Ausleihe beginnt jetzt (09:00) statt Donnerstag, 8. Januar, 10:00." in asked.text
    # The confirmation posts the notes again, with confirm=yes.
    for name, value in (("condition", "gut"), ("deposit_note", "Ausweis"), ("view", "today"), ("confirm", "yes")):
        assert f'name="{name}" value="{value}"' in asked.text
    unchanged = await current(app, thursday.id)
    assert (unchanged.status, unchanged.starts_at) == ("confirmed", booked_start)

    done = await post_form(client, path, {"condition": "gut", "deposit_note": "Ausweis", "view": "today", "confirm": "yes"})
    assert done.status_code == 303
    out = await current(app, thursday.id)
    assert (out.status, out.starts_at) == ("checked_out", app.now())


async def test_the_page_says_when_the_thing_is_booked_in_between_and_on_time_asks_nothing(client, app, things):  # noqa: F811
    app.clock.now = utc(2026, 1, 6, 8, 0)
    thursday = await book_days(app, things, "member_a", things.projector, day(3), day(3))
    await book_days(app, things, "member_b", things.projector, day(2), day(2))
    await login(client, things.world, "lender_a")
    refused = await post_form(client, f"/lender/loans/{thursday.id}/hand-out", {"view": "today"})
    assert refused.status_code == 409
    assert "Beamer Epson kann nicht vor der Abholzeit ausgegeben werden" in refused.text
    assert "Vor dem gebuchten Beginn ausgeben?" not in refused.text
    assert (await current(app, thursday.id)).status == "confirmed"
    # Even with confirm=yes the hand-out refuses: the check is repeated under the lock.
    forced = await post_form(client, f"/lender/loans/{thursday.id}/hand-out", {"view": "today", "confirm": "yes"})
    assert forced.status_code == 409 and (await current(app, thursday.id)).status == "confirmed"

    # On the day, a few minutes before the start: handed out at once.
    tuesday = await book_days(app, things, "member_a", things.screen, day(1), day(1))
    app.clock.now = tuesday.starts_at - timedelta(minutes=10)
    done = await post_form(client, f"/lender/loans/{tuesday.id}/hand-out", {"view": "today"})
    assert done.status_code == 303 and (await current(app, tuesday.id)).status == "checked_out"
