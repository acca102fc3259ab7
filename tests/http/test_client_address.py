"""The login rate limit counts per real client: rotating X-Forwarded-For does not buy attempts.

The server runs the way operators start it (``booking serve``), on both databases.
"""

from __future__ import annotations

import httpx

from tests.support.live_server import live_server

LIMIT = 3


def _attempts(base_url: str, forwarded_for: list[str]) -> list[int]:
    answers = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for address in forwarded_for:
            answer = client.post("/api/v1/auth/login", json={"email": "victim@example.org", "password": "guess-number-x"},
                                 headers={"X-Forwarded-For": address})
            answers.append(answer.status_code)
    return answers


def test_rotating_forwarded_for_from_an_untrusted_client_does_not_bypass_the_login_limit(db_url):
    with live_server(db_url, via_cli=True, extra_env={"BOOKING_LOGIN_RATE_LIMIT_PER_MINUTE": str(LIMIT)}) as base_url:
        answers = _attempts(base_url, [f"203.0.113.{n}" for n in range(LIMIT + 3)])
    assert answers[:LIMIT] == [401] * LIMIT
    assert answers[LIMIT:] == [429] * 3, answers


def test_from_a_configured_proxy_the_forwarded_address_is_counted(db_url):
    extra_env = {"BOOKING_LOGIN_RATE_LIMIT_PER_MINUTE": str(LIMIT), "BOOKING_AUTH__TRUSTED_PROXIES": "127.0.0.0/8"}
    with live_server(db_url, via_cli=True, extra_env=extra_env) as base_url:
        # Each forwarded client has its own count ...
        spread = _attempts(base_url, [f"203.0.113.{n}" for n in range(LIMIT + 3)])
        # ... and one forwarded client is limited, whatever it puts in front of the proxy's entry.
        one = _attempts(base_url, [f"10.9.9.{n}, 198.51.100.1" for n in range(LIMIT + 1)])
    assert spread == [401] * (LIMIT + 3)
    assert one == [401] * LIMIT + [429]
