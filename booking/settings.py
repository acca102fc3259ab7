"""Typed settings: config/default.toml < file named in BOOKING_CONFIG < BOOKING_* environment.

Settings are read once by the caller (CLI, tests) and passed in; nothing here runs at import.
Nested keys use a double underscore in the environment: ``BOOKING_MAIL__SMTP_PORT=2525``.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_type_hints

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.toml"
ENV_PREFIX = "BOOKING_"


@dataclasses.dataclass(frozen=True)
class MailSettings:
    sender: str = "booking@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 30.0
    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    poll_seconds: float = 2.0
    batch_size: int = 50
    # A worker owns the messages it claimed this long; after a crash others take them then.
    lease_seconds: float = 300.0
    reminder_hours_before: int = 24


@dataclasses.dataclass(frozen=True)
class PrivacySettings:
    """Operator content (legal pages) and how long personal data is kept (see services/privacy)."""

    # Markdown files imprint|privacy|accessibility.<de|en>.md; relative paths are below the project.
    content_dir: str = "var/content"
    # Where accessibility feedback goes (the operator's contact address); empty: mail.sender.
    contact_email: str = ""
    feedback_per_hour: int = 5
    anonymise_bookings_after_months: int = 24
    delete_mail_bodies_after_days: int = 30
    delete_unverified_accounts_after_days: int = 14
    # Expired e-mail link tokens and invitations are deleted this long after they expired.
    delete_expired_tokens_after_days: int = 7


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///var/booking.sqlite3"
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    secure_cookies: bool = False
    default_language: str = "de"
    default_timezone: str = "Europe/Berlin"
    run_worker_in_process: bool = True
    max_request_body_bytes: int = 256 * 1024
    login_rate_limit_per_minute: int = 10
    debug: bool = False
    mail: MailSettings = dataclasses.field(default_factory=MailSettings)
    privacy: PrivacySettings = dataclasses.field(default_factory=PrivacySettings)

    @property
    def host_name(self) -> str:
        """The host part of base_url, used in UIDs and Message-IDs."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).hostname or "localhost"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


class SettingsError(ValueError):
    """A configuration value that cannot be used."""


def _coerce(value: str, target: Any, key: str) -> Any:
    if target is bool:
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{key}: expected true or false, got {value!r}")
    if target is int:
        try:
            return int(value)
        except ValueError as exc:
            raise SettingsError(f"{key}: expected an integer, got {value!r}") from exc
    if target is float:
        try:
            return float(value)
        except ValueError as exc:
            raise SettingsError(f"{key}: expected a number, got {value!r}") from exc
    return value


def _build(cls: type, values: Mapping[str, Any], env: Mapping[str, str], prefix: str) -> Any:
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        target = hints[field.name]
        env_key = f"{prefix}{field.name.upper()}"
        if dataclasses.is_dataclass(target):
            nested = values.get(field.name, {})
            if not isinstance(nested, Mapping):
                raise SettingsError(f"{field.name}: expected a table")
            kwargs[field.name] = _build(target, nested, env, env_key + "__")
            continue
        if env_key in env:
            kwargs[field.name] = _coerce(env[env_key], target, env_key)
        elif field.name in values:
            kwargs[field.name] = values[field.name]
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
    return cls(**kwargs)


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from the default file, the BOOKING_CONFIG file and the environment."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for path in (DEFAULT_CONFIG, env.get("BOOKING_CONFIG")):
        if path:
            with open(path, "rb") as handle:
                _merge(values, tomllib.load(handle))
    settings = _build(Settings, values, env, ENV_PREFIX)
    settings = settings.replace(**overrides) if overrides else settings
    return _resolve(settings)


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def _resolve(settings: Settings) -> Settings:
    """Make relative SQLite paths absolute and provide a secret key for one-machine set-ups."""
    changes: dict[str, Any] = {}
    prefix = "sqlite+aiosqlite:///"
    if settings.database_url.startswith(prefix):
        raw_path = settings.database_url[len(prefix) :]
        if raw_path and raw_path != ":memory:" and not raw_path.startswith("/"):
            absolute = PROJECT_ROOT / raw_path
            changes["database_url"] = prefix + str(absolute)
    if not settings.secret_key:
        changes["secret_key"] = _local_secret_key()
    return settings.replace(**changes) if changes else settings


def _local_secret_key() -> str:
    """The key in var/secret_key, made once; several processes starting together agree on it."""
    path = PROJECT_ROOT / "var" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this very moment
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise SettingsError(f"{path} is empty; delete it or set BOOKING_SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key
