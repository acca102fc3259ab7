"""An offer's organisers order the waiting list of each of its dates (issue 14), on both databases.

``waiting_list_staff.move`` / ``remove`` admit the offer's organisers (``offer_permissions.may_manage``)
besides the site's staff, and nobody else; for an offer's places a move stays within the line of
the entry's date; a removal tells the person by mail (outbox, composed by the worker).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.auth.principal import Principal
from booking.domain.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from booking.models import Membership, OutboxMessage, User, WaitingListEntry
from booking.services import offer_catalogue, offer_organisers, offer_publishing, offer_signups, offer_waiting_list, waiting_list_staff
from booking.services.accounts import load_principal
from booking.services.offer_publishing import OfferInput
from tests.integration.test_notifications import deliver, mail_app  # noqa: F401 (fixture)
from tests.support.world import next_monday


async def people(app, count: int) -> list[Principal]:
    async with app.database.transaction() as session:
        users = [User(email=f"waiter{n}@example.org", display_name=f"Wartende {n}", email_verified_at=app.now()) for n in range(count)]
        session.add_all(users)
        await session.flush()
        return [await load_principal(session, user) for user in users]


async def admin_of_org_b(app, world) -> Principal:
    async with app.database.transaction() as session:
        membership = (await session.exec(select(Membership).where(Membership.user_id == world["member_b"].user_id))).one()
        membership.role = "admin"
        session.add(membership)
        await session.flush()
        user = await session.get(User, world["member_b"].user_id)
        return await load_principal(session, user)  # type: ignore[arg-type]


async def full_offer_with_lines(app, world):
    """One place on each of two dates, both taken; three wait for the first date, one for the second."""
    start = next_monday(app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(app, world["org_admin_a"], OfferInput(
        kind="task", title="Tafel: Ausgabe", site_id=world.site_a.id, places=1, local_start=start, duration=timedelta(hours=2),
        organisation_id=world.org_a.id, repeat="weekly", count=2))
    first, second = (await offer_catalogue.get_offer(app, None, offer.id)).dates
    taker, *waiters = await people(app, 5)
    await offer_signups.sign_up(app, taker, offer.id, None)
    entries = [await offer_waiting_list.join_waiting_list(app, person, offer.id, first.id) for person in waiters[:3]]
    entries.append(await offer_waiting_list.join_waiting_list(app, waiters[3], offer.id, second.id))
    return offer, first.id, second.id, entries


async def line_of(app, actor, offer_id: int, date_id: int) -> list[int]:
    _view, per_date = await offer_organisers.participants(app, actor, offer_id)
    return [w.entry_id for item in per_date if item.date.id == date_id for w in item.waiting]


async def test_organisers_move_within_a_date_and_everybody_else_is_refused(app, world):
    offer, first, second, (a, b, c, d) = await full_offer_with_lines(app, world)
    organiser = world["org_admin_a"]
    assert await line_of(app, organiser, offer.id, first) == [a.id, b.id, c.id]
    assert await offer_waiting_list.move_entry(app, organiser, offer.id, c.id, "up") == first
    assert await line_of(app, organiser, offer.id, first) == [a.id, c.id, b.id]
    # The site's staff order it too (their page links here).
    await waiting_list_staff.move(app, world["lender_a"], a.id, "down")
    assert await line_of(app, organiser, offer.id, first) == [c.id, a.id, b.id]
    # The line is the date's: the only one waiting for the second date cannot move up past the
    # people waiting for the first (on the resource's whole line it would have).
    with pytest.raises(InvalidInput):
        await offer_waiting_list.move_entry(app, organiser, offer.id, d.id, "up")
    with pytest.raises(InvalidInput):
        await offer_waiting_list.move_entry(app, organiser, offer.id, c.id, "sideways")
    # Deny by default: members, staff of another site, the admin of another organisation, and
    # on the general service path too.
    other_admin = await admin_of_org_b(app, world)
    for role in (world["member_a"], world["member_b"], world["lender_b"], other_admin):
        with pytest.raises(PermissionDenied):
            await offer_waiting_list.move_entry(app, role, offer.id, a.id, "up")
        with pytest.raises(PermissionDenied):
            await offer_waiting_list.remove_entry(app, role, offer.id, a.id)
        with pytest.raises(PermissionDenied):
            await waiting_list_staff.move(app, role, a.id, "up")
        with pytest.raises(PermissionDenied):
            await waiting_list_staff.remove(app, role, a.id)
    assert await line_of(app, organiser, offer.id, first) == [c.id, a.id, b.id]
    with pytest.raises(NotFound):  # no such entry
        await offer_waiting_list.move_entry(app, organiser, offer.id, d.id + 1000, "up")


async def test_an_offers_organiser_orders_no_other_waiting_list(app, world):
    start = next_monday(app.now(), 2) + timedelta(hours=9)
    async with app.database.transaction() as session:
        entry = WaitingListEntry(resource_id=world.room.id, starts_at=start, ends_at=start + timedelta(hours=1),
                                 person_id=world["member_a"].user_id, position=1, status="waiting", created_at=app.now())
        session.add(entry)
        await session.flush()
    offer, _first, _second, _entries = await full_offer_with_lines(app, world)
    with pytest.raises(PermissionDenied):  # a room's line is the site staff's alone
        await waiting_list_staff.remove(app, world["org_admin_a"], entry.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):  # the room's entry is no entry of the offer
        await offer_waiting_list.remove_entry(app, world["org_admin_a"], offer.id, entry.id)  # type: ignore[arg-type]
    # The site's staff list rooms only; the offer's dates are linked by title and date.
    lists = await waiting_list_staff.site_lists(app, world["lender_a"], world.site_a.id)
    assert list(lists) == [world.room.id]
    dates = await offer_waiting_list.site_waiting_dates(app, world["lender_a"], world.site_a.id)
    assert [(d.offer_title, d.waiting) for d in dates] == [("Tafel: Ausgabe", 3), ("Tafel: Ausgabe", 1)]
    with pytest.raises(PermissionDenied):
        await offer_waiting_list.site_waiting_dates(app, world["org_admin_a"], world.site_a.id)


async def test_a_removal_tells_the_person_by_mail(mail_app, world, smtp_server):
    app = mail_app
    offer, first, _second, (a, b, c, _d) = await full_offer_with_lines(app, world)
    assert await offer_waiting_list.remove_entry(app, world["org_admin_a"], offer.id, b.id) == first
    assert await line_of(app, world["org_admin_a"], offer.id, first) == [a.id, c.id]
    async with app.database.reader() as session:
        [row] = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "waiting_list_removed"))).all()
        person = await session.get(User, b.person_id)
    assert row.recipient == person.email  # type: ignore[union-attr]
    await deliver(app)
    [message] = [m for m in smtp_server.messages if person.email in m.rcpt_tos]  # type: ignore[union-attr]
    text = message.message.get_body(preferencelist=("plain",)).get_content()
    assert "Von der Warteliste genommen: Tafel: Ausgabe" in str(message.message["Subject"])
    assert "Tafel: Ausgabe" in text and f"offer-{offer.id}" not in text  # the offer, not its hidden resource
    # Removed once: a second removal is refused and mails nobody.
    with pytest.raises(TransitionNotAllowed):
        await offer_waiting_list.remove_entry(app, world["org_admin_a"], offer.id, b.id)
    async with app.database.reader() as session:
        assert len((await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "waiting_list_removed"))).all()) == 1
