"""report summary: the monthly summary behind the yearly report and its change log

The tables start empty; one "recompute everything" change row makes the first refresh (the
worker's, the report page's or `booking report --rebuild-summary`) fill them from the bookings.

Revision ID: 0015_report_summary
Revises: 0009_report
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types

revision: str = '0015_report_summary'
down_revision: str | None = '0011_offers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_summary_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_summary_change'))
    )
    op.create_table('report_month_organisation',
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_report_month_organisation_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_report_month_organisation_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('month', 'site_id', 'organisation_id', name=op.f('pk_report_month_organisation'))
    )
    with op.batch_alter_table('report_month_organisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_month_organisation_organisation_id'), ['organisation_id'], unique=False)
    op.create_table('report_month_person',
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['user.id'], name=op.f('fk_report_month_person_person_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_report_month_person_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('month', 'site_id', 'person_id', name=op.f('pk_report_month_person'))
    )
    with op.batch_alter_table('report_month_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_month_person_person_id'), ['person_id'], unique=False)
    op.create_table('report_summary',
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('family', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('unit_seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_report_summary_resource_id_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('month', 'resource_id', 'family', 'bucket', name=op.f('pk_report_summary'))
    )
    with op.batch_alter_table('report_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_summary_resource_id'), ['resource_id'], unique=False)

    op.execute("INSERT INTO report_summary_change (resource_id, starts_at) VALUES (NULL, NULL)")


def downgrade() -> None:
    with op.batch_alter_table('report_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_summary_resource_id'))
    op.drop_table('report_summary')
    with op.batch_alter_table('report_month_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_month_person_person_id'))
    op.drop_table('report_month_person')
    with op.batch_alter_table('report_month_organisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_month_organisation_organisation_id'))
    op.drop_table('report_month_organisation')
    op.drop_table('report_summary_change')
