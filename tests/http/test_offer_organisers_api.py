"""The organisers' JSON API of volunteer offers (issue 14) on both databases: every endpoint's
success answer agrees with what the services (and so the pages) show; everyone who does not
manage the offer meets 404 on every endpoint and changes nothing; bad input is a 4xx problem
with the field and changes nothing; moving a date through the API sends the same mails as the
page; the mail actions share the pages' hourly limits."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import col, select

from booking.app import create_app
from booking.models import OfferDate, OutboxMessage, User
from booking.services import offer_catalogue, offer_dates, offer_organisers, offer_publishing, offer_signups, offer_waiting_list
from booking.services.accounts import load_principal
from booking.services.offer_publishing import OfferInput
from booking.auth import action_limits
from booking.auth.action_limits import WAITING_LIST_LIMITER_KEY as LIMITER_KEY
from booking.auth.action_limits import WAITING_LIST_REMOVALS_PER_HOUR as REMOVALS_PER_HOUR
from tests.http.conftest import login
from tests.http.test_offer_waiting_list_organisers import line, offer_with_line
from tests.http.test_offers_pages import make_offer
from tests.support.pages import post_form
from tests.support.world import next_monday

BERLIN = ZoneInfo("Europe/Berlin")
PROBLEM = "application/problem+json"


@pytest.fixture
async def api(settings, app_context):
    """The app (its limiters in ``app.state``) and a client signed in as Org A's admin."""
    app = create_app(settings, app_context=app_context)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")
    yield app, client
    await client.aclose()


async def dates_of(app_context, offer) -> list[tuple]:  # type: ignore[no-untyped-def]
    async with app_context.database.reader() as session:
        rows = (await session.exec(select(OfferDate).where(OfferDate.offer_id == offer.id).order_by(col(OfferDate.id)))).all()
    return [(d.id, d.starts_at, d.ends_at, d.is_cancelled) for d in rows]


