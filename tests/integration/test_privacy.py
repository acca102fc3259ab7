"""Export, erasure and retention of personal data, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from booking.models import (
    Booking, EmailToken, FeedToken, Invitation, Organisation, OutboxMessage, SiteRole, User,
)
from booking.services import accounts, bookings, credentials, feeds, handover, registration, series
from booking.services.privacy import erasure, export, retention
from booking.services.privacy.registry import personal_tables
from booking.domain.errors import DomainError
from tests.support.world import PASSWORD, World, next_monday

PERSON = "member_a"
PERSON_NAME = "Member A"
PERSON_EMAIL = "member_a@example.org"
TITLES = ("Chorprobe Shanty", "Kassenprüfung Verein", "Zeltlager Sommer", "Probe Serie")
OTHER_TITLE = "Geheimtreffen Anderer"


@dataclasses.dataclass
class Filled:
    past_ids: list[int]
    upcoming_ids: list[int]
    loan_booking_id: int
    feed_token: str
    api_token: str


async def fill_person(app, world: World, clock) -> Filled:
    """One person's data in every table, and another person's next to it."""
    person = world[PERSON]
    start = next_monday(clock.now) + timedelta(hours=10)
    past = [
        await bookings.create_booking(app, person, bookings.BookingRequest(
            world.room.id, start, start + timedelta(hours=2), organisation_id=world.org_a.id, title=TITLES[0], purpose="Noten mitbringen")),
        await bookings.create_booking(app, person, bookings.BookingRequest(
            world.room_approval.id, start + timedelta(days=1), start + timedelta(days=1, hours=1), title=TITLES[1], purpose="Belege")),
    ]
    loan = await bookings.create_booking(app, person, bookings.BookingRequest(
        world.benches.id, start + timedelta(days=2), start + timedelta(days=3), quantity=2, title=TITLES[2]))
    await handover.hand_out(app, world["lender_a"], loan.id, handover.HandOut(condition="Bank 3 wackelt, Member A informiert"))
    await handover.take_back(app, world["lender_a"], loan.id, handover.TakeBack(condition="gut"))
    await bookings.create_booking(app, world["member_b"], bookings.BookingRequest(
        world.room_b.id, start, start + timedelta(hours=1), title=OTHER_TITLE))
    api_token = await accounts.create_api_token(app, PERSON_EMAIL, "Kalender-Skript")
    feed = await feeds.create_feed(app, person, "person", None)
    async with app.database.transaction() as session:
        session.add(SiteRole(user_id=person.user_id, site_id=world.site_b.id, role="lender"))
        session.add(Invitation(organisation_id=world.org_b.id, email=PERSON_EMAIL, role="member", token_hash="x" * 64,
                               expires_at=clock.now + timedelta(days=14), created_at=clock.now))
        organisation = await session.get(Organisation, world.org_b.id)
        organisation.contact_email = PERSON_EMAIL
        session.add(organisation)
    await registration.request_login_link(app, PERSON_EMAIL, "de")

    # Later: those bookings are past; new ones are upcoming (one needs approval: lenders asked).
    clock.now = start + timedelta(days=10)
    later = next_monday(clock.now) + timedelta(hours=10)
    upcoming = [
        await bookings.create_booking(app, person, bookings.BookingRequest(
            world.room.id, later, later + timedelta(hours=2), organisation_id=world.org_a.id, title="Zukunft eins")),
        await bookings.create_booking(app, person, bookings.BookingRequest(
            world.room_approval.id, later + timedelta(days=1), later + timedelta(days=1, hours=2), title="Zukunft zwei")),
    ]
    made = await series.create_series(app, person, series.SeriesRequest(
        world.comparable_room.id, (later + timedelta(days=2)).replace(tzinfo=None), timedelta(hours=1),
        "FREQ=WEEKLY;COUNT=3", title=TITLES[3]))
    upcoming += [b.id for b in made.booked] if hasattr(made, "booked") else []
    return Filled([b.id for b in past] + [loan.id], [b.id if isinstance(b, Booking) else b for b in upcoming], loan.id,
                  feed.token if hasattr(feed, "token") else "", api_token)


async def everything_as_text(database) -> str:
    """Every column of every table, as one big text (to search for traces of a person)."""
    chunks: list[str] = []
    async with database.reader() as session:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await session.exec(text(f'SELECT * FROM "{table.name}"'))).all()  # type: ignore[call-overload]
            chunks.extend(repr(tuple(row)) for row in rows)
    return "\n".join(chunks)


async def usage(database) -> Counter:
    async with database.reader() as session:
        rows = (await session.exec(select(Booking.resource_id, Booking.starts_at))).all()
    return Counter((resource_id, starts_at.strftime("%Y-%m")) for resource_id, starts_at in rows)


async def test_export_holds_all_of_the_person_and_nothing_of_others(app, world, clock) -> None:
    filled = await fill_person(app, world, clock)
    data = await export.export_person(app, world[PERSON].user_id)
    dumped = export.export_json(data).decode()

    assert data.account.email == PERSON_EMAIL and data.account.display_name == PERSON_NAME
    assert {m.organisation_name for m in data.memberships} == {"Org A"}
    assert {r.site_name for r in data.site_roles} == {"Site B"}
    assert {b.id for b in data.bookings} >= set(filled.past_ids + filled.upcoming_ids)
    assert {b.site_name for b in data.bookings} == {"Site A"}
    for title in TITLES:
        assert title in dumped
    assert [s.title for s in data.series] == [TITLES[3]]
    assert [loan.booking_id for loan in data.loans] == [filled.loan_booking_id]
    assert data.loans[0].condition_out.startswith("Bank 3")
    assert [t.name for t in data.api_tokens] == ["Kalender-Skript"]
    assert len(data.feeds) == 1
    assert data.emails and all(e.subject for e in data.emails)
    assert {e.kind for e in data.emails} >= {"confirmed", "login_link"}
    assert data.audit and {e.booking_id for e in data.audit} <= {b.id for b in data.bookings}
    assert [i.email for i in data.invitations] == [PERSON_EMAIL]
    # Never a secret, never another person.
    assert filled.api_token not in dumped and "token_hash" not in dumped and "password" not in dumped
    for other in (OTHER_TITLE, "member_b@example.org", "Member B", "lender_a@example.org", "Lender A"):
        assert other not in dumped
    # Every section the registry names is in the export.
    for policy in personal_tables():
        if policy.export:
            assert policy.export in data.__struct_fields__


async def test_erasure_leaves_no_trace_but_keeps_usage(app, world, clock, database) -> None:
    filled = await fill_person(app, world, clock)
    before = await usage(database)
    outbox_before = await _outbox_ids(database)

    report = await erasure.erase_account(app, world["city_admin"], email=PERSON_EMAIL)

    assert set(report.cancelled_bookings) >= set(filled.upcoming_ids[:2])
    everything = await everything_as_text(database)
    for trace in (PERSON_NAME, PERSON_EMAIL, *TITLES, "Zukunft eins", "Noten mitbringen", "Member A informiert", "Kalender-Skript"):
        assert trace not in everything, trace
    assert OTHER_TITLE in everything  # the other person's data stays
    assert await usage(database) == before
    async with database.reader() as session:
        statuses = {b.id: b.status for b in (await session.exec(select(Booking))).all()}
        mail = (await session.exec(select(OutboxMessage))).all()
        assert (await session.exec(select(User).where(User.email == PERSON_EMAIL))).first() is None
        assert (await session.exec(select(FeedToken))).all() == []
        assert (await session.exec(select(EmailToken))).all() == []
    assert all(statuses[i] == "cancelled" for i in report.cancelled_bookings)
    assert statuses[filled.past_ids[0]] == "confirmed"
    # Lenders of site A heard of every cancelled booking; the erased person gets nothing.
    assert not any(m.kind == "cancelled_to_staff" for m in outbox_before)
    to_lenders = Counter(m.recipient for m in mail if m.kind == "cancelled_to_staff")
    assert to_lenders["lender_a@example.org"] == len(report.cancelled_bookings)
    assert all(m.recipient != PERSON_EMAIL for m in mail)
    with pytest.raises(registration.LoginRefused):
        await registration.password_login(app, PERSON_EMAIL, PASSWORD)
    assert await credentials.user_for_api_token(app, filled.api_token) is None


async def _outbox_ids(database) -> list[OutboxMessage]:
    async with database.reader() as session:
        return list((await session.exec(select(OutboxMessage))).all())


async def test_last_admin_must_hand_over_first(app, world) -> None:
    with pytest.raises(erasure.ErasureRefused) as refused:
        await erasure.erase_account(app, world["city_admin"], email="admin_a@example.org")
    assert "Org A" in refused.value.message and refused.value.status_code == 409
    with pytest.raises(DomainError):
        await erasure.erase_own_account(app, world["member_a"], password="wrong-password-1")
    with pytest.raises(DomainError):
        await erasure.erase_account(app, world["member_b"], email=PERSON_EMAIL)


async def test_retention_purges_what_the_settings_say_idempotently(app, world, clock, database) -> None:
    filled = await fill_person(app, world, clock)
    start = clock.now
    async with app.database.transaction() as session:
        session.add(User(email="never@example.org", display_name="Never Confirmed", created_at=start))
    await _send_all(database, start)
    privacy = app.settings.privacy

    # Nothing is old enough yet.
    report = await retention.purge(app, now=start + timedelta(days=1))
    assert (report.bookings_anonymised, report.mail_bodies_deleted, report.unverified_accounts_deleted) == (0, 0, 0)
    assert report.email_tokens_deleted == 1  # the login link of the first days expired long ago

    # After the mail and account periods, before the bookings period.
    later = start + timedelta(days=max(privacy.delete_mail_bodies_after_days, privacy.delete_unverified_accounts_after_days) + 1)
    dry = await retention.purge(app, now=later, dry_run=True)
    assert dry.mail_bodies_deleted > 0 and dry.unverified_accounts_deleted == 1 and dry.invitations_deleted == 1
    assert (await retention.purge(app, now=later, dry_run=True)) == dry  # a dry run changes nothing
    done = await retention.purge(app, now=later)
    assert dataclasses.replace(done, dry_run=True) == dry
    async with database.reader() as session:
        sent = (await session.exec(select(OutboxMessage).where(OutboxMessage.status == "sent"))).all()
        assert sent and all(m.raw == "" and m.recipient == "" and m.subject == "" for m in sent)
        assert all(m.sent_at is not None and m.kind for m in sent)
        assert (await session.exec(select(User).where(User.email == "never@example.org"))).first() is None
        assert (await session.exec(select(Booking).where(Booking.title == TITLES[0]))).first() is not None
    again = await retention.purge(app, now=later)
    assert (again.bookings_anonymised, again.mail_bodies_deleted, again.unverified_accounts_deleted,
            again.email_tokens_deleted, again.invitations_deleted) == (0, 0, 0, 0, 0)

    # After the bookings period: exactly the bookings that ended before the cut-off.
    much_later = start + timedelta(days=31 * privacy.anonymise_bookings_after_months)
    cutoff = retention.cutoffs(privacy, much_later).bookings_ended_before
    async with database.reader() as session:
        expected = {b.id for b in (await session.exec(select(Booking))).all() if b.ends_at < cutoff}
    usage_before = await usage(database)
    report = await retention.purge(app, now=much_later)
    assert report.bookings_anonymised == len(expected) and expected >= set(filled.past_ids)
    async with database.reader() as session:
        rows = (await session.exec(select(Booking))).all()
        anonymised = {b.id for b in rows if b.title == "" and b.purpose == ""}
    assert expected <= anonymised
    assert await usage(database) == usage_before
    assert (await retention.purge(app, now=much_later)).bookings_anonymised == 0


async def _send_all(database, now: datetime) -> None:
    """Mark every queued message as sent (what the worker does after the server accepted it)."""
    async with database.transaction() as session:
        for message in (await session.exec(select(OutboxMessage))).all():
            message.status, message.sent_at = "sent", now
            session.add(message)
