"""Secrets stay out of the logs: a real server's access log, and error lines with tracebacks."""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path

import httpx

from booking import log_redaction
from booking.services import accounts
from booking.services.context import AppContext
from tests.support.live_server import live_server


async def test_access_log_of_a_real_server_shows_no_secret(db_url: str, database, settings, tmp_path: Path):
    app = AppContext(database=database, settings=settings)
    await accounts.create_user(app, email="kim@example.org", display_name="Kim", password="ein-gutes-passwort-1")
    api_token = await accounts.create_api_token(app, "kim@example.org", "logs")
    link_secrets = {path: secrets.token_urlsafe(24) for path in ("login/link", "password/reset", "verify", "invitations")}
    query_secret = secrets.token_urlsafe(24)
    log_file = tmp_path / "server.log"
    with live_server(db_url, log_level="info", log_file=log_file) as base_url:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            bearer = {"authorization": f"Bearer {api_token}"}
            feed = client.post("/api/v1/feeds", json={"scope": "person"}, headers=bearer).json()
            assert client.get(f"/feeds/{feed['token']}.ics").status_code == 200
            assert client.head(f"/feeds/{feed['token']}.ics").status_code in (200, 405)
            assert client.get(f"/feeds/{feed['token']}x.ics").status_code == 404
            for path, secret in link_secrets.items():
                client.get(f"/{path}/{secret}")
                client.post(f"/{path}/{secret}", data={"password": "x"})
            client.post(f"/invitations/{link_secrets['invitations']}/accept")
            client.get(f"/calendar?token={query_secret}")
            client.post(f"/api/v1/feeds/{feed['id']}/revoke", json={}, headers=bearer)
    log = log_file.read_text()
    leaked = [secret for secret in (feed["token"], api_token, query_secret, *link_secrets.values()) if secret in log]
    assert not leaked, log
    assert '"GET /feeds/[redacted].ics HTTP/1.1" 200' in log, log
    assert '"GET /login/link/[redacted] HTTP/1.1"' in log and '"POST /invitations/[redacted]/accept HTTP/1.1" 403' in log
    # Ids are no secrets: the API's feed management stays readable.
    assert f'"POST /api/v1/feeds/{feed["id"]}/revoke HTTP/1.1" 200' in log


def test_error_lines_and_tracebacks_are_redacted():
    log_redaction.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("booking.test_log_redaction")
    logger.addHandler(handler)
    token = "f_" + secrets.token_urlsafe(32)
    reset = secrets.token_urlsafe(24)
    try:
        try:
            raise RuntimeError(f"could not render https://buchen.example.org/password/reset/{reset} for {token}")
        except RuntimeError:
            logger.exception("unhandled error on %s %s", "GET", f"/feeds/{token}.ics")
        logger.error(f"mail to kim failed: https://buchen.example.org/login/link/{reset}?next=/bookings")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert token not in output and reset not in output, output
    assert "/feeds/[redacted].ics" in output and "/password/reset/[redacted]" in output
    assert "/login/link/[redacted]?next=/bookings" in output and "Traceback" in output
