"""organisation directory: profile, fields of activity, join requests, associations waiting for confirmation

Revision ID: 0006_orgs
Revises: 0003_perf
Create Date: 2026-12-02 11:35:36.106400
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types


revision: str = '0006_orgs'
down_revision: str | None = '0005_map'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STARTING_FIELDS = ('Sport', 'Kultur', 'Nachbarschaftshilfe', 'Umwelt', 'Soziales', 'Bildung')


def upgrade() -> None:
    op.create_table('field_of_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_of_activity')),
    sa.UniqueConstraint('name', name=op.f('uq_field_of_activity_name'))
    )
    op.create_table('join_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_join_request_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_join_request_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_join_request_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_request'))
    )
    with op.batch_alter_table('join_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_request_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_request_user_id'), ['user_id'], unique=False)

    op.create_table('organisation_field',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['field_id'], ['field_of_activity.id'], name=op.f('fk_organisation_field_field_id_field_of_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisation_field_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'field_id', name=op.f('pk_organisation_field'))
    )
    with op.batch_alter_table('organisation_field', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_field_field_id'), ['field_id'], unique=False)

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        # Existing organisations are not listed until their admins opt in.
        batch_op.add_column(sa.Column('listed_in_directory', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('is_pending', sa.Boolean(), nullable=False, server_default=sa.false()))

    # The starting list of fields of activity; city admins edit it afterwards.
    fields = sa.table('field_of_activity', sa.column('name', sa.String), sa.column('position', sa.Integer))
    op.bulk_insert(fields, [{'name': name, 'position': position} for position, name in enumerate(STARTING_FIELDS)])



def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('is_pending')
        batch_op.drop_column('website')
        batch_op.drop_column('listed_in_directory')

    with op.batch_alter_table('organisation_field', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_field_field_id'))

    op.drop_table('organisation_field')
    with op.batch_alter_table('join_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_request_user_id'))
        batch_op.drop_index(batch_op.f('ix_join_request_organisation_id'))

    op.drop_table('join_request')
    op.drop_table('field_of_activity')
