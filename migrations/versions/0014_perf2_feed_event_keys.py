"""feed documents keep a digest per event, so a new process patches the stored document

Revision ID: 0014_perf2
Revises: 0009_report
Create Date: 2026-12-02 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_perf2'
down_revision: str | None = '0015_report_summary'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('feed_document_cache', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_keys', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feed_document_cache', schema=None) as batch_op:
        batch_op.drop_column('event_keys')
