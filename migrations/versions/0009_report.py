"""report: unmet demand (requests that met a taken slot) and the yearly report's introduction

Revision ID: 0009_report
Revises: 0003_perf
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types

revision: str = '0009_report'
down_revision: str | None = '0008_people'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('unmet_demand',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('requested_starts_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requested_ends_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('recorded_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_unmet_demand_resource_id_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unmet_demand'))
    )
    with op.batch_alter_table('unmet_demand', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unmet_demand_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unmet_demand_requested_starts_at'), ['requested_starts_at'], unique=False)
    op.create_table('report_introduction',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
    sa.Column('updated_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_report_introduction'))
    )


def downgrade() -> None:
    op.drop_table('report_introduction')
    with op.batch_alter_table('unmet_demand', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unmet_demand_requested_starts_at'))
        batch_op.drop_index(batch_op.f('ix_unmet_demand_resource_id'))
    op.drop_table('unmet_demand')
