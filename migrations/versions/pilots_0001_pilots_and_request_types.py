"""Pilots (phases, cells), request-type complaint flags and the request types expected at each stage

Revision ID: pilots_0001
Revises: skills_0001
Create Date: 2026-12-02 22:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'pilots_0001'
down_revision = 'skills_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('request_type_settings',
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('is_complaint', sa.Boolean(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_request_type_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_request_type_settings'))
    )
    op.create_table('stage_request_types',
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('request_type', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['stage_id'], ['lifecycle_stages.id'], name=op.f('fk_stage_request_types_stage_id_lifecycle_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stage_id', 'request_type', name=op.f('pk_stage_request_types'))
    )
    op.create_table('pilots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=False),
    sa.Column('hypothesis', sa.Text(), nullable=False),
    sa.Column('metrics', sa.String(length=300), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('running', 'ended', 'adopted')", name=op.f('ck_pilots_status_valid')),
    sa.CheckConstraint('ended_on IS NULL OR ended_on >= start_date', name=op.f('ck_pilots_dates_ordered')),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_pilots_pod_id_pods'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_pilots_started_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pilots'))
    )
    with op.batch_alter_table('pilots', schema=None) as batch_op:
        batch_op.create_index('ix_pilots_pod', ['pod_id', 'start_date'], unique=False)

    op.create_table('pilot_phases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pilot_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pilot_id'], ['pilots.id'], name=op.f('fk_pilot_phases_pilot_id_pilots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pilot_phases')),
    sa.UniqueConstraint('pilot_id', 'number', name=op.f('uq_pilot_phases_pilot_id_number'))
    )
    op.create_table('pilot_cells',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pilot_id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['phase_id'], ['pilot_phases.id'], name=op.f('fk_pilot_cells_phase_id_pilot_phases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pilot_id'], ['pilots.id'], name=op.f('fk_pilot_cells_pilot_id_pilots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_pilot_cells_segment_id_segments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stage_id'], ['lifecycle_stages.id'], name=op.f('fk_pilot_cells_stage_id_lifecycle_stages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pilot_cells')),
    sa.UniqueConstraint('pilot_id', 'segment_id', 'stage_id', name=op.f('uq_pilot_cells_pilot_id_segment_id_stage_id'))
    )
    with op.batch_alter_table('pilot_cells', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pilot_cells_pilot_id'), ['pilot_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pilot_cells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pilot_cells_pilot_id'))
    op.drop_table('pilot_cells')
    op.drop_table('pilot_phases')
    with op.batch_alter_table('pilots', schema=None) as batch_op:
        batch_op.drop_index('ix_pilots_pod')
    op.drop_table('pilots')
    op.drop_table('stage_request_types')
    op.drop_table('request_type_settings')
