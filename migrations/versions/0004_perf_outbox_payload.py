"""outbox rows record what happened; feed documents kept across restarts; availability index

Revision ID: 0003_perf
Revises: 0003_auth
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types
from booking.db.constraints import create_holding_span_index, drop_holding_span_index

revision: str = '0003_perf'
down_revision: str | None = '0003_auth'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=True)
    op.create_table('feed_document_cache',
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feed_token.id'], name=op.f('fk_feed_document_cache_feed_id_feed_token'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feed_id', name=op.f('pk_feed_document_cache'))
    )
    create_holding_span_index(op)


def downgrade() -> None:
    drop_holding_span_index(op)
    op.drop_table('feed_document_cache')
    # Rows not rendered yet cannot be kept without their message text.
    op.execute("DELETE FROM outbox_message WHERE raw IS NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('payload')
