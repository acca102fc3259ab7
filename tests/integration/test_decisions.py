"""One e-mail per decision: a whole series or a kit is decided in one step and sends ONE
message with ONE invite — delivered through a real SMTP server (aiosmtpd), the invite read back
with ical.js, on both databases."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from booking.domain.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from booking.domain.recurrence import RecurrenceRule
from booking.models import Booking, BookingEvent, Policy, Resource, Series
from booking.services import bookings, lending_bookings
from booking.services import series as series_service
from booking.services.series import SeriesRequest
from tests.integration.test_notifications import calendar_part, deliver, mail_app  # noqa: F401 - fixture
from tests.support.icaljs import parse_with_icaljs
from tests.support.smtp import smtp_server  # noqa: F401 - fixture

BERLIN = ZoneInfo("Europe/Berlin")
EIGHT_TUESDAYS = RecurrenceRule("weekly", weekdays=("TU",), count=8)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def requested_series(app, world, rule=EIGHT_TUESDAYS):
    """Every Tuesday 18:00–20:00 in the hall that needs approval: 8 requested dates (across
    the spring DST switch on 29 March, so the instants differ by an hour)."""
    request = SeriesRequest(
        world.room_approval.id, datetime(2026, 3, 3, 18, 0), timedelta(hours=2), rule,
        organisation_id=world.org_a.id, title="Chorprobe",
    )
    return await series_service.create_series(app, world["member_a"], request)


async def new_messages(app, server, before: int):
    await deliver(app)
    return server.messages[before:]


async def stored_occurrences(app, series_id: int) -> list[Booking]:
    async with app.database.reader() as session:
        return list((await session.exec(select(Booking).where(Booking.series_id == series_id).order_by(Booking.starts_at))).all())


def invite_of(received):
    part = calendar_part(received.message)
    assert part is not None, "the message carries an invite"
    reading = parse_with_icaljs(part.get_payload(decode=True))
    assert part.get_param("method") == reading["method"]
    return reading


async def test_approving_a_series_sends_one_mail_with_the_series_invite(mail_app, world, smtp_server):  # noqa: F811
    app = mail_app
    made = await requested_series(app, world)
    assert {b.status for b in made.booked} == {"requested"} and len(made.booked) == 8
    await deliver(app)
    # Creation: one receipt to the booker, one request per lender (not one per date).
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(
        [world.emails["member_a"], world.emails["lender_a"], world.emails["manager_a"]]
    )
    lender_text = next(m for m in smtp_server.messages if m.rcpt_tos[0] == world.emails["lender_a"]).message
    assert "jeden Dienstag, 18:00–20:00 Uhr, 8 Termine" in lender_text.get_body(("plain",)).get_content()
    before = len(smtp_server.messages)

    view = await series_service.approve_series(app, world["lender_a"], made.series.id)
    assert {b.status for b in view.occurrences} == {"confirmed"}
    [received] = await new_messages(app, smtp_server, before)
    assert received.rcpt_tos == [world.emails["member_a"]]
    message = received.message
    assert message["Subject"] == "Serienbuchung bestätigt: Chorprobe"
    text = message.get_body(("plain",)).get_content()
    assert "8 Termine Ihrer Serienbuchung wurden bestätigt." in text
    assert "Wann: jeden Dienstag, 18:00–20:00 Uhr, 8 Termine" in text

    reading = invite_of(received)
    assert reading["method"] == "REQUEST"
    [master] = reading["events"]
    assert master["uid"] == f"series-{made.series.id}@{app.settings.host_name}"
    assert master["rrule"] and "FREQ=WEEKLY" in master["rrule"] and master["status"] == "CONFIRMED"
    assert master["start"]["tzid"] == "Europe/Berlin"
    stored = await stored_occurrences(app, made.series.id)
    assert [o["start"] for o in master["occurrences"]] == [iso(b.starts_at) for b in stored]
    assert [o["end"] for o in master["occurrences"]] == [iso(b.ends_at) for b in stored]
    assert {o["local_start"][11:] for o in master["occurrences"]} == {"18:00:00"}
    # One audit entry per date, as for single decisions.
    async with app.database.reader() as session:
        events = (await session.exec(select(BookingEvent).where(BookingEvent.action == "approve"))).all()
        series_row = await session.get(Series, made.series.id)
    assert sorted(e.booking_id for e in events) == sorted(b.id for b in stored)
    assert master["sequence"] > 0 and series_row.sequence == 1

    # A second decision finds nothing waiting: 409, no mail.
    with pytest.raises(TransitionNotAllowed):
        await series_service.approve_series(app, world["lender_a"], made.series.id)
    assert await new_messages(app, smtp_server, before + 1) == []


async def test_declining_a_series_sends_one_cancel(mail_app, world, smtp_server):  # noqa: F811
    app = mail_app
    made = await requested_series(app, world)
    await deliver(app)
    before = len(smtp_server.messages)
    with pytest.raises(InvalidInput):
        await series_service.decline_series(app, world["lender_a"], made.series.id, "  ")
    view = await series_service.decline_series(app, world["manager_a"], made.series.id, "Saal wird renoviert")
    assert {b.status for b in view.occurrences} == {"declined"}
    assert {b.decision_reason for b in view.occurrences} == {"Saal wird renoviert"}
    [received] = await new_messages(app, smtp_server, before)
    assert received.rcpt_tos == [world.emails["member_a"]]
    text = received.message.get_body(("plain",)).get_content()
    assert "Saal wird renoviert" in text and "8 angefragte Termine" in text
    reading = invite_of(received)
    assert reading["method"] == "CANCEL"
    [event] = reading["events"]
    assert event["uid"] == f"series-{made.series.id}@{app.settings.host_name}"
    assert event["status"] == "CANCELLED" and event["recurrence_id"] is None


async def test_one_date_cancelled_is_an_override_and_the_whole_series_one_cancel(mail_app, world, smtp_server):  # noqa: F811
    app = mail_app
    made = await requested_series(app, world)
    await series_service.approve_series(app, world["lender_a"], made.series.id)
    await deliver(app)
    approval = invite_of(smtp_server.messages[-1])["events"][0]
    before = len(smtp_server.messages)

    third = made.booked[2]
    await bookings.cancel_booking(app, world["member_a"], third.id, "Ferien")
    [single] = await new_messages(app, smtp_server, before)
    reading = invite_of(single)
    assert reading["method"] == "CANCEL"
    [override] = reading["events"]
    assert override["uid"] == f"series-{made.series.id}@{app.settings.host_name}"
    assert override["recurrence_id"]["utc"] == iso(third.recurrence_id)
    assert override["recurrence_id"]["local"].endswith("T18:00:00")
    assert override["sequence"] > approval["sequence"]

    view = await series_service.cancel_series(app, world["member_a"], made.series.id, scope="all", reason="Chor aufgelöst")
    assert [b.status for b in view.occurrences].count("cancelled") == 8
    [whole] = await new_messages(app, smtp_server, before + 1)
    assert whole.rcpt_tos == [world.emails["member_a"]]
    text = whole.message.get_body(("plain",)).get_content()
    assert "7 Termine Ihrer Serienbuchung wurden storniert." in text and "Chor aufgelöst" in text
    reading = invite_of(whole)
    assert reading["method"] == "CANCEL"
    [event] = reading["events"]
    assert event["uid"] == f"series-{made.series.id}@{app.settings.host_name}"
    assert event["recurrence_id"] is None and event["status"] == "CANCELLED"
    assert event["sequence"] > override["sequence"] > approval["sequence"]


async def test_cancel_following_and_change_following_send_one_series_request(mail_app, world, smtp_server):  # noqa: F811
    app = mail_app
    made = await series_service.create_series(
        app, world["member_a"],
        SeriesRequest(world.room.id, datetime(2026, 2, 3, 18, 0), timedelta(hours=2), RecurrenceRule("weekly", count=6), title="Kurs"),
    )
    await deliver(app)
    before = len(smtp_server.messages)
    fifth = made.booked[4]
    await series_service.cancel_series(app, world["member_a"], made.series.id, scope="following", from_=fifth.recurrence_id)
    [cancelled] = await new_messages(app, smtp_server, before)
    reading = invite_of(cancelled)
    # Four dates remain: the series' invite without the last two (EXDATE), not two CANCELs.
    assert reading["method"] == "REQUEST"
    [master] = reading["events"]
    assert [o["start"] for o in master["occurrences"]] == [iso(b.starts_at) for b in made.booked[:4]]
    assert "2 Termine Ihrer Serienbuchung wurden storniert." in cancelled.message.get_body(("plain",)).get_content()

    third = made.booked[2]
    await series_service.change_series(app, world["member_a"], made.series.id, from_=third.recurrence_id, local_time=datetime(2026, 1, 1, 19).time())
    [changed] = await new_messages(app, smtp_server, before + 1)
    text = changed.message.get_body(("plain",)).get_content()
    assert "2 Termine Ihrer Serienbuchung wurden geändert." in text
    assert "19:00–21:00 Uhr" in text
    reading = invite_of(changed)
    assert reading["method"] == "REQUEST"
    master = next(e for e in reading["events"] if e["recurrence_id"] is None)
    overrides = [e for e in reading["events"] if e["recurrence_id"] is not None]
    assert len(overrides) == 2 and all(e["sequence"] == master["sequence"] for e in overrides)
    stored = [b for b in await stored_occurrences(app, made.series.id) if b.status == "confirmed"]
    assert [o["start"] for o in master["occurrences"]] == [iso(b.starts_at) for b in stored]
    assert [o["local_start"][11:16] for o in master["occurrences"]] == ["18:00", "18:00", "19:00", "19:00"]


async def test_a_lender_of_another_site_cannot_decide_the_series(app, world):
    made = await requested_series(app, world, RecurrenceRule("weekly", weekdays=("TU",), count=2))
    for role in ("lender_b", "member_a", "org_admin_a"):
        with pytest.raises(PermissionDenied):
            await series_service.approve_series(app, world[role], made.series.id)
        with pytest.raises(PermissionDenied):
            await series_service.decline_series(app, world[role], made.series.id, "nein")
    view = await series_service.get_series(app, world["member_a"], made.series.id)
    assert {b.status for b in view.occurrences} == {"requested"}
    view = await series_service.approve_series(app, world["city_admin"], made.series.id)
    assert {b.status for b in view.occurrences} == {"confirmed"}


async def kit_things(app, world) -> list[Resource]:
    async with app.database.transaction() as session:
        projector = Resource(site_id=world.site_a.id, kind="item", name="Beamer", category="Technik")
        screen = Resource(site_id=world.site_a.id, kind="item", name="Leinwand", category="Technik")
        session.add_all([projector, screen])
        await session.flush()
        session.add(Policy(resource_id=projector.id, needs_approval=True, opening_hours_mode="endpoints"))
        session.add(Policy(resource_id=screen.id, opening_hours_mode="endpoints"))
    return [projector, screen, world.benches]


async def test_a_kit_is_requested_decided_and_confirmed_in_one_mail(mail_app, world, smtp_server):  # noqa: F811
    app = mail_app
    projector, screen, benches = await kit_things(app, world)
    parts = (lending_bookings.KitPart(projector.id), lending_bookings.KitPart(screen.id), lending_bookings.KitPart(benches.id, quantity=4))
    made = await lending_bookings.book_kit(
        app, world["member_a"], lending_bookings.KitRequest(parts, first_day=date(2026, 2, 6), last_day=date(2026, 2, 7), title="Sommerfest")
    )
    assert {b.status for b in made} == {"requested"}
    await deliver(app)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(
        [world.emails["member_a"], world.emails["lender_a"], world.emails["manager_a"]]
    )
    before = len(smtp_server.messages)

    # Approving one part approves the kit (by default): one mail naming every part.
    await bookings.approve_booking(app, world["lender_a"], made[1].id)
    [received] = await new_messages(app, smtp_server, before)
    assert received.rcpt_tos == [world.emails["member_a"]]
    text = received.message.get_body(("plain",)).get_content()
    for name in ("Beamer", "Leinwand", "Benches (4×)"):
        assert f"- {name}" in text
    html = received.message.get_body(("html",)).get_content()
    assert "Beamer" in html and "Leinwand" in html and "Benches" in html
    reading = invite_of(received)
    assert reading["method"] == "REQUEST"
    [event] = reading["events"]
    assert event["uid"] == f"kit-{made[0].group_key}@{app.settings.host_name}"
    assert "Beamer" in event["summary"] and "Leinwand" in event["summary"] and "Benches" in event["summary"]
    assert event["status"] == "CONFIRMED"
    async with app.database.reader() as session:
        statuses = (await session.exec(select(Booking.status).where(Booking.group_key == made[0].group_key))).all()
    assert set(statuses) == {"confirmed"}

    # Cancelling the whole kit part by part: the last one cancels the kit's invite.
    for index, booking in enumerate(made):
        await bookings.cancel_booking(app, world["member_a"], booking.id)
        [update] = await new_messages(app, smtp_server, before + 1 + index)
        method = invite_of(update)["method"]
        assert method == ("CANCEL" if index == len(made) - 1 else "REQUEST")


async def test_a_kit_without_approval_sends_one_confirmation(mail_app, world, smtp_server):  # noqa: F811
    app = mail_app
    _, screen, benches = await kit_things(app, world)
    made = await lending_bookings.book_kit(
        app, world["member_a"],
        lending_bookings.KitRequest((lending_bookings.KitPart(screen.id), lending_bookings.KitPart(benches.id, quantity=2)), first_day=date(2026, 2, 6), last_day=date(2026, 2, 6)),
    )
    assert {b.status for b in made} == {"confirmed"}
    [received] = await new_messages(app, smtp_server, 0)
    assert received.rcpt_tos == [world.emails["member_a"]]
    assert received.message["Subject"].startswith("Buchung bestätigt")
    text = received.message.get_body(("plain",)).get_content()
    assert "- Leinwand" in text and "- Benches (2×)" in text
    assert invite_of(received)["events"][0]["uid"] == f"kit-{made[0].group_key}@{app.settings.host_name}"
