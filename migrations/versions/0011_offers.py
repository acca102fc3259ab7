"""offers: volunteer tasks and trainings, their dates and sign-ups (places are a hidden resource)

Revision ID: 0011_offers
Revises: 0009_report
Create Date: 2026-12-02 15:00:17.246431
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import booking.db.types


revision: str = '0011_offers'
down_revision: str | None = '0012_rules'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('location_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('online_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('requirements', sa.JSON(), nullable=False),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('reserved_booking_ids', sa.JSON(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('cancelled_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('places >= 1', name=op.f('ck_offer_places_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_offer_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_offer_organisation_id_organisation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_offer_resource_id_resource'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_offer_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer')),
    sa.UniqueConstraint('resource_id', name=op.f('uq_offer_resource_id'))
    )
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_site_id'), ['site_id'], unique=False)

    op.create_table('offer_date',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_cancelled', sa.Boolean(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_offer_date_interval_positive')),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], name=op.f('fk_offer_date_offer_id_offer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_date'))
    )
    with op.batch_alter_table('offer_date', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_date_offer_id'), ['offer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_date_starts_at'), ['starts_at'], unique=False)

    op.create_table('offer_signup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('offer_date_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attendance', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('confirm_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('confirm_expires_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', booking.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', booking.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_offer_signup_booking_id_booking'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['offer_date_id'], ['offer_date.id'], name=op.f('fk_offer_signup_offer_date_id_offer_date'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], name=op.f('fk_offer_signup_offer_id_offer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_offer_signup_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_signup')),
    sa.UniqueConstraint('cancel_token_hash', name=op.f('uq_offer_signup_cancel_token_hash'))
    )
    with op.batch_alter_table('offer_signup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_signup_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_signup_confirm_token_hash'), ['confirm_token_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_signup_offer_date_id'), ['offer_date_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_signup_offer_id'), ['offer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_signup_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_signup_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('offer_signup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offer_signup_user_id'))
        batch_op.drop_index(batch_op.f('ix_offer_signup_status'))
        batch_op.drop_index(batch_op.f('ix_offer_signup_offer_id'))
        batch_op.drop_index(batch_op.f('ix_offer_signup_offer_date_id'))
        batch_op.drop_index(batch_op.f('ix_offer_signup_confirm_token_hash'))
        batch_op.drop_index(batch_op.f('ix_offer_signup_booking_id'))

    op.drop_table('offer_signup')
    with op.batch_alter_table('offer_date', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offer_date_starts_at'))
        batch_op.drop_index(batch_op.f('ix_offer_date_offer_id'))

    op.drop_table('offer_date')
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offer_site_id'))
        batch_op.drop_index(batch_op.f('ix_offer_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_offer_kind'))
        batch_op.drop_index(batch_op.f('ix_offer_category'))

    op.drop_table('offer')
