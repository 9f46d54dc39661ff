"""Cases remember a digest of the file row they were last imported from (``raw_hash``), keyed by what else the
case depends on (format, options, mappings), so re-importing an unchanged file passes its rows over unread:
reading and checking a row cost more than all the rest of an unchanged re-import.

NULL (every case before this revision, and cases not written from a file) means "read the row": the next
import does, and stores the digest.

Revision ID: imports_0003
Revises: imports_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "imports_0003"
down_revision = "imports_0002"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (nullable, no default): SQLite does it in place, without copying a big cases table.
    op.add_column("cases", sa.Column("raw_hash", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("raw_hash")
