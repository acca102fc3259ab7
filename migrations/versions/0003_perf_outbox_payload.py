"""outbox rows record what happened; the worker renders them

Revision ID: 0003_perf
Revises: 0002
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_perf'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # Rows not rendered yet cannot be kept without their message text.
    op.execute("DELETE FROM outbox_message WHERE raw IS NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('payload')
