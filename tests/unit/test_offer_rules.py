"""Pure rules of volunteer offers (booking/domain/offers.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from booking.domain import offers as rules
from booking.domain.errors import InvalidInput


def at(hour: int, day: int = 7) -> datetime:
    return datetime(2031, 3, day, hour, tzinfo=UTC)


def test_hours_count_only_attended_dates() -> None:
    dates = [
        rules.AttendedDate("Tafel", "Org A", at(9), at(12), "present"),
        rules.AttendedDate("Tafel", "Org A", at(9, 8), at(12, 8), "absent"),
        rules.AttendedDate("Tafel", "Org A", at(9, 9), at(10, 9), ""),
        rules.AttendedDate("Park", "Org B", at(14), at(15, 7).replace(minute=30), "present"),
    ]
    assert rules.attended_hours(dates) == 4.5


def test_free_places_never_below_zero() -> None:
    assert rules.free_places(3, 1) == 2
    assert rules.free_places(3, 5) == 0


def test_requirements_are_cleaned_and_bounded() -> None:
    assert rules.clean_requirements(["  Führerschein  B ", "", "ab 16", "ab 16"]) == ["Führerschein B", "ab 16"]
    with pytest.raises(InvalidInput):
        rules.clean_requirements([f"R{n}" for n in range(11)])
    with pytest.raises(InvalidInput):
        rules.clean_requirements(["x" * 101])


def test_places_and_choices() -> None:
    assert rules.clean_places(1) == 1
    for wrong in (0, 501):
        with pytest.raises(InvalidInput):
            rules.clean_places(wrong)
    with pytest.raises(InvalidInput):
        rules.clean_choice("party", rules.OFFER_KINDS, "kind")


def test_attendance_only_after_the_start() -> None:
    assert not rules.may_mark_attendance(at(10), at(9))
    assert rules.may_mark_attendance(at(10), at(10))


def test_filters() -> None:
    common = dict(kind="task", category="Umwelt", site_id=1, requirements=["ab 16"], free=0, local_day=date(2031, 3, 7))
    assert rules.matches(rules.OfferFilter(), **common)
    assert not rules.matches(rules.OfferFilter(free_only=True), **common)
    assert not rules.matches(rules.OfferFilter(without_requirements=True), **common)
    assert rules.matches(rules.OfferFilter(category="umwelt", kind="task", site_id=1), **common)
    assert not rules.matches(rules.OfferFilter(kind="training"), **common)
    assert not rules.matches(rules.OfferFilter(from_day=date(2031, 3, 8)), **common)


def test_offer_resources_are_not_listed_kinds() -> None:
    assert rules.OFFER_RESOURCE_KIND not in rules.LISTED_RESOURCE_KINDS
