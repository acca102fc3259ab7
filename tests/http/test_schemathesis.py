"""Schemathesis against the live app on both databases, anonymous and with a member's token.

All checks run (no 5xx, no undocumented status code or content type, answers match the schema,
schema-valid requests accepted, invalid ones refused, no answer slower than
SLOWEST_ANSWER seconds), with a few examples per operation and a fixed seed so that a run
repeats. The answer-time check is there to catch unbounded work (a 1900 series once cost 80 s),
not to measure speed: CI shares two cores among several test processes, so its bound is wide;
the benchmark keeps 5 s on a quiet machine. For a longer hunt:
``PYTHONPATH=. python bench/schemathesis_run.py --max-examples 500``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from bench.schemathesis_run import run
from tests.conftest import _pg_url, _postgres_listens, _run_pg_admin, unavailable

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 5
SLOWEST_ANSWER = 30.0


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A database of this test's own: the run loads the demo data into it."""
    if request.param == "sqlite":
        yield None  # run() makes a fresh SQLite file
        return
    if not _postgres_listens():
        unavailable("PostgreSQL does not listen")
    name = f"booking_schemathesis_{os.getpid()}_{secrets.token_hex(3)}"
    _run_pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _run_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_schemathesis_finds_nothing(fresh_database_url: str | None) -> None:
    results = run(fresh_database_url, max_examples=EXAMPLES_PER_OPERATION, seed=1, workers=1, max_response_time=SLOWEST_ANSWER)
    assert [result.label for result in results] == ["anonymous", "token"]
    for result in results:
        assert result.returncode == 0, f"schemathesis ({result.label}) found problems:\n{result.output[-20000:]}"
        assert " passed" in result.output
