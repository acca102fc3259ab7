"""Which address is the client: X-Forwarded-For counts only when a configured proxy sent it."""

from __future__ import annotations

import secrets

import pytest

from booking.auth.client_address import TrustedProxies
from booking.settings import SettingsError, load_settings


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    nobody = TrustedProxies([])
    assert nobody.client_from("127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_from_a_trusted_proxy_the_first_untrusted_hop_from_the_right_is_the_client():
    proxies = TrustedProxies(["10.0.0.0/24", "127.0.0.1"])
    assert proxies.client_from("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    # A client that sends its own header cannot choose: the proxy appended its real address.
    assert proxies.client_from("127.0.0.1", "1.2.3.4, 198.51.100.7") == "198.51.100.7"
    # Two of our proxies in a row are skipped.
    assert proxies.client_from("10.0.0.5", "1.2.3.4, 198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert proxies.client_from("10.0.0.5", "198.51.100.7:4711") == "198.51.100.7"
    assert proxies.client_from("10.0.0.5", "[2001:db8::1]:4711") == "2001:db8::1"
    # A peer that is not one of ours is the client, header or not.
    assert proxies.client_from("192.0.2.50", "198.51.100.7") == "192.0.2.50"


def test_ipv6_and_ipv4_mapped_peers():
    proxies = TrustedProxies(["::1", "10.0.0.0/8"])
    assert proxies.is_trusted("::1") and proxies.is_trusted("::ffff:10.1.2.3")
    assert not proxies.is_trusted("::2") and not proxies.is_trusted("not-an-address")


def test_trusted_proxies_setting_from_file_and_environment(tmp_path):
    key = secrets.token_hex(32)
    config = tmp_path / "proxy.toml"
    config.write_text('[auth]\ntrusted_proxies = ["10.0.0.0/24", "127.0.0.1"]\n')
    assert load_settings(env={"BOOKING_CONFIG": str(config), "BOOKING_SECRET_KEY": key}).auth.trusted_proxies == ("10.0.0.0/24", "127.0.0.1")
    from_env = load_settings(env={"BOOKING_SECRET_KEY": key, "BOOKING_AUTH__TRUSTED_PROXIES": "10.0.0.1, fd00::/8"})
    assert from_env.auth.trusted_proxies == ("10.0.0.1", "fd00::/8")
    assert load_settings(env={"BOOKING_SECRET_KEY": key}).auth.trusted_proxies == ()
    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings(env={"BOOKING_SECRET_KEY": key, "BOOKING_AUTH__TRUSTED_PROXIES": "proxy.example.org"})
