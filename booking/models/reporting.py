"""Tables behind the yearly report (Umsetzungsbericht): unmet demand and the report's introduction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from booking.models.base import instant_field


class UnmetDemand(SQLModel, table=True):
    """A booking request that met a taken slot (answered with 409). Holds no person on purpose:
    the report counts demand per resource and month, never who asked."""

    __tablename__ = "unmet_demand"

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", index=True, ondelete="CASCADE")
    requested_starts_at: datetime = instant_field(index=True)
    requested_ends_at: datetime = instant_field()
    quantity: int = Field(default=1)
    recorded_at: datetime = instant_field(default_now=True)


class ReportIntroduction(SQLModel, table=True):
    """The free-text introduction a coordinator writes for one year's report."""

    __tablename__ = "report_introduction"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    text: str = Field(default="", max_length=20000)
    updated_at: datetime = instant_field(default_now=True)


# --- the monthly summary behind the report (services/report_summary.py) ----------------------
# Derived data: every row can be rebuilt from bookings and unmet demand (``booking report
# --rebuild-summary``). Months are local months of the resource's site ("YYYY-MM").


class ReportSummary(SQLModel, table=True):
    """Count and unit-seconds of one figure family per resource, local month and bucket
    (the reason group of a declined request, the lead time of a cancellation, "" otherwise)."""

    __tablename__ = "report_summary"

    month: str = Field(primary_key=True, max_length=7)
    resource_id: int = Field(primary_key=True, foreign_key="resource.id", ondelete="CASCADE", index=True)
    family: str = Field(primary_key=True, max_length=24)
    bucket: str = Field(default="", primary_key=True, max_length=24)
    count: int = Field(default=0)
    unit_seconds: float = Field(default=0.0)


class ReportMonthOrganisation(SQLModel, table=True):
    """The organisations with at least one use at a site in a local month: distinct counts do not
    add up over months or sites, so the sets are kept (a row per site, month and organisation)."""

    __tablename__ = "report_month_organisation"

    month: str = Field(primary_key=True, max_length=7)
    site_id: int = Field(primary_key=True, foreign_key="site.id", ondelete="CASCADE")
    organisation_id: int = Field(primary_key=True, foreign_key="organisation.id", ondelete="CASCADE", index=True)


class ReportMonthPerson(SQLModel, table=True):
    """The persons (bookers) with at least one use at a site in a local month (see above)."""

    __tablename__ = "report_month_person"

    month: str = Field(primary_key=True, max_length=7)
    site_id: int = Field(primary_key=True, foreign_key="site.id", ondelete="CASCADE")
    person_id: int = Field(primary_key=True, foreign_key="user.id", ondelete="CASCADE", index=True)


class ReportSummaryChange(SQLModel, table=True):
    """A change the summary has not taken in yet, written in the same transaction as the change
    (booking/db/report_changes.py): the resource and start of a booking or unmet demand row whose
    month must be recomputed. ``resource_id`` NULL: recompute everything (a site's time zone
    changed, a resource moved or was deleted)."""

    __tablename__ = "report_summary_change"

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int | None = Field(default=None)
    starts_at: datetime | None = instant_field(nullable=True)
