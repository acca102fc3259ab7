#!/usr/bin/env python3
"""Set-up commands that need nothing but Python 3.11+.

    python3 tasks.py run    # .venv, migrate the SQLite file, load demo data, serve
    python3 tasks.py test   # .venv, run every test (PostgreSQL and browser tests included)
    python3 tasks.py lock   # add new dependencies to requirements/lock.txt, keeping every other pin
    python3 tasks.py lock --upgrade   # move every pin to today's newest release (on purpose)
    python3 tasks.py bench  # every benchmark of issue 10 in one go; writes bench/RESULTS.md (minutes)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


LOCK = ROOT / "requirements" / "lock.txt"


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create .venv and install the project with its test extras when missing or outdated."""
    if sys.version_info < (3, 11):
        sys.exit("booking needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except Exception as error:  # noqa: BLE001
            sys.exit(f"could not create .venv ({error}); on Debian: apt-get install python3-venv")
    digest = _requirements_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("installing dependencies into .venv …", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    # Exact versions (with hashes) from the lock, then the project itself without resolving again:
    # which release pip would pick today never changes what runs.
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(digest)


def run() -> int:
    ensure_environment()
    booking = str(BIN / "booking")
    subprocess.run([booking, "db", "upgrade"], check=True, cwd=ROOT)
    subprocess.run([booking, "demo"], check=True, cwd=ROOT)
    # The demo's e-mail (verification and login links, invites) lands in var/mail/*.eml.
    catcher = subprocess.Popen([booking, "mailcatcher"], cwd=ROOT)
    print("Open http://127.0.0.1:8000 in your browser (Ctrl+C stops the server).", flush=True)
    try:
        return subprocess.call([booking, "serve", *sys.argv[2:]], cwd=ROOT)
    finally:
        catcher.terminate()


def test() -> int:
    """Every test; with no arguments the suite is shared by one pytest process per core (at most 4).

    Each process has its own PostgreSQL database, SQLite files, browser and live servers; tests
    of one file stay in one process (their module fixtures are shared).
    """
    ensure_environment()
    arguments = sys.argv[2:]
    if not arguments:
        workers = max(1, min(os.cpu_count() or 1, 4))
        arguments = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []
        # The slowest tests named at the end of every full run: the suite must stay under 20 minutes.
        arguments.append("--durations=25")
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *arguments], cwd=ROOT)


def bench() -> int:
    """Create rate against the bare endpoint, feeds against Radicale, availability at scale."""
    ensure_environment()
    return subprocess.call([str(BIN / "python"), str(ROOT / "bench" / "run.py"), *sys.argv[2:]], cwd=ROOT)


def lock() -> int:
    """Re-resolve pyproject.toml's dependencies into requirements/lock.txt (run it on purpose)."""
    ensure_environment()
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "pip-tools>=7.4"], check=True)
    return subprocess.call(
        [
            str(BIN / "pip-compile"), "--quiet", "--extra", "test", "--extra", "bench",
            "--generate-hashes", "--allow-unsafe", "--strip-extras",
            "-o", str(LOCK), str(ROOT / "pyproject.toml"), *sys.argv[2:],
        ],
        cwd=ROOT,
    )


if __name__ == "__main__":
    commands = {"run": run, "test": test, "lock": lock, "bench": bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]]())
