"""Schemathesis against the live app on SQLite and PostgreSQL, anonymous and with a token,
all checks, few examples per operation (bench/schemathesis_run.py reruns it with more).

Known open findings (see the report of branch http): query parameters typed as free strings
whose values are enumerated in the code (ST202: "schema-valid request rejected"), ids beyond
int64 on SQLite (a 500, branch bounds), and status codes some operations answer that their
handlers do not declare. Until those are fixed this test is expected to fail; it must never
be skipped silently.
"""

from __future__ import annotations

import os

import pytest

from bench.schemathesis_run import run

MAX_EXAMPLES = int(os.environ.get("BOOKING_SCHEMATHESIS_EXAMPLES", "8"))


@pytest.mark.xfail(reason="open schemathesis findings, see module docstring", strict=False)
def test_schemathesis_finds_nothing(db_url: str, tmp_path):
    results = run(db_url, max_examples=MAX_EXAMPLES, workers=2, seed=1, log_dir=tmp_path)
    failed = [f"--- {result.label}\n{result.output[-4000:]}" for result in results if result.returncode != 0]
    assert not failed, "\n".join(failed)
