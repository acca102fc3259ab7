"""For an offer's organisers: participants per date, attendance, the sign-in sheet, a message to
the participants; and for the person: their engagement record."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.principal import Principal
from booking.domain import offers as rules
from booking.domain.errors import NotFound, PolicyViolation
from booking.mail.outbox import enqueue
from booking.models import Offer, OfferDate, OfferSignup, Organisation, Site, User
from booking.services.context import AppContext
from booking.services.offer_catalogue import DateView, OfferView, get_managed_offer
from booking.services.offer_mail import _offer_context
from booking.services.offer_permissions import may_manage
from booking.services.offer_places import CANCELLED, CONFIRMED, _utc
from booking.services.offer_waiting_list import Waiter, _waiting_by_date


@dataclass(frozen=True)
class Participant:
    signup_id: int
    name: str
    email: str  # "" unless the viewer may contact participants
    phone: str
    status: str
    attendance: str


@dataclass
class DateParticipants:
    date: DateView
    participants: list[Participant]
    may_mark: bool
    waiting: list[Waiter] = field(default_factory=list)


# One date's list holds at most this many sign-ups (confirmed and cancelled ones): a bound for
# the work of a request, far above the places a date has (``rules.MAX_PLACES``).
MAX_LISTED_SIGNUPS = 2000


def _signups_with_people(*conditions):  # type: ignore[no-untyped-def]
    """Confirmed and cancelled sign-ups with their person, by name."""
    return (
        select(OfferSignup, User).join(User, User.id == OfferSignup.user_id)  # type: ignore[arg-type]
        .where(*conditions, col(OfferSignup.status).in_([CONFIRMED, CANCELLED]))
        .order_by(col(User.display_name), col(OfferSignup.id))
    )


def _participant(signup: OfferSignup, user: User) -> Participant:
    return Participant(signup.id, user.display_name, user.email, user.phone, signup.status, signup.attendance)  # type: ignore[arg-type]


async def participants(app: AppContext, actor: Principal, offer_id: int) -> tuple[OfferView, list[DateParticipants]]:
    """Participants per date for the offer's organisers; contact details for them only."""
    view = await get_managed_offer(app, actor, offer_id)
    now = app.now()
    async with app.database.reader() as session:
        rows = (await session.exec(_signups_with_people(OfferSignup.offer_id == offer_id))).all()
        waiting = await _waiting_by_date(session, view.offer, view.dates, now)
    by_date: dict[int, list[Participant]] = defaultdict(list)
    for signup, user in rows:
        by_date[signup.offer_date_id].append(_participant(signup, user))
    return view, [
        DateParticipants(d, by_date.get(d.id, []), rules.may_mark_attendance(_utc(d.starts_at), now), waiting.get(d.id, []))
        for d in view.dates
    ]


@dataclass(frozen=True)
class DateRoster:
    """One date's participants for the offer's organisers (the API's list of a date)."""

    offer_id: int
    date_id: int
    starts_at: datetime
    ends_at: datetime
    may_mark: bool  # attendance can be marked (the date has begun)
    participants: list[Participant]


async def date_participants(app: AppContext, actor: Principal, date_id: int) -> DateRoster:
    """A date's confirmed and cancelled places with names and contact details, for the offer's
    organisers (others: NotFound); at most ``MAX_LISTED_SIGNUPS``."""
    async with app.database.reader() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        rows = (await session.exec(_signups_with_people(OfferSignup.offer_date_id == date_id).limit(MAX_LISTED_SIGNUPS))).all()
    return DateRoster(offer.id, date_id, offer_date.starts_at, offer_date.ends_at,  # type: ignore[arg-type]
                      rules.may_mark_attendance(_utc(offer_date.starts_at), app.now()),
                      [_participant(signup, user) for signup, user in rows])


async def waiting_line(app: AppContext, actor: Principal, date_id: int) -> list[Waiter]:
    """A date's waiting list in line order (an offered place with until when it is held),
    names only, for the offer's organisers (others: NotFound)."""
    now = app.now()
    async with app.database.reader() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        line = await _waiting_by_date(session, offer, [offer_date], now, starts_at=_utc(offer_date.starts_at))
    return line.get(date_id, [])


async def _managed_date(session: AsyncSession, actor: Principal, date_id: int) -> tuple[Offer, OfferDate]:
    offer_date = await session.get(OfferDate, date_id)
    offer = await session.get(Offer, offer_date.offer_id) if offer_date is not None else None
    if offer is None or offer_date is None or not may_manage(actor, offer):
        raise NotFound("this date does not exist")
    return offer, offer_date


