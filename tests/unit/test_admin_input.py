"""Input checks of the administration: opening hours (typed and from JSON), site, rules."""

from __future__ import annotations

import pytest

from booking.domain.errors import InvalidInput
from booking.domain.opening_hours import validate_opening_hours
from booking.services.admin_common import InvalidFields
from booking.services.resource_admin import PolicyInput, ResourceInput, check_policy, check_resource
from booking.services.site_admin import SiteInput, check_opening_hours, check_site, check_timezone
from booking.web.admin_forms import opening_hours_to_form, parse_day_hours


@pytest.mark.parametrize(
    "hours",
    [
        {"mon": [[9, 17]]},
        {"mon": [["09:00", None]]},
        {"mon": "09:00-17:00"},
        {"mon": [None]},
        {"mon": [["09:00"]]},
        ["mon"],
        "09:00-17:00",
        None,
        {"mon": [["٠٩:00", "17:00"]]},  # Arabic-Indic digits are digits to int(), not to us
    ],
)
def test_opening_hours_of_the_wrong_shape_are_bad_input_not_a_crash(hours) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_opening_hours(hours)  # type: ignore[arg-type]
    assert caught.value.field == "opening_hours"


def test_opening_hours_are_zero_padded_and_sorted() -> None:
    assert validate_opening_hours({"mon": [["14:00", "18:00"], ["9:00", "12:00"]]}) == {"mon": [["09:00", "12:00"], ["14:00", "18:00"]]}


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("09:00–18:00", [["09:00", "18:00"]]),
        ("9-18", [["09:00", "18:00"]]),
        ("9.30 - 12, 14:00 bis 24:00", [["09:30", "12:00"], ["14:00", "24:00"]]),
        ("08:00 to 10:00; 11:00—12:00", [["08:00", "10:00"], ["11:00", "12:00"]]),
        ("", []),
        ("geschlossen", []),
        ("Closed", []),
    ],
)
def test_typed_opening_hours(text: str, windows: list[list[str]]) -> None:
    assert parse_day_hours(text, "opening_mon") == windows


@pytest.mark.parametrize("text", ["9", "09:00–", "–18:00", "09:00-12:00-15:00"])
def test_typed_opening_hours_that_make_no_sense(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_day_hours(text, "opening_tue")
    assert caught.value.field == "opening_tue"


def test_each_weekday_reports_on_its_own_field() -> None:
    with pytest.raises(InvalidFields) as caught:
        check_opening_hours({"mon": [["18:00", "09:00"]], "tue": [["25:00", "26:00"]], "wed": [["09:00", "17:00"]], "xyz": []})
    assert set(caught.value.errors) == {"opening_mon", "opening_tue", "opening_hours"}
    assert caught.value.errors["opening_mon"] == "The closing time must be after the opening time."
    assert check_opening_hours({"mon": [["09:00", "17:00"]], "sun": []}) == {"mon": [["09:00", "17:00"]]}


def test_stored_hours_round_trip_through_the_form() -> None:
    hours = {"mon": [["09:00", "12:00"], ["14:00", "18:00"]], "sat": [["10:00", "24:00"]]}
    texts = opening_hours_to_form(hours)
    assert texts["opening_mon"] == "09:00–12:00, 14:00–18:00" and texts["opening_sun"] == ""
    assert {day: parse_day_hours(texts[f"opening_{day}"], day) for day in ("mon", "sat")} == hours


def test_time_zones_must_be_iana_names() -> None:
    assert check_timezone("Europe/Berlin") == "Europe/Berlin"
    for bad in ("", "Berlin", "CET+1", "../../etc/passwd", "Europe/Flensburg", "europe/berlin"):
        with pytest.raises(InvalidInput):
            check_timezone(bad)


def test_site_check_names_every_bad_field() -> None:
    with pytest.raises(InvalidFields) as caught:
        check_site(SiteInput(name=" ", contact_email="nope", latitude=91.0, longitude=None, timezone="Mars/Base",
                             opening_hours={"fri": [["10:00", "09:00"]]}))
    assert set(caught.value.errors) == {"name", "contact_email", "latitude", "timezone", "opening_fri"}
    with pytest.raises(InvalidFields) as caught:
        check_site(SiteInput(name="Haus", contact_email="a@b.de", latitude=54.0))
    assert set(caught.value.errors) == {"longitude"}
    cleaned = check_site(SiteInput(name=" Haus ", contact_email="A@B.de", latitude=54, longitude=9))
    assert (cleaned.name, cleaned.contact_email, cleaned.latitude) == ("Haus", "a@b.de", 54.0)


def test_resource_and_rules_checks() -> None:
    with pytest.raises(InvalidFields) as caught:
        check_resource(ResourceInput(kind="boat", name="", capacity=0, seats=-1, visibility="secret"))
    assert set(caught.value.errors) == {"kind", "name", "capacity", "seats", "visibility"}
    with pytest.raises(InvalidFields) as caught:
        check_policy(PolicyInput(lead_time_minutes=-1, min_duration_minutes=60, max_duration_minutes=30, audience="organisations"))
    assert set(caught.value.errors) == {"lead_time_minutes", "max_duration_minutes", "allowed_organisation_ids"}
    rules = check_policy(PolicyInput(audience="public", allowed_organisation_ids=(1, 2)))
    assert rules.allowed_organisation_ids == ()  # only kept where the audience needs them
