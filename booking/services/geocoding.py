"""Looking up a site's coordinates from its address, when a geocoding service is configured.

Optional (``map.geocoding_url`` empty: off): the site form works with typed coordinates or a
click on the map. The service is any Nominatim-compatible search endpoint (``/search`` with
``q``, ``format=jsonv2``, ``limit``; an array of places with ``lat``, ``lon`` and
``display_name``). The request is made server-side with a timeout and a User-Agent that names
the operator (Nominatim's usage policy asks for it); a failure is a message at the address
field, never an obstacle to saving the form, which does not call this at all.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from booking.domain.errors import DomainError, InvalidInput
from booking.domain.geo import check_coordinates
from booking.settings import Settings

MAX_RESULTS = 5
MAX_ANSWER_BYTES = 512 * 1024
MAX_QUERY = 500


class GeocodingFailed(DomainError):
    """The service did not answer usefully (not reachable, too slow, not its format)."""

    status_code = 400
    code = "geocoding_failed"


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    label: str


def is_enabled(settings: Settings) -> bool:
    return bool(settings.map.geocoding_url)


def user_agent(settings: Settings) -> str:
    """Names this service and its operator: the public URL and the contact address."""
    contact = settings.privacy.contact_email or settings.mail.sender
    return f"booking/1 (+{settings.base_url}; {contact})"


def _places(answer: object) -> list[Place]:
    if not isinstance(answer, list):
        raise GeocodingFailed("the geocoding service answered in an unknown format", field="address")
    places = []
    for item in answer[:MAX_RESULTS]:
        try:
            latitude, longitude = check_coordinates(float(item["lat"]), float(item["lon"]))
            label = " ".join(str(item.get("display_name") or "").split())[:300]
        except (KeyError, TypeError, ValueError, DomainError):
            continue  # one odd entry does not spoil the others
        places.append(Place(latitude, longitude, label or f"{latitude}, {longitude}"))
    return places


def _fetch(url: str, agent: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": agent, "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an http(s) URL of the settings
        body = response.read(MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise GeocodingFailed("the geocoding service answered in an unknown format", field="address")
    return body


async def look_up(settings: Settings, address: str, *, language: str = "de") -> list[Place]:
    """Places for ``address`` (best first, at most ``MAX_RESULTS``); ``GeocodingFailed`` at the
    address field when the service fails, ``InvalidInput`` when there is nothing to look up."""
    if not is_enabled(settings):
        raise InvalidInput("no geocoding service is configured", field="address")
    query = " ".join(address.split())[:MAX_QUERY]
    if not query:
        raise InvalidInput("please enter the address to look up", field="address")
    separator = "&" if "?" in settings.map.geocoding_url else "?"
    url = settings.map.geocoding_url + separator + urlencode(
        {"q": query, "format": "jsonv2", "limit": str(MAX_RESULTS), "accept-language": language})
    try:
        body = await asyncio.to_thread(_fetch, url, user_agent(settings), settings.map.geocoding_timeout_seconds)
    except GeocodingFailed:
        raise
    except (TimeoutError, urllib.error.URLError, OSError) as error:
        if isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError):
            raise GeocodingFailed("the geocoding service did not answer in time; enter the coordinates or try again", field="address") from None
        raise GeocodingFailed("the geocoding service is not reachable; enter the coordinates or try again later", field="address") from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise GeocodingFailed("the geocoding service answered in an unknown format", field="address") from None
    return _places(answer)
