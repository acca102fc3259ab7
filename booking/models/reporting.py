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
