"""report summary: recompute once, since offer places are no longer counted as room/desk/thing use

A summary filled before this release holds the places of volunteer offers (bookings of their
hidden resources) in its reach sets; one "recompute everything" note makes the next refresh
(worker, report page) fill it again without them.

Revision ID: 0017_report_offer_places
Revises: 0016_avail
Create Date: 2026-12-03 08:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0017_report_offer_places'
down_revision: str | None = '0016_avail'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("INSERT INTO report_summary_change (resource_id, starts_at) VALUES (NULL, NULL)")


def downgrade() -> None:
    pass  # the extra note only makes one refresh recompute everything
