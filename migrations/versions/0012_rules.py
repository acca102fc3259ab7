"""rules: approval rules per resource (replacing needs_approval) and quotas

Revision ID: 0012_rules
Revises: 0009_report
Create Date: 2026-12-02 15:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types

revision: str = '0012_rules'
down_revision: str | None = '0013_checkin'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='confirm'))
        batch_op.add_column(sa.Column('trusted_organisation_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('approve_within_opening_hours', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('approve_max_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approve_max_days_ahead', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approve_max_no_shows', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approve_no_show_days', sa.Integer(), nullable=False, server_default='365'))
    # The single switch becomes a rule: "needs approval" = always ask the lender.
    op.execute("UPDATE policy SET approval_mode = CASE WHEN needs_approval THEN 'ask' ELSE 'confirm' END")
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.drop_column('needs_approval')
        batch_op.alter_column('approval_mode', server_default=None)
        batch_op.alter_column('approve_within_opening_hours', server_default=None)
        batch_op.alter_column('approve_no_show_days', server_default=None)
    op.create_table('quota',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('enforcement', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_quota_resource_id_resource'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_quota_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota'))
    )
    with op.batch_alter_table('quota', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_resource_id'), ['resource_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quota', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_resource_id'))
        batch_op.drop_index(batch_op.f('ix_quota_site_id'))
    op.drop_table('quota')
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_approval', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE policy SET needs_approval = (approval_mode <> 'confirm')")
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.alter_column('needs_approval', server_default=None)
        batch_op.drop_column('approve_no_show_days')
        batch_op.drop_column('approve_max_no_shows')
        batch_op.drop_column('approve_max_days_ahead')
        batch_op.drop_column('approve_max_hours')
        batch_op.drop_column('approve_within_opening_hours')
        batch_op.drop_column('trusted_organisation_ids')
        batch_op.drop_column('approval_mode')
