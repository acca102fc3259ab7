"""A volunteer offer's place cancelled through the general bookings path (``bookings.cancel_booking``,
as ``POST /api/v1/bookings/{id}/cancel`` and the booking pages do) ends like a cancel by the mailed
link (issue 14), on both databases: the sign-up is cancelled, the person gets the offer's cancel
mail with a CANCEL invite (not the hidden resource's name), the freed place goes to the first in
the date's waiting line once — and the cancel cannot be undone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from booking.domain.errors import TransitionNotAllowed
from booking.models import Booking, OfferSignup, OutboxMessage
from booking.services import bookings, offer_catalogue, offer_publishing, offer_signups, offer_waiting_list
from booking.services.offer_publishing import OfferInput
from tests.integration.test_notifications import calendar_part, deliver, mail_app  # noqa: F401 (fixture)
from tests.support.world import next_monday


async def full_date_with_one_waiting(app, world):
    start = next_monday(app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], OfferInput(
        kind="task", title="Lesepatenschaft", site_id=world.site_a.id, places=1, local_start=start, duration=timedelta(hours=2),
        organisation_id=world.org_a.id))
    await offer_signups.sign_up(app, world["member_a"], offer.id, None)
    date_id = (await offer_catalogue.get_offer(app, None, offer.id)).dates[0].id
    await offer_waiting_list.join_waiting_list(app, world["member_b"], offer.id, date_id)
    async with app.database.reader() as session:
        signup = (await session.exec(select(OfferSignup).where(OfferSignup.offer_id == offer.id))).one()
    return offer, signup


async def outcome(app, world, offer, signup) -> tuple[str, list[tuple[str, str]], list[int]]:
    async with app.database.reader() as session:
        status = (await session.get(OfferSignup, signup.id)).status  # type: ignore[union-attr]
        kinds = sorted((m.kind, m.recipient) for m in (await session.exec(select(OutboxMessage).where(
            col(OutboxMessage.kind).notin_(["offer_confirmed"])))).all())
        holds = [b.booker_id for b in (await session.exec(select(Booking).where(
            Booking.resource_id == offer.resource_id, Booking.status == "held"))).all()]
    return status, kinds, holds  # type: ignore[return-value]


@pytest.mark.parametrize("how", ["bookings", "link"])
async def test_the_general_cancel_ends_a_place_like_the_link(mail_app, world, smtp_server, how):
    app = mail_app
    offer, signup = await full_date_with_one_waiting(app, world)
    if how == "bookings":
        await bookings.cancel_booking(app, world["member_a"], signup.booking_id)  # type: ignore[arg-type]
    else:
        from booking.auth.tokens import new_token

        token, digest = new_token()  # the mailed link's token is only in the mail: set a known one
        async with app.database.transaction() as session:
            row = await session.get(OfferSignup, signup.id)
            row.cancel_token_hash = digest  # type: ignore[union-attr]
            session.add(row)
        await offer_signups.cancel_with_link(app, token)
    status, kinds, holds = await outcome(app, world, offer, signup)
    assert status == "cancelled"
    assert kinds == [("offer_cancelled", world.emails["member_a"]), ("waiting_list_offer", world.emails["member_b"])]
    assert holds == [world["member_b"].user_id]
    await deliver(app)
    [message] = [m for m in smtp_server.messages if world.emails["member_a"] in m.rcpt_tos and "abgesagt" in str(m.message["Subject"])]
    text = message.message.get_body(preferencelist=("plain",)).get_content()
    assert str(message.message["Subject"]).startswith("Platz abgesagt: Lesepatenschaft") and "Ihr Platz ist abgesagt." in text
    assert f"offer-{offer.id}" not in text and f"offer-{offer.id}" not in str(message.message["Subject"])
    calendar = calendar_part(message.message)
    assert calendar is not None and "METHOD:CANCEL" in calendar.get_payload(decode=True).decode()
    # No way back through the bookings path: the place may be someone else's hold already.
    assert await bookings.undo_cancel_deadline(app, world["member_a"], signup.booking_id) is None  # type: ignore[arg-type]
    with pytest.raises(TransitionNotAllowed):
        await bookings.undo_cancel(app, world["member_a"], signup.booking_id)  # type: ignore[arg-type]
