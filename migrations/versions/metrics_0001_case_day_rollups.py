"""Per-day case rollups for fast organisation and pod figures; an index on cases.closed_at

Revision ID: metrics_0001
Revises: a11y_0001
Create Date: 2026-12-02 18:00:00

The rollups start empty: the first commit that touches cases, pods or the organisation builds them (or run
`flask --app wsgi outcomes rollups`); until then the engine answers from the cases table.
"""
from alembic import op
import sqlalchemy as sa

revision = 'metrics_0001'
down_revision = "a11y_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_day_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('escalated', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('fcr', sa.Integer(), nullable=False),
    sa.Column('handed_off', sa.Integer(), nullable=False),
    sa.Column('handoffs', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('csat_good', sa.Integer(), nullable=False),
    sa.Column('csat_rated', sa.Integer(), nullable=False),
    sa.Column('sla_met', sa.Integer(), nullable=False),
    sa.Column('sla_due', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('first_reply_minutes', sa.LargeBinary(), nullable=True),
    sa.Column('resolution_minutes', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_case_day_rollups_pod_id_pods'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_day_rollups'))
    )
    with op.batch_alter_table('case_day_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_case_day_rollups_zone_day', ['zone', 'day', 'pod_id'], unique=False)
    op.create_table('case_rollup_zones',
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('zone', name=op.f('pk_case_rollup_zones'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_closed', ['closed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_closed')
    op.drop_table('case_rollup_zones')
    with op.batch_alter_table('case_day_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_case_day_rollups_zone_day')
    op.drop_table('case_day_rollups')
