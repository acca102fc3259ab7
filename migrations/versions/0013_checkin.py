"""check-in with no-show release, and online rooms

Revision ID: 0013_checkin
Revises: 0009_report
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types

revision: str = '0013_checkin'
down_revision: str | None = '0010_waitlist'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_in_at', booking.db.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_required', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('checkin_opens_minutes', sa.Integer(), nullable=False, server_default='15'))
        batch_op.add_column(sa.Column('checkin_release_minutes', sa.Integer(), nullable=False, server_default='15'))
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.add_column(sa.Column('join_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_column('join_url')
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.drop_column('checkin_release_minutes')
        batch_op.drop_column('checkin_opens_minutes')
        batch_op.drop_column('checkin_required')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('checked_in_at')
