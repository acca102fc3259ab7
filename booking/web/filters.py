"""Jinja filters and globals for pages: instants shown in the site's zone and the page's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from booking.i18n import (
    current_language,
    format_date_local,
    format_datetime_local,
    format_interval,
    format_time_local,
)
from booking.services.context import AppContext

DEFAULT_TIMEZONE = "Europe/Berlin"


def _language(context: Context) -> str:
    return context.get("language") or current_language()


@pass_context
def local_datetime(context: Context, instant: datetime, timezone: str = DEFAULT_TIMEZONE, format: str = "medium") -> str:
    return format_datetime_local(instant, timezone, _language(context), format=format)


@pass_context
def local_date(context: Context, instant: datetime, timezone: str = DEFAULT_TIMEZONE, format: str = "medium") -> str:
    return format_date_local(instant, timezone, _language(context), format=format)


@pass_context
def local_time(context: Context, instant: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    return format_time_local(instant, timezone, _language(context))


@pass_context
def local_interval(context: Context, starts_at: datetime, ends_at: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    return format_interval(starts_at, ends_at, timezone, _language(context))


def datetime_local_value(instant: datetime | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The value of an ``<input type="datetime-local">`` in the site's zone."""
    from zoneinfo import ZoneInfo

    if instant is None:
        return ""
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def local_day_value(instant: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The local day of an instant as YYYY-MM-DD (for links and ``<input type="date">``)."""
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(timezone)).date().isoformat()


@pass_context
def format_number(context: Context, value: float) -> str:
    """A number in the page's language ("12,5" in German), at most two decimals."""
    from babel.numbers import format_decimal

    return format_decimal(round(float(value), 2), format="#,##0.##", locale=_language(context))


FILTERS: dict[str, Any] = {
    "format_number": format_number,
    "local_day_value": local_day_value,
    "local_datetime": local_datetime,
    "local_date": local_date,
    "local_time": local_time,
    "local_interval": local_interval,
    "datetime_local_value": datetime_local_value,
}


def globals_for(app_context: AppContext) -> dict[str, Any]:
    return {
        "service_base_url": app_context.settings.base_url,
        # The site map's tile server (the admin's site form places a site by a click on the map).
        # The site form offers to look up coordinates from the address (map.geocoding_url).
        "geocoding_enabled": bool(app_context.settings.map.geocoding_url),
        "map_tiles": {"tile_url": app_context.settings.map.tile_url, "attribution": app_context.settings.map.tile_attribution},
    }
