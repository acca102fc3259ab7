"""Request and response bodies of the JSON API (never the table classes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from booking.models import Booking, BookingEvent, Resource, Site

Instant = Annotated[datetime, msgspec.Meta(tz=True, description="an instant with offset, e.g. 2026-03-03T18:00:00+01:00")]
PositiveInt = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
LongText = Annotated[str, msgspec.Meta(max_length=2000)]


class LoginData(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=1000)]


class BookingCreate(msgspec.Struct, forbid_unknown_fields=True):
    resource_id: Id
    starts_at: Instant
    ends_at: Instant
    quantity: PositiveInt = 1
    organisation_id: Id | None = None
    title: ShortText = ""
    purpose: LongText = ""
    is_public: bool = False


class DecisionReasonOut(msgspec.Struct):
    code: str
    text: str
    holds: bool


class QuotaStateOut(msgspec.Struct):
    metric: str
    subject: str
    enforcement: str
    unit: str
    limit: int
    used: float
    remaining: float
    requested: float
    period_starts_at: str | None
    period_ends_at: str | None


class BookingPreviewOut(msgspec.Struct):
    """The answer of POST /api/v1/bookings/preview."""

    outcome: str  # confirmed | requested
    confirm_at_once: bool
    reasons: list[DecisionReasonOut]
    quotas: list[QuotaStateOut]

    @classmethod
    def of(cls, preview: Any) -> BookingPreviewOut:
        from booking.api.errors import quota_state_body

        return cls(
            outcome=preview.decision.outcome, confirm_at_once=preview.decision.confirm_at_once,
            reasons=[DecisionReasonOut(reason.code, reason.text, reason.holds) for reason in preview.decision.reasons],
            quotas=[QuotaStateOut(**quota_state_body(state)) for state in preview.quotas],
        )


class BookingChange(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    quantity: PositiveInt | None = None


class ReasonData(msgspec.Struct, forbid_unknown_fields=True):
    reason: LongText = ""


class SiteOut(msgspec.Struct):
    id: int
    name: str
    address: str
    latitude: float | None
    longitude: float | None
    timezone: str
    contact_email: str
    opening_hours: dict[str, Any]
    description: str

    @classmethod
    def of(cls, site: Site) -> SiteOut:
        return cls(
            id=site.id, name=site.name, address=site.address, latitude=site.latitude,  # type: ignore[arg-type]
            longitude=site.longitude, timezone=site.timezone, contact_email=site.contact_email,
            opening_hours=site.opening_hours, description=site.description,
        )


class ResourceOut(msgspec.Struct):
    id: int
    site_id: int
    site_name: str
    kind: str
    name: str
    category: str
    description: str
    accessibility_notes: str
    capacity: int
    seats: int | None
    visibility: str
    photo_url: str | None

    @classmethod
    def of(cls, resource: Resource, site: Site) -> ResourceOut:
        return cls(
            id=resource.id, site_id=resource.site_id, site_name=site.name, kind=resource.kind,  # type: ignore[arg-type]
            name=resource.name, category=resource.category, description=resource.description,
            accessibility_notes=resource.accessibility_notes, capacity=resource.capacity, seats=resource.seats,
            visibility=resource.visibility, photo_url=resource.photo_url,
        )


class BookingOut(msgspec.Struct):
    id: int
    resource_id: int
    resource_name: str
    site_id: int
    quantity: int
    starts_at: datetime
    ends_at: datetime
    status: str
    organisation_id: int | None
    booker_id: int
    title: str
    purpose: str
    is_public: bool
    sequence: int
    series_id: int | None
    decision_reason: str
    created_at: datetime
    updated_at: datetime
    # A waiting list's offer (status held) is held until then; null otherwise.
    hold_expires_at: datetime | None = None

    @classmethod
    def of(cls, booking: Booking, resource: Resource) -> BookingOut:
        return cls(
            id=booking.id, resource_id=booking.resource_id, resource_name=resource.name,  # type: ignore[arg-type]
            site_id=resource.site_id, quantity=booking.quantity, starts_at=booking.starts_at,
            ends_at=booking.ends_at, status=booking.status, organisation_id=booking.organisation_id,
            booker_id=booking.booker_id, title=booking.title, purpose=booking.purpose,
            is_public=booking.is_public, sequence=booking.sequence, series_id=booking.series_id,
            decision_reason=booking.decision_reason, created_at=booking.created_at, updated_at=booking.updated_at,
            hold_expires_at=booking.hold_expires_at,
        )


class BookingEventOut(msgspec.Struct):
    action: str
    from_status: str | None
    to_status: str | None
    reason: str
    actor_id: int | None
    at: datetime
    details: dict[str, Any]

    @classmethod
    def of(cls, event: BookingEvent) -> BookingEventOut:
        return cls(
            action=event.action, from_status=event.from_status, to_status=event.to_status,
            reason=event.reason, actor_id=event.actor_id, at=event.at, details=event.details,
        )


class IntervalOut(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime


class UsageOut(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    units_used: int


class ClosedOut(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    reason: str


class AvailabilityOut(msgspec.Struct):
    resource_id: int
    capacity: int
    starts_at: datetime
    ends_at: datetime
    busy: list[IntervalOut]
    usage: list[UsageOut]
    open: list[IntervalOut]
    closed: list[ClosedOut]


class MeOut(msgspec.Struct):
    id: int
    email: str
    display_name: str
    language: str
    is_city_admin: bool
    organisations: dict[int, str]
    sites: dict[int, str]
