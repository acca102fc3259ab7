"""`booking user erase EMAIL` and `booking privacy purge [--dry-run]` on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from booking.models import User
from tests.integration.test_cli import booking_cli


async def test_user_erase_and_privacy_purge(database, db_url) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    async with database.transaction() as session:
        session.add(User(email="weg@stadt.example", display_name="Weg", email_verified_at=old, created_at=old))
        session.add(User(email="nie@stadt.example", display_name="Nie bestätigt", created_at=old))
    erased = booking_cli(db_url, "user", "erase", "weg@stadt.example")
    assert erased.returncode == 0, erased.stderr
    again = booking_cli(db_url, "user", "erase", "weg@stadt.example")
    assert again.returncode == 1 and "no account" in again.stderr

    dry = booking_cli(db_url, "privacy", "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "unverified accounts deleted: 1" in dry.stdout
    async with database.reader() as session:
        assert (await session.exec(select(User).where(User.email == "nie@stadt.example"))).first() is not None
    done = booking_cli(db_url, "privacy", "purge")
    assert done.returncode == 0 and "unverified accounts deleted: 1" in done.stdout
    async with database.reader() as session:
        emails = set((await session.exec(select(User.email))).all())
    assert "nie@stadt.example" not in emails and "weg@stadt.example" not in emails
    assert "unverified accounts deleted: 0" in booking_cli(db_url, "privacy", "purge").stdout
