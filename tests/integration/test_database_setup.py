from datetime import UTC, datetime

from sqlmodel import select

from booking.models import Organisation, Site


async def test_instants_come_back_aware_utc(database):
    async with database.transaction() as session:
        session.add(Organisation(name="Turnverein"))
        site = Site(name="Haus", contact_email="haus@example.org")
        session.add(site)
    async with database.reader() as session:
        loaded = (await session.exec(select(Site))).one()
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - loaded.created_at).total_seconds()) < 60
