"""Regenerate the "after" screenshots of issues 12 and 13 in docs/screenshots/.

    .venv/bin/python docs/screenshots/make_screenshots.py [--out docs/screenshots] [--only map,directory]

Starts the app on a fresh SQLite database in a temporary folder with the demo data
(`booking db upgrade`, `booking demo`), adds what the pages need through the JSON API as the
demo people would (requests for the lender, a weekly series, a thing handed out early), and
takes full-page screenshots with Chromium (/usr/bin/chromium, Playwright) at 360 px and, where
the page has a wide layout worth seeing, 1280 px. Map tiles are answered with a grey tile (no
internet needed). The list of pictures is in README.md next to this file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from booking.services.demo import DEMO_PASSWORD  # noqa: E402
from tests.support.tiles import DEFAULT_TILE_SERVER, TILE  # noqa: E402

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
MEMBER, LENDER = "mitglied@demo.example", "lender@demo.example"

#: (file name stem, who, path or a function of the prepared ids, widths)
SHOTS = [
    ("lender-requests", LENDER, "/lender/", (360,)),
    ("series", MEMBER, "{series}", (360,)),
    ("borrowed", MEMBER, "/bookings/loans", (360,)),
    ("lent-out", LENDER, "/lender/lent-out", (360,)),
    ("map", None, "/karte?organisations=1", (360, 1280)),
    ("site", None, "/orte/{site}", (360, 1280)),
    ("directory", None, "/organisationen", (360, 1280)),
    ("error-404-signed-in", MEMBER, "/no/such/page", (360,)),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def demo_server(folder: Path) -> Iterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BOOKING_DATA_DIR": str(folder), "BOOKING_SECRET_KEY": secrets.token_hex(32),
           "BOOKING_RUN_WORKER_IN_PROCESS": "false", "BOOKING_BASE_URL": base_url}
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "booking", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "booking.asgi:create", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base_url + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def signed_in(base_url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=60)
    client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}).raise_for_status()
    return client


def prepare(base_url: str) -> dict[str, str]:
    """Requests for the lender, a weekly series of the member, a thing handed out early."""
    member, lender = signed_in(base_url, MEMBER), signed_in(base_url, LENDER)
    resources = {r["name"]: r for r in httpx.get(base_url + "/api/v1/resources").json()}
    organisation = int(next(iter(member.get("/api/v1/me").json()["organisations"])))
    today = date.today()
    for offset, name in enumerate(["Gruppenzelt", "Lautsprecheranlage", "Lastenrad Elektro"] * 4):
        day = today + timedelta(days=3 + offset)
        member.post("/api/v1/item-bookings", json={"resource_id": resources[name]["id"], "first_day": day.isoformat(),
                                                   "last_day": day.isoformat(), "organisation_id": organisation,
                                                   "title": "Sommerfest", "purpose": "Für unser Fest im Park"})
    first = today + timedelta(days=(1 - today.weekday()) % 7 + 7)  # a Tuesday in a week or two
    series = member.post("/api/v1/series", json={
        "resource_id": resources["Seminarraum 1"]["id"], "starts_at": f"{first.isoformat()}T18:00:00", "duration_minutes": 120,
        "frequency": "weekly", "count": 10, "organisation_id": organisation, "title": "Chorprobe", "mode": "book_free"})
    series.raise_for_status()
    beamer = member.post("/api/v1/item-bookings", json={
        "resource_id": resources["Beamer Epson"]["id"], "first_day": (today + timedelta(days=2)).isoformat(),
        "last_day": (today + timedelta(days=3)).isoformat(), "organisation_id": organisation, "title": "Vortrag"})
    beamer.raise_for_status()
    lender.post(f"/api/v1/bookings/{beamer.json()['id']}/hand-out", json={"confirm_early_start": True}).raise_for_status()
    site = resources["Gruppenzelt"]["site_id"]
    return {"series": f"/bookings/series/{series.json()['id']}", "site": str(site)}


def shoot(base_url: str, ids: dict[str, str], out: Path, only: set[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    cookies = {email: [{"name": c.name, "value": c.value or "", "url": base_url} for c in signed_in(base_url, email).cookies.jar]
               for email in (MEMBER, LENDER)}
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
        for stem, who, path, widths in SHOTS:
            if only and stem not in only:
                continue
            for width in widths:
                viewport = PHONE if width == 360 else DESKTOP
                context = browser.new_context(viewport=viewport, locale="de-DE", timezone_id="Europe/Berlin",
                                              device_scale_factor=1, is_mobile=width == 360, has_touch=width == 360)
                context.route(DEFAULT_TILE_SERVER + "**", lambda route: route.fulfill(status=200, content_type="image/png", body=TILE))
                if who:
                    context.add_cookies(cookies[who])  # type: ignore[arg-type]
                page = context.new_page()
                page.goto(base_url + path.format(**ids), wait_until="networkidle")
                target = out / f"{stem}-{width}-after.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
                context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--only", default="", help="comma-separated stems, e.g. map,directory")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="booking-screens-") as folder, demo_server(Path(folder)) as base_url:
        ids = prepare(base_url)
        for path in shoot(base_url, ids, arguments.out, {s for s in arguments.only.split(",") if s}):
            print(path)


if __name__ == "__main__":
    main()
