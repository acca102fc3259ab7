"""Volunteering figures of the report (Umsetzungsbericht): offers, their dates, places and the
people who took them, per site and local month.

Read straight from ``offer``, ``offer_date`` and ``offer_signup``, not through the monthly summary
(``report_summary``): offers have a handful of dates and places each, so these tables stay small
next to the bookings, and their figures (attendance, hours of a date, distinct volunteers) are
not in the summary's shape. Three statements: the figures (one UNION over the three tables),
distinct volunteers at four levels, first-time volunteers.

Conventions:

* An offer is **published** in the local month it was created, unless it is still a draft
  (``is_published`` false); by kind (task, training).
* A date is **held** when it is not cancelled and its offer is published and was not cancelled
  before the date began; it belongs to the local month of its start (planned dates of the period
  count, as planned bookings do). **Places offered**: the offer's places per held date.
* **Places filled**: confirmed sign-ups of held dates (a confirmed sign-up holds a place; one
  cancelled, refused or still waiting for its e-mail confirmation does not). **Attended**: those
  marked present. **Hours volunteered**: attended sign-ups × the date's length.
* **Volunteers**: distinct persons with a filled place — by their user, or by the address of a
  sign-up made by e-mail only (compared in lower case, never shown). Distinct counts do not add
  up, so they are counted per site and month, per site, per month and overall.
  **First-time volunteers**: persons whose first filled place ever is in the period, in the month
  of that place (at the reported sites).
* Offer places are bookings of a hidden resource of kind ``offer``: the booking figures leave
  them out (``reporting._not_offer_places``), so nothing is counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Select, String, case, cast, func, literal, or_, union_all
from sqlmodel import col, select

from booking.db.reporting_sql import distinct_rollup, local_month, seconds_between
from booking.models import Offer, OfferDate, OfferSignup, Site
from booking.services.reporting import Period, _in_period, _site_filter

FIGURES = ("offers_task", "offers_training", "dates_held", "places_offered", "places_filled", "attended", "hours_volunteered")
CONFIRMED = "confirmed"
PRESENT = "present"


@dataclass(frozen=True)
class VolunteeringRow:
    site_id: int
    site: str
    month: str
    offers_task: int = 0
    offers_training: int = 0
    dates_held: int = 0
    places_offered: int = 0
    places_filled: int = 0
    attended: int = 0
    hours_volunteered: float = 0.0
    # Distinct persons with a filled place at this site in this month.
    volunteers: int = 0


@dataclass(frozen=True)
class VolunteerCount:
    """Distinct volunteers; ``site_id``/``month`` None mean "all"."""

    site_id: int | None
    site: str | None
    month: str | None
    volunteers: int


def _date_held() -> ColumnElement[bool]:
    return (col(OfferDate.is_cancelled).is_(False) & col(Offer.is_published).is_(True)
            & or_(col(Offer.cancelled_at).is_(None), col(Offer.cancelled_at) > OfferDate.starts_at))


def _filled() -> ColumnElement[bool]:
    return (OfferSignup.status == CONFIRMED) & _date_held()


def _volunteer_key() -> ColumnElement[str]:
    """One text per person: the user, else the sign-up's address (e-mail-only sign-ups)."""
    return case(
        (col(OfferSignup.user_id).is_not(None), literal("u:") + cast(OfferSignup.user_id, String)),
        else_=literal("e:") + func.lower(func.trim(OfferSignup.email)),
    )


def _figures(dialect: str, period: Period, site_ids: Sequence[int] | None, zones: Sequence[str]) -> Select:  # type: ignore[type-arg]
    date_month = local_month(dialect, OfferDate.starts_at, Site.timezone).label("month")
    in_period = _in_period(period, OfferDate.starts_at, Site.timezone, zones)

    def dates(figure: ColumnElement[str] | str, value) -> Select:  # type: ignore[no-untyped-def, type-arg]
        return (
            select(Site.id.label("site_id"), Site.name.label("site"), date_month, _figure(figure), cast(value, Float).label("value"))  # type: ignore[union-attr]
            .select_from(OfferDate).join(Offer, Offer.id == OfferDate.offer_id).join(Site, Site.id == Offer.site_id)
            .where(_site_filter(site_ids), _date_held(), *in_period)
        )

    def signups(figure: str, value, *conditions) -> Select:  # type: ignore[no-untyped-def, type-arg]
        return (
            select(Site.id.label("site_id"), Site.name.label("site"), date_month, _figure(figure), cast(value, Float).label("value"))  # type: ignore[union-attr]
            .select_from(OfferSignup).join(OfferDate, OfferDate.id == OfferSignup.offer_date_id)
            .join(Offer, Offer.id == OfferDate.offer_id).join(Site, Site.id == Offer.site_id)
            .where(_site_filter(site_ids), _filled(), *in_period, *conditions)
        )

    one = literal(1)
    present = OfferSignup.attendance == PRESENT
    published = (
        select(Site.id.label("site_id"), Site.name.label("site"),  # type: ignore[union-attr]
               local_month(dialect, Offer.created_at, Site.timezone).label("month"),
               _figure(case((Offer.kind == "task", "offers_task"), else_="offers_training")), cast(one, Float).label("value"))
        .select_from(Offer).join(Site, Site.id == Offer.site_id)
        .where(_site_filter(site_ids), col(Offer.is_published).is_(True), *_in_period(period, Offer.created_at, Site.timezone, zones))
    )
    rows = union_all(
        published,
        dates("dates_held", one),
        dates("places_offered", Offer.places),
        signups("places_filled", one),
        signups("attended", one, present),
        signups("hours_volunteered", seconds_between(dialect, OfferDate.starts_at, OfferDate.ends_at) / 3600.0, present),
    ).subquery("volunteering")
    return (
        select(rows.c.site_id, rows.c.site, rows.c.month, rows.c.figure, func.sum(rows.c.value))
        .group_by(rows.c.site_id, rows.c.site, rows.c.month, rows.c.figure)
    )


