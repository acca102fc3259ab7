"""The Argon2 cost of new password hashes comes from the settings; its defaults are RFC 9106's."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from booking.auth.passwords import HashCost, hash_password, needs_rehash, verify_password
from booking.settings import SettingsError, load_settings


def test_the_default_cost_is_rfc_9106s_low_memory_profile():
    cost = load_settings(env={}).auth.password_cost
    assert (cost.time_cost, cost.memory_kib, cost.parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost, RFC_9106_LOW_MEMORY.parallelism)


def test_the_cost_is_read_from_the_environment():
    env = {"BOOKING_AUTH__PASSWORD_HASH_TIME_COST": "4", "BOOKING_AUTH__PASSWORD_HASH_MEMORY_KIB": "4096",
           "BOOKING_AUTH__PASSWORD_HASH_PARALLELISM": "2"}
    assert load_settings(env=env).auth.password_cost == HashCost(4, 4096, 2)


@pytest.mark.parametrize("env", [
    {"BOOKING_AUTH__PASSWORD_HASH_TIME_COST": "0"},
    {"BOOKING_AUTH__PASSWORD_HASH_PARALLELISM": "4", "BOOKING_AUTH__PASSWORD_HASH_MEMORY_KIB": "16"},
])
def test_an_impossible_cost_is_refused_at_start(env):
    with pytest.raises(SettingsError, match="password_hash"):
        load_settings(env=env)


def test_a_hash_carries_its_cost_so_old_hashes_verify_and_ask_to_be_rehashed():
    low, high = HashCost(1, 1024, 1), HashCost(2, 2048, 1)
    stored = hash_password("correct-horse-battery", low)
    assert extract_parameters(stored).memory_cost == 1024
    assert verify_password(stored, "correct-horse-battery", high)
    assert not verify_password(stored, "wrong-horse-battery", high)
    assert needs_rehash(stored, high) and not needs_rehash(stored, low)
