"""Catalog data people name can be named per language: action types and retro templates get ``names``.

A JSON object {"es": ..., "it": ...}; the existing ``name`` stays the fallback for any other language. A retro
keeps its pod template's names (``template_names``) as it keeps the template's name.

Revision ID: a11y_0002
Revises: pilots_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "a11y_0002"
down_revision = "pilots_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("autonomy_action_types") as batch_op:
        batch_op.add_column(sa.Column("names", sa.JSON(), nullable=True))
    with op.batch_alter_table("retro_templates") as batch_op:
        batch_op.add_column(sa.Column("names", sa.JSON(), nullable=True))
    with op.batch_alter_table("retros") as batch_op:
        batch_op.add_column(sa.Column("template_names", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("retros") as batch_op:
        batch_op.drop_column("template_names")
    with op.batch_alter_table("retro_templates") as batch_op:
        batch_op.drop_column("names")
    with op.batch_alter_table("autonomy_action_types") as batch_op:
        batch_op.drop_column("names")
