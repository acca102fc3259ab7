"""The home page on a phone: the search folds away after a search (its summary names the
filters) and the results come in pages whose links keep the filters. Both databases."""

from __future__ import annotations

import html
import re

from booking.models import Resource
from booking.services.discovery import RESULTS_PER_PAGE

DESKS = 25


async def add_desks(app_context, world) -> None:
    async with app_context.database.transaction() as session:
        session.add_all([Resource(site_id=world.site_b.id, kind="desk", name=f"Desk {number:02d}", capacity=1)
                         for number in range(1, DESKS + 1)])


def cards(page: str) -> list[str]:
    return re.findall(r'class="kern-link kern-link--stretched" href="/resources/\d+[^"]*">([^<]+)</a>', page)


def search_box(page: str) -> str:
    return re.search(r'<details class="kern-accordion app-search"[^>]*>', page).group(0)


def page_links(page: str) -> list[str]:
    nav = page.split('aria-label="Seiten der Ergebnisse"', 1)[1].split("</nav>", 1)[0]
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', nav)]


async def test_first_visit_shows_the_open_search_and_the_first_page(client, app_context, world):
    await add_desks(app_context, world)
    answer = await client.get("/")
    assert answer.status_code == 200
    assert " open" in search_box(answer.text)
    assert "30 Ergebnisse" in answer.text
    assert len(cards(answer.text)) == RESULTS_PER_PAGE == 18
    assert "Seite 1 von 2: Ergebnisse 1 bis 18." in answer.text
    assert page_links(answer.text) == ["/?page=2#results-heading", "/?page=2#results-heading"]  # "2" and "next"


async def test_after_a_search_the_form_folds_and_the_pages_keep_the_filters(client, app_context, world):
    await add_desks(app_context, world)
    first = await client.get("/", params={"kind": "desk", "site": str(world.site_b.id), "q": "Desk"})
    assert first.status_code == 200
    box = search_box(first.text)
    assert " open" not in box and "data-open-wide" in box
    summary = re.search(r'<summary class="kern-accordion__header">(.*?)</summary>', first.text, re.S).group(1)
    assert "Suche:" in summary and "Co-Working-Platz · Site B · „Desk“" in html.unescape(summary)
    assert f"{DESKS} Ergebnisse" in first.text
    shown = cards(first.text)
    assert shown == [f"Desk {n:02d}" for n in range(1, 19)]
    second_href = f"/?kind=desk&site={world.site_b.id}&q=Desk&page=2#results-heading"
    assert second_href in page_links(first.text)

    second = await client.get(second_href.split("#")[0])
    assert second.status_code == 200
    assert cards(second.text) == [f"Desk {n:02d}" for n in range(19, DESKS + 1)]
    assert 'aria-current="page"><span class="kern-sr-only">Seite </span>2' in second.text
    assert "Seite 2 von 2: Ergebnisse 19 bis 25." in second.text
    assert f"/?kind=desk&site={world.site_b.id}&q=Desk&page=1#results-heading" in page_links(second.text)
    # Past the end: the last page.
    beyond = await client.get("/", params={"kind": "desk", "page": "9"})
    assert beyond.status_code == 200 and cards(beyond.text) == cards(second.text)


async def test_bad_input_opens_the_search_again(client, app_context, world):
    await add_desks(app_context, world)
    bad_time = await client.get("/", params={"free_from": "tomorrow", "free_until": "2030-01-01T10:00"})
    assert bad_time.status_code == 400 and " open" in search_box(bad_time.text)
    bad_page = await client.get("/", params={"kind": "desk", "page": "zwei"})
    assert bad_page.status_code == 400 and " open" in search_box(bad_page.text)
    assert "Die Seitenzahl muss eine ganze Zahl" in bad_page.text
    assert cards(bad_page.text)[0] == "Desk 01"


async def test_free_time_is_named_in_the_summary_in_english(client, app_context, world):
    answer = await client.get("/", params={"kind": "room", "free_from": "2030-03-05T18:00", "free_until": "2030-03-05T20:00"},
                              headers={"Accept-Language": "en"})
    assert answer.status_code == 200
    summary = html.unescape(re.search(r'<summary class="kern-accordion__header">(.*?)</summary>', answer.text, re.S).group(1))
    assert "Search:" in summary and "Room · free Tue, Mar 5, 2030, 6:00" in summary, summary
