"""config/systemd/*.service: the commands they start exist, and systemd accepts the units."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from booking.cli import build_parser
from booking.resources import CONFIG_DIR
from tests.conftest import unavailable

UNITS = sorted((CONFIG_DIR / "systemd").glob("*.service"))
INSTALLED_BOOKING = "/opt/booking/venv/bin/booking"


def exec_start(unit: Path) -> list[str]:
    (line,) = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_there_is_a_unit_for_the_app_and_one_for_mail_workers():
    commands = {unit.name: exec_start(unit)[1] for unit in UNITS}
    assert commands == {"booking.service": "serve", "booking-worker@.service": "worker"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_the_unit_starts_a_command_the_cli_knows(unit: Path):
    program, *arguments = exec_start(unit)
    assert program == INSTALLED_BOOKING
    build_parser().parse_args(arguments)  # exits (fails the test) on an unknown command or option


def test_systemd_accepts_the_units(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze is not installed (Debian: apt-get install systemd)")
    stand_in = tmp_path / "booking"  # verify insists that the program exists
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name.replace("@.", "@1.")  # a template is verified as an instance
        copy.write_text(unit.read_text().replace(INSTALLED_BOOKING, str(stand_in)))
        copies.append(str(copy))
    verified = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