async def outbox(app_context) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with app_context.database.reader() as session:
        return [(m.kind, m.recipient) for m in (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()]


async def offer_with_people(app_context, world, prefix: str):  # type: ignore[no-untyped-def]
    """Like ``offer_with_line`` (one place, taken; three waiting), with people of its own."""
    start = next_monday(app_context.now(), 2).replace(tzinfo=None) + timedelta(hours=10)
    offer = await offer_publishing.create_offer(app_context, world["org_admin_a"], OfferInput(
        kind="task", title="Kleiderkammer sortieren", site_id=world.site_a.id, places=1, local_start=start,
        duration=timedelta(hours=2), organisation_id=world.org_a.id))
    date_id = (await offer_catalogue.get_offer(app_context, None, offer.id)).dates[0].id
    async with app_context.database.transaction() as session:
        users = [User(email=f"{prefix}{n}@example.org", display_name=f"Person {n}", email_verified_at=app_context.now()) for n in range(4)]
        session.add_all(users)
        await session.flush()
        people = [await load_principal(session, user) for user in users]
    await offer_signups.sign_up(app_context, people[0], offer.id, None)
    entries = [await offer_waiting_list.join_waiting_list(app_context, person, offer.id, date_id) for person in people[1:]]
    return offer, date_id, [e.id for e in entries]


def problem(answer: httpx.Response, status: int, field: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["field"] == field, answer.json()


def iso(instant) -> str:  # type: ignore[no-untyped-def]
    return instant.isoformat()


def new_offer_body(world, start) -> dict:  # type: ignore[no-untyped-def]
    return {"kind": "task", "title": "Tafel: Ausgabe", "site_id": world.site_a.id, "organisation_id": world.org_a.id, "places": 2,
            "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=2)), "repeat": "weekly", "count": 2,
            "requirements": ["Festes Schuhwerk"], "contact_email": "tafel@example.org"}


async def test_create_list_replace_and_cancel_an_offer(app_context, world, api):
    _app, client = api
    await login(client, world, "org_admin_a")
    await make_offer(app_context, world)
    start = (app_context.now() + timedelta(days=20)).replace(second=0, microsecond=0)
    created = await client.post("/api/v1/offers", json=new_offer_body(world, start))
    assert created.status_code == 201, created.text
    body = created.json()
    view = await offer_catalogue.get_managed_offer(app_context, world["org_admin_a"], body["id"])
    assert (body["title"], body["places"], body["requirements"], body["organisation_id"]) == (
        view.offer.title, view.offer.places, view.offer.requirements, world.org_a.id)
    assert [d.starts_at for d in view.dates] == [start, start + timedelta(days=7)]  # weekly, twice, at the same local time
    managed = (await client.get("/api/v1/offers/managed")).json()
    assert [o["id"] for o in managed] == [o.offer.id for o in await offer_catalogue.managed_offers(app_context, world["org_admin_a"])]
    assert body["id"] == managed[0]["id"]  # newest first
    assert [o["id"] for o in (await client.get("/api/v1/offers/managed?limit=1&offset=1")).json()] == [managed[1]["id"]]
    # Replace: the text and places change, the dates stay.
    replaced = await client.put(f"/api/v1/offers/{body['id']}", json={
        "kind": "task", "title": "Tafel: Ausgabe am Montag", "places": 4, "organisation_id": world.org_a.id, "is_published": False})
    assert replaced.status_code == 200, replaced.text
    offer = (await offer_catalogue.get_managed_offer(app_context, world["org_admin_a"], body["id"])).offer
    assert (offer.title, offer.places, offer.is_published, offer.requirements) == ("Tafel: Ausgabe am Montag", 4, False, [])
    assert replaced.json()["title"] == offer.title and replaced.json()["is_published"] is False
    # Cancel: the participant is told (as on the page), once.
    published = await client.put(f"/api/v1/offers/{body['id']}", json={"kind": "task", "title": "Tafel", "places": 4,
                                                                        "organisation_id": world.org_a.id})
    assert published.status_code == 200
    await offer_signups.sign_up(app_context, world["member_a"], body["id"], None)
    cancelled = await client.post(f"/api/v1/offers/{body['id']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["participants_told"] == 2 and cancelled.json()["cancelled_at"]  # a place on each date
    assert [kind for kind, to in await outbox(app_context) if to == world.emails["member_a"]].count("offer_cancelled") == 2  # one a date
    again = await client.post(f"/api/v1/offers/{body['id']}/cancel", json={})
    assert again.status_code == 409 and again.headers["content-type"].startswith(PROBLEM)


async def test_dates_places_participants_and_attendance(app_context, world, api):
    _app, client = api
    offer, date_id, entries = await offer_with_line(app_context, world)  # one place, taken; three waiting
    await login(client, world, "org_admin_a")
    listed = (await client.get(f"/api/v1/offers/{offer.id}/dates")).json()
    shown = (await offer_catalogue.get_offer(app_context, None, offer.id)).dates
    assert [(d["id"], d["taken"], d["free"], d["participants"], d["waiting"]) for d in listed] == [
        (d.id, d.taken, d.free, 1, 3) for d in shown]
    # Add a date, then move it; each answer is the date as the dates list shows it.
    start = shown[0].starts_at + timedelta(days=7)
    added = await client.post(f"/api/v1/offers/{offer.id}/dates", json={"starts_at": iso(start), "ends_at": iso(start + timedelta(hours=2))})
    assert added.status_code == 201, added.text
    assert added.json()["free"] == 1 and added.json()["is_changeable"] is True
    later = start + timedelta(days=1)
    moved = await client.patch(f"/api/v1/offers/dates/{added.json()['id']}", json={"starts_at": iso(later), "ends_at": iso(later + timedelta(hours=1))})
    assert moved.status_code == 200, moved.text
    managed = await offer_dates.offer_dates(app_context, world["org_admin_a"], offer.id)
    assert [(d.id, d.starts_at, d.ends_at) for d in managed.dates][-1] == (added.json()["id"], later, later + timedelta(hours=1))
    # More places: offered to the waiting list at once, as on the page.
    places = await client.put(f"/api/v1/offers/{offer.id}/places", json={"places": 3})
    assert places.status_code == 200 and places.json() == {"places": 3, "offered": 2}
    # Remove the added date: nobody was on it.
    removed = await client.request("DELETE", f"/api/v1/offers/dates/{added.json()['id']}", json={})
    assert removed.status_code == 200 and removed.json() == {"participants_told": 0}
    assert [d.id for d in (await offer_dates.offer_dates(app_context, world["org_admin_a"], offer.id)).dates] == [date_id]
    # The date's participants, as the participants page lists them.
    roster = (await client.get(f"/api/v1/offers/dates/{date_id}/participants")).json()
    _view, per_date = await offer_organisers.participants(app_context, world["org_admin_a"], offer.id)
    assert [(p["signup_id"], p["name"], p["email"], p["status"]) for p in roster["participants"]] == [
        (p.signup_id, p.name, p.email, p.status) for p in per_date[0].participants]
    assert roster["may_mark_attendance"] is False
    signup_id = roster["participants"][0]["signup_id"]
    early = await client.put(f"/api/v1/offers/dates/{date_id}/attendance", json={"marks": [{"signup_id": signup_id, "attendance": "present"}]})
    problem(early, 422, "attendance")
    began = shown[0].starts_at + timedelta(minutes=5)
    app_context.clock = lambda: began
    marked = await client.put(f"/api/v1/offers/dates/{date_id}/attendance", json={"marks": [{"signup_id": signup_id, "attendance": "present"}]})
    assert marked.status_code == 200 and marked.json() == {"marked": 1}
    roster = (await client.get(f"/api/v1/offers/dates/{date_id}/participants")).json()
    assert roster["may_mark_attendance"] is True and roster["participants"][0]["attendance"] == "present"
    assert len(entries) == 3


async def test_the_waiting_list_in_order_moved_and_removed_with_a_mail(app_context, world, api):
    app, client = api
    offer, date_id, (a, b, c) = await offer_with_line(app_context, world)
    await login(client, world, "org_admin_a")
    listed = (await client.get(f"/api/v1/offers/dates/{date_id}/waiting-list")).json()
    assert [(w["entry_id"], w["place"], w["status"]) for w in listed] == [(a, 1, "waiting"), (b, 2, "waiting"), (c, 3, "waiting")]
    _view, per_date = await offer_organisers.participants(app_context, world["org_admin_a"], offer.id)
    assert [w["name"] for w in listed] == [w.name for w in per_date[0].waiting]
    moved = await client.post(f"/api/v1/offers/{offer.id}/waiting-list/{c}/move", json={"direction": "up"})
    assert moved.status_code == 200 and [w["entry_id"] for w in moved.json()] == [a, c, b]
    assert await line(app_context, offer) == [a, c, b]
    problem(await client.post(f"/api/v1/offers/{offer.id}/waiting-list/{a}/move", json={"direction": "up"}), 400, "direction")
    assert (await client.post(f"/api/v1/offers/{offer.id}/waiting-list/{a}/move", json={"direction": "sideways"})).status_code == 400
    assert await line(app_context, offer) == [a, c, b]
    removed = await client.request("DELETE", f"/api/v1/offers/{offer.id}/waiting-list/{b}", json={})
    assert removed.status_code == 204
    assert await line(app_context, offer) == [a, c]
    assert [kind for kind, _to in await outbox(app_context)].count("waiting_list_removed") == 1
    again = await client.request("DELETE", f"/api/v1/offers/{offer.id}/waiting-list/{b}", json={})
    assert again.status_code == 409
    # The pages' hourly limit, counted together with them: used up, the API answers 429.
    limiter = app.state[LIMITER_KEY]
    for _ in range(REMOVALS_PER_HOUR):
        limiter.hit(f"waiting-list-removal|{world['org_admin_a'].user_id}", REMOVALS_PER_HOUR)
    limited = await client.request("DELETE", f"/api/v1/offers/{offer.id}/waiting-list/{a}", json={})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert await line(app_context, offer) == [a, c]


async def test_bad_input_is_a_problem_at_the_field_and_changes_nothing(app_context, world, api):
    _app, client = api
    offer = await make_offer(app_context, world, count=2)  # two weekly dates
    await offer_signups.sign_up(app_context, world["member_a"], offer.id, None)
    await login(client, world, "org_admin_a")
    before = await dates_of(app_context, offer)
    first, second = before[0], before[1]
    start = first[1] + timedelta(days=1)
    past = app_context.now() - timedelta(days=1)
    for method, path in (("POST", f"/api/v1/offers/{offer.id}/dates"), ("PATCH", f"/api/v1/offers/dates/{first[0]}")):
        problem(await client.request(method, path, json={"starts_at": iso(start), "ends_at": iso(start - timedelta(hours=1))}), 400, "ends_at")
        problem(await client.request(method, path, json={"starts_at": iso(past), "ends_at": iso(past + timedelta(hours=1))}), 400, "starts_at")
        overlap = second[1] + timedelta(minutes=30)
        problem(await client.request(method, path, json={"starts_at": iso(overlap), "ends_at": iso(overlap + timedelta(hours=1))}), 409, "starts_at")
        naive = await client.request(method, path, json={"starts_at": "2031-01-01T10:00:00", "ends_at": "2031-01-01T11:00:00"})
        assert naive.status_code == 400 and naive.headers["content-type"].startswith(PROBLEM)
    problem(await client.put(f"/api/v1/offers/{offer.id}/places", json={"places": 0}), 400, "places")
    problem(await client.put(f"/api/v1/offers/{offer.id}/places", json={"places": 1000}), 400, "places")
    second_booked = await offer_signups.sign_up(app_context, world["member_b"], offer.id, first[0])
    assert second_booked.confirmed
    problem(await client.put(f"/api/v1/offers/{offer.id}/places", json={"places": 1}), 422, "places")  # the first date holds two
    problem(await client.put(f"/api/v1/offers/{offer.id}", json={"kind": "task", "title": "x", "places": 1,
                                                                 "organisation_id": world.org_a.id}), 400, "places")
    problem(await client.put(f"/api/v1/offers/{offer.id}", json={"kind": "task", "title": "  ", "places": 3,
                                                                 "organisation_id": world.org_a.id}), 400, "title")
    problem(await client.put(f"/api/v1/offers/{offer.id}", json={"kind": "party", "title": "x", "places": 3}), 400, "kind")
    body = new_offer_body(world, past)
    problem(await client.post("/api/v1/offers", json=body), 400, "starts_at")
    problem(await client.post("/api/v1/offers", json={**body, "starts_at": iso(start), "ends_at": iso(start - timedelta(hours=1))}), 400, "ends_at")
    problem(await client.post("/api/v1/offers", json={**body, "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1)),
                                                      "location_kind": "online"}), 400, "online_url")
    unknown = await client.post("/api/v1/offers", json={**body, "colour": "blue"})
    assert unknown.status_code == 400 and "colour" in unknown.text
    assert await dates_of(app_context, offer) == before
    view = await offer_catalogue.get_managed_offer(app_context, world["org_admin_a"], offer.id)
    assert (view.offer.places, view.offer.title) == (3, "Parkputz am Sonntag")
    assert len(await offer_catalogue.managed_offers(app_context, world["org_admin_a"])) == 1


async def test_a_move_through_the_api_sends_what_the_page_sends(app_context, world, api):
    _app, client = api
    await login(client, world, "org_admin_a")
    kinds = []
    for through in ("page", "api"):
        offer, date_id, _entries = await offer_with_people(app_context, world, through)
        date = (await offer_catalogue.get_offer(app_context, None, offer.id)).dates[0]
        new_start = date.starts_at + timedelta(days=1)
        seen = len(await outbox(app_context))
        if through == "page":
            local = {"starts_at": new_start.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M"),
                     "ends_at": (new_start + timedelta(hours=2)).astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")}
            answer = await post_form(client, f"/mitmachen/termine/{date_id}/verschieben", local, form_page=f"/mitmachen/{offer.id}/termine")
            assert answer.status_code == 303
        else:
            answer = await client.patch(f"/api/v1/offers/dates/{date_id}", json={"starts_at": iso(new_start), "ends_at": iso(new_start + timedelta(hours=2))})
            assert answer.status_code == 200 and answer.json()["taken"] == 1 and answer.json()["waiting"] == 3
        assert (await offer_catalogue.get_offer(app_context, None, offer.id)).dates[0].starts_at == new_start
        sent = (await outbox(app_context))[seen:]
        kinds.append(sorted(kind for kind, _to in sent))
    assert kinds[0] == kinds[1] == ["offer_date_moved"] + ["offer_waiting_moved"] * 3
    async with app_context.database.reader() as session:
        invites = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "offer_date_moved"))).all()
    assert len(invites) == 2 and all(m.booking_id is not None for m in invites)  # each with the participant's updated invite


async def test_the_mail_actions_share_the_pages_hourly_limit(app_context, world, api, monkeypatch):
    _app, client = api
    monkeypatch.setattr(action_limits, "OFFER_DATE_CHANGES_PER_HOUR", 2)
    offer = await make_offer(app_context, world)
    await login(client, world, "org_admin_a")
    page = await post_form(client, f"/mitmachen/{offer.id}/plaetze", {"places": "4"}, form_page=f"/mitmachen/{offer.id}/termine")
    assert page.status_code == 303
    assert (await client.put(f"/api/v1/offers/{offer.id}/places", json={"places": 5})).status_code == 200
    limited = await client.put(f"/api/v1/offers/{offer.id}/places", json={"places": 6})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert (await offer_catalogue.get_managed_offer(app_context, world["org_admin_a"], offer.id)).offer.places == 5


async def test_everyone_who_does_not_organise_the_offer_meets_404_and_changes_nothing(app_context, world, api):
    _app, client = api
    offer, date_id, (a, b, _c) = await offer_with_line(app_context, world)
    other = await offer_publishing.create_offer(app_context, world["lender_b"], OfferInput(  # site B's, not Org A's
        kind="training", title="Erste Hilfe", site_id=world.site_b.id, places=2,
        local_start=(await dates_of(app_context, offer))[0][1].astimezone(BERLIN).replace(tzinfo=None), duration=timedelta(hours=1)))
    before = (await dates_of(app_context, offer), await line(app_context, offer), await outbox(app_context))
    start = before[0][0][1] + timedelta(days=2)
    times = {"starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1))}
    update = {"kind": "task", "title": "Gekapert", "places": 9, "organisation_id": world.org_a.id}
    calls = [
        ("PUT", f"/api/v1/offers/{offer.id}", update),
        ("POST", f"/api/v1/offers/{offer.id}/cancel", None),
        ("GET", f"/api/v1/offers/{offer.id}/dates", None),
        ("POST", f"/api/v1/offers/{offer.id}/dates", times),
        ("PATCH", f"/api/v1/offers/dates/{date_id}", times),
        ("DELETE", f"/api/v1/offers/dates/{date_id}", None),
        ("PUT", f"/api/v1/offers/{offer.id}/places", {"places": 9}),
        ("GET", f"/api/v1/offers/dates/{date_id}/participants", None),
        ("PUT", f"/api/v1/offers/dates/{date_id}/attendance", {"marks": []}),
        ("GET", f"/api/v1/offers/dates/{date_id}/waiting-list", None),
        ("POST", f"/api/v1/offers/{offer.id}/waiting-list/{b}/move", {"direction": "up"}),
        ("DELETE", f"/api/v1/offers/{offer.id}/waiting-list/{a}", None),
        # An entry of Org A's offer through site B's offer, which lender_b does organise: 404 too.
        ("POST", f"/api/v1/offers/{other.id}/waiting-list/{b}/move", {"direction": "up"}),
        ("DELETE", f"/api/v1/offers/{other.id}/waiting-list/{a}", None),
    ]
    for role in ("member_a", "member_b", "lender_b"):
        await login(client, world, role)
        for method, path, body in calls:
            if role != "lender_b" and f"/{other.id}/" in path:
                continue
            # Cookie sign-ins write to the API with a JSON body only (CSRF); an empty one where none is needed.
            answer = await client.request(method, path, json=body if body is not None else {})
            assert answer.status_code == 404, (role, method, path, answer.status_code, answer.text)
            assert answer.headers["content-type"].startswith(PROBLEM)
        assert offer.id not in [o["id"] for o in (await client.get("/api/v1/offers/managed")).json()]
    assert (await dates_of(app_context, offer), await line(app_context, offer), await outbox(app_context)) == before
    assert (await offer_catalogue.get_managed_offer(app_context, world["org_admin_a"], offer.id)).offer.title == "Kleiderkammer sortieren"
    client.cookies.clear()
    for method, path, body in calls:
        assert (await client.request(method, path, json=body if body is not None else {})).status_code == 401


async def test_an_api_token_works_like_the_session(app_context, world, api):
    from booking.services import accounts

    _app, client = api
    offer = await make_offer(app_context, world)
    token = await accounts.create_api_token(app_context, world.emails["lender_a"], "organiser's script")
    headers = {"Authorization": f"Bearer {token}"}
    replaced = await client.put(f"/api/v1/offers/{offer.id}", headers=headers, json={
        "kind": "training", "title": "Parkputz, mit Einführung", "places": 3, "organisation_id": world.org_a.id})
    assert replaced.status_code == 200, replaced.text
    assert (await offer_catalogue.get_managed_offer(app_context, world["lender_a"], offer.id)).offer.kind == "training"
    date_id = (await dates_of(app_context, offer))[0][0]
    removed = await client.delete(f"/api/v1/offers/dates/{date_id}", headers=headers)  # no body needed with a token
    assert removed.status_code == 200 and (await dates_of(app_context, offer))[0][3] is True
    other = await accounts.create_api_token(app_context, world.emails["lender_b"], "a stranger's script")
    assert (await client.get(f"/api/v1/offers/{offer.id}/dates", headers={"Authorization": f"Bearer {other}"})).status_code == 404
