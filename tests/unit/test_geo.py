"""Coordinates, distances and routing links (booking/domain/geo.py)."""

from __future__ import annotations

import pytest

from booking.domain.errors import InvalidInput
from booking.domain.geo import check_coordinates, directions_url, distance_km, parse_coordinate

FLENSBURG_STATION = (54.7743, 9.4366)
NEUSTADT = (54.7993, 9.4327)


def test_distance_between_two_places_in_flensburg():
    # 0.025° of latitude is 2.78 km; the small change of longitude adds little.
    assert distance_km(FLENSBURG_STATION, NEUSTADT) == pytest.approx(2.78, abs=0.02)


def test_distance_is_symmetric_and_zero_for_the_same_place():
    assert distance_km(NEUSTADT, NEUSTADT) == 0
    assert distance_km(NEUSTADT, FLENSBURG_STATION) == pytest.approx(distance_km(FLENSBURG_STATION, NEUSTADT))


def test_distance_across_the_globe_is_half_the_circumference():
    assert distance_km((0, 0), (0, 180)) == pytest.approx(20015.1, abs=0.5)


@pytest.mark.parametrize(("latitude", "longitude", "field"), [
    (90.01, 9.4, "latitude"), (-91, 9.4, "latitude"), (54.8, 180.5, "longitude"), (54.8, -181, "longitude"),
    (float("nan"), 9.4, "latitude"), (54.8, float("inf"), "longitude"),
])
def test_out_of_range_coordinates_are_refused_at_their_field(latitude, longitude, field):
    with pytest.raises(InvalidInput) as error:
        check_coordinates(latitude, longitude)
    assert error.value.field == field


def test_the_edges_are_valid():
    assert check_coordinates(-90, 180) == (-90, 180)


def test_a_german_decimal_comma_is_read_and_words_are_refused():
    assert parse_coordinate(" 54,7937 ", "latitude") == 54.7937
    with pytest.raises(InvalidInput) as error:
        parse_coordinate("Norden", "latitude")
    assert error.value.field == "latitude"
    with pytest.raises(InvalidInput):
        parse_coordinate("nan", "longitude")


def test_directions_link_names_the_destination_in_latitude_longitude_order():
    assert directions_url(*NEUSTADT) == "https://www.openstreetmap.org/directions?to=54.799300%2C9.432700"