def _figure(value: ColumnElement[str] | str) -> ColumnElement[str]:
    return (literal(value) if isinstance(value, str) else value).label("figure")


def _volunteers(dialect: str, period: Period, site_ids: Sequence[int] | None, zones: Sequence[str], *,
                overall_only: bool) -> Select:  # type: ignore[type-arg]
    base = (
        select(Site.id.label("site_id"), local_month(dialect, OfferDate.starts_at, Site.timezone).label("month"),
               _volunteer_key().label("person"))
        .select_from(OfferSignup).join(OfferDate, OfferDate.id == OfferSignup.offer_date_id)
        .join(Offer, Offer.id == OfferDate.offer_id).join(Site, Site.id == Offer.site_id)
        .where(_site_filter(site_ids), _filled(), *_in_period(period, OfferDate.starts_at, Site.timezone, zones))
    ).cte("filled_places")
    return distinct_rollup(base, base.c.person, overall_only=overall_only)


def _first_time(dialect: str, period: Period, site_ids: Sequence[int] | None) -> Select:  # type: ignore[type-arg]
    """Persons by the local month of their first filled place ever (at the reported sites), for
    those whose first one is in the period: every filled place is read, which is cheap here."""
    places = (
        select(_volunteer_key().label("person"), local_month(dialect, OfferDate.starts_at, Site.timezone).label("month"))
        .select_from(OfferSignup).join(OfferDate, OfferDate.id == OfferSignup.offer_date_id)
        .join(Offer, Offer.id == OfferDate.offer_id).join(Site, Site.id == Offer.site_id)
        .where(_site_filter(site_ids), _filled())
    ).subquery("filled_places_ever")
    firsts = (
        select(places.c.person, func.min(places.c.month).label("first_month")).group_by(places.c.person)
    ).subquery("first_places")
    return (
        select(firsts.c.first_month, func.count())
        .where(firsts.c.first_month >= period.first_month, firsts.c.first_month <= period.last_month)
        .group_by(firsts.c.first_month)
    )


@dataclass
class Volunteering:
    rows: list[VolunteeringRow]
    volunteers: list[VolunteerCount]
    first_time: dict[str, int]


async def volunteering(session, dialect: str, period: Period, site_ids: Sequence[int] | None,  # type: ignore[no-untyped-def]
                       zones: Sequence[str], *, key_figures_only: bool = False) -> Volunteering:
    """The volunteering figures per site and local month, distinct volunteers at every level (only
    overall with ``key_figures_only``) and first-time volunteers per month."""
    cells: dict[tuple[int, str, str], dict[str, float]] = defaultdict(dict)
    for site_id, site, month, figure, value in (await session.exec(_figures(dialect, period, site_ids, zones))).all():
        cells[(site_id, site, month)][figure] = float(value or 0)
    counts = [tuple(row) for row in (await session.exec(
        _volunteers(dialect, period, site_ids, zones, overall_only=key_figures_only))).all()]
    per_cell = {(site_id, month): int(count) for site_id, month, count in counts if site_id is not None and month is not None}
    site_names = {site_id: site for site_id, site, _ in cells}
    rows = []
    for (site_id, site, month), figures in cells.items():
        rows.append(VolunteeringRow(
            site_id, site, month, *(int(figures.get(name, 0)) for name in FIGURES[:-1]),
            round(figures.get("hours_volunteered", 0.0), 2), per_cell.get((site_id, month), 0),
        ))
    rows.sort(key=lambda row: (row.site, row.month))
    volunteers = [
        VolunteerCount(site_id, site_names.get(site_id) if site_id is not None else None, month, int(count))
        for site_id, month, count in counts
    ]
    first_time = {month: int(count) for month, count in (await session.exec(_first_time(dialect, period, site_ids))).all()}
    return Volunteering(rows, volunteers, first_time)
