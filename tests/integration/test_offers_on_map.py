"""The open volunteer offers per site that the map shows (issue 14), on both databases: only
published, not cancelled offers at the site with an upcoming, not cancelled date that still has
a free place count — each offer once; and all sites are counted by one statement."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlmodel import select

from booking.models import OfferDate
from booking.services import offer_catalogue, offer_publishing, offer_signups, offers_on_map, site_map
from booking.services.offer_publishing import OfferInput
from tests.integration.test_offers import people
from tests.support.world import next_monday


def offer(world, site, *, places: int = 2, count: int = 1, title: str = "Beete gießen", **extra) -> OfferInput:
    start = next_monday(world.app.now(), 2).replace(tzinfo=None) + timedelta(hours=10)  # a Monday 10:00 local
    return OfferInput(kind="task", title=title, site_id=site.id, places=places, local_start=start, duration=timedelta(hours=2),
                      repeat="weekly" if count > 1 else "none", count=count, **extra)


async def test_only_published_upcoming_offers_at_the_site_with_a_free_place_count(app, world, clock):
    admin = world["city_admin"]
    (helper,) = await people(app, 1)
    site_a, site_b = world.site_a, world.site_b
    # Counted at site A: a free offer; one whose first date is full but the second is not; one
    # with three free dates (still one offer).
    await offer_publishing.create_offer(app, admin, offer(world, site_a, title="frei"))
    half_full = await offer_publishing.create_offer(app, admin, offer(world, site_a, places=1, count=2, title="halb voll"))
    first_date = min((d for d in (await offer_catalogue.get_offer(app, None, half_full.id)).dates), key=lambda d: d.starts_at)
    await offer_signups.sign_up(app, helper, half_full.id, first_date.id)
    await offer_publishing.create_offer(app, admin, offer(world, site_a, count=3, title="drei Termine"))
    # Not counted: full, unpublished, cancelled offer, cancelled dates, past, elsewhere, online.
    full = await offer_publishing.create_offer(app, admin, offer(world, site_a, places=1, title="voll"))
    await offer_signups.sign_up(app, helper, full.id, None)
    await offer_publishing.create_offer(app, admin, offer(world, site_a, title="Entwurf", is_published=False))
    cancelled = await offer_publishing.create_offer(app, admin, offer(world, site_a, title="abgesagt"))
    await offer_publishing.cancel_offer(app, admin, cancelled.id)
    dates_cancelled = await offer_publishing.create_offer(app, admin, offer(world, site_a, count=2, title="Termine abgesagt"))
    async with app.database.transaction() as session:
        for offer_date in (await session.exec(select(OfferDate).where(OfferDate.offer_id == dates_cancelled.id))).all():
            offer_date.is_cancelled = True
            session.add(offer_date)
    await offer_publishing.create_offer(app, admin, offer(world, site_a, title="am Markt", location_kind="address", address="Südermarkt 1"))
    await offer_publishing.create_offer(app, admin, offer(world, site_a, title="online", location_kind="online", online_url="https://example.org/treffen"))
    now = clock.now
    clock.now = now - timedelta(weeks=4)
    await offer_publishing.create_offer(app, admin, offer(world, site_a, title="vorbei"))  # its date lies before `now`
    clock.now = now
    # Site B: one open offer.
    at_b = await offer_publishing.create_offer(app, admin, offer(world, site_b, places=1, title="B"))

    assert await offers_on_map.open_offers_by_site(app) == {site_a.id: 3, site_b.id: 1}
    assert await offers_on_map.open_offers_by_site(app, site_ids=[site_b.id]) == {site_b.id: 1}
    assert await offers_on_map.open_offers_by_site(app, site_ids=[]) == {}
    # The map's summaries carry the same counts, and the filter keeps the sites with offers.
    page = await site_map.map_page(app, site_map.MapQuery())
    assert {s.site.name: s.offers for s in page.sites} == {"Site A": 3, "Site B": 1}
    # Once site B's offer is full, only site A has open offers.
    await offer_signups.sign_up(app, helper, at_b.id, None)
    filtered = await site_map.map_page(app, site_map.MapQuery(with_offers=True))
    assert [(s.site.name, s.offers) for s in filtered.sites] == [("Site A", 3)]


async def test_all_sites_are_counted_by_one_statement(app, world):
    admin = world["city_admin"]
    for site in (world.site_a, world.site_b):
        await offer_publishing.create_offer(app, admin, offer(world, site, count=3))
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engines = app.database.engines
    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        page = await site_map.map_page(app, site_map.MapQuery())
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert [s.offers for s in page.sites] == [1, 1]
    assert sum("offer_date" in statement for statement in statements) == 1