async def offer_id_of_date(app: AppContext, actor: Principal, date_id: int) -> int:
    """The offer of a date, for its organisers (others: NotFound)."""
    async with app.database.reader() as session:
        offer, _ = await _managed_date(session, actor, date_id)
    return offer.id  # type: ignore[return-value]


async def mark_attendance(app: AppContext, actor: Principal, date_id: int, marks: dict[int, str]) -> int:
    """Mark confirmed participants of a date present or absent, once the date has begun."""
    now = app.now()
    async with app.database.transaction() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)  # others: NotFound before the input
        for value in marks.values():
            rules.clean_choice(value, rules.ATTENDANCE, "attendance")
        if not rules.may_mark_attendance(_utc(offer_date.starts_at), now):
            raise PolicyViolation("attendance can be marked once the date has begun", field="attendance")
        rows = (await session.exec(select(OfferSignup).where(
            OfferSignup.offer_date_id == date_id, OfferSignup.status == CONFIRMED, col(OfferSignup.id).in_(list(marks))))).all()
        for signup in rows:
            signup.attendance = marks[signup.id]  # type: ignore[index]
            session.add(signup)
    return len(rows)


@dataclass
class SignInSheet:
    offer: Offer
    site: Site
    organisation: Organisation | None
    date: OfferDate
    names: list[str]


async def sign_in_sheet(app: AppContext, actor: Principal, date_id: int) -> SignInSheet:
    async with app.database.reader() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        site = await session.get(Site, offer.site_id)
        organisation = await session.get(Organisation, offer.organisation_id) if offer.organisation_id else None
        names = list((await session.exec(
            select(User.display_name).join(OfferSignup, OfferSignup.user_id == User.id)  # type: ignore[arg-type]
            .where(OfferSignup.offer_date_id == date_id, OfferSignup.status == CONFIRMED).order_by(col(User.display_name))
        )).all())
    assert site is not None
    return SignInSheet(offer, site, organisation, offer_date, names)


async def message_participants(app: AppContext, actor: Principal, date_id: int, text: str) -> int:
    """A message to every confirmed participant of a date, one outbox row each (no one sees the
    others' addresses). Returns how many. Rate limits are the caller's (web)."""
    text = rules.clean_text(text, rules.MAX_MESSAGE, "message", required=True)
    now = app.now()
    async with app.database.transaction() as session:
        offer, offer_date = await _managed_date(session, actor, date_id)
        site = await session.get(Site, offer.site_id)
        assert site is not None
        users = (await session.exec(
            select(User).join(OfferSignup, OfferSignup.user_id == User.id)  # type: ignore[arg-type]
            .where(OfferSignup.offer_date_id == date_id, OfferSignup.status == CONFIRMED)
        )).all()
        for user in users:
            await enqueue(
                session, settings=app.settings, kind="offer_message", recipient=user.email, language=user.language, now=now,
                context=_offer_context(offer, site, offer_date, recipient_name=user.display_name, message_text=text,
                                       sender_name=actor.display_name),
            )
    return len(users)


@dataclass
class EngagementRecord:
    person_name: str
    attended: list[rules.AttendedDate]
    upcoming: list[tuple[int, str, datetime, datetime, str]]  # signup id, title, start, end, timezone
    hours: float
    timezone: str


async def engagement_record(app: AppContext, actor: Principal) -> EngagementRecord:
    """The person's attended dates and hours (only dates marked present count) and upcoming places."""
    now = app.now()
    async with app.database.reader() as session:
        rows = (await session.exec(
            select(OfferSignup, Offer, OfferDate, Site)
            .join(Offer, Offer.id == OfferSignup.offer_id)  # type: ignore[arg-type]
            .join(OfferDate, OfferDate.id == OfferSignup.offer_date_id)  # type: ignore[arg-type]
            .join(Site, Site.id == Offer.site_id)  # type: ignore[arg-type]
            .where(OfferSignup.user_id == actor.user_id, OfferSignup.status == CONFIRMED)
            .order_by(col(OfferDate.starts_at))
        )).all()
        organisation_ids = {o.organisation_id for _, o, _, _ in rows if o.organisation_id}
        organisations = {
            org.id: org.name for org in (await session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids)))).all()
        } if organisation_ids else {}
    attended = [
        rules.AttendedDate(o.title, organisations.get(o.organisation_id, site.name), d.starts_at, d.ends_at, s.attendance)  # type: ignore[arg-type]
        for s, o, d, site in rows if s.attendance == "present"
    ]
    upcoming = [(s.id, o.title, d.starts_at, d.ends_at, site.timezone) for s, o, d, site in rows if _utc(d.ends_at) > now]
    timezone = rows[0][3].timezone if rows else app.settings.default_timezone
    return EngagementRecord(actor.display_name, attended, upcoming, rules.attended_hours(attended), timezone)  # type: ignore[arg-type]
