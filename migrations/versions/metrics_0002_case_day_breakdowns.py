"""Per-day breakdown rollups (cell, channel, request type, agent) for pod dashboards; the rollup queue of
long writers (imports)

Revision ID: metrics_0002
Revises: a11y_0002
Create Date: 2026-12-02 22:00:00

The breakdowns start empty: the zones are marked unbuilt, so the next commit that touches cases, pods or the
organisation builds both tables (or run `flask --app wsgi outcomes rollups`); until then the engine answers
from the cases table.
"""
from alembic import op
import sqlalchemy as sa

revision = 'metrics_0002'
down_revision = 'a11y_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_day_breakdowns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('dim', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
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
    sa.Column('first_reply_minutes', sa.LargeBinary(), nullable=True),
    sa.Column('resolution_minutes', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_case_day_breakdowns_pod_id_pods'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_day_breakdowns'))
    )
    with op.batch_alter_table('case_day_breakdowns', schema=None) as batch_op:
        batch_op.create_index('ix_case_day_breakdowns_read', ['zone', 'dim', 'day', 'pod_id'], unique=False)
    op.create_table('case_rollup_queue',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_case_rollup_queue'))
    )
    # Zones built before breakdowns existed are built again, both tables at once.
    op.execute("DELETE FROM case_rollup_zones")


def downgrade():
    op.drop_table('case_rollup_queue')
    with op.batch_alter_table('case_day_breakdowns', schema=None) as batch_op:
        batch_op.drop_index('ix_case_day_breakdowns_read')
    op.drop_table('case_day_breakdowns')
