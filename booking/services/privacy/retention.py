"""Retention: personal data ends when the settings say (``[privacy]`` in the config).

- bookings that ended more than ``anonymise_bookings_after_months`` ago are anonymised (the
  rows stay for usage statistics; ``erasure.anonymise_bookings`` removes the person);
- sent e-mails lose text, subject and recipient after ``delete_mail_bodies_after_days`` (the
  delivery record — kind, status, times, attempts — stays);
- accounts never confirmed within ``delete_unverified_accounts_after_days`` are deleted;
- e-mail link tokens, invitations and decided requests to join are deleted ``delete_expired_tokens_after_days`` after
  they expired; waiting-list entries as long after the slot they waited for ended.

``purge`` runs in the worker's scheduled job and as ``booking privacy purge [--dry-run]``.
Each step selects only what is not done yet, so running it again changes nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, func, update
from sqlmodel import col, select

from booking.domain.lifecycle import Status
from booking.mail.outbox import STATUS_SENT
from booking.models import Booking, EmailToken, Invitation, JoinRequest, OutboxMessage, User, WaitingListEntry
from booking.services.context import AppContext
from booking.services.privacy.erasure import ERASED_EMAIL, anonymise_bookings, erase_user_in_session, erased_person_id
from booking.settings import PrivacySettings

BATCH = 500


@dataclasses.dataclass(frozen=True)
class Cutoffs:
    bookings_ended_before: datetime
    mail_sent_before: datetime
    unverified_created_before: datetime
    tokens_expired_before: datetime


def cutoffs(settings: PrivacySettings, now: datetime) -> Cutoffs:
    """The instants before which each kind of data goes (pure: pass ``now``)."""
    return Cutoffs(
        bookings_ended_before=now - relativedelta(months=settings.anonymise_bookings_after_months),
        mail_sent_before=now - timedelta(days=settings.delete_mail_bodies_after_days),
        unverified_created_before=now - timedelta(days=settings.delete_unverified_accounts_after_days),
        tokens_expired_before=now - timedelta(days=settings.delete_expired_tokens_after_days),
    )


@dataclasses.dataclass
class PurgeReport:
    bookings_anonymised: int = 0
    mail_bodies_deleted: int = 0
    unverified_accounts_deleted: int = 0
    email_tokens_deleted: int = 0
    invitations_deleted: int = 0
    join_requests_deleted: int = 0
    waiting_list_entries_deleted: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        return [f"{field.name.replace('_', ' ')}: {getattr(self, field.name)}"
                for field in dataclasses.fields(self) if field.name != "dry_run"]


async def purge(app: AppContext, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Apply the retention settings once; with ``dry_run`` only count what would go."""
    now = now or app.now()
    limits = cutoffs(app.settings.privacy, now)
    report = PurgeReport(dry_run=dry_run)
    opened = app.database.reader() if dry_run else app.database.transaction()
    async with opened as session:
        erased_filter = User.email != ERASED_EMAIL

        # Bookings: ended long ago, still pointing to a person (not the stand-in), not out on loan.
        stand_in = select(User.id).where(User.email == ERASED_EMAIL)
        old = select(Booking.id).where(
            Booking.ends_at < limits.bookings_ended_before,
            Booking.status != Status.CHECKED_OUT.value,
            col(Booking.booker_id).not_in(stand_in),
        ).order_by(col(Booking.id))
        booking_ids = list((await session.exec(old)).all())
        report.bookings_anonymised = len(booking_ids)
        if booking_ids and not dry_run:
            # The stand-in row is made only when there is something to hand to it.
            await anonymise_bookings(session, booking_ids, await erased_person_id(session, now))

        # Sent mail: keep the delivery record, drop what it said and to whom.
        sent_filter = (
            OutboxMessage.status == STATUS_SENT,
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < limits.mail_sent_before,
            OutboxMessage.recipient != "",
        )
        report.mail_bodies_deleted = (await session.exec(select(func.count()).select_from(OutboxMessage).where(*sent_filter))).one()  # type: ignore[call-overload]
        if not dry_run and report.mail_bodies_deleted:
            await session.exec(update(OutboxMessage).where(*sent_filter).values(  # type: ignore[call-overload]
                recipient="", subject="", raw="", payload=None, last_error=""))

        # Accounts that were never confirmed.
        unverified = (await session.exec(select(User).where(
            col(User.email_verified_at).is_(None), User.created_at < limits.unverified_created_before, erased_filter,
        ).order_by(col(User.id)))).all()
        report.unverified_accounts_deleted = len(unverified)
        if not dry_run:
            for user in unverified:
                await erase_user_in_session(session, app, user, actor_id=None, check=False)

        token_filter = (EmailToken.expires_at < limits.tokens_expired_before,)
        report.email_tokens_deleted = (await session.exec(select(func.count()).select_from(EmailToken).where(*token_filter))).one()  # type: ignore[call-overload]
        invitation_filter = (Invitation.expires_at < limits.tokens_expired_before,)
        report.invitations_deleted = (await session.exec(select(func.count()).select_from(Invitation).where(*invitation_filter))).one()  # type: ignore[call-overload]
        if not dry_run:
            await session.exec(delete(EmailToken).where(*token_filter))  # type: ignore[call-overload]
            await session.exec(delete(Invitation).where(*invitation_filter))  # type: ignore[call-overload]
        # Decided requests to join: the membership (or the refusal's e-mail) is what remains.
        decided_filter = (JoinRequest.status != "pending", col(JoinRequest.decided_at) < limits.tokens_expired_before)
        report.join_requests_deleted = (await session.exec(select(func.count()).select_from(JoinRequest).where(*decided_filter))).one()  # type: ignore[call-overload]
        if not dry_run:
            await session.exec(delete(JoinRequest).where(*decided_filter))  # type: ignore[call-overload]
        # Waiting-list entries whose slot is long over (decided or not): nothing left to offer.
        waiting_filter = (WaitingListEntry.ends_at < limits.tokens_expired_before,)
        report.waiting_list_entries_deleted = (await session.exec(select(func.count()).select_from(WaitingListEntry).where(*waiting_filter))).one()  # type: ignore[call-overload]
        if not dry_run:
            await session.exec(delete(WaitingListEntry).where(*waiting_filter))  # type: ignore[call-overload]
    return report
