"""Settings: file < BOOKING_CONFIG < environment; bad values are reported, not guessed."""

from __future__ import annotations

import secrets

import pytest

from booking.resources import CHECKOUT_ROOT, running_from_checkout
from booking.settings import SettingsError, load_settings

GOOD_KEY = secrets.token_hex(32)


def test_environment_overrides_files_and_nested_keys(tmp_path):
    config = tmp_path / "site.toml"
    config.write_text('base_url = "https://buchung.example"\n[mail]\nsmtp_port = 2525\n')
    settings = load_settings(env={
        "BOOKING_CONFIG": str(config),
        "BOOKING_MAIL__SMTP_SECURITY": "starttls",
        "BOOKING_SECURE_COOKIES": "true",
        "BOOKING_SECRET_KEY": GOOD_KEY,
    })
    assert settings.base_url == "https://buchung.example"
    assert settings.mail.smtp_port == 2525 and settings.mail.smtp_security == "starttls"
    assert settings.secure_cookies is True and settings.secret_key == GOOD_KEY
    assert settings.host_name == "buchung.example"


@pytest.mark.parametrize("env", [
    {"BOOKING_PORT": "achtzig"},
    {"BOOKING_SECURE_COOKIES": "vielleicht"},
    {"BOOKING_MAIL__RETRY_BASE_SECONDS": "bald"},
])
def test_bad_values_are_refused_with_the_variable_named(env):
    with pytest.raises(SettingsError) as error:
        load_settings(env={**env, "BOOKING_SECRET_KEY": GOOD_KEY})
    assert next(iter(env)) in str(error.value)


def test_unknown_keys_in_a_file_are_refused(tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text('databse_url = "sqlite+aiosqlite:///x"\n')
    with pytest.raises(SettingsError, match="databse_url"):
        load_settings(env={"BOOKING_CONFIG": str(config), "BOOKING_SECRET_KEY": GOOD_KEY})


from booking.resources import CHECKOUT_ROOT, running_from_checkout
from booking.settings import SettingsError, load_settings

GOOD_KEY = secrets.token_hex(32)


def test_security_txt_contact_prefers_the_security_setting():
    from datetime import datetime, timezone

    from booking.services.legal_pages import security_txt

    settings = load_settings(env={"BOOKING_PRIVACY__SECURITY_CONTACT": "https://stadt.example/sicherheit", "BOOKING_SECRET_KEY": GOOD_KEY})
    text = security_txt(settings, now=datetime(2027, 1, 31, 12, tzinfo=timezone.utc), valid_days=365)
    assert "Contact: https://stadt.example/sicherheit\n" in text
    assert "Expires: 2028-01-31T12:00:00Z\n" in text


def test_map_defaults_to_the_openstreetmap_tiles_and_a_named_licence():
    settings = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY})
    assert settings.map.tile_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert settings.map.tile_origin == "https://tile.openstreetmap.org"
    assert "OpenStreetMap" in settings.map.tile_attribution
    assert settings.open_data.licence.startswith("Datenlizenz Deutschland")
    assert not hasattr(settings.map, "open_data_license"), "one licence setting: open_data.licence"


def test_the_former_map_licence_setting_is_still_read_with_a_warning(tmp_path, caplog):
    config = tmp_path / "booking.toml"
    config.write_text('[map]\nopen_data_license = "CC BY 4.0"\nopen_data_license_url = "https://creativecommons.org/licenses/by/4.0/"\n')
    with caplog.at_level("WARNING", logger="booking.settings"):
        settings = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY, "BOOKING_CONFIG": str(config)})
    assert (settings.open_data.licence, settings.open_data.licence_url) == ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")
    warnings = [r.getMessage() for r in caplog.records if r.name == "booking.settings"]
    assert any("map.open_data_license " in w and "deprecated" in w and "open_data.licence " in w for w in warnings)
    assert any("map.open_data_license_url" in w for w in warnings)


def test_the_new_licence_setting_wins_over_the_former_one(tmp_path, caplog):
    config = tmp_path / "booking.toml"
    config.write_text('[map]\nopen_data_license = "alt"\n[open_data]\nlicence = "neu"\n')
    settings = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY, "BOOKING_CONFIG": str(config)})
    assert settings.open_data.licence == "neu"
    from_env = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY, "BOOKING_MAP__OPEN_DATA_LICENSE": "env-alt"})
    assert from_env.open_data.licence == "env-alt"
    both = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY, "BOOKING_MAP__OPEN_DATA_LICENSE": "env-alt",
                              "BOOKING_OPEN_DATA__LICENCE": "env-neu"})
    assert both.open_data.licence == "env-neu"


def test_a_city_tile_server_with_sub_domains_is_allowed_as_an_image_origin():
    settings = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY, "BOOKING_MAP__TILE_URL": "https://{s}.karte.flensburg.example/{z}/{x}/{y}.png"})
    assert settings.map.tile_origin == "https://*.karte.flensburg.example"


def test_a_tile_url_without_a_template_is_refused():
    with pytest.raises(SettingsError, match="map.tile_url"):
        load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY, "BOOKING_MAP__TILE_URL": "javascript:alert(1)"})


def test_hold_reminder_settings_are_read_and_checked() -> None:
    from booking.settings import WaitingListSettings

    defaults = WaitingListSettings()
    assert (defaults.remind_holds_longer_than_hours, defaults.reminder_hours_before) == (12.0, 3.0)
    assert WaitingListSettings(reminder_hours_before=0).reminder_hours_before == 0  # reminders off
    for wrong in ({"reminder_hours_before": -1}, {"remind_holds_longer_than_hours": 2, "reminder_hours_before": 3}):
        with pytest.raises(SettingsError, match="waiting_list"):
            WaitingListSettings(**wrong)  # type: ignore[arg-type]
