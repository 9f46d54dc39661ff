"""A user's language is optional: without one, pages follow the browser until the person chooses.

Revision ID: a11y_0001
Revises: org_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "a11y_0001"
down_revision = "org_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("locale", existing_type=sa.String(length=5), nullable=True)


def downgrade():
    op.execute("UPDATE users SET locale = 'en' WHERE locale IS NULL")
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("locale", existing_type=sa.String(length=5), nullable=False)
