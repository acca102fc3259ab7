"""availability search: a GiST index on the holding bookings' time range; checked-out bookings by start

Revision ID: 0016_avail
Revises: 0014_perf2
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from booking.db.constraints import DROP_HOLDING_RANGE_INDEX_SQL, create_holding_range_index_sql

revision: str = '0016_avail'
down_revision: str | None = '0014_perf2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The lifecycle's holding statuses as of this migration (written out: a later change of the
# list writes its own migration; tests/integration/test_migrations.py compares them at head).
_HOLDING = "'checked_out', 'confirmed', 'held', 'requested'"


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index(
            'ix_booking_checked_out_start', ['starts_at'], unique=False,
            postgresql_where=sa.text("status = 'checked_out'"), sqlite_where=sa.text("status = 'checked_out'"),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(create_holding_range_index_sql(_HOLDING))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_HOLDING_RANGE_INDEX_SQL)
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_checked_out_start')
