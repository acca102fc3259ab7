"""accessibility of sites (step-free access, accessible toilet, hearing loop, notes) for the map

Revision ID: 0005_map
Revises: 0003_perf
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005_map'
down_revision: str | None = '0003_perf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_free', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('accessible_toilet', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('hearing_loop', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('accessibility_notes', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('accessibility_notes')
        batch_op.drop_column('hearing_loop')
        batch_op.drop_column('accessible_toilet')
        batch_op.drop_column('step_free')
