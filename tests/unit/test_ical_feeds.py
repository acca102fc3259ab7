"""What feeds show of a booking (public vs private) and the cached feed writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from booking.ical import CalendarEvent, build_calendar
from booking.ical.feeds import FeedEntry, FeedLabels, build_feed, build_freebusy_calendar, clear_cache, feed_event

START = datetime(2026, 3, 24, 17, tzinfo=UTC)
ENTRY = FeedEntry(
    booking_id=7, starts_at=START, ends_at=START + timedelta(hours=2), status="confirmed", sequence=2,
    updated_at=datetime(2026, 1, 5, 9, tzinfo=UTC), title="Chorprobe", purpose="Stimmbildung mit Frau Weber",
    is_public=False, resource_name="Room A1", site_name="Site A", site_address="Hafenstraße 1", timezone="Europe/Berlin",
    organisation_name="Org A", booker_name="Kim Muster", booker_email="kim@example.org", series_id=3,
)
LABELS = FeedLabels(busy="Belegt", booked_by="Gebucht von", organisation="Organisation", part_of_series="Teil einer Serie")


def test_public_feeds_show_busy_and_resource_only():
    event = feed_event(ENTRY, private=False, host="booking.example", labels=LABELS)
    assert event.uid == "booking-7@booking.example" and event.sequence == 2
    assert event.summary == "Belegt – Room A1" and event.description is None and event.url is None
    assert event.location == "Room A1, Site A, Hafenstraße 1"
    assert event.attendee_email is None and event.organizer_email is None
    text = build_calendar([event], name="x").decode()
    for secret in ("Chorprobe", "Stimmbildung", "Kim", "kim@example.org", "Org A"):
        assert secret not in text


def test_public_feeds_of_pooled_things_say_how_many_units_are_taken():
    labels = FeedLabels(busy="Belegt", units_taken="%(taken)s von %(capacity)s belegt")
    benches = ENTRY.__class__(**{**ENTRY.__dict__, "resource_name": "Bierbänke", "quantity": 3, "capacity": 10})
    assert feed_event(benches, private=False, host="h", labels=labels).summary == "3 von 10 belegt – Bierbänke"
    public = benches.__class__(**{**benches.__dict__, "is_public": True})
    assert feed_event(public, private=False, host="h", labels=labels).summary == "Chorprobe – Bierbänke (3 von 10 belegt)"
    assert feed_event(ENTRY, private=False, host="h", labels=labels).summary == "Belegt – Room A1"  # capacity 1


def test_public_bookings_show_title_purpose_and_organisation_but_no_person():
    event = feed_event(ENTRY.__class__(**{**ENTRY.__dict__, "is_public": True}), private=False, host="h", labels=LABELS)
    assert event.summary == "Chorprobe – Room A1"
    assert event.description == "Stimmbildung mit Frau Weber\nOrganisation: Org A"
    assert "Kim" not in build_calendar([event], name="x").decode()


def test_private_feeds_show_details():
    event = feed_event(ENTRY, private=True, host="h", labels=LABELS, show_email=True, url="https://h/bookings/7")
    assert event.summary == "Chorprobe – Room A1"
    assert event.description == "Stimmbildung mit Frau Weber\nGebucht von: Kim Muster <kim@example.org>\nOrganisation: Org A\nTeil einer Serie"
    assert event.url == "https://h/bookings/7" and event.dtstamp == event.last_modified == ENTRY.updated_at
    without_email = feed_event(ENTRY, private=True, host="h", labels=LABELS)
    assert "kim@example.org" not in (without_email.description or "")


@pytest.mark.parametrize(
    ("status", "expected"),
    [("requested", "TENTATIVE"), ("confirmed", "CONFIRMED"), ("checked_out", "CONFIRMED"), ("returned", "CONFIRMED"),
     ("cancelled", "CANCELLED"), ("declined", "CANCELLED")],
)
def test_status_mapping(status, expected):
    assert feed_event(ENTRY.__class__(**{**ENTRY.__dict__, "status": status}), private=True, host="h").status == expected


def test_the_cached_writer_writes_exactly_what_build_calendar_writes():
    clear_cache()
    events = [
        CalendarEvent(
            uid=f"booking-{i}@h", sequence=i % 3, dtstamp=START, starts_at=START + timedelta(days=40 * i),
            ends_at=START + timedelta(days=40 * i, hours=2), timezone=zone, summary=f"Nr. {i}, mit; Zeichen\nund Ü",
            location="Room", description="x" * (i * 30) or None,
        )
        for i, zone in enumerate(["Europe/Berlin", "UTC", "America/New_York", "Europe/Berlin", "Europe/Berlin"] * 3)
    ]
    expected = build_calendar(events, name="Feed, mit; Namen", timezone_hint="Europe/Berlin")
    assert build_feed(events, name="Feed, mit; Namen", timezone_hint="Europe/Berlin") == expected
    assert build_feed(events, name="Feed, mit; Namen", timezone_hint="Europe/Berlin") == expected  # from the cache
    assert build_feed([], name="Leer") == build_calendar([], name="Leer")
    with pytest.raises(ValueError):
        build_feed([CalendarEvent(uid="x", sequence=0, dtstamp=START, starts_at=START, ends_at=START, timezone="Europe/Berlin", summary="x")], name="x")


def test_freebusy_of_several_resources():
    body = build_freebusy_calendar(
        [("fb-1@h", "Room A1", [(START, START + timedelta(hours=1))]), ("fb-2@h", "Room A2", [])],
        starts_at=START - timedelta(days=1), ends_at=START + timedelta(days=1), dtstamp=START, name="Site A",
    )
    components = Calendar.from_ical(body).walk("VFREEBUSY")
    assert [str(c["uid"]) for c in components] == ["fb-1@h", "fb-2@h"]
    assert [str(c["comment"]) for c in components] == ["Room A1", "Room A2"]
    assert "FREEBUSY" in components[0] and "FREEBUSY" not in components[1]


def test_zone_years_of_a_kept_event_are_those_event_text_gives():
    """A VEVENT text reused from a stored document needs the same TZID and VTIMEZONE years."""
    from datetime import UTC, datetime

    from booking.ical.feeds import FeedEntry, event_text, feed_event, feed_event_zone_years

    cases = [
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), datetime(2027, 1, 1, 1, 0, tzinfo=UTC), "Europe/Berlin"),
        (datetime(2026, 6, 1, 8, 0, tzinfo=UTC), datetime(2026, 6, 1, 9, 0, tzinfo=UTC), "Europe/Berlin"),
        (datetime(2026, 1, 1, 0, 30, tzinfo=UTC), datetime(2026, 1, 1, 1, 0, tzinfo=UTC), "America/New_York"),
        (datetime(2026, 6, 1, 8, 0, tzinfo=UTC), datetime(2026, 6, 1, 9, 0, tzinfo=UTC), "UTC"),
    ]
    for starts_at, ends_at, timezone in cases:
        entry = FeedEntry(booking_id=1, starts_at=starts_at, ends_at=ends_at, status="confirmed", sequence=0,
                          updated_at=starts_at, title="", purpose="", is_public=False, resource_name="Raum",
                          site_name="Ort", site_address="", timezone=timezone)
        _, tzid, years = event_text(feed_event(entry, private=False, host="example.org"))
        assert feed_event_zone_years(starts_at, ends_at, timezone) == (tzid, years)


def test_feed_event_zone_years_matches_converting_every_instant():
    """The fast path (UTC year except on 31 December and 1 January) gives what converting gives,
    around the turn of the year in zones far east and west of UTC."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from booking.ical.feeds import feed_event_zone_years

    for timezone in ("Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Los_Angeles", "UTC"):
        zone = ZoneInfo(timezone)
        start = datetime(2025, 12, 30, 0, 0, tzinfo=UTC)
        for hour in range(0, 24 * 4, 1):
            starts_at = start + timedelta(hours=hour)
            ends_at = starts_at + timedelta(hours=3)
            years = {starts_at.astimezone(zone).year, ends_at.astimezone(zone).year}
            expected = () if timezone == "UTC" else tuple(sorted(years | {min(years) - 1}))
            assert feed_event_zone_years(starts_at, ends_at, timezone) == (timezone, expected), (timezone, starts_at)
