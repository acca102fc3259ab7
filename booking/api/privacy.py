"""The person's own data: ``GET /api/v1/me/export`` (DSGVO Art. 15/20) and ``DELETE /api/v1/me``
(Art. 17). The export's JSON schema is ``PersonalDataExport`` in the OpenAPI document."""

from __future__ import annotations

from litestar import Request, delete, get
from litestar.di import NamedDependency

from booking.auth.guards import requires_login
from booking.services.context import AppContext
from booking.services.privacy import erasure, export
from booking.services.privacy.export import PersonalDataExport

Ctx = NamedDependency[AppContext]


@get("/api/v1/me/export", guards=[requires_login], tags=["privacy"], summary="Everything held about me (Art. 15/20 GDPR)")
async def export_me(request: Request, app_context: Ctx) -> PersonalDataExport:
    """All personal data about the signed-in person: account, memberships, roles, bookings with
    resource and site, series, loans, API and feed tokens (names and dates, never secrets),
    e-mails sent to them (subject, date, status), audit entries and invitations."""
    return await export.export_person(app_context, request.user.user_id)

@delete("/api/v1/me", guards=[requires_login], tags=["privacy"], status_code=204, summary="Delete my account (Art. 17 GDPR)")
async def delete_me(request: Request, app_context: Ctx) -> None:
    """Delete the signed-in person's account: upcoming bookings are cancelled (the lenders are
    told), past ones anonymised, tokens and sessions end. 409 with the reason while the person
    is the last administrator of an organisation or has a borrowed thing out."""
    await erasure.erase_own_account(app_context, request.user, password=None, confirmed=True)
    request.clear_session()


ROUTES = [export_me, delete_me]
