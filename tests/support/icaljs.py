"""Read calendar files back with ical.js (Thunderbird's parser) under node.

icalendar both writes our files and would happily read its own mistakes back; ical.js is an
independent implementation, so tests check what a real client computes from the file:
instants from TZID + VTIMEZONE, RRULE expansion, escaping, parameters.

A missing node/npm skips the test loudly outside CI and fails it under ``CI=true``
(``tests.conftest.unavailable``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.conftest import unavailable

PARSER_DIRECTORY = Path(__file__).with_name("icaljs")
PARSER_SCRIPT = PARSER_DIRECTORY / "parse.mjs"

_install_lock = threading.Lock()


def _ensure_installed(npm: str) -> None:
    """Install the pinned ical.js from package-lock.json once, when node_modules is missing."""
    with _install_lock:
        if (PARSER_DIRECTORY / "node_modules" / "ical.js" / "package.json").exists():
            return
        # `npm ci` installs exactly the locked version; `npm install` only if there is no lock.
        command = [npm, "ci"] if (PARSER_DIRECTORY / "package-lock.json").exists() else [npm, "install"]
        try:
            completed = subprocess.run(
                [*command, "--no-audit", "--no-fund"],
                cwd=PARSER_DIRECTORY,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            unavailable(f"`{' '.join(command)}` for ical.js in {PARSER_DIRECTORY} timed out")
        if completed.returncode != 0:
            unavailable(
                f"`{' '.join(command)}` for ical.js failed in {PARSER_DIRECTORY}: {completed.stderr.strip()[-2000:]}"
            )


def parse_with_icaljs(ics: bytes, expand: int = 60) -> dict[str, Any]:
    """Parse ``ics`` with ical.js and return its reading as a dict (see ``icaljs/parse.mjs``).

    Keys: ``method``, ``x-wr-calname``, ``x-wr-timezone``, ``timezones`` (VTIMEZONE TZIDs),
    ``events`` (uid, sequence, status, summary, description, location, organizer, attendees
    with their parameters, recurrence_id, start/end as ``{"utc", "local", "tzid"}``, and for
    series the first ``expand`` ``occurrences`` as UTC ISO instants), ``freebusy`` (periods).
    """
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed to read calendar files back with ical.js")
    _ensure_installed(npm)  # type: ignore[arg-type]  # unavailable() does not return
    completed = subprocess.run(
        [node, str(PARSER_SCRIPT), str(expand)],  # type: ignore[list-item]
        input=ics,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        # A parse error in ical.js is a finding about our file, not a missing tool: fail.
        raise AssertionError(f"ical.js could not read the calendar:\n{completed.stderr.decode(errors='replace')}")
    return json.loads(completed.stdout)
