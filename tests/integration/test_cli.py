"""The command line against both databases: demo data (idempotent), users, tokens."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlmodel import func, select

from booking.models import ApiToken, Booking, Resource, Site, User
from booking.resources import CHECKOUT_ROOT


def booking_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOOKING_DATABASE_URL": db_url, "BOOKING_RUN_WORKER_IN_PROCESS": "false"}
    return subprocess.run([sys.executable, "-m", "booking", *args], cwd=CHECKOUT_ROOT, env=env, capture_output=True, text=True, timeout=120)


async def count(database, model) -> int:
    async with database.reader() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_demo_is_realistic_and_idempotent(database, db_url):
    first = booking_cli(db_url, "demo")
    assert first.returncode == 0, first.stderr
    for role in ("city admin", "site manager", "lender", "organisation admin", "member"):
        assert role in first.stdout
    assert "demo-passwort-2026" in first.stdout
    sites, resources, bookings = await count(database, Site), await count(database, Resource), await count(database, Booking)
    assert sites == 5 and resources == 30 and bookings >= 100
    async with database.reader() as session:
        kinds = set((await session.exec(select(Resource.kind))).all())
    assert kinds == {"room", "desk", "item"}
    second = booking_cli(db_url, "demo")
    assert second.returncode == 0, second.stderr
    assert (await count(database, Site), await count(database, Resource), await count(database, Booking)) == (sites, resources, bookings)


async def test_user_create_and_token(database, db_url):
    created = booking_cli(db_url, "user", "create", "koordination@stadt.example", "--name", "Koordination", "--admin", "--password", "ein-langes-passwort")
    assert created.returncode == 0, created.stderr
    async with database.reader() as session:
        user = (await session.exec(select(User).where(User.email == "koordination@stadt.example"))).one()
    assert user.is_city_admin and user.password_hash and user.password_hash.startswith("$argon2id$")
    token = booking_cli(db_url, "user", "token", "koordination@stadt.example")
    assert token.returncode == 0 and token.stdout.strip().startswith("bk_")
    named = booking_cli(db_url, "user", "token", "koordination@stadt.example", "--name", "Kalender-Skript", "--expires-days", "30")
    assert named.returncode == 0 and named.stdout.strip().startswith("bk_"), named.stderr
    async with database.reader() as session:
        tokens = (await session.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))).all()
    assert [(t.name, t.expires_at is None) for t in tokens] == [("cli", True), ("Kalender-Skript", False)]
    duplicate = booking_cli(db_url, "user", "create", "koordination@stadt.example", "--password", "ein-langes-passwort")
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr
    weak = booking_cli(db_url, "user", "create", "neu@stadt.example", "--password", "kurz")
    assert weak.returncode == 1 and "password" in weak.stderr
    unknown = booking_cli(db_url, "user", "token", "niemand@stadt.example")
    assert unknown.returncode == 1
