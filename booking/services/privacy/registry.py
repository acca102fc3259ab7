"""THE list of personal data: every column of every table, classified, with its retention.

Export (``export.py``), erasure (``erasure.py``) and retention (``retention.py``) walk this list,
and ``tests/unit/test_privacy_registry.py`` fails when a table or column exists in the models
that is not classified here. A new column therefore forces a decision: is it personal, how long
is it kept, what does export show and what does erasure do with it.

Column classes:

``personal``   data about a person (name, e-mail, free text they wrote, what they did when)
``link``       a foreign key to ``user``: ties the row to a person
``secret``     a credential or its hash: never exported, deleted with the person
``plain``      not personal (ids, statuses, times of rows that carry no person, settings)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnClass = Literal["personal", "link", "secret", "plain"]
PERSONAL: ColumnClass = "personal"
LINK: ColumnClass = "link"
SECRET: ColumnClass = "secret"
PLAIN: ColumnClass = "plain"

# What erasure does with the rows of a table that belong to the person.
OnErasure = Literal["delete", "anonymise", "unlink", "none"]


@dataclass(frozen=True)
class TablePolicy:
    """How one table treats personal data.

    ``columns``: every column and its class. ``owner``: the column(s) that name the person the
    row is about (a user id or an e-mail address). ``retention``: how long, in words, with the
    setting that controls it (listed on the Datenschutz page). ``on_erasure``: delete the rows,
    anonymise them (kept for usage statistics without anything pointing to a person), unlink
    (only the reference to the person goes), or none (no personal data).
    ``export``: the section of the export that shows the rows ("" = not exported).
    """

    table: str
    columns: dict[str, ColumnClass]
    owner: tuple[str, ...] = ()
    retention: str = ""
    retention_setting: str = ""
    on_erasure: OnErasure = "none"
    export: str = ""
    notes: str = ""

    @property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(name for name, kind in self.columns.items() if kind in (PERSONAL, LINK, SECRET))

    @property
    def holds_personal_data(self) -> bool:
        return bool(self.personal_columns)


P, L, S, N = PERSONAL, LINK, SECRET, PLAIN

REGISTRY: tuple[TablePolicy, ...] = (
    TablePolicy(
        "user",
        {"id": N, "email": P, "display_name": P, "password_hash": S, "language": P, "is_city_admin": P,
         "is_active": P, "email_verified_at": P, "session_epoch": N, "created_at": P, "phone": P},
        owner=("id",),
        retention="until the person deletes the account; never confirmed accounts after N days",
        retention_setting="delete_unverified_accounts_after_days",
        on_erasure="delete", export="account",
    ),
    TablePolicy(
        "membership",
        {"id": N, "user_id": L, "organisation_id": P, "role": P, "created_at": P},
        owner=("user_id",), retention="as long as the account and the membership exist",
        on_erasure="delete", export="memberships",
    ),
    TablePolicy(
        "site_role",
        {"id": N, "user_id": L, "site_id": P, "role": P, "created_at": P},
        owner=("user_id",), retention="as long as the account and the role exist",
        on_erasure="delete", export="site_roles",
    ),
    TablePolicy(
        "api_token",
        {"id": N, "user_id": L, "name": P, "token_hash": S, "created_at": P, "last_used_at": P, "revoked_at": P,
         "expires_at": P},
        owner=("user_id",), retention="until revoked together with the account",
        on_erasure="delete", export="api_tokens",
    ),
    TablePolicy(
        "login_session",
        {"id": N, "user_id": L, "token_hash": S, "created_at": P, "last_seen_at": P, "expires_at": P},
        owner=("user_id",), retention="until logout, the idle limit (auth.session_idle_days) or a password change",
        on_erasure="delete", export="",
        notes="sessions end with the account; the export lists none (they are not data the person gave)",
    ),
    TablePolicy(
        "feed_document_cache",
        {"feed_id": N, "etag": N, "body": P, "event_keys": N, "stored_at": N},
        owner=("feed_id",), retention="replaced with every change of the feed; deleted with its feed token",
        on_erasure="delete",
        notes="a person's private feed text; its rows are deleted with the feed tokens (see erasure)",
    ),
    TablePolicy(
        "feed_token",
        {"id": N, "owner_id": L, "scope": P, "target_id": P, "is_private": P, "token_hash": S,
         "created_at": P, "revoked_at": P, "token_seed": S},
        owner=("owner_id",), retention="as long as the account exists",
        on_erasure="delete", export="feeds",
    ),
    TablePolicy(
        "email_token",
        {"id": N, "user_id": L, "purpose": P, "token_hash": S, "expires_at": P, "used_at": P, "created_at": P},
        owner=("user_id",), retention="deleted N days after expiry",
        retention_setting="delete_expired_tokens_after_days",
        on_erasure="delete", export="",
        notes="one-time links; the export would only show hashes of spent secrets",
    ),
    TablePolicy(
        "invitation",
        {"id": N, "organisation_id": N, "email": P, "role": P, "token_hash": S, "invited_by_id": L,
         "expires_at": P, "accepted_at": P, "accepted_by_id": L, "revoked_at": P, "created_at": P},
        owner=("email", "invited_by_id", "accepted_by_id"), retention="deleted N days after expiry",
        retention_setting="delete_expired_tokens_after_days",
        on_erasure="delete", export="invitations",
        notes="invitations to the person are deleted; invitations they sent lose the sender",
    ),
    TablePolicy(
        "booking",
        {"id": N, "resource_id": N, "quantity": N, "starts_at": N, "ends_at": N, "status": N, "is_exclusive": N,
         "organisation_id": N, "booker_id": L, "title": P, "purpose": P, "is_public": N, "sequence": N,
         "series_id": N, "recurrence_id": N, "group_key": N, "decision_reason": P, "created_at": N, "updated_at": N,
         "hold_expires_at": N,
         # When the booker checked in: their presence, kept and erased with the booking.
         "checked_in_at": P},
        owner=("booker_id",),
        retention="anonymised N months after the end (kept for usage statistics without a person)",
        retention_setting="anonymise_bookings_after_months",
        on_erasure="anonymise", export="bookings",
        notes="upcoming bookings are cancelled on erasure; past ones are anonymised",
    ),
    TablePolicy(
        "series",
        {"id": N, "resource_id": N, "organisation_id": N, "booker_id": L, "rrule": N, "timezone": N,
         "local_start": N, "duration_minutes": N, "exdates": N, "quantity": N, "title": P, "purpose": P,
         # refused_dates: dates with the resource's reason ("… is not available at that time"), no person.
         "is_public": N, "sequence": N, "created_at": N, "updated_at": N, "refused_dates": N},
        owner=("booker_id",), retention="anonymised with its last booking",
        retention_setting="anonymise_bookings_after_months",
        on_erasure="anonymise", export="series",
    ),
    TablePolicy(
        "booking_event",
        {"id": N, "booking_id": N, "actor_id": L, "action": N, "from_status": N, "to_status": N,
         "reason": P, "details": P, "at": N},
        owner=("actor_id",), retention="anonymised with its booking",
        retention_setting="anonymise_bookings_after_months",
        on_erasure="anonymise", export="audit",
        notes="the audit trail stays (who did it becomes empty, reasons are removed)",
    ),
    TablePolicy(
        "loan",
        {"id": N, "booking_id": N, "checked_out_at": N, "checked_out_by_id": L, "condition_out": P,
         "deposit_note": P, "returned_at": N, "returned_by_id": L, "condition_in": P, "damage_notes": P,
         "missing_parts": P},
        owner=("checked_out_by_id", "returned_by_id"), retention="anonymised with its booking",
        retention_setting="anonymise_bookings_after_months",
        on_erasure="anonymise", export="loans",
        notes="the borrower is the booker of the loan's booking; lenders are checked_out_by/returned_by",
    ),
    TablePolicy(
        "outbox_message",
        {"id": N, "kind": N, "recipient": P, "subject": P, "message_id": N, "raw": P, "language": N,
         "booking_id": N, "dedupe_key": N, "status": N, "attempts": N, "next_attempt_at": N, "claimed_until": N,
         "claimed_by": N, "last_error": P, "created_at": N, "sent_at": N,
         # What happened, with the names and texts the worker renders into the message.
         "payload": P},
        owner=("recipient",),
        retention="the text and recipient of a sent e-mail are deleted after N days; the delivery record stays",
        retention_setting="delete_mail_bodies_after_days",
        on_erasure="delete", export="emails",
        notes="queued mail to the person is dropped; sent mail to them and mail about their bookings is emptied",
    ),
    TablePolicy(
        "organisation",
        {"id": N, "name": N, "contact_email": P, "description": N, "created_at": N, "listed_in_directory": N,
         "website": N, "is_pending": N},
        owner=("contact_email",), retention="as long as the organisation exists",
        on_erasure="unlink", export="",
        notes="a contact address equal to the person's e-mail is removed",
    ),
    TablePolicy(
        "site",
        {"id": N, "name": N, "address": N, "latitude": N, "longitude": N, "timezone": N, "contact_email": P,
         "description": N, "opening_hours": N, "step_free": N, "accessible_toilet": N, "hearing_loop": N,
         "accessibility_notes": N, "created_at": N},
        owner=("contact_email",), retention="as long as the site exists",
        on_erasure="unlink", export="",
        notes="a function mailbox; a contact address equal to the person's e-mail is removed",
    ),
    TablePolicy(
        "unmet_demand",
        {"id": N, "resource_id": N, "requested_starts_at": N, "requested_ends_at": N, "quantity": N, "recorded_at": N},
        notes="requests that met a taken slot, for the yearly report; deliberately without the person",
    ),
    TablePolicy(
        "report_summary",
        {"month": N, "resource_id": N, "family": N, "bucket": N, "count": N, "unit_seconds": N},
        notes="monthly counts per resource behind the yearly report; derived from bookings, no person",
    ),
    TablePolicy(
        "report_month_organisation",
        {"month": N, "site_id": N, "organisation_id": N},
        notes="which organisations used a site in a month (distinct counts of the report); no person",
    ),
    TablePolicy(
        "report_month_person",
        {"month": N, "site_id": N, "person_id": L},
        owner=("person_id",),
        retention="derived from the bookings and recomputed whenever they change: follows the bookings' anonymisation",
        retention_setting="anonymise_bookings_after_months",
        on_erasure="delete", export="",
        notes="which persons used a site in a month, only to count distinct persons in the report; deleted with the "
              "account (and recomputed from the anonymised bookings); never shown or exported",
    ),
    TablePolicy(
        "report_summary_change",
        {"id": N, "resource_id": N, "starts_at": N},
        notes="which resource and start the report summary must recompute; no person",
    ),
    TablePolicy(
        "report_introduction",
        {"year": N, "text": N, "updated_at": N},
        notes="the coordinators' introduction to a yearly report; an official text, not about a person",
    ),
    TablePolicy(
        "resource",
        {"id": N, "site_id": N, "kind": N, "name": N, "category": N, "description": N, "accessibility_notes": N,
         "capacity": N, "seats": N, "visibility": N, "photo_url": N, "is_active": N, "created_at": N,
         # An online room's join link: a secret of the site, not a person's data.
         "join_url": N},
    ),
    TablePolicy(
        "policy",
        {"id": N, "resource_id": N, "approval_mode": N, "trusted_organisation_ids": N,
         "approve_within_opening_hours": N, "approve_max_hours": N, "approve_max_days_ahead": N,
         "approve_max_no_shows": N, "approve_no_show_days": N, "lead_time_minutes": N, "min_duration_minutes": N,
         "max_duration_minutes": N, "max_horizon_days": N, "buffer_before_minutes": N, "buffer_after_minutes": N,
         "opening_hours_mode": N, "audience": N, "allowed_organisation_ids": N,
         "checkin_required": N, "checkin_opens_minutes": N, "checkin_release_minutes": N},
    ),
    TablePolicy(
        "quota",
        {"id": N, "site_id": N, "resource_id": N, "category": N, "metric": N, "subject": N, "amount": N,
         "enforcement": N, "created_at": N},
    ),
    TablePolicy(
        "blackout",
        {"id": N, "site_id": N, "resource_id": N, "starts_at": N, "ends_at": N, "reason": N, "kind": N, "created_at": N},
    ),
    TablePolicy("field_of_activity", {"id": N, "name": N, "position": N}),
    TablePolicy("organisation_field", {"organisation_id": N, "field_id": N}),
    TablePolicy(
        "join_request",
        {"id": N, "organisation_id": P, "user_id": L, "status": P, "message": P, "decision_reason": P,
         "decided_by_id": L, "created_at": P, "decided_at": P},
        owner=("user_id", "decided_by_id"),
        retention="decided requests are deleted N days after the decision; open ones with the account",
        retention_setting="delete_expired_tokens_after_days",
        on_erasure="delete", export="join_requests",
        notes="requests of the person are deleted; requests they decided lose the decider",
    ),
    TablePolicy(
        "waiting_list_entry",
        {"id": N, "resource_id": P, "starts_at": P, "ends_at": P, "quantity": P, "person_id": L,
         "organisation_id": P, "title": P, "position": N, "status": P, "booking_id": N,
         "created_at": P, "offered_at": P, "decided_at": P},
        owner=("person_id",),
        retention="deleted N days after the slot it waited for ended",
        retention_setting="delete_expired_tokens_after_days",
        on_erasure="delete", export="waiting_list",
        notes="who waits for which slot; a hold offered to the person is a booking (see booking)",
    ),
    TablePolicy(
        "offer",
        {"id": N, "kind": N, "title": N, "description": N, "category": N, "site_id": N, "organisation_id": N,
         "location_kind": N, "address": N, "online_url": N, "requirements": N, "contact_name": P, "contact_email": P,
         "places": N, "resource_id": N, "reserved_booking_ids": N, "is_published": N, "cancelled_at": N,
         "created_by_id": L, "created_at": N, "updated_at": N},
        owner=("created_by_id", "contact_email"),
        retention="as long as the offer is published; the contact person with their account",
        on_erasure="unlink", export="offers_made",
        notes="the offer stays (it belongs to the organisation or site); its contact person and creator are removed",
    ),
    TablePolicy(
        "offer_date",
        {"id": N, "offer_id": N, "starts_at": N, "ends_at": N, "is_cancelled": N},
        notes="the dates of an offer; who signed up is in offer_signup",
    ),
    TablePolicy(
        "offer_signup",
        {"id": N, "offer_id": P, "offer_date_id": P, "user_id": L, "booking_id": N, "name": P, "email": P, "language": P,
         "status": P, "attendance": P, "confirm_token_hash": S, "confirm_expires_at": P, "cancel_token_hash": S,
         "created_at": P, "confirmed_at": P, "cancelled_at": P},
        owner=("user_id", "email"),
        retention="with the account (the attended dates are the person's engagement record); unconfirmed sign-ups with the account's unconfirmed e-mail",
        retention_setting="delete_unverified_accounts_after_days",
        on_erasure="delete", export="offer_signups",
        notes="a sign-up by e-mail only names the person in name/email until the link is clicked",
    ),
    # Alembic's own bookkeeping is not a model and holds no personal data.
)

BY_TABLE: dict[str, TablePolicy] = {policy.table: policy for policy in REGISTRY}


def policy_for(table: str) -> TablePolicy:
    return BY_TABLE[table]


def personal_tables() -> list[TablePolicy]:
    """The tables that hold personal data, in registry order."""
    return [policy for policy in REGISTRY if policy.holds_personal_data]


@dataclass(frozen=True)
class Unclassified:
    missing_tables: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def unclassified(metadata_tables: dict[str, list[str]]) -> Unclassified:
    """Tables and columns of the models that the registry does not classify (and stale entries)."""
    missing_tables = sorted(name for name in metadata_tables if name not in BY_TABLE)
    missing_columns = sorted(
        f"{table}.{column}"
        for table, columns in metadata_tables.items()
        if table in BY_TABLE
        for column in columns
        if column not in BY_TABLE[table].columns
    )
    stale = sorted(
        f"{policy.table}.{column}"
        for policy in REGISTRY
        for column in policy.columns
        if policy.table in metadata_tables and column not in metadata_tables[policy.table]
    ) + sorted(policy.table for policy in REGISTRY if policy.table not in metadata_tables)
    return Unclassified(missing_tables, missing_columns, stale)
