"""Counts are printed with the right plural form (Babel ngettext) in German and English:
"1 Stunde" / "2 Stunden", never "mindestens 1 Stunden" or "at least 1 hours"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from booking.domain.policies import _minutes
from booking.i18n import install_jinja_i18n, use_language
from booking.web.texts import ngettext, translate_message

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _request(language: str) -> SimpleNamespace:
    return SimpleNamespace(scope={"state": {"language": language}})


@pytest.fixture(scope="module")
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, extensions=["jinja2.ext.i18n"])
    return install_jinja_i18n(env)


def render(environment: jinja2.Environment, source: str, language: str, **values: object) -> str:
    # As the web layer does per request: imported macros read the language from use_language.
    with use_language(language):
        return environment.from_string(source).render(language=language, **values).strip()


DURATION = '{% from "partials/durations.html" import duration_words %}{{ _("at least %(duration)s before", duration=duration_words(delta)) }}'


@pytest.mark.parametrize(("delta", "german", "english"), [
    (timedelta(hours=1), "mindestens 1 Stunde vorher", "at least 1 hour before"),
    (timedelta(hours=2), "mindestens 2 Stunden vorher", "at least 2 hours before"),
    (timedelta(minutes=1), "mindestens 1 Minute vorher", "at least 1 minute before"),
    (timedelta(minutes=90), "mindestens 90 Minuten vorher", "at least 90 minutes before"),
    (timedelta(days=1), "mindestens 1 Tag vorher", "at least 1 day before"),
    (timedelta(days=2), "mindestens 2 Tage vorher", "at least 2 days before"),
])
def test_durations_on_the_resource_page(environment, delta, german, english):
    assert render(environment, DURATION, "de", delta=delta) == german
    assert render(environment, DURATION, "en", delta=delta) == english


RETENTION = "{% trans count=n %}Accounts never confirmed are deleted after {{ count }} day.{% pluralize %}Accounts never confirmed are deleted after {{ count }} days.{% endtrans %}"


def test_retention_days_in_the_privacy_overview(environment):
    assert render(environment, RETENTION, "de", n=1) == "Nie bestätigte Konten werden nach 1 Tag gelöscht."
    assert render(environment, RETENTION, "de", n=2) == "Nie bestätigte Konten werden nach 2 Tagen gelöscht."
    assert render(environment, RETENTION, "en", n=1) == "Accounts never confirmed are deleted after 1 day."
    assert render(environment, RETENTION, "en", n=2) == "Accounts never confirmed are deleted after 2 days."
    privacy_page = (TEMPLATES / "privacy" / "admin.html").read_text(encoding="utf-8")
    assert privacy_page.count("{% pluralize %}") >= 4


@pytest.mark.parametrize(("number", "german", "english"), [(1, "1 Platz", "1 seat"), (2, "2 Plätze", "2 seats")])
def test_seats_and_flash_counts(number, german, english):
    for language, expected in (("de", german), ("en", english)):
        assert ngettext(_request(language), "%(seats)s seat", "%(seats)s seats", number, seats=number) == expected  # type: ignore[arg-type]
    flash = ngettext(_request("de"), "The account has been deleted; %(count)s upcoming booking was cancelled.",  # type: ignore[arg-type]
                     "The account has been deleted; %(count)s upcoming bookings were cancelled.", number, count=number)
    assert flash == ("Das Konto wurde gelöscht; 1 künftige Buchung wurde storniert." if number == 1
                     else "Das Konto wurde gelöscht; 2 künftige Buchungen wurden storniert.")


@pytest.mark.parametrize(("delta", "words"), [
    (timedelta(hours=1), "1 hour"), (timedelta(hours=2), "2 hours"), (timedelta(minutes=1), "1 minute"),
    (timedelta(minutes=45), "45 minutes"), (timedelta(days=1), "1 day"), (timedelta(days=3), "3 days"),
])
def test_domain_messages_say_1_hour_in_english(delta, words):
    assert _minutes(delta) == words


@pytest.mark.parametrize(("message", "german"), [
    ("a booking lasts at least 1 hour", "1 Stunde"),
    ("a booking lasts at least 2 hours", "2 Stunden"),
    ("this resource must be booked at least 1 day in advance", "1 Tag"),
    ("1 of 4 dates cannot be booked; nothing was booked", "1 von 4 Terminen kann nicht gebucht werden"),
    ("2 of 4 dates cannot be booked; nothing was booked", "2 von 4 Terminen können nicht gebucht werden"),
    ("1 of 3 dates cannot be moved; nothing was changed", "1 von 3 Terminen kann nicht verschoben werden"),
])
def test_domain_messages_on_german_pages(message, german):
    assert german in translate_message(_request("de"), message)  # type: ignore[arg-type]
    assert translate_message(_request("en"), message) == message  # type: ignore[arg-type]
