"""Secrets never reach a log line: feed tokens, login, reset, confirmation and invitation
links, API tokens.

They travel in URL paths (``/feeds/<token>.ics``, ``/login/link/<token>``, …), so uvicorn's
access log and any error line that names a path would write them out. ``install()`` wraps
the process's log record factory: every record, of every logger and handler (also those
configured later by uvicorn or Litestar), has its message and its string arguments redacted
before any handler formats it. Uvicorn's access formatter reads the arguments themselves,
which is why they are redacted one by one, keeping their number and types.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

REDACTED = "[redacted]"

#: Paths whose next segment is a secret.
_SECRET_PATH = re.compile(
    r"(?<!/api/v1)(?<!/bookings)(/(?:feeds|login/link|password/reset|verify|invitations|waiting-list/offers)/)(?!resend\b)[^/?#\s\"']+?(?=\.ics\b|[/?#\s\"']|$)"
)
#: Query parameters that carry secrets.
_SECRET_QUERY = re.compile(r"([?&](?:token|key|secret|code|password)=)[^&#\s\"']*", re.IGNORECASE)
#: Personal API tokens and feed tokens wherever they appear (headers, error texts).
_PREFIXED_TOKEN = re.compile(r"\b(bk_|f_)[A-Za-z0-9_-]{16,}")


def redact(text: str) -> str:
    """``text`` with every secret URL part and token replaced by ``[redacted]``."""
    if "/" not in text and "_" not in text and "=" not in text:
        return text
    text = _SECRET_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _SECRET_QUERY.sub(rf"\g<1>{REDACTED}", text)
    return _PREFIXED_TOKEN.sub(rf"\g<1>{REDACTED}", text)


def _redact_argument(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, arguments and traceback text redacted (in place)."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_argument(value) for value in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _redact_argument(value) for key, value in record.args.items()}
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    return record


_installed = False


def install() -> None:
    """Redact every log record this process makes from now on (idempotent)."""
    global _installed  # noqa: PLW0603 - one factory per process, by nature of logging
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(make_record)
    _installed = True
