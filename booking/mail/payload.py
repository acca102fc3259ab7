"""What happened, as an outbox row stores it, and the message the worker makes of it.

A service records a notification in its own transaction as plain values: the mail ``kind``,
the facts of that moment (the template context: names, times, the status and SEQUENCE the
booking had) and, for an invite, the unbuilt calendar (``Invite``: events and METHOD). The
worker turns that into text, HTML, the iCalendar file and the MIME message
(``render_payload``), outside any request. A booking changed again later cannot alter what
an earlier message says — a cancel stays ``METHOD:CANCEL`` with the SEQUENCE of the cancel —
and a rendering error parks that one message instead of failing the booking.

The values are JSON with tags for what JSON lacks: aware and naive datetimes (a ZoneInfo is
kept by its key, so a wall time that a DST change skips survives, as EXDATEs need), dates,
timedeltas, tuples, bytes and ``CalendarEvent``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from booking.ical import CalendarEvent, build_invite
from booking.mail.compose import as_raw, compose_message
from booking.mail.render import render_mail
from booking.settings import Settings

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Invite:
    """An invitation not yet built: ``build_invite(event, method, overrides=overrides)``."""

    event: CalendarEvent
    method: str
    overrides: Sequence[CalendarEvent] = field(default=())

    def build(self) -> bytes:
        return build_invite(self.event, self.method, overrides=self.overrides)


@dataclass(frozen=True)
class RenderedOutboxMessage:
    subject: str
    raw: str


# --------------------------------------------------------------------------- JSON with tags


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:  # most values of a context: tried first, by exact type (every booking runs this)
        return value
    encode = _BY_TYPE.get(kind)
    if encode is not None:
        return encode(value)
    if value is None or isinstance(value, bool | int | float | str):  # subclasses (an IntEnum, say)
        return value
    for base, encode in _BY_TYPE.items():
        if isinstance(value, base):
            return encode(value)
    if isinstance(value, Mapping):
        return _encode_map(value)
    if isinstance(value, set | frozenset):
        return [_encode(item) for item in sorted(value)]
    raise TypeError(f"an outbox payload cannot hold {type(value).__name__}")


def _encode_datetime(value: datetime) -> dict[str, Any]:
    if isinstance(value.tzinfo, ZoneInfo):
        return {"$zdt": [value.replace(tzinfo=None).isoformat(), value.tzinfo.key, value.fold]}
    return {"$dt": value.isoformat()}


def _encode_event(value: CalendarEvent) -> dict[str, Any]:
    return {"$event": {name: _encode(getattr(value, name)) for name in _EVENT_FIELDS}}


def _encode_map(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {"$map": [[str(key), _encode(item)] for key, item in value.items()]}


_AS_IS = frozenset({type(None), bool, int, float, str})
_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(CalendarEvent))
# In the order the isinstance fallback tries them: a datetime is a date too.
_BY_TYPE: dict[type, Any] = {
    datetime: _encode_datetime,
    date: lambda value: {"$date": value.isoformat()},
    timedelta: lambda value: {"$td": [value.days, value.seconds, value.microseconds]},
    bytes: lambda value: {"$bytes": base64.b64encode(value).decode("ascii")},
    CalendarEvent: _encode_event,
    tuple: lambda value: {"$tuple": [_encode(item) for item in value]},
    list: lambda value: [_encode(item) for item in value],
    dict: _encode_map,
}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "$map":
        return {key: _decode(item) for key, item in inner}
    if tag == "$dt":
        return datetime.fromisoformat(inner)
    if tag == "$zdt":
        wall, key, fold = inner
        return datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(key), fold=fold)
    if tag == "$date":
        return date.fromisoformat(inner)
    if tag == "$td":
        return timedelta(days=inner[0], seconds=inner[1], microseconds=inner[2])
    if tag == "$bytes":
        return base64.b64decode(inner)
    if tag == "$tuple":
        return tuple(_decode(item) for item in inner)
    if tag == "$event":
        values = {name: _decode(item) for name, item in inner.items()}
        for name in ("categories", "exdates"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        return CalendarEvent(**values)
    raise ValueError(f"unknown tag {tag!r} in an outbox payload")


def dump_payload(
    *,
    context: Mapping[str, Any],
    language: str,
    date_at: datetime,
    calendar: bytes | None = None,
    calendar_method: str | None = None,
    invite: Invite | None = None,
) -> str:
    """The JSON text of what ``render_payload`` needs (stored in ``OutboxMessage.payload``)."""
    if calendar is not None and invite is not None:
        raise ValueError("give a built calendar or an invite, not both")
    document = {
        "version": PAYLOAD_VERSION,
        "context": _encode(dict(context)),
        "language": language,
        "date": _encode(date_at),
        "calendar": _encode(calendar),
        "calendar_method": calendar_method,
        "invite": None
        if invite is None
        else {"event": _encode(invite.event), "method": invite.method, "overrides": [_encode(o) for o in invite.overrides]},
    }
    # msgspec writes the same compact JSON (UTF-8, no escapes for non-ASCII) as json.dumps
    # with ``ensure_ascii=False, separators=(",", ":")``, several times faster; read with json.loads.
    return msgspec.json.encode(document).decode()


def render_payload(
    payload: str, *, settings: Settings, kind: str, recipient: str, message_id: str
) -> RenderedOutboxMessage:
    """Render and compose the message an outbox row describes, with the row's Message-ID.

    Raises whatever rendering raises (a missing template value, an invalid invite); the
    worker parks that message.
    """
    document = json.loads(payload)
    if document.get("version") != PAYLOAD_VERSION:
        raise ValueError(f"outbox payload version {document.get('version')!r} is not {PAYLOAD_VERSION}")
    calendar: bytes | None = _decode(document["calendar"])
    method: str | None = document["calendar_method"]
    if document["invite"] is not None:
        spec = document["invite"]
        invite = Invite(_decode(spec["event"]), spec["method"], [_decode(o) for o in spec["overrides"]])
        calendar, method = invite.build(), invite.method
    rendered = render_mail(
        kind, settings=settings, language=document["language"], context=_decode(document["context"]),
        has_calendar=calendar is not None,
    )
    message = compose_message(
        settings=settings,
        recipient=recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        language=rendered.language,
        sender_name=rendered.sender_name,
        calendar=calendar,
        calendar_method=method,
        now=_decode(document["date"]),
        reply_to=rendered.reply_to or None,
    )
    _keep_message_id(message, message_id)
    return RenderedOutboxMessage(subject=rendered.subject, raw=as_raw(message))


def _keep_message_id(message: EmailMessage, message_id: str) -> None:
    # The Message-ID was chosen when the row was written; a re-render must not change it.
    message.replace_header("Message-ID", message_id)
