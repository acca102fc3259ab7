"""Typed settings: config/default.toml < file named in BOOKING_CONFIG < BOOKING_* environment.

Settings are read once by the caller (CLI, tests) and passed in; nothing here runs at import.
Nested keys use a double underscore in the environment: ``BOOKING_MAIL__SMTP_PORT=2525``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_type_hints

from booking.auth.passwords import HashCost
from booking.resources import DEFAULT_CONFIG, default_data_dir

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
class AuthSettings:
    # Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For / -Proto headers
    # are believed. Empty: nobody's; the client address is the peer of the TCP connection.
    trusted_proxies: tuple[str, ...] = ()
    # A login session ends after this many days without a request (and at logout).
    session_idle_days: int = 14
    # Argon2id cost of new password hashes (RFC 9106 low-memory profile). Raising it rehashes a
    # password at its next login; lowering it below the default is for tests only.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    password_hash_parallelism: int = 4

    @property
    def password_cost(self) -> HashCost:
        return HashCost(self.password_hash_time_cost, self.password_hash_memory_kib, self.password_hash_parallelism)

    def __post_init__(self) -> None:
        import ipaddress

        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise SettingsError(
                    f"auth.trusted_proxies: {entry!r} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        if self.session_idle_days < 1:
            raise SettingsError("auth.session_idle_days: at least 1")
        if (problem := self.password_cost.problem()) is not None:
            raise SettingsError(f"auth.password_hash_*: {problem}")


@dataclasses.dataclass(frozen=True)
class PrivacySettings:
    """Operator content (legal pages) and how long personal data is kept (see services/privacy)."""

    # Markdown files imprint|privacy|accessibility.<de|en>.md; a relative path is inside data_dir.
    content_dir: str = "content"
    # Where accessibility feedback goes (the operator's contact address); empty: mail.sender.
    contact_email: str = ""
    # Published in /.well-known/security.txt (RFC 9116) for reports of vulnerabilities: an e-mail
    # address or an https URL of a form; empty: contact_email, then mail.sender.
    security_contact: str = ""
    feedback_per_hour: int = 5
    anonymise_bookings_after_months: int = 24
    delete_mail_bodies_after_days: int = 30
    delete_unverified_accounts_after_days: int = 14
    # Expired e-mail link tokens and invitations are deleted this long after they expired.
    delete_expired_tokens_after_days: int = 7


@dataclasses.dataclass(frozen=True)
class MapSettings:
    """The map of the sites (/karte): its tiles. (The licence of all open data is
    ``open_data.licence``; the former ``map.open_data_license`` is still read, see
    ``DEPRECATED_SETTINGS``.)"""

    # A Leaflet URL template ({s} sub-domain, {z}/{x}/{y} tile); the city may run its own server.
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    # Shown on every map; the tile server's terms ask for it.
    tile_attribution: str = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap-Mitwirkende</a>'
    # A Nominatim-compatible search URL (e.g. https://nominatim.openstreetmap.org/search): the
    # site form then looks up coordinates from the address. Empty (default): no look-up.
    geocoding_url: str = ""
    geocoding_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        from urllib.parse import urlsplit

        if urlsplit(self.tile_url).scheme not in {"https", "http"} or "{z}" not in self.tile_url:
            raise SettingsError("map.tile_url: an http(s) URL template with {z}, {x} and {y}")
        if self.geocoding_url and (urlsplit(self.geocoding_url).scheme not in {"https", "http"} or not urlsplit(self.geocoding_url).netloc):
            raise SettingsError("map.geocoding_url: empty, or an http(s) URL of a Nominatim-compatible search")
        if not 0 < self.geocoding_timeout_seconds <= 60:
            raise SettingsError("map.geocoding_timeout_seconds: more than 0, at most 60")

    @property
    def tile_origin(self) -> str:
        """scheme://host of the tile server (sub-domain placeholders widened), for the CSP."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.tile_url)
        return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"


