"""waiting list: held bookings (a hold counts against capacity), their expiry, the list itself

Revision ID: 0010_waitlist
Revises: 0009_report
Create Date: 2026-12-02 15:00:00

The exclusion constraint and the availability index are recreated with ``held`` among the
statuses that hold capacity. Their SQL is written out here, literally, so that this migration
keeps meaning what it meant when a later one changes the list again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types

revision: str = '0010_waitlist'
down_revision: str | None = '0009_report'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOLDING_BEFORE = "'requested', 'confirmed', 'checked_out'"
_HOLDING_AFTER = "'checked_out', 'confirmed', 'held', 'requested'"


def _recreate_capacity_guards(statuses: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE booking DROP CONSTRAINT IF EXISTS ex_booking_no_overlap")
    op.execute(
        "ALTER TABLE booking ADD CONSTRAINT ex_booking_no_overlap"
        " EXCLUDE USING gist (resource_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
        f" WHERE (is_exclusive AND status IN ({statuses}))"
    )
    op.execute("DROP INDEX IF EXISTS ix_booking_holding_span")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_booking_holding_span ON booking"
        " USING gist (resource_id, tstzrange(starts_at, ends_at, '[)'))"
        f" WHERE status IN ({statuses})"
    )


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_expires_at', booking.db.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table('waiting_list_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_waiting_list_entry_interval_positive')),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_waiting_list_entry_quantity_positive')),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_waiting_list_entry_booking_id_booking'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_waiting_list_entry_organisation_id_organisation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['user.id'], name=op.f('fk_waiting_list_entry_person_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_waiting_list_entry_resource_id_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_list_entry'))
    )
    with op.batch_alter_table('waiting_list_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waiting_list_entry_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_list_entry_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_list_entry_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_list_entry_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_waiting_list_entry_resource_queue', ['resource_id', 'status', 'position'], unique=False)
    _recreate_capacity_guards(_HOLDING_AFTER)


def downgrade() -> None:
    # Holds cannot outlive the status that knows them: they end as cancelled.
    op.execute("UPDATE booking SET status = 'cancelled' WHERE status = 'held'")
    op.execute("UPDATE booking SET status = 'cancelled' WHERE status = 'expired'")
    _recreate_capacity_guards(_HOLDING_BEFORE)
    with op.batch_alter_table('waiting_list_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_waiting_list_entry_resource_queue')
        batch_op.drop_index(batch_op.f('ix_waiting_list_entry_booking_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_list_entry_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_list_entry_person_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_list_entry_resource_id'))
    op.drop_table('waiting_list_entry')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('hold_expires_at')
