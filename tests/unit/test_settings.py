"""Settings: file < BOOKING_CONFIG < environment; bad values are reported, not guessed."""

from __future__ import annotations

import secrets

import pytest

from booking.settings import PROJECT_ROOT, SettingsError, load_settings

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


def test_relative_sqlite_paths_become_absolute():
    settings = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY, "BOOKING_DATABASE_URL": "sqlite+aiosqlite:///var/x.sqlite3"})
    assert settings.database_url.startswith("sqlite+aiosqlite:////") and settings.database_url.endswith("/var/x.sqlite3")


@pytest.mark.parametrize("key", [
    "change-me-to-64-random-characters",  # the placeholder of config/production.example.toml
    "kurz",
    "0123456789abcdef0123456789abcde",  # 31 bytes
    "x" * 64,  # long, but anyone could guess it
])
def test_a_known_or_weak_secret_key_is_refused_with_a_way_to_make_one(key):
    with pytest.raises(SettingsError) as error:
        load_settings(env={"BOOKING_SECRET_KEY": key})
    assert "secret_key" in str(error.value)
    assert "secrets.token_hex(32)" in str(error.value)


def test_the_production_example_is_refused_until_its_key_is_replaced():
    example = PROJECT_ROOT / "config" / "production.example.toml"
    with pytest.raises(SettingsError, match="example value"):
        load_settings(env={"BOOKING_CONFIG": str(example)})
    settings = load_settings(env={"BOOKING_CONFIG": str(example), "BOOKING_SECRET_KEY": GOOD_KEY})
    assert settings.secret_key == GOOD_KEY


def test_a_key_of_32_random_bytes_or_a_generated_one_is_accepted():
    assert load_settings(env={"BOOKING_SECRET_KEY": secrets.token_urlsafe(32)}).secret_key
    generated = load_settings(env={})  # empty: made once into var/secret_key
    assert len(generated.secret_key) == 64


def test_the_app_refuses_weak_settings_built_by_hand():
    from booking.app import create_app

    settings = load_settings(env={"BOOKING_SECRET_KEY": GOOD_KEY}).replace(secret_key="t" * 8)
    with pytest.raises(SettingsError):
        create_app(settings)
