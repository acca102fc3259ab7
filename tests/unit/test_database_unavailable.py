"""Which errors mean "the database is away" (503, retry) and which are bugs (500)."""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy.exc import OperationalError, ProgrammingError

from booking.db.errors import is_unavailable
from booking.db.outage import OutageMonitor


def wrapped(error: Exception) -> Exception:
    try:
        try:
            raise error
        except Exception as inner:
            raise RuntimeError("while loading") from inner
    except RuntimeError as outer:
        return outer


def test_connection_failures_are_unavailable():
    assert is_unavailable(ConnectionRefusedError(111, "Connect call failed"))
    assert is_unavailable(wrapped(ConnectionResetError()))
    assert is_unavailable(TimeoutError())
    assert is_unavailable(OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")))


def test_bugs_are_not_unavailable():
    assert not is_unavailable(ValueError("bad"))
    assert not is_unavailable(FileNotFoundError(2, "No such file", "templates/x.html"))
    assert not is_unavailable(OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x")))
    assert not is_unavailable(ProgrammingError("SELECT", {}, Exception("syntax error")))


def test_one_line_per_outage_episode(caplog):
    now = [100.0]
    monitor = OutageMonitor(clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="booking.db"):
        for _ in range(500):
            monitor.failed(ConnectionRefusedError(111, "refused"))
        now[0] = 130.0
        monitor.reachable()
        monitor.reachable()
        monitor.failed(ConnectionRefusedError(111, "refused"))
    messages = [record.getMessage() for record in caplog.records]
    assert [m.split(" (")[0] for m in messages] == ["database unavailable", "database available again after 30 s", "database unavailable"]
    assert "(500 requests answered 503)" in messages[1]
