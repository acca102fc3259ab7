"""config/nginx.example.conf, run for real in front of `booking serve` on loopback.

Only ports, the certificate and the app's address are swapped in (each swap must find its line,
so an edit of the example that the test no longer covers fails here). Checks: HTTP goes to
HTTPS, pages and /health pass through TLS, the app sees the client's address from nginx and
never one a client made up (neither through the proxy nor directly), and a too large body is
refused by nginx with 413 before it reaches the app.
"""

from __future__ import annotations

import secrets
import ipaddress
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from booking.db.migrate import upgrade
from booking.resources import CHECKOUT_ROOT, CONFIG_DIR
from tests.conftest import unavailable
from tests.support.live_server import free_port

pytestmark = pytest.mark.slow

CLIENT_ADDRESS = "127.0.0.2"  # the test's "visitor": another loopback address than nginx's own
MADE_UP_ADDRESS = "203.0.113.66"


@dataclass(frozen=True)
class Proxy:
    http: str
    https: str
    app: str
    app_log: Path


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "booking.example.org")])
    issued = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued - timedelta(days=1)).not_valid_after(issued + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("booking.example.org"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def site_config(http_port: int, https_port: int, app_port: int, cert: Path, key: Path) -> str:
    text = (CONFIG_DIR / "nginx.example.conf").read_text()
    swaps = {
        "    listen [::]:80;\n": "",
        "    listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "/etc/letsencrypt/live/booking.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/booking.example.org/privkey.pem": str(key),
    }
    for old, new in swaps.items():
        assert old in text, f"config/nginx.example.conf no longer contains {old!r}; update this test"
        text = text.replace(old, new)
    return text


def main_config(directory: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides, kept inside the test's directory."""
    temp = {name: directory / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    return f"""
daemon off;
worker_processes 1;
{"user root;" if os.geteuid() == 0 else ""}
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {site};
}}
"""


def wait_for(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    """Poll until ``url`` answers (a count of attempts, not a timing assertion)."""
    for _ in range(600):
        if process.poll() is not None:
            pytest.fail(f"{what} exited early:\n{log.read_text() if log.exists() else ''}")
        try:
            httpx.get(url, timeout=2, verify=False)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"{what} did not answer on {url}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        unavailable("nginx is not installed (Debian: apt-get install nginx)")
    directory = tmp_path_factory.mktemp("proxy")
    database_url = f"sqlite+aiosqlite:///{directory / 'booking.sqlite3'}"
    upgrade(database_url)

    app_port, http_port, https_port = free_port(), free_port(), free_port()
    app_log = directory / "app.log"
    env = {
        **os.environ,
        "BOOKING_DATABASE_URL": database_url,
        "BOOKING_DATA_DIR": str(directory / "data"),
        "BOOKING_SECRET_KEY": secrets.token_hex(32),
        "BOOKING_RUN_WORKER_IN_PROCESS": "false",
        "BOOKING_BASE_URL": "https://booking.example.org",
        "BOOKING_SECURE_COOKIES": "true",
        "BOOKING_AUTH__TRUSTED_PROXIES": "127.0.0.1",
    }
    with app_log.open("wb") as log:
        app = subprocess.Popen([sys.executable, "-m", "booking", "serve", "--host", "127.0.0.1", "--port", str(app_port),
                                "--log-level", "info"], cwd=CHECKOUT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    cert, key = self_signed_certificate(directory)
    site = directory / "booking.conf"
    site.write_text(site_config(http_port, https_port, app_port, cert, key))
    conf = directory / "nginx.conf"
    conf.write_text(main_config(directory, site))
    checked = subprocess.run([nginx, "-t", "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen([nginx, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{app_port}/health", app, "booking serve", app_log)
        wait_for(f"https://127.0.0.1:{https_port}/health", server, "nginx", directory / "error.log")
        yield Proxy(http=f"http://127.0.0.1:{http_port}", https=f"https://127.0.0.1:{https_port}",
                    app=f"http://127.0.0.1:{app_port}", app_log=app_log)
    finally:
        stop(server)
        stop(app)


def visitor(base_url: str) -> httpx.Client:
    """A client that connects from CLIENT_ADDRESS, under the site's public host name."""
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS, verify=False)
    return httpx.Client(base_url=base_url, transport=transport, headers={"host": "booking.example.org"},
                        timeout=60, follow_redirects=False)


def app_saw(proxy: Proxy, marker: str) -> str:
    """The app's access-log line of the request whose path carries ``marker``."""
    for _ in range(100):  # the log line is written just after the response
        lines = [line for line in proxy.app_log.read_text().splitlines() if marker in line]
        if lines:
            return lines[-1]
        time.sleep(0.1)
    raise AssertionError(f"no request with {marker} reached the app")


def test_plain_http_is_redirected_to_https(proxy: Proxy):
    with visitor(proxy.http) as client:
        response = client.get("/bookings?page=2")
    assert response.status_code == 301
    assert response.headers["location"] == "https://booking.example.org/bookings?page=2"


def test_pages_pass_through_tls_with_hsts(proxy: Proxy):
    with visitor(proxy.https) as client:
        health = client.get("/health")
        login = client.get("/login")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert "max-age=" in health.headers["strict-transport-security"]
    assert login.status_code == 200 and "<form" in login.text


def test_the_app_sees_the_visitors_address_and_never_a_made_up_one(proxy: Proxy):
    with visitor(proxy.https) as client:
        client.get("/health", params={"probe": "through-proxy"}, headers={"x-forwarded-for": MADE_UP_ADDRESS})
    line = app_saw(proxy, "probe=through-proxy")
    assert line.split()[line.split().index("-") - 1].startswith(f"{CLIENT_ADDRESS}:"), line
    assert MADE_UP_ADDRESS not in line

    # Directly at the app (not from the trusted proxy), forwarded headers count for nothing.
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    with httpx.Client(base_url=proxy.app, transport=transport, timeout=60) as client:
        client.get("/health", params={"probe": "direct"}, headers={"x-forwarded-for": MADE_UP_ADDRESS})
    line = app_saw(proxy, "probe=direct")
    assert f"{CLIENT_ADDRESS}:" in line and MADE_UP_ADDRESS not in line


def test_a_too_large_body_is_refused_by_nginx_before_the_app(proxy: Proxy):
    with visitor(proxy.https) as client:
        response = client.post("/login?probe=large-body", content=b"x" * (2 * 1024 * 1024),
                               headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.headers.get("server", "").startswith("nginx")
    assert "probe=large-body" not in proxy.app_log.read_text()
