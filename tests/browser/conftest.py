"""Browser fixtures: Debian's Chromium driven by Playwright's **async** API.

Why async: the rest of the suite runs on pytest-asyncio (asyncio_mode=auto, one session
loop), and the app under test is an ASGI app that tests start in the same loop. Playwright's
sync API refuses to run inside a running event loop, so it would not mix.

Fixtures
  browser       session-scoped ``playwright.async_api.Browser`` (Chromium at /usr/bin/chromium).
                Missing Chromium: skipped with a loud reason outside CI, failed under CI=true.
  page          a fresh context + page, 1280×800, locale de-DE, Europe/Berlin; its console
                errors and HTTP responses >= 500 are collected and fail the test at teardown.
  phone_page    the same at 360×740, is_mobile, has_touch, device scale 2.
  Both pages carry ``page.problems`` (a ``PageProblems``); call ``page.problems.ignore(regex)``
  for an expected error, or ``page.problems.assert_clean()`` mid-test.

Helpers (import from ``tests.browser.conftest``)
  await screenshot(page, name)        -> Path of tests/artifacts/screenshots/<name>.png (full page)
  await assert_no_axe_violations(page, *, tags=WCAG_TAGS, exclude=(), context=None)
                                        injects axe-core from tests/support/axe (``npm ci`` when
                                        node_modules is missing) and fails listing every violation
  watch_page_problems(page)           -> PageProblems (what the page fixtures use)

Every test in this directory gets the ``browser`` marker.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import _migrated_url, unavailable
from tests.support.smtp import SmtpServer
from tests.support.tiles import serve_grey_tiles

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TESTS_DIR = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = TESTS_DIR / "artifacts" / "screenshots"
AXE_DIR = TESTS_DIR / "support" / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)



# ---------------------------------------------------------------- databases and mail of a module


@pytest.fixture(scope="module")
def db_url(sqlite_database_url: str) -> str:
    """Browser tests run on SQLite only (the HTTP tests cover both databases): the session's file,
    migrated, unless a module needs one of its own (``own_sqlite_url``)."""
    return _migrated_url(sqlite_database_url)


def own_sqlite_url(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """A migrated SQLite file for one module. A module whose live server runs the mail worker
    needs one: the worker would deliver the outbox rows other tests left in the session's file."""
    return _migrated_url(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / 'booking.sqlite3'}")


@pytest.fixture(scope="module")
def mail_server() -> Iterator[SmtpServer]:
    """A real SMTP server for the module's live server (see ``worker_env``)."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def worker_env(mail_server: SmtpServer) -> dict[str, str]:
    """Settings for a live server whose in-process mail worker sends to ``mail_server`` at once."""
    return {"BOOKING_RUN_WORKER_IN_PROCESS": "true", "BOOKING_MAIL__SMTP_HOST": mail_server.host,
            "BOOKING_MAIL__SMTP_PORT": str(mail_server.port), "BOOKING_MAIL__POLL_SECONDS": "0.2"}


# ---------------------------------------------------------------- problems on a page


@dataclass
class PageProblems:
    """Console errors, uncaught page errors and HTTP responses >= 500 seen by one page."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    ignored: list[re.Pattern[str]] = field(default_factory=list)

    def ignore(self, pattern: str) -> None:
        """Accept problems whose text matches ``pattern`` (a regular expression)."""
        self.ignored.append(re.compile(pattern))

    def _kept(self, entries: Iterable[str]) -> list[str]:
        return [entry for entry in entries if not any(p.search(entry) for p in self.ignored)]

    def report(self) -> list[str]:
        return (
            [f"console error: {e}" for e in self._kept(self.console_errors)]
            + [f"uncaught page error: {e}" for e in self._kept(self.page_errors)]
            + [f"HTTP {e}" for e in self._kept(self.server_errors)]
        )

    def assert_clean(self) -> None:
        problems = self.report()
        if problems:
            pytest.fail("the page reported problems:\n  " + "\n  ".join(problems), pytrace=False)


def watch_page_problems(page) -> PageProblems:
    """Start collecting console errors, page errors and 5xx responses of ``page``."""
    problems = PageProblems()

    def on_console(message) -> None:
        if message.type == "error":
            location = message.location or {}
            where = location.get("url", "")
            problems.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def on_response(response) -> None:
        if response.status >= 500:
            problems.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("response", on_response)
    page.problems = problems
    return problems


# ---------------------------------------------------------------- browser and pages


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[object]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        unavailable("the playwright Python package is not installed")
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except Exception as error:  # noqa: BLE001 - any launch failure means "no browser"
            unavailable(f"Chromium at {CHROMIUM} did not start: {error}")
        try:
            yield launched
        finally:
            await launched.close()


async def _new_page(browser, **context_options):
    context = await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", **context_options)
    await serve_grey_tiles(context)  # pages with a map (site form, /karte) need no internet; a page route may override
    page = await context.new_page()
    watch_page_problems(page)
    return context, page


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser) -> AsyncIterator[object]:
    context, new_page = await _new_page(browser, viewport=DESKTOP)
    try:
        yield new_page
    finally:
        await context.close()
    new_page.problems.assert_clean()


@pytest_asyncio.fixture(loop_scope="session")
async def phone_page(browser) -> AsyncIterator[object]:
    context, new_page = await _new_page(
        browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    try:
        yield new_page
    finally:
        await context.close()
    new_page.problems.assert_clean()


# ---------------------------------------------------------------- helpers


async def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of ``page`` as tests/artifacts/screenshots/<name>.png and return its path."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"screenshot name must be a plain file name, got {name!r}")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


def ensure_axe() -> Path:
    """Return axe.min.js, installing tests/support/axe with ``npm ci`` when it is missing."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not installed, so axe-core cannot be installed for accessibility checks")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0 or not AXE_SCRIPT.exists():
            unavailable(f"`npm ci` in {AXE_DIR} failed: {result.stderr.strip()[-800:]}")
    return AXE_SCRIPT


def _format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'n/a'}): {violation['help']}\n"
            f"  {violation['helpUrl']}"
        )
        for node in violation["nodes"][:10]:
            target = " ".join(json.dumps(t) if not isinstance(t, str) else t for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {target}: {node['html'][:160]}\n      {summary[:300]}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    … and {len(violation['nodes']) - 10} more elements")
    return "\n".join(lines)


async def assert_no_axe_violations(
    page, *, tags: Iterable[str] = WCAG_TAGS, exclude: Iterable[str] = (), context: str | None = None
) -> None:
    """Run axe-core on ``page`` and fail with a readable list of WCAG 2.1 A/AA violations.

    ``exclude``: CSS selectors axe should skip (keep this empty unless a third party owns
    the markup). ``context``: a CSS selector to limit the check to (default: whole document).
    """
    script = ensure_axe()
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated, not added as an inline <script>: the pages' CSP refuses inline scripts.
        await page.evaluate(script.read_text(encoding="utf-8"))
    results = await page.evaluate(
        """async ([tags, include, exclude]) => {
            const context = {};
            if (include) context.include = [include];
            if (exclude.length) context.exclude = exclude.map((s) => [s]);
            const target = (include || exclude.length) ? context : document;
            return await window.axe.run(target, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        }""",
        [list(tags), context, list(exclude)],
    )
    violations = results["violations"]
    if violations:
        pytest.fail(
            f"axe found {len(violations)} accessibility violation(s) on {page.url}:\n"
            + _format_violations(violations),
            pytrace=False,
        )
