"""people's own views: an optional phone number on the account; feed addresses that can be shown again

Revision ID: 0008_people
Revises: 0003_perf
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008_people'
down_revision: str | None = '0007_series'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default=''))
    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_seed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.drop_column('token_seed')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('phone')
