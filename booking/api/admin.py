"""/api/v1/admin: the JSON side of the administration (sites, closures, resources, rules,
staff, parked e-mails). Same services and the same rules as the /admin pages: managers reach
their own sites, city administrators everything; bad input is a 400 problem naming a field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from booking.api.schemas import Id, Instant, ResourceOut, SiteOut
from booking.auth.guards import requires_city_admin, requires_manager
from booking.models import Blackout, OutboxMessage, Policy
from booking.services import blackouts, outbox_admin, resource_admin, site_admin, site_staff
from booking.services.context import AppContext

Ctx = NamedDependency[AppContext]
RowId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]
Text500 = Annotated[str, msgspec.Meta(max_length=500)]
Text4000 = Annotated[str, msgspec.Meta(max_length=4000)]
Text8000 = Annotated[str, msgspec.Meta(max_length=8000)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=resource_admin.MAX_MINUTES)]


class SiteIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Text200
    contact_email: Annotated[str, msgspec.Meta(max_length=320)]
    address: Text500 = ""
    latitude: float | None = None
    longitude: float | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = site_admin.DEFAULT_TIMEZONE
    description: Text4000 = ""
    opening_hours: dict[str, Any] = msgspec.field(default_factory=dict)
    step_free: bool | None = None
    accessible_toilet: bool | None = None
    hearing_loop: bool | None = None
    accessibility_notes: Text4000 = ""


class BlackoutIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Instant
    ends_at: Instant
    resource_id: Id | None = None
    kind: Annotated[str, msgspec.Meta(max_length=16)] = "closed"
    reason: Text500 = ""


class BlackoutOut(msgspec.Struct):
    id: int
    site_id: int
    resource_id: int | None
    starts_at: datetime
    ends_at: datetime
    kind: str
    reason: str
    overlapping_bookings: int = 0

    @classmethod
    def of(cls, blackout: Blackout, overlapping: int = 0) -> BlackoutOut:
        return cls(
            id=blackout.id, site_id=blackout.site_id, resource_id=blackout.resource_id,  # type: ignore[arg-type]
            starts_at=blackout.starts_at, ends_at=blackout.ends_at, kind=blackout.kind, reason=blackout.reason,
            overlapping_bookings=overlapping,
        )


class ResourceIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Annotated[str, msgspec.Meta(max_length=16)]
    name: Text200
    category: Annotated[str, msgspec.Meta(max_length=100)] = ""
    capacity: Annotated[int, msgspec.Meta(ge=1, le=resource_admin.MAX_CAPACITY)] = 1
    seats: Annotated[int, msgspec.Meta(ge=0, le=resource_admin.MAX_SEATS)] | None = None
    visibility: Annotated[str, msgspec.Meta(max_length=16)] = "public"
    description: Text8000 = ""
    accessibility_notes: Text4000 = ""


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    needs_approval: bool = False
    lead_time_minutes: Minutes = 0
    min_duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=resource_admin.MAX_MINUTES)] = 15
    max_duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=resource_admin.MAX_MINUTES)] | None = None
    max_horizon_days: Annotated[int, msgspec.Meta(ge=1, le=resource_admin.MAX_HORIZON_DAYS)] | None = 365
    buffer_before_minutes: Annotated[int, msgspec.Meta(ge=0, le=resource_admin.MAX_BUFFER_MINUTES)] = 0
    buffer_after_minutes: Annotated[int, msgspec.Meta(ge=0, le=resource_admin.MAX_BUFFER_MINUTES)] = 0
    opening_hours_mode: Annotated[str, msgspec.Meta(max_length=16)] = "contain"
    audience: Annotated[str, msgspec.Meta(max_length=16)] = "public"
    allowed_organisation_ids: Annotated[list[Id], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)


class PolicyOut(msgspec.Struct):
    resource_id: int
    needs_approval: bool
    lead_time_minutes: int
    min_duration_minutes: int
    max_duration_minutes: int | None
    max_horizon_days: int | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    opening_hours_mode: str
    audience: str
    allowed_organisation_ids: list[int]

    @classmethod
    def of(cls, policy: Policy) -> PolicyOut:
        return cls(
            resource_id=policy.resource_id, needs_approval=policy.needs_approval,
            lead_time_minutes=policy.lead_time_minutes, min_duration_minutes=policy.min_duration_minutes,
            max_duration_minutes=policy.max_duration_minutes, max_horizon_days=policy.max_horizon_days,
            buffer_before_minutes=policy.buffer_before_minutes, buffer_after_minutes=policy.buffer_after_minutes,
            opening_hours_mode=policy.opening_hours_mode, audience=policy.audience,
            allowed_organisation_ids=list(policy.allowed_organisation_ids or []),
        )


class StaffIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    role: Annotated[str, msgspec.Meta(max_length=16)] = "lender"


class StaffOut(msgspec.Struct):
    user_id: int
    display_name: str
    email: str
    role: str


class ParkedMessageOut(msgspec.Struct):
    id: int
    kind: str
    recipient: str
    subject: str
    attempts: int
    last_error: str
    created_at: datetime
    status: str

    @classmethod
    def of(cls, message: OutboxMessage) -> ParkedMessageOut:
        return cls(
            id=message.id, kind=message.kind, recipient=message.recipient, subject=message.subject,  # type: ignore[arg-type]
            attempts=message.attempts, last_error=message.last_error, created_at=message.created_at, status=message.status,
        )


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["administration"]
    guards = [requires_manager]

    @post("/sites", guards=[requires_city_admin])
    async def create_site(self, request: Request, app_context: Ctx, data: JSONBody[SiteIn]) -> SiteOut:
        site = await site_admin.create_site(app_context, request.user, site_admin.SiteInput(**msgspec.structs.asdict(data)))
        return SiteOut.of(site)

    @put("/sites/{site_id:int}")
    async def update_site(self, request: Request, app_context: Ctx, site_id: RowId, data: JSONBody[SiteIn]) -> SiteOut:
        site = await site_admin.update_site(app_context, request.user, site_id, site_admin.SiteInput(**msgspec.structs.asdict(data)))
        return SiteOut.of(site)

    @post("/sites/{site_id:int}/blackouts")
    async def add_blackout(self, request: Request, app_context: Ctx, site_id: RowId, data: JSONBody[BlackoutIn]) -> BlackoutOut:
        result = await blackouts.add_blackout(
            app_context, request.user, site_id, blackouts.BlackoutInput(**msgspec.structs.asdict(data))
        )
        return BlackoutOut.of(result.blackout, result.overlapping_bookings)

    @delete("/sites/{site_id:int}/blackouts/{blackout_id:int}", status_code=204)
    async def delete_blackout(self, request: Request, app_context: Ctx, site_id: RowId, blackout_id: RowId) -> None:
        await blackouts.delete_blackout(app_context, request.user, site_id, blackout_id)

    @post("/sites/{site_id:int}/resources")
    async def create_resource(self, request: Request, app_context: Ctx, site_id: RowId, data: JSONBody[ResourceIn]) -> ResourceOut:
        resource = await resource_admin.create_resource(
            app_context, request.user, site_id, resource_admin.ResourceInput(**msgspec.structs.asdict(data))
        )
        _, site, _ = await resource_admin.get_resource(app_context, request.user, resource.id)  # type: ignore[arg-type]
        return ResourceOut.of(resource, site)

    @put("/resources/{resource_id:int}")
    async def update_resource(self, request: Request, app_context: Ctx, resource_id: RowId, data: JSONBody[ResourceIn]) -> ResourceOut:
        await resource_admin.update_resource(app_context, request.user, resource_id, resource_admin.ResourceInput(**msgspec.structs.asdict(data)))
        resource, site, _ = await resource_admin.get_resource(app_context, request.user, resource_id)
        return ResourceOut.of(resource, site)

    @put("/resources/{resource_id:int}/policy")
    async def update_policy(self, request: Request, app_context: Ctx, resource_id: RowId, data: JSONBody[PolicyIn]) -> PolicyOut:
        values = msgspec.structs.asdict(data)
        values["allowed_organisation_ids"] = tuple(values["allowed_organisation_ids"])
        policy = await resource_admin.update_policy(app_context, request.user, resource_id, resource_admin.PolicyInput(**values))
        return PolicyOut.of(policy)

    @post("/sites/{site_id:int}/staff")
    async def assign_staff(self, request: Request, app_context: Ctx, site_id: RowId, data: JSONBody[StaffIn]) -> StaffOut:
        member = await site_staff.assign_site_role(app_context, request.user, site_id, data.email, data.role)
        return StaffOut(member.user_id, member.display_name, member.email, member.role)

    @delete("/sites/{site_id:int}/staff/{user_id:int}", status_code=204)
    async def remove_staff(self, request: Request, app_context: Ctx, site_id: RowId, user_id: RowId) -> None:
        await site_staff.remove_site_role(app_context, request.user, site_id, user_id)

    @get("/mail/parked", guards=[requires_city_admin])
    async def parked_mail(self, request: Request, app_context: Ctx) -> list[ParkedMessageOut]:
        return [ParkedMessageOut.of(m) for m in await outbox_admin.parked_messages(app_context, request.user)]

    @post("/mail/parked/{message_id:int}/retry", guards=[requires_city_admin], status_code=200)
    async def retry_mail(self, request: Request, app_context: Ctx, message_id: RowId) -> ParkedMessageOut:
        return ParkedMessageOut.of(await outbox_admin.retry_parked_message(app_context, request.user, message_id))


ROUTES = [AdminController]
