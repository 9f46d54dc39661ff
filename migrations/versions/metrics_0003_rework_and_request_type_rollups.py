"""Rework counts in the per-day rollups and breakdowns; per-day request-type counts (complaint share)

Revision ID: metrics_0003
Revises: metrics_0002
Create Date: 2026-12-03 08:00:00

rework_rate and complaint_share are read from rollups like the other figures. The zones are marked unbuilt, so
the next commit that touches cases, pods or the organisation builds the tables again (or run
`flask --app wsgi outcomes rollups`); until then the engine answers from the cases table.
"""
from alembic import op
import sqlalchemy as sa

revision = 'metrics_0003'
down_revision = 'metrics_0002'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('case_day_rollups', 'case_day_breakdowns'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('reworked', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('case_day_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=True),
    sa.Column('request_type', sa.String(length=40), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_case_day_types_pod_id_pods'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_day_types'))
    )
    with op.batch_alter_table('case_day_types', schema=None) as batch_op:
        batch_op.create_index('ix_case_day_types_read', ['zone', 'day', 'pod_id'], unique=False)
    op.execute("DELETE FROM case_rollup_zones")


def downgrade():
    with op.batch_alter_table('case_day_types', schema=None) as batch_op:
        batch_op.drop_index('ix_case_day_types_read')
    op.drop_table('case_day_types')
    for table in ('case_day_breakdowns', 'case_day_rollups'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('reworked')
    op.execute("DELETE FROM case_rollup_zones")
