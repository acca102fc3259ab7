"""Service messages that reach pages (parameters of the calendar, desks, series, loans, opening
hours, guards) read German on German pages and stay as they are in English."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from booking.web.texts import translate_message

MESSAGES = (
    'only lenders may do this',
    'only site managers may do this',
    'opening hours map weekdays to lists of [opens, closes]',
    'each opening window is [opens, closes]',
    'scope is one of mine, organisation, site, all',
    'a day looks like 2026-03-03',
    'give either until (a last day) or count (how many weeks)',
    'the expiry needs a time zone offset',
    'give either first_day and last_day or starts_at and ends_at',
    'give both first_day and last_day',
    'give both starts_at and ends_at',
    'only administrators of the organisation may manage invitations',
    'mode is all_or_nothing or book_free',
    'the start of a series is a local wall time without offset, e.g. 2026-02-03T18:00',
    'scope is all or following',
    'give the first date to cancel (from)',
    'from needs a time zone (e.g. 2026-03-03T18:00:00+01:00)',
    'the start time is a local wall time without offset',
)


@pytest.mark.parametrize("message", MESSAGES)
def test_service_message_is_german_on_german_pages(message: str) -> None:
    german = translate_message(SimpleNamespace(scope={"state": {"language": "de"}}), message)  # type: ignore[arg-type]
    assert german != message and german.strip()
    assert translate_message(SimpleNamespace(scope={"state": {"language": "en"}}), message) == message  # type: ignore[arg-type]
