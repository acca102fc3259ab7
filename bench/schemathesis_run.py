"""Schemathesis against the live app: every operation of /schema/openapi.json, all checks.

    PYTHONPATH=. python bench/schemathesis_run.py                      # SQLite, 25 examples
    PYTHONPATH=. python bench/schemathesis_run.py --max-examples 500   # a longer hunt
    PYTHONPATH=. python bench/schemathesis_run.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/st

It migrates the database (a fresh SQLite file by default), loads the demo data, makes a
personal API token for a demo member, starts a real server (tests/support/live_server.py)
and runs schemathesis twice: anonymous and with the token. Checks: all of them (no 5xx, no
undocumented status code or content type, answers that match the schema, no answer slower
than --max-response-time seconds). Exit code 0 when both runs pass. The test suite calls
``run`` with few examples (tests/http/test_schemathesis.py).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from booking.db import Database  # noqa: E402
from booking.db.migrate import upgrade  # noqa: E402
from booking.services import accounts  # noqa: E402
from booking.services.context import AppContext  # noqa: E402
from booking.services.demo import load_demo_data  # noqa: E402
from booking.settings import load_settings  # noqa: E402
from tests.support.live_server import live_server  # noqa: E402

TOKEN_ROLE_HINT = "member"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"


@dataclass(frozen=True)
class RunResult:
    label: str
    returncode: int
    output: str


async def _prepare(database_url: str) -> str:
    """Demo data and a personal API token of a demo member (printed once by the CLI too)."""
    app = AppContext(database=Database(database_url), settings=load_settings(env={}, database_url=database_url, secret_key=secrets.token_hex(32)))
    try:
        demo_accounts = await load_demo_data(app)
        email = next((email for role, email, _ in demo_accounts if TOKEN_ROLE_HINT in role.lower()), demo_accounts[0][1])
        return await accounts.create_api_token(app, email, "schemathesis")
    finally:
        await app.database.dispose()


def _schemathesis() -> list[str]:
    beside = Path(sys.executable).parent / "schemathesis"
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if not found:
        raise FileNotFoundError("schemathesis is not installed (pip install schemathesis)")
    return [found]


def run(
    database_url: str | None = None, *, max_examples: int = 25, max_response_time: float = 5.0,
    workers: int = 2, seed: int | None = 1, log_dir: Path | None = None,
) -> list[RunResult]:
    """Both runs (anonymous, with a token) against a fresh server; their results."""
    scratch = Path(tempfile.mkdtemp(prefix="booking-schemathesis-"))
    database_url = database_url or f"sqlite+aiosqlite:///{scratch / 'booking.sqlite3'}"
    upgrade(database_url)
    token = asyncio.run(_prepare(database_url))
    results = []
    with live_server(database_url, log_file=(log_dir or scratch) / "server.log") as base_url:
        for label, headers in (("anonymous", []), ("token", ["-H", f"Authorization: Bearer {token}"])):
            command = [
                *_schemathesis(), "--config-file", str(CONFIG), "run", f"{base_url}/schema/openapi.json", "--checks", "all",
                "--max-examples", str(max_examples), "--max-response-time", str(max_response_time),
                "--workers", str(workers), "--phases", "examples,fuzzing", "--no-color", *headers,
            ]
            if seed is not None:
                command += ["--seed", str(seed)]
            completed = subprocess.run(command, capture_output=True, text=True, cwd=scratch, timeout=900)
            results.append(RunResult(label, completed.returncode, completed.stdout + completed.stderr))
    shutil.rmtree(scratch, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--max-response-time", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    results = run(args.database_url, max_examples=args.max_examples, max_response_time=args.max_response_time,
                  workers=args.workers, seed=args.seed)
    for result in results:
        print(f"===== schemathesis, {result.label}: exit {result.returncode}\n{result.output}")
    return 0 if all(result.returncode == 0 for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
