"""Backups and restores of the whole database: `booking backup PATH`, `booking restore PATH`.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while
the service keeps running, page by page, without blocking writers for the whole copy; the backup
is itself an SQLite file. A restore uses the same API the other way round, so the target file is
replaced in place under SQLite's own locks (stop the service first all the same: open
connections would keep serving what they had cached).

PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot of one transaction) and
``pg_restore --clean --if-exists --single-transaction`` (all or nothing). The client tools must be
at least the server's major version. The password travels in PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(RuntimeError):
    """A backup or restore that could not be made; the message says why."""


def backup(database_url: str, path: Path) -> None:
    """Write a consistent copy of the database to ``path`` (replacing a file there)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_file(url, must_exist=True), path)
    elif url.get_backend_name() == "postgresql":
        _run_pg_tool(url, ["pg_dump", "--format=custom", "--no-owner", f"--file={path}"])
    else:
        raise BackupError(f"no backup for {url.get_backend_name()} databases")


def restore(database_url: str, path: Path) -> None:
    """Replace the database's contents with the backup at ``path``."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(path, _sqlite_file(url, must_exist=False))
    elif url.get_backend_name() == "postgresql":
        _run_pg_tool(url, ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           "--exit-on-error", str(path)])
    else:
        raise BackupError(f"no restore for {url.get_backend_name()} databases")


def _sqlite_file(url: URL, *, must_exist: bool) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore")
    path = Path(url.database)
    if must_exist and not path.is_file():
        raise BackupError(f"{path}: no such database file")
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as origin:
        try:
            origin.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source}: not an SQLite database ({error})") from None
        with closing(sqlite3.connect(target)) as destination:
            origin.backup(destination)
            # One self-contained file, not a file plus a write-ahead log beside it.
            destination.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _run_pg_tool(url: URL, command: list[str]) -> None:
    executable = shutil.which(command[0])
    if executable is None:
        raise BackupError(f"{command[0]} not found; install the PostgreSQL client tools (Debian: postgresql-client)")
    connection = [f"--host={url.host or 'localhost'}", f"--port={url.port or 5432}", f"--dbname={url.database}"]
    if url.username:
        connection.append(f"--username={url.username}")
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    finished = subprocess.run([executable, *command[1:], "--no-password", *connection], env=env,
                              capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise BackupError(f"{command[0]} failed: {finished.stderr.strip()}")
