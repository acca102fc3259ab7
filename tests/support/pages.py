"""Helpers for tests of HTML pages: CSRF tokens, form posts, mail links, field errors."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

import httpx

from booking.mail.sender import SmtpSender
from booking.mail.worker import OutboxWorker
from booking.services.context import AppContext
from tests.support.smtp import SmtpServer

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    """GET a page with a form (sets the CSRF cookie) and return its token."""
    page = await client.get(path)
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field on {path} ({page.status_code})"
    return html.unescape(match.group(1))


async def post_form(client: httpx.AsyncClient, path: str, data: dict[str, Any], *, form_page: str = "/register") -> httpx.Response:
    """POST a form the way a browser does: with the token from a page that shows a form."""
    token = await csrf_token(client, form_page)
    return await client.post(path, data={**data, "_csrf_token": token})


async def send_outbox(app: AppContext, server: SmtpServer) -> int:
    """One round of the real outbox worker against the test SMTP server."""
    settings = dataclasses.replace(app.settings, mail=dataclasses.replace(app.settings.mail, smtp_port=server.port))
    return await OutboxWorker(app.database, settings, SmtpSender(settings.mail), clock=app.clock).run_once()


def mail_link(server: SmtpServer, recipient: str, path_prefix: str) -> str:
    """The path of the last link to ``path_prefix`` mailed to ``recipient``."""
    for received in reversed(server.messages):
        if recipient.lower() not in [address.lower() for address in received.rcpt_tos]:
            continue
        body = received.message.get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]+)", body.get_content())
        if match:
            return match.group(1)
    raise AssertionError(f"no mail to {recipient} with a link to {path_prefix}; got {len(server.messages)} message(s)")


def field_error(page: str, field: str) -> str | None:
    """The error text shown for ``field`` (tied to it by id), or None."""
    match = re.search(r'id="field-' + re.escape(field) + r'-error">.*?<span class="kern-body">(.*?)</span>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


def is_described_by_error(page: str, field: str) -> bool:
    control = re.search(r'<(?:input|select|textarea)[^>]*id="field-' + re.escape(field) + r'"[^>]*>', page)
    return bool(control and f'field-{field}-error' in control.group(0) and 'aria-invalid="true"' in control.group(0))
