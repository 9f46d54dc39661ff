"""Imports are durable jobs: stored file, parse options, worker claim, heartbeat, attempts.

Revision ID: imports_0001
Revises: standups_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "imports_0001"
down_revision = "standups_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_path", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("options", sa.String(length=2000), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("worker", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.alter_column("options", server_default=None)
        batch_op.alter_column("attempts", server_default=None)


def downgrade():
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("started_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("worker")
        batch_op.drop_column("options")
        batch_op.drop_column("file_path")
