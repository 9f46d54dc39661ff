"""Decisions remember whether their segment, stage and request type were declared by the agent

Revision ID: autonomy_0001
Revises: imports_0001
Create Date: 2026-12-03 10:00:00

When Podium knows the case, the case decides which conditioned limit applies; for a case it does not know, the
agent's choice stands but the ledger and approvers see it was declared. Existing rows were recorded before the
distinction and are left as not declared.
"""
import sqlalchemy as sa
from alembic import op

revision = "autonomy_0001"
down_revision = "imports_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("autonomy_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conditions_declared", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("autonomy_decisions", schema=None) as batch_op:
        batch_op.drop_column("conditions_declared")
