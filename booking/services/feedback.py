"""Feedback on accessibility (LBGG SH § 14, EU model statement): anyone, without an account,
sends a message that reaches the operator's contact address through the outbox."""

from __future__ import annotations

from booking.domain.errors import InvalidInput
from booking.mail.outbox import enqueue
from booking.services.accounts import normalise_email
from booking.services.context import AppContext

MAX_MESSAGE = 5000
MAX_NAME = 200
MAX_URL = 500


def feedback_recipient(app: AppContext) -> str:
    return app.settings.privacy.contact_email or app.settings.mail.sender


async def send_accessibility_feedback(
    app: AppContext, *, message: str, name: str = "", email: str = "", page_url: str = "", language: str = "de"
) -> None:
    """Queue the feedback for the operator. Name and e-mail are optional (for an answer)."""
    message = message.strip()
    if not message:
        raise InvalidInput("please describe the problem", field="message")
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(f"at most {MAX_MESSAGE} characters", field="message")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise InvalidInput(f"at most {MAX_NAME} characters", field="name")
    address = normalise_email(email) if email.strip() else ""
    page_url = page_url.strip()[:MAX_URL]
    async with app.database.transaction() as session:
        await enqueue(
            session,
            settings=app.settings,
            kind="accessibility_feedback",
            recipient=feedback_recipient(app),
            # The operator reads it in the service's default language.
            language=app.settings.default_language,
            context={"feedback_message": message, "sender_name": name or None, "sender_email": address or None,
                     "page_url": page_url or None},
            now=app.now(),
        )
