"""E-mails the worker gave up on ("parked"), for city administrators to see and retry."""

from __future__ import annotations

from booking.auth.principal import Principal
from booking.domain.errors import NotFound
from booking.mail.worker import NotParked, list_parked, retry_parked
from booking.models import OutboxMessage
from booking.services.admin_common import require_city_admin
from booking.services.context import AppContext


async def parked_messages(app: AppContext, actor: Principal) -> list[OutboxMessage]:
    """E-mails the worker gave up on, newest first."""
    require_city_admin(actor)
    async with app.database.reader() as session:
        return await list_parked(session)


async def retry_parked_message(app: AppContext, actor: Principal, message_id: int) -> OutboxMessage:
    """Put a parked e-mail back into the queue; the worker sends it on its next round."""
    require_city_admin(actor)
    async with app.database.transaction() as session:
        try:
            return await retry_parked(session, message_id, now=app.now())
        except NotParked:
            raise NotFound("There is no parked e-mail with this number.") from None
