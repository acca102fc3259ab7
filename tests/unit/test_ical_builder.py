"""Calendar files, read back by independent parsers: ical.js (Thunderbird) and, for RRULE
expansion, recurring-ical-events. icalendar wrote the files, so it is not asked to judge them.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.domain.recurrence import RecurrenceRule, expand
from booking.ical import CalendarEvent, build_calendar, build_freebusy, build_invite, merge_busy
from tests.support.icaljs import parse_with_icaljs

BERLIN = "Europe/Berlin"
BERLIN_ZONE = ZoneInfo(BERLIN)
DTSTAMP = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
TRICKY_TEXT = "Übergabe; Zelt, groß\nZeile 2 \\ Ende: \"ok\""


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def booking_event(**changes) -> CalendarEvent:
    values = dict(
        uid="booking-17@booking.example",
        sequence=0,
        dtstamp=DTSTAMP,
        starts_at=datetime(2026, 3, 3, 17, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 3, 19, 0, tzinfo=UTC),
        timezone=BERLIN,
        summary="Gemeinschaftsraum",
        location="Stadtteilhaus, Raum 2",
        organizer_email="stadtteilhaus@booking.example",
        organizer_name="Stadtteilhaus Nord",
        attendee_email="anna@verein.example",
        attendee_name="Müller, Anna",
    )
    values.update(changes)
    return CalendarEvent(**values)


def tuesday_series() -> tuple[RecurrenceRule, list]:
    rule = RecurrenceRule("weekly", weekdays=("TU",), until=date(2026, 11, 24), excluded_dates=(date(2026, 4, 7),))
    return rule, expand(rule, datetime(2026, 2, 3, 18, 0), timedelta(hours=2), BERLIN)


def series_event(rule: RecurrenceRule, occurrences: list, local_start: datetime, **changes) -> CalendarEvent:
    exdates = [
        datetime.combine(excluded, local_start.time(), tzinfo=BERLIN_ZONE) for excluded in rule.excluded_dates
    ]
    return booking_event(
        uid="series-4@booking.example",
        starts_at=occurrences[0].starts_at,
        ends_at=occurrences[0].ends_at,
        rrule=rule.to_rrule_string(BERLIN),
        exdates=exdates,
        attendee_email=None,
        **changes,
    )


def unfolded_lines(ics: bytes) -> list[str]:
    return ics.decode("utf-8").replace("\r\n ", "").split("\r\n")


# --------------------------------------------------------------------------- feeds


def test_feed_reads_back_with_calendar_properties_and_tzid_instants():
    events = [
        booking_event(),
        booking_event(
            uid="booking-18@booking.example",
            sequence=3,
            status="TENTATIVE",
            starts_at=datetime(2026, 7, 14, 8, 0, tzinfo=UTC),
            ends_at=datetime(2026, 7, 14, 16, 30, tzinfo=UTC),
            description="Schlüssel bei der Hausmeisterin",
            url="https://booking.example/bookings/18",
            last_modified=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
            categories=("Raum", "Stadtteilhaus"),
        ),
    ]
    ics = build_calendar(events, name="Stadtteilhaus Nord", timezone_hint=BERLIN)
    parsed = parse_with_icaljs(ics)

    assert parsed["version"] == "2.0"
    assert parsed["prodid"] == "-//booking//booking//DE"
    assert parsed["calscale"] == "GREGORIAN"
    assert parsed["method"] is None
    assert parsed["x-wr-calname"] == "Stadtteilhaus Nord"
    assert parsed["x-wr-timezone"] == BERLIN
    assert parsed["timezones"] == [BERLIN]
    first, second = parsed["events"]
    assert first["start"] == {"utc": "2026-03-03T17:00:00.000Z", "local": "2026-03-03T18:00:00", "tzid": BERLIN}
    assert first["end"]["utc"] == "2026-03-03T19:00:00.000Z"
    assert second["start"] == {"utc": "2026-07-14T08:00:00.000Z", "local": "2026-07-14T10:00:00", "tzid": BERLIN}
    assert second["end"]["local"] == "2026-07-14T18:30:00"
    assert (second["uid"], second["sequence"], second["status"]) == ("booking-18@booking.example", 3, "TENTATIVE")
    assert first["sequence"] == 0  # always written, also when 0
    assert second["description"] == "Schlüssel bei der Hausmeisterin"
    assert second["url"] == "https://booking.example/bookings/18"
    assert second["categories"] == ["Raum", "Stadtteilhaus"]
    assert second["last_modified"] == "2026-07-01T12:00:00.000Z"
    assert first["dtstamp"] == "2026-01-15T09:30:00.000Z"


def test_text_escaping_round_trips_through_icaljs():
    event = booking_event(
        summary=TRICKY_TEXT,
        description=TRICKY_TEXT + "\n" + "Sehr lange Beschreibung " * 10,
        location="Haus; Raum, 1\\2",
        attendee_name="Müller; Anna, \"Vorsitz\"",
        organizer_name="Stadtteilhaus, Nord: Büro",
        categories=("Zelt, groß", "a;b"),
    )
    ics = build_calendar([event], name="Übergabe; Zelt, groß", timezone_hint=BERLIN)
    parsed = parse_with_icaljs(ics)
    read = parsed["events"][0]

    assert parsed["x-wr-calname"] == "Übergabe; Zelt, groß"
    assert read["summary"] == TRICKY_TEXT
    assert read["description"] == event.description
    assert read["location"] == "Haus; Raum, 1\\2"
    assert read["categories"] == ["Zelt, groß", "a;b"]
    assert read["organizer"]["parameters"]["CN"] == "Stadtteilhaus, Nord: Büro"
    # RFC 5545 parameter values cannot carry a double quote; icalendar replaces it.
    assert read["attendees"][0]["parameters"]["CN"].startswith("Müller; Anna, ")
    # Escaped in the file, by the library: no raw newline inside a property.
    assert "SUMMARY:Übergabe\\; Zelt\\, groß\\nZeile 2 \\\\ Ende: \"ok\"" in unfolded_lines(ics)


def test_lines_end_in_crlf_and_fold_at_75_octets():
    event = booking_event(summary="Ü" * 80, description="Lange Zeile mit Umlauten äöüß " * 20)
    ics = build_calendar([event], name="Feed", timezone_hint=BERLIN)

    assert ics.endswith(b"\r\n")
    assert b"\n" not in ics.replace(b"\r\n", b"")
    assert b"\r" not in ics.replace(b"\r\n", b"")
    physical_lines = ics.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical_lines) <= 75
    assert any(line.startswith(b" ") for line in physical_lines), "long lines must be folded"
    # Folding never splits a UTF-8 sequence: every physical line decodes on its own.
    for line in physical_lines:
        line.decode("utf-8")
    assert f"SUMMARY:{'Ü' * 80}" in unfolded_lines(ics)


def test_every_tzid_has_a_vtimezone_and_nothing_is_floating():
    events = [
        booking_event(),
        booking_event(uid="ny@x", timezone="America/New_York", starts_at=datetime(2027, 6, 1, 14, tzinfo=UTC),
                      ends_at=datetime(2027, 6, 1, 15, tzinfo=UTC)),
        booking_event(uid="utc@x", timezone="UTC"),
        booking_event(uid="series@x", timezone="Australia/Sydney", rrule="FREQ=MONTHLY;INTERVAL=1;COUNT=30"),
    ]
    ics = build_calendar(events, name="Feed", timezone_hint=BERLIN)
    text = "\n".join(unfolded_lines(ics))

    used = set(re.findall(r";TZID=([^;:]+)[;:]", text))
    defined = set(re.findall(r"^TZID:(.+)$", text, flags=re.MULTILINE))
    assert used == {BERLIN, "America/New_York", "Australia/Sydney"}
    assert defined == used
    for line in unfolded_lines(ics):
        if line.startswith(("DTSTART", "DTEND", "EXDATE", "RECURRENCE-ID")) and "TZID=" not in line:
            # Only inside VTIMEZONE observances (local by definition) or in UTC.
            assert line.endswith("Z") or re.fullmatch(r"DTSTART:\d{8}T\d{6}", line), line

    parsed = parse_with_icaljs(ics)
    assert sorted(parsed["timezones"]) == sorted(used)
    for event, read in zip(events, parsed["events"], strict=True):
        assert read["start"]["tzid"] != "floating"
        assert read["start"]["utc"] == iso(event.starts_at)
        assert read["end"]["utc"] == iso(event.ends_at)
    sydney = parsed["events"][3]["occurrences"]
    assert len(sydney) == 30  # 2026-03 .. 2028-08: the VTIMEZONE covers the whole series
    expected = expand(
        RecurrenceRule("monthly", count=30),
        datetime(2026, 3, 4, 4, 0),  # 17:00 UTC = 04:00 AEDT next day
        timedelta(hours=2),
        "Australia/Sydney",
    )
    assert [occurrence["start"] for occurrence in sydney] == [iso(occurrence.starts_at) for occurrence in expected]


@pytest.mark.parametrize("timezone", [BERLIN, "America/New_York", "Europe/Dublin", "Australia/Lord_Howe"])
def test_icaljs_computes_the_same_instants_as_zoneinfo_around_dst(timezone):
    zone = ZoneInfo(timezone)
    transition_days = [
        day for day in (date(2026, 1, 1) + timedelta(days=offset) for offset in range(365))
        if zone.utcoffset(datetime.combine(day, datetime.min.time()))
        != zone.utcoffset(datetime.combine(day + timedelta(days=1), datetime.min.time()))
    ]
    assert len(transition_days) == 2
    instants = [
        datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=15 * step)
        for day in transition_days
        for step in range(-8, 24 * 4 + 8)
    ]
    events = [
        booking_event(uid=f"{index}@x", starts_at=instant, ends_at=instant + timedelta(minutes=45), timezone=timezone)
        for index, instant in enumerate(instants)
    ]
    parsed = parse_with_icaljs(build_calendar(events, name="DST", timezone_hint=timezone))

    wrong = [
        (read["start"], iso(instant))
        for read, instant in zip(parsed["events"], instants, strict=True)
        if read["start"]["utc"] != iso(instant)
    ]
    assert wrong == []


# --------------------------------------------------------------------------- series


def test_rrule_expanded_by_icaljs_equals_expand():
    rule, occurrences = tuesday_series()
    event = series_event(rule, occurrences, datetime(2026, 2, 3, 18, 0))
    ics = build_calendar([event], name="Serie", timezone_hint=BERLIN)
    read = parse_with_icaljs(ics, expand=100)["events"][0]

    assert read["rrule"] is not None and "UNTIL=20261124T225959Z" in read["rrule"]
    assert [occurrence["start"] for occurrence in read["occurrences"]] == [iso(o.starts_at) for o in occurrences]
    assert [occurrence["end"] for occurrence in read["occurrences"]] == [iso(o.ends_at) for o in occurrences]
    assert {occurrence["local_start"][11:] for occurrence in read["occurrences"]} == {"18:00:00"}
    assert len(occurrences) == 42  # 43 Tuesdays minus the excluded 7 April


def test_rrule_expanded_by_recurring_ical_events_equals_expand():
    recurring_ical_events = pytest.importorskip("recurring_ical_events")
    icalendar = pytest.importorskip("icalendar")
    rule, occurrences = tuesday_series()
    ics = build_calendar([series_event(rule, occurrences, datetime(2026, 2, 3, 18, 0))], name="Serie")

    calendar = icalendar.Calendar.from_ical(ics)
    found = recurring_ical_events.of(calendar).between(date(2026, 1, 1), date(2027, 1, 1))
    starts = sorted(component.decoded("DTSTART").astimezone(UTC) for component in found)
    assert starts == [occurrence.starts_at for occurrence in occurrences]


def test_override_of_one_occurrence_with_recurrence_id():
    rule, occurrences = tuesday_series()
    master = series_event(rule, occurrences, datetime(2026, 2, 3, 18, 0), sequence=1)
    moved = dataclasses.replace(
        master,
        rrule=None,
        exdates=(),
        sequence=2,
        recurrence_id=datetime(2026, 5, 5, 18, 0, tzinfo=BERLIN_ZONE),
        starts_at=datetime(2026, 5, 5, 17, 0, tzinfo=UTC),  # 19:00 CEST instead of 18:00
        ends_at=datetime(2026, 5, 5, 19, 0, tzinfo=UTC),
        summary="Verschoben",
    )
    ics = build_calendar([master, moved], name="Serie")
    parsed = parse_with_icaljs(ics, expand=100)

    read_master, read_moved = parsed["events"]
    assert read_moved["recurrence_id"] == {"utc": "2026-05-05T16:00:00.000Z", "local": "2026-05-05T18:00:00", "tzid": BERLIN}
    starts = [occurrence["start"] for occurrence in read_master["occurrences"]]
    assert "2026-05-05T17:00:00.000Z" in starts and "2026-05-05T16:00:00.000Z" not in starts
    assert len(starts) == len(occurrences)


def test_nonexistent_occurrence_can_be_excluded_by_its_wall_time():
    rule = RecurrenceRule("weekly", weekdays=("SU",), count=3)
    local_start = datetime(2026, 3, 22, 2, 30)
    occurrences = expand(rule, local_start, timedelta(hours=1), BERLIN)
    skipped = [occurrence for occurrence in occurrences if occurrence.problem == "nonexistent"]
    assert [occurrence.local_start for occurrence in skipped] == [datetime(2026, 3, 29, 2, 30)]

    event = booking_event(
        starts_at=occurrences[0].starts_at,
        ends_at=occurrences[0].ends_at,
        rrule=rule.to_rrule_string(BERLIN),
        # The wall time itself, in the series' zone: it has no UTC instant to convert from.
        exdates=[occurrence.local_start.replace(tzinfo=BERLIN_ZONE) for occurrence in skipped],
    )
    ics = build_calendar([event], name="Serie")
    assert "EXDATE;TZID=Europe/Berlin:20260329T023000" in unfolded_lines(ics)
    read = parse_with_icaljs(ics)["events"][0]
    bookable = [iso(occurrence.starts_at) for occurrence in occurrences if occurrence.bookable]
    assert [occurrence["start"] for occurrence in read["occurrences"]] == bookable


def test_ambiguous_single_event_is_written_in_utc_so_every_reader_gets_the_same_instant():
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first 02:30
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, the second one
    events = [
        booking_event(uid="first@x", starts_at=first, ends_at=first + timedelta(hours=3)),
        booking_event(uid="second@x", starts_at=second, ends_at=second + timedelta(hours=3)),
    ]
    ics = build_calendar(events, name="DST")
    lines = unfolded_lines(ics)
    assert "DTSTART:20261025T003000Z" in lines and "DTSTART:20261025T013000Z" in lines
    assert "DTEND;TZID=Europe/Berlin:20261025T043000" in lines  # unambiguous ends keep the TZID
    read = parse_with_icaljs(ics)["events"]
    assert [event["start"]["utc"] for event in read] == [iso(first), iso(second)]


# --------------------------------------------------------------------------- invites


def test_invite_request_has_method_sequence_organizer_and_attendee():
    ics = build_invite(booking_event(sequence=0, status="TENTATIVE"), "REQUEST")
    parsed = parse_with_icaljs(ics)
    read = parsed["events"][0]

    assert parsed["method"] == "REQUEST"
    assert parsed["x-wr-calname"] is None
    assert "SEQUENCE:0" in unfolded_lines(ics)
    assert read["sequence"] == 0
    assert read["status"] == "TENTATIVE"
    assert read["organizer"] == {"value": "mailto:stadtteilhaus@booking.example", "parameters": {"CN": "Stadtteilhaus Nord"}}
    assert read["attendees"] == [
        {
            "value": "mailto:anna@verein.example",
            "parameters": {
                "CN": "Müller, Anna",
                "CUTYPE": "INDIVIDUAL",
                "PARTSTAT": "NEEDS-ACTION",
                "ROLE": "REQ-PARTICIPANT",
                "RSVP": "TRUE",
            },
        }
    ]
    assert parsed["timezones"] == [BERLIN]


def test_invite_cancel_keeps_uid_and_sets_cancelled():
    event = booking_event(sequence=4, status="CONFIRMED")
    parsed = parse_with_icaljs(build_invite(event, "CANCEL"))
    read = parsed["events"][0]
    assert parsed["method"] == "CANCEL"
    assert (read["uid"], read["sequence"], read["status"]) == (event.uid, 4, "CANCELLED")


@pytest.mark.parametrize(
    ("event", "method", "message"),
    [
        (booking_event(attendee_email="Stadtteilhaus@booking.example"), "REQUEST", "different"),
        (booking_event(attendee_email=None), "REQUEST", "organizer and an attendee"),
        (booking_event(organizer_email=None), "CANCEL", "organizer and an attendee"),
        (booking_event(status="CANCELLED"), "REQUEST", "METHOD:CANCEL"),
        (booking_event(), "PUBLISH", "method"),
    ],
)
def test_invalid_invites_are_refused(event, method, message):
    with pytest.raises(ValueError, match=message):
        build_invite(event, method)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_at": datetime(2026, 3, 3, 18, 0)}, "timezone-aware"),
        ({"ends_at": datetime(2026, 3, 3, 17, 0, tzinfo=UTC)}, "end must be after"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"status": "MAYBE"}, "STATUS"),
        ({"sequence": -1}, "SEQUENCE"),
    ],
)
def test_invalid_events_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        build_calendar([booking_event(**changes)], name="Feed")


# --------------------------------------------------------------------------- free/busy


def test_freebusy_periods_are_merged_clipped_and_in_utc():
    window_start = datetime(2026, 3, 2, 0, 0, tzinfo=BERLIN_ZONE)
    window_end = datetime(2026, 3, 9, 0, 0, tzinfo=BERLIN_ZONE)
    busy = [
        (datetime(2026, 3, 3, 10, tzinfo=BERLIN_ZONE), datetime(2026, 3, 3, 12, tzinfo=BERLIN_ZONE)),
        (datetime(2026, 3, 3, 11, tzinfo=UTC), datetime(2026, 3, 3, 13, tzinfo=UTC)),  # overlaps the first
        (datetime(2026, 3, 3, 13, tzinfo=UTC), datetime(2026, 3, 3, 14, tzinfo=UTC)),  # touches it
        (datetime(2026, 3, 1, 20, tzinfo=UTC), datetime(2026, 3, 2, 1, tzinfo=UTC)),  # starts before the window
        (datetime(2026, 3, 20, 8, tzinfo=UTC), datetime(2026, 3, 20, 9, tzinfo=UTC)),  # outside
    ]
    ics = build_freebusy(
        busy,
        starts_at=window_start,
        ends_at=window_end,
        dtstamp=DTSTAMP,
        uid="freebusy-resource-3@booking.example",
        name="Raum 2",
    )
    parsed = parse_with_icaljs(ics)
    (freebusy,) = parsed["freebusy"]

    assert freebusy["start"]["utc"] == "2026-03-01T23:00:00.000Z"
    assert freebusy["end"]["utc"] == "2026-03-08T23:00:00.000Z"
    assert freebusy["periods"] == [
        {"fbtype": "BUSY", "start": "2026-03-01T23:00:00.000Z", "end": "2026-03-02T01:00:00.000Z"},
        {"fbtype": "BUSY", "start": "2026-03-03T09:00:00.000Z", "end": "2026-03-03T14:00:00.000Z"},
    ]
    assert all(line.endswith("Z") for line in unfolded_lines(ics) if line.startswith(("DTSTART", "DTEND")))
    assert "ATTENDEE" not in ics.decode() and "ORGANIZER" not in ics.decode()


def test_merge_busy_drops_empty_intervals():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert merge_busy([(start, start)], start, start + timedelta(days=1)) == []


def test_multi_year_feed_gets_every_dst_switch_right_in_icaljs():
    # Regression: icalendar's compact VTIMEZONE (DTSTART + RDATE list) lost all but one
    # switch per observance in ical.js.
    rule = RecurrenceRule("weekly", weekdays=("SA",), count=250)
    occurrences = expand(rule, datetime(2026, 1, 3, 4, 0), timedelta(hours=1), "Australia/Sydney")
    event = booking_event(
        timezone="Australia/Sydney",
        starts_at=occurrences[0].starts_at,
        ends_at=occurrences[0].ends_at,
        rrule=rule.to_rrule_string("Australia/Sydney"),
    )
    read = parse_with_icaljs(build_calendar([event], name="Serie"), expand=300)["events"][0]
    assert [occurrence["start"] for occurrence in read["occurrences"]] == [iso(o.starts_at) for o in occurrences]
    assert occurrences[-1].local_start.year == 2030


# Names and texts as a hostile (or careless) admin or member may type them: line breaks of
# every kind, lines that look like iCalendar structure, a NUL and other control characters.
HOSTILE = "Kultur\r\nBEGIN:VEVENT\nEND:VCALENDAR\rHaus\x00; Raum, 1\x07\x1b\x7f"
HOSTILE_TEXT = "Kultur\nBEGIN:VEVENT\nEND:VCALENDAR\nHaus; Raum, 1"  # as a TEXT value reads back
HOSTILE_LINE = "Kultur BEGIN:VEVENT END:VCALENDAR Haus; Raum, 1"  # as a name reads back


def _structure_lines(ics: bytes) -> list[bytes]:
    return [line for line in ics.split(b"\r\n") if line.startswith((b"BEGIN:", b"END:"))]


def test_control_characters_and_line_breaks_in_every_text_cannot_break_the_file():
    event = booking_event(
        summary=HOSTILE, description=HOSTILE, location=HOSTILE, organizer_name=HOSTILE,
        attendee_name=HOSTILE, categories=(HOSTILE,),
    )
    for ics in (
        build_calendar([event, booking_event(uid="booking-18@booking.example")], name=HOSTILE, timezone_hint=BERLIN),
        build_invite(event, "REQUEST"),
    ):
        assert b"\x00" not in ics and b"\x07" not in ics and b"\x1b" not in ics and b"\x7f" not in ics
        assert all(line.endswith(b"\r") is False for line in ics.split(b"\r\n"))
        assert b"\n" not in ics.replace(b"\r\n", b"") and b"\r" not in ics.replace(b"\r\n", b"")
        parsed = parse_with_icaljs(ics)
        read = parsed["events"][0]
        assert read["summary"] == read["description"] == read["location"] == HOSTILE_TEXT
        assert read["categories"] == [HOSTILE_TEXT]
        assert read["organizer"]["parameters"]["CN"] == HOSTILE_LINE
        assert read["attendees"][0]["parameters"]["CN"] == HOSTILE_LINE
    assert parsed["method"] == "REQUEST" and len(parsed["events"]) == 1
    feed = parse_with_icaljs(build_calendar([event, booking_event(uid="booking-18@booking.example")], name=HOSTILE))
    assert feed["x-wr-calname"] == HOSTILE_LINE and len(feed["events"]) == 2


def test_hostile_names_in_freebusy_are_escaped():
    from booking.ical.feeds import build_freebusy_calendar

    window = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    busy = [(datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC))]
    single = build_freebusy(
        busy, starts_at=window[0], ends_at=window[1], dtstamp=DTSTAMP, uid="fb-1@booking.example",
        name=HOSTILE, organizer_email="haus@booking.example", organizer_name=HOSTILE,
    )
    several = build_freebusy_calendar(
        [("fb-1@booking.example", HOSTILE, busy), ("fb-2@booking.example", HOSTILE, [])],
        starts_at=window[0], ends_at=window[1], dtstamp=DTSTAMP, name=HOSTILE,
    )
    for ics, count in ((single, 1), (several, 2)):
        assert b"\x00" not in ics
        assert _structure_lines(ics) == [b"BEGIN:VCALENDAR", *[b"BEGIN:VFREEBUSY", b"END:VFREEBUSY"] * count, b"END:VCALENDAR"]
        parsed = parse_with_icaljs(ics)
        assert parsed["x-wr-calname"] == HOSTILE_LINE and len(parsed["freebusy"]) == count
    assert b"COMMENT:Kultur\\nBEGIN:VEVENT\\nEND:VCALENDAR\\nHaus\\; Raum\\, 1" in several


def test_invite_names_the_sender_acting_for_the_organizer():
    ics = build_invite(booking_event(organizer_sent_by="booking@stadt.example"), "REQUEST")
    organizer = parse_with_icaljs(ics)["events"][0]["organizer"]
    assert organizer["value"] == "mailto:stadtteilhaus@booking.example"
    assert organizer["parameters"]["SENT-BY"] == "mailto:booking@stadt.example"
    # The organizer sending for itself needs no SENT-BY.
    same = build_invite(booking_event(organizer_sent_by="Stadtteilhaus@booking.example"), "REQUEST")
    assert b"SENT-BY" not in same