@dataclasses.dataclass(frozen=True)
class OpenDataSettings:
    """Open data: its one licence, and the public page of aggregated figures per site and month
    (/offene-daten), off by default."""

    # The page of figures (/offene-daten, daten.csv, daten.json).
    enabled: bool = False
    # The licence of ALL open data: the sites as GeoJSON (/api/v1/sites.geojson), the map page,
    # the organisation directory as JSON and the figures of /offene-daten.
    licence: str = "Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0)"
    licence_url: str = "https://www.govdata.de/dl-de/by-2-0"
    # A cell describing fewer organisations or persons than this is suppressed.
    min_cell_size: int = 3

    def __post_init__(self) -> None:
        if self.min_cell_size < 1:
            raise SettingsError("open_data.min_cell_size: at least 1")


@dataclasses.dataclass(frozen=True)
class WaitingListSettings:
    """Waiting lists for taken slots: how long an offer is held, how many entries a person has."""

    # How long the first person in line may take a freed slot (never past its start).
    hold_hours: float = 24.0
    # Open entries (waiting or offered) one person may have at once, over all resources.
    max_entries_per_person: int = 10
    # Holds longer than this get one reminder mail ``reminder_hours_before`` their expiry
    # (0 there: no reminders); a short hold is noticed anyway.
    remind_holds_longer_than_hours: float = 12.0
    reminder_hours_before: float = 3.0

    def __post_init__(self) -> None:
        if self.hold_hours <= 0:
            raise SettingsError("waiting_list.hold_hours: more than 0")
        if self.max_entries_per_person < 1:
            raise SettingsError("waiting_list.max_entries_per_person: at least 1")
        if self.remind_holds_longer_than_hours < 0:
            raise SettingsError("waiting_list.remind_holds_longer_than_hours: 0 or more")
        if self.reminder_hours_before < 0:
            raise SettingsError("waiting_list.reminder_hours_before: 0 or more")
        if self.reminder_hours_before and self.reminder_hours_before >= self.remind_holds_longer_than_hours:
            raise SettingsError(
                "waiting_list.reminder_hours_before: less than remind_holds_longer_than_hours (else the reminder comes with the offer)"
            )


@dataclasses.dataclass(frozen=True)
class Settings:
    # Empty: booking.sqlite3 in data_dir. A relative SQLite path is taken inside data_dir.
    database_url: str = ""
    # The SQLite file, the generated secret key and caught mail. Empty: see default_data_dir().
    data_dir: str = ""
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
    auth: AuthSettings = dataclasses.field(default_factory=AuthSettings)
    privacy: PrivacySettings = dataclasses.field(default_factory=PrivacySettings)
    map: MapSettings = dataclasses.field(default_factory=MapSettings)
    open_data: OpenDataSettings = dataclasses.field(default_factory=OpenDataSettings)
    waiting_list: WaitingListSettings = dataclasses.field(default_factory=WaitingListSettings)

    @property
    def host_name(self) -> str:
        """The host part of base_url, used in UIDs and Message-IDs."""
        return _host_name(self.base_url)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


@functools.lru_cache(maxsize=8)
def _host_name(base_url: str) -> str:
    # Cached: every booking's UID and Message-ID asks (issue 10); settings are immutable.
    from urllib.parse import urlsplit

    return urlsplit(base_url).hostname or "localhost"


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
    if target == tuple[str, ...]:
        return tuple(part.strip() for part in value.split(",") if part.strip())
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
            value = values[field.name]
            if target == tuple[str, ...]:
                if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
                    raise SettingsError(f"{field.name}: expected a list of strings")
                value = tuple(value)
            kwargs[field.name] = value
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
    return cls(**kwargs)


#: Settings that were renamed: (old section, old key) -> (new section, new key). The old name
#: is still read — with a warning in the log — unless the new one is given too.
DEPRECATED_SETTINGS = {
    ("map", "open_data_license"): ("open_data", "licence"),
    ("map", "open_data_license_url"): ("open_data", "licence_url"),
}


def _env_key(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section.upper()}__{key.upper()}"


