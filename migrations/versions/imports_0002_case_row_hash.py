"""Cases remember a digest of the row they were last imported from (``row_hash``), so re-importing an unchanged
file compares one short value per case instead of reading every column back.

NULL (every case before this revision, and a case changed by anything but an import) means "compare the
columns": the next import does, and stores the digest.

Revision ID: imports_0002
Revises: metrics_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "imports_0002"
down_revision = "metrics_0003"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (nullable, no default): SQLite does it in place, without copying a big cases table.
    op.add_column("cases", sa.Column("row_hash", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("row_hash")
