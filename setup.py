"""Build step only (metadata lives in pyproject.toml): put the repository's top-level templates/,
migrations/ and config/ into the package as ``booking/_bundled/`` so that a wheel carries every
file the service reads at run time. The folders stay at the top level as the source people edit;
``booking/resources.py`` finds them in either place."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
MAPPED_FOLDERS = ("templates", "migrations", "config")  # keep in step with booking/resources.py


class BuildPyWithBundledFolders(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders directly
        target = Path(self.build_lib) / "booking" / "_bundled"
        for name in MAPPED_FOLDERS:
            destination = target / name
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(ROOT / name, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithBundledFolders})