def _read_deprecated(values: dict[str, Any], env: dict[str, str]) -> None:
    """Move the values of renamed settings (config files: ``values``; environment: ``env``) to
    their new names, in place, and say so in the log. The new name wins when both are given."""
    import logging

    logger = logging.getLogger("booking.settings")
    for (old_section, old_key), (new_section, new_key) in DEPRECATED_SETTINGS.items():
        old_env, new_env = _env_key(old_section, old_key), _env_key(new_section, new_key)
        section = values.get(old_section)
        in_file = isinstance(section, dict) and old_key in section
        if old_env not in env and not in_file:
            continue
        logger.warning(
            "the setting %s.%s (%s) is deprecated and will be removed: use %s.%s (%s) instead",
            old_section, old_key, old_env, new_section, new_key, new_env,
        )
        new_section_values = values.setdefault(new_section, {})
        if in_file:
            old_value = section.pop(old_key)  # type: ignore[union-attr]
            if new_key not in new_section_values and new_env not in env:
                new_section_values[new_key] = old_value
        if old_env in env:
            old_value = env.pop(old_env)
            if new_env not in env:
                env[new_env] = old_value


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from the default file, the BOOKING_CONFIG file and the environment."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    for path in (DEFAULT_CONFIG, env.get("BOOKING_CONFIG")):
        if path:
            with open(path, "rb") as handle:
                loaded = tomllib.load(handle)
            if path != DEFAULT_CONFIG:
                # A renamed setting in the operator's file: read under its new name. (Its new
                # name set in this same file wins; the shipped defaults never do.)
                _read_deprecated(loaded, {})
            _merge(values, loaded)
    _read_deprecated(values, env)
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
    """Fix the data directory, put relative SQLite paths inside it, and provide a secret key for
    one-machine set-ups."""
    data_dir = Path(settings.data_dir).expanduser().absolute() if settings.data_dir else default_data_dir()
    changes: dict[str, Any] = {"data_dir": str(data_dir)}
    prefix = "sqlite+aiosqlite:///"
    database_url = settings.database_url or prefix + "booking.sqlite3"
    if database_url.startswith(prefix):
        raw_path = database_url[len(prefix) :]
        if raw_path and raw_path != ":memory:" and not raw_path.startswith("/"):
            database_url = prefix + str(data_dir / raw_path)
    changes["database_url"] = database_url
    if not settings.secret_key:
        changes["secret_key"] = _local_secret_key(data_dir / "secret_key")
    else:
        check_secret_key(settings.secret_key)
    return settings.replace(**changes)


MIN_SECRET_KEY_BYTES = 32
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 10
# Values that appear in this project's documentation and examples: whoever read them can
# forge session cookies for a site that uses them.
KNOWN_SECRET_KEYS = frozenset({
    "change-me-to-64-random-characters",
    "change-me",
    "changeme",
    "secret",
})
HOW_TO_MAKE_A_KEY = (
    "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))' and set it as "
    "secret_key in the config file or BOOKING_SECRET_KEY (or leave it empty on a single machine: "
    "a key is then generated into the data directory)"
)


def check_secret_key(key: str) -> None:
    """Refuse a secret key that someone else knows or could guess: it signs every session.

    Raises ``SettingsError`` for the documented placeholder, a key shorter than 32 bytes,
    or one made of a few repeated characters ("xxxx…").
    """
    stripped = key.strip()
    if stripped.lower() in KNOWN_SECRET_KEYS or stripped.lower().startswith("change-me"):
        raise SettingsError(f"secret_key is the example value from the documentation; {HOW_TO_MAKE_A_KEY}")
    if len(stripped.encode()) < MIN_SECRET_KEY_BYTES:
        raise SettingsError(
            f"secret_key is too short ({len(stripped.encode())} bytes, at least {MIN_SECRET_KEY_BYTES} needed); {HOW_TO_MAKE_A_KEY}"
        )
    if len(set(stripped)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS:
        raise SettingsError(f"secret_key is not random (too few different characters); {HOW_TO_MAKE_A_KEY}")


def _local_secret_key(path: Path) -> str:
    """The key in data_dir/secret_key, made once; several processes starting together agree on it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this very moment
            key = path.read_text().strip()
            if key:
                check_secret_key(key)
                return key
            time.sleep(0.02)
        raise SettingsError(f"{path} is empty; delete it or set BOOKING_SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key
