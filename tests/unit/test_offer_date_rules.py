"""The rules for changing an offer's dates (booking/domain/offer_dates.py), with a fixed ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.domain import offer_dates as rules
from booking.domain.errors import Conflict, InvalidInput, PolicyViolation
from booking.domain.intervals import Interval

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_new_date_lies_in_the_future_and_lasts_up_to_a_day() -> None:
    start = NOW + timedelta(days=1)
    assert rules.check_new_date(start, start + timedelta(hours=2), now=NOW) == Interval(start, start + timedelta(hours=2))
    with pytest.raises(InvalidInput) as past:
        rules.check_new_date(NOW, NOW + timedelta(hours=1), now=NOW)
    assert past.value.field == "starts_at"
    for end in (start, start - timedelta(minutes=1), start + timedelta(hours=25)):
        with pytest.raises(InvalidInput) as wrong:
            rules.check_new_date(start, end, now=NOW)
        assert wrong.value.field == "ends_at"


def test_only_upcoming_dates_not_removed_change() -> None:
    rules.check_changeable(NOW + timedelta(minutes=1), is_cancelled=False, now=NOW)
    with pytest.raises(PolicyViolation):
        rules.check_changeable(NOW, is_cancelled=False, now=NOW)
    with pytest.raises(InvalidInput):
        rules.check_changeable(NOW + timedelta(days=1), is_cancelled=True, now=NOW)


def test_dates_of_one_offer_do_not_overlap_back_to_back_is_fine() -> None:
    existing = [Interval(NOW + timedelta(hours=2), NOW + timedelta(hours=4))]
    rules.check_no_overlap(Interval(NOW + timedelta(hours=4), NOW + timedelta(hours=5)), existing)
    rules.check_no_overlap(Interval(NOW + timedelta(hours=1), NOW + timedelta(hours=2)), existing)
    with pytest.raises(Conflict) as overlap:
        rules.check_no_overlap(Interval(NOW + timedelta(hours=3), NOW + timedelta(hours=5)), existing)
    assert overlap.value.field == "starts_at"


def test_at_most_max_dates() -> None:
    rules.check_room_for_another_date(rules.MAX_DATES_PER_OFFER - 1)
    with pytest.raises(PolicyViolation):
        rules.check_room_for_another_date(rules.MAX_DATES_PER_OFFER)
