"""Where the package's own files are, and where its data goes: the one place that knows.

The repository keeps templates/, migrations/ and config/ at its top level (that is where people
edit them); building a wheel copies them into ``booking/_bundled/`` (see setup.py), so an
installed package carries everything it reads. Static files and translations live inside the
package in both cases. Nothing is looked up relative to the working directory.

Run from a checkout (``PYTHONPATH=.`` or an editable install) there is no ``_bundled`` folder and
the top-level folders are used directly, so an edited template shows without a rebuild.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

APP_NAME = "booking"
PACKAGE_DIR = Path(str(files("booking")))
BUNDLED_DIR = PACKAGE_DIR / "_bundled"
CHECKOUT_ROOT = PACKAGE_DIR.parent
MAPPED_FOLDERS = ("templates", "migrations", "config")


def running_from_checkout() -> bool:
    """True for a source checkout (or an editable install of one), False for an installed wheel."""
    return not BUNDLED_DIR.is_dir() and (CHECKOUT_ROOT / "pyproject.toml").is_file()


def _mapped(name: str) -> Path:
    """A top-level folder of the repository, from the installed package or from the checkout."""
    if running_from_checkout():
        return CHECKOUT_ROOT / name
    return BUNDLED_DIR / name


TEMPLATES_DIR = _mapped("templates")
MIGRATIONS_DIR = _mapped("migrations")
CONFIG_DIR = _mapped("config")
DEFAULT_CONFIG = CONFIG_DIR / "default.toml"
STATIC_DIR = PACKAGE_DIR / "static"
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"


def default_data_dir() -> Path:
    """Where the SQLite file, the generated secret key and caught mail go unless ``data_dir`` is set:
    ``var/`` of the checkout when run from one, else the platform's per-user data directory
    (``~/.local/share/booking`` on Linux, honouring ``XDG_DATA_HOME``)."""
    if running_from_checkout():
        return CHECKOUT_ROOT / "var"
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)
