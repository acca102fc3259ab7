"""Settings: file < BOOKING_CONFIG < environment; bad values are reported, not guessed."""

from __future__ import annotations

import pytest

from booking.resources import CHECKOUT_ROOT, running_from_checkout
from booking.settings import SettingsError, load_settings


def test_environment_overrides_files_and_nested_keys(tmp_path):
    config = tmp_path / "site.toml"
    config.write_text('base_url = "https://buchung.example"\n[mail]\nsmtp_port = 2525\n')
    settings = load_settings(env={
        "BOOKING_CONFIG": str(config),
        "BOOKING_MAIL__SMTP_SECURITY": "starttls",
        "BOOKING_SECURE_COOKIES": "true",
        "BOOKING_SECRET_KEY": "k" * 64,
    })
    assert settings.base_url == "https://buchung.example"
    assert settings.mail.smtp_port == 2525 and settings.mail.smtp_security == "starttls"
    assert settings.secure_cookies is True and settings.secret_key == "k" * 64
    assert settings.host_name == "buchung.example"


@pytest.mark.parametrize("env", [
    {"BOOKING_PORT": "achtzig"},
    {"BOOKING_SECURE_COOKIES": "vielleicht"},
    {"BOOKING_MAIL__RETRY_BASE_SECONDS": "bald"},
])
def test_bad_values_are_refused_with_the_variable_named(env):
    with pytest.raises(SettingsError) as error:
        load_settings(env={**env, "BOOKING_SECRET_KEY": "k"})
    assert next(iter(env)) in str(error.value)


def test_unknown_keys_in_a_file_are_refused(tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text('databse_url = "sqlite+aiosqlite:///x"\n')
    with pytest.raises(SettingsError, match="databse_url"):
        load_settings(env={"BOOKING_CONFIG": str(config), "BOOKING_SECRET_KEY": "k"})


def test_relative_sqlite_paths_are_taken_inside_the_data_directory(tmp_path):
    settings = load_settings(env={"BOOKING_SECRET_KEY": "k", "BOOKING_DATA_DIR": str(tmp_path),
                                  "BOOKING_DATABASE_URL": "sqlite+aiosqlite:///x.sqlite3"})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"


def test_the_data_directory_holds_the_database_and_the_generated_secret(tmp_path):
    data_dir = tmp_path / "daten"
    settings = load_settings(env={"BOOKING_DATA_DIR": str(data_dir)})
    assert settings.data_dir == str(data_dir)
    assert settings.database_url == f"sqlite+aiosqlite:///{data_dir / 'booking.sqlite3'}"
    assert (data_dir / "secret_key").read_text() == settings.secret_key and len(settings.secret_key) == 64
    assert load_settings(env={"BOOKING_DATA_DIR": str(data_dir)}).secret_key == settings.secret_key


def test_a_checkout_keeps_its_data_in_var():
    assert running_from_checkout()
    settings = load_settings(env={"BOOKING_SECRET_KEY": "k"})
    assert settings.data_dir == str(CHECKOUT_ROOT / "var")
    assert settings.database_url == f"sqlite+aiosqlite:///{CHECKOUT_ROOT / 'var' / 'booking.sqlite3'}"
