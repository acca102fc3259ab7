"""The wheel carries everything the service reads, and the installed package runs from anywhere.

Builds the wheel from a copy of the sources, installs it into a fresh virtual environment outside
the checkout and runs `booking db upgrade`, `booking demo` and `booking serve` from an unrelated
working directory with nothing of the checkout on the path. The locked dependencies come from the
environment running the tests (a .pth line), so no package index is needed for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from booking.resources import CHECKOUT_ROOT
from tests.conftest import unavailable
from tests.support.live_server import free_port

pytestmark = pytest.mark.slow

SOURCES = ("booking", "templates", "migrations", "config", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    workdir: Path
    data_home: Path

    def env(self) -> dict[str, str]:
        """The environment of an operator's shell: no PYTHONPATH, no BOOKING_* settings."""
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH" and not key.startswith("BOOKING_")}
        return {**env, "XDG_DATA_HOME": str(self.data_home), "BOOKING_RUN_WORKER_IN_PROCESS": "false"}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / "booking"), *args], cwd=self.workdir, env=self.env(),
                              capture_output=True, text=True, timeout=600)


def _setuptools_builds_wheels() -> bool:
    """setuptools 70.1+ builds wheels by itself; older ones need the `wheel` package as well."""
    try:
        major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    except Exception:  # noqa: BLE001 - not installed or an odd version: let pip fetch one
        return False
    return (major, minor) >= (70, 1)


def build_wheel(source: Path, out: Path) -> Path:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(out), str(source)]
    if _setuptools_builds_wheels():
        command.insert(4, "--no-build-isolation")  # everything is at hand: no package index needed
    built = subprocess.run(command, cwd=source, capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        # Without a local setuptools >= 70.1, pip fetches the build backend from the package index.
        unavailable(f"building the wheel failed (no package index for the build backend?):\n{built.stderr[-2000:]}")
    (wheel,) = out.glob("booking-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        origin = CHECKOUT_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_bundled"))
        else:
            shutil.copy2(origin, source / name)
    wheel = build_wheel(source, root / "dist")

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    venv_python = venv / "bin" / "python"
    purelib = subprocess.run([str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # The locked dependencies of the running environment; a plain path line, so that environment's
    # own .pth files (an editable install of the checkout) are not processed.
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "locked_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv_python), "install", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True, timeout=600)

    workdir = root / "somewhere-else"
    workdir.mkdir()
    yield Installed(wheel=wheel, bin=venv / "bin", workdir=workdir, data_home=root / "xdg-data")


def test_the_wheel_carries_templates_migrations_config_translations_and_static_files(installed: Installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        "booking/_bundled/templates/layout.html",
        "booking/_bundled/templates/mail/confirmed.txt",
        "booking/_bundled/migrations/env.py",
        "booking/_bundled/migrations/script.py.mako",
        "booking/_bundled/config/default.toml",
        "booking/_bundled/config/production.example.toml",
        "booking/translations/de/LC_MESSAGES/messages.po",
        "booking/translations/en/LC_MESSAGES/messages.po",
        "booking/static/app.css",
        "booking/static/kern/kern.min.css",
    }
    assert expected <= names, expected - names
    for folder in ("templates", "migrations/versions"):
        in_checkout = {path.relative_to(CHECKOUT_ROOT).as_posix() for path in (CHECKOUT_ROOT / folder).rglob("*")
                       if path.is_file() and "__pycache__" not in path.parts}
        assert {f"booking/_bundled/{name}" for name in in_checkout} <= names


def test_the_installed_package_migrates_loads_the_demo_and_serves_from_any_directory(installed: Installed):
    imported = subprocess.run([str(installed.bin / "python"), "-c", "import booking, booking.resources as r; print(booking.__file__, r.running_from_checkout())"],
                              cwd=installed.workdir, env=installed.env(), capture_output=True, text=True, check=True)
    location, from_checkout = imported.stdout.split()
    assert Path(location).is_relative_to(installed.bin.parent) and from_checkout == "False"

    upgraded = installed.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    demo = installed.run("demo")
    assert demo.returncode == 0, demo.stderr
    assert "demo-passwort-2026" in demo.stdout

    # The data went to the platform's data directory, nothing into the working directory.
    data_dir = installed.data_home / "booking"
    assert (data_dir / "booking.sqlite3").is_file() and (data_dir / "secret_key").is_file()
    assert list(installed.workdir.iterdir()) == []

    port = free_port()
    server = subprocess.Popen([str(installed.bin / "booking"), "serve", "--port", str(port)], cwd=installed.workdir,
                              env=installed.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, base)
        with httpx.Client(base_url=base, timeout=60) as client:
            health = client.get("/health")
            assert health.status_code == 200 and health.json()["dialect"] == "sqlite"
            home = client.get("/")
            assert home.status_code == 200 and "<html" in home.text
            rooms = client.get("/api/v1/resources", params={"kind": "room"})
            assert rooms.status_code == 200 and "Engagement-Ort Neustadt" in rooms.text  # the demo data
            stylesheet = client.get("/static/app.css")
            assert stylesheet.status_code == 200 and "text/css" in stylesheet.headers["content-type"]
            login = client.get("/login", headers={"accept-language": "en"})
            assert login.status_code == 200 and "Password" in login.text  # the English catalogue came along
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_until_healthy(process: subprocess.Popen[bytes], base: str, *, attempts: int = 600) -> None:
    """Poll /health until it answers (a count of attempts, not a timing assertion)."""
    for _ in range(attempts):
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"`booking serve` exited early:\n{output}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("`booking serve` did not answer /health")
