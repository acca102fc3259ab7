"""Pages render under the strict Content-Security-Policy: no violation, styles applied.

Chromium reports every refused script, style or image as a ``securitypolicyviolation``
event (collected by an init script, which the policy does not govern) and a console error
(which the ``page`` fixture turns into a failure).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from booking.services.context import AppContext
from tests.browser.conftest import assert_no_axe_violations
from tests.support.live_server import live_server
from tests.support.world import PASSWORD, World, build_world

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""



@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[str]:
    with live_server(db_url) as base_url:
        yield base_url


@pytest.fixture
async def world(database, settings) -> World:
    return await build_world(AppContext(database=database, settings=settings))


async def visit(page, url: str) -> list[str]:
    response = await page.goto(url)
    assert response is not None and response.status < 500, url
    assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
    await page.wait_for_load_state("load")
    # The stylesheets were allowed: KERN's font and our layout are in effect.
    font = await page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "Fira Sans" in font, (url, font)
    return await page.evaluate("() => window.__cspViolations")


async def test_pages_render_without_csp_violations(page, server, world):
    page.problems.ignore(r"favicon\.ico")
    page.problems.ignore(r"404 \(Not Found\) \(http://[^)]+/no/such/page\)")
    await page.context.add_init_script(COLLECT_VIOLATIONS)
    anonymous = ["/", "/calendar", "/desks", f"/resources/{world.room.id}", "/login", "/register",
                 "/password/forgot", "/no/such/page", "/embed/calendar"]
    violations = {path: await visit(page, server + path) for path in anonymous}
    await page.goto(server + "/login")
    await page.fill("#field-email", world.emails["member_a"])
    await page.fill("#field-password", PASSWORD)
    await page.click("main form.app-form button[type=submit]")
    await page.wait_for_url(server + "/**")
    for path in ("/bookings", "/profile", f"/resources/{world.room.id}", "/calendar?view=week"):
        violations[path] = await visit(page, server + path)
    assert not {path: found for path, found in violations.items() if found}
    # axe-core still runs under the policy (it is evaluated, not injected inline).
    await assert_no_axe_violations(page)
