"""Ids beyond 64 bits (schemathesis found them) answer 400 with a reason on both databases, never 500."""

from __future__ import annotations

from tests.http.conftest import login

HUGE = 745962069628562576506880


async def test_ids_beyond_int64_are_bad_input(client, world):
    await login(client, world, "lender_a")
    answers = [
        await client.get(f"/api/v1/bookings/{HUGE}/history"),
        await client.post(f"/api/v1/bookings/{HUGE}/approve", json={}),
        await client.post(f"/api/v1/feeds/{HUGE}/regenerate", json={}),
    ]
    assert [answer.status_code for answer in answers] == [400, 400, 400], [answer.text for answer in answers]
    assert all(answer.headers["content-type"] == "application/problem+json" for answer in answers)
