"""publiccode.yml (Open CoDE, EU Joinup) at the repository root follows the 0.4 standard:
required keys, allowed values, length limits of the descriptions (https://yml.publiccode.tools)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT_STATUS = {"concept", "development", "beta", "stable", "obsolete"}
SOFTWARE_TYPES = {"standalone/mobile", "standalone/iot", "standalone/desktop", "standalone/web", "standalone/backend",
                  "standalone/other", "addon", "library", "configurationFiles"}
MAINTENANCE_TYPES = {"internal", "contract", "community", "none"}
# A subset of the standard's category list (the ones that could fit a booking service).
CATEGORIES = {"online-booking", "resource-management", "facility-management", "appointment-scheduling",
              "event-management", "collaboration", "inventory-management", "time-management"}
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")


def _load() -> dict:
    return yaml.safe_load((ROOT / "publiccode.yml").read_text(encoding="utf-8"))


def test_required_keys_and_values() -> None:
    data = _load()
    for key in ("publiccodeYmlVersion", "name", "url", "platforms", "developmentStatus", "softwareType",
                "description", "legal", "maintenance", "localisation"):
        assert key in data, key
    assert data["publiccodeYmlVersion"] == "0.4"
    assert data["url"].startswith("https://")
    assert data["platforms"] and set(data["platforms"]) <= {"web", "windows", "mac", "linux", "ios", "android"}
    assert data["developmentStatus"] in DEVELOPMENT_STATUS
    assert data["softwareType"] in SOFTWARE_TYPES
    assert set(data.get("categories", [])) <= CATEGORIES
    datetime.date.fromisoformat(data["releaseDate"])
    assert data["legal"]["license"] == "EUPL-1.2"
    assert data["maintenance"]["type"] in MAINTENANCE_TYPES
    if data["maintenance"]["type"] in {"internal", "community"}:
        assert all(contact.get("name") for contact in data["maintenance"]["contacts"])
    assert data["localisation"]["localisationReady"] is True
    assert set(data["localisation"]["availableLanguages"]) == {"de", "en"}


def test_descriptions_fit_the_limits() -> None:
    for language, description in _load()["description"].items():
        assert LANGUAGE.match(language), language
        assert description["shortDescription"] and len(description["shortDescription"]) <= 150, language
        assert 150 <= len(description["longDescription"]) <= 10000, language
        assert description["features"] and all(len(feature) <= 100 for feature in description["features"])
