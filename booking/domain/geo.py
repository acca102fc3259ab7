"""Places on the earth: checking coordinates, distances between them, links to a routing map."""

from __future__ import annotations

import math

from booking.domain.errors import InvalidInput

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def check_coordinates(latitude: float, longitude: float) -> tuple[float, float]:
    """``(latitude, longitude)`` when both are finite and in range; InvalidInput at the field otherwise."""
    if not math.isfinite(latitude) or not -90 <= latitude <= 90:
        raise InvalidInput("the latitude lies between -90 and 90", field="latitude")
    if not math.isfinite(longitude) or not -180 <= longitude <= 180:
        raise InvalidInput("the longitude lies between -180 and 180", field="longitude")
    return latitude, longitude


def parse_coordinate(text: str, field: str) -> float:
    """A coordinate typed in a form: "54.79" or "54,79" (German decimal comma)."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise InvalidInput("please enter a number like 54.7937", field=field) from None
    if not math.isfinite(value):
        raise InvalidInput("please enter a number like 54.7937", field=field)
    return value


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points (haversine formula)."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def directions_url(latitude: float, longitude: float) -> str:
    """OpenStreetMap's route planner with the place as destination (the visitor adds the start)."""
    return f"https://www.openstreetmap.org/directions?to={latitude:.6f}%2C{longitude:.6f}"
