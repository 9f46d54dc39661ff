"""Stand-up entries remember the board version that wrote them, and boards the version of their last change other
than an entry, so a live poll after entries only sends those entries (app/standups/poll.py)

Revision ID: standups_0002
Revises: imports_0003
Create Date: 2026-12-03 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'standups_0002'
down_revision = 'imports_0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('standup_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('standup_boards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('layout_version', sa.Integer(), server_default='0', nullable=False))
    # A page opened before this migration gets the whole board on its next changed poll.
    op.execute("UPDATE standup_boards SET layout_version = version")


def downgrade():
    with op.batch_alter_table('standup_boards', schema=None) as batch_op:
        batch_op.drop_column('layout_version')
    with op.batch_alter_table('standup_entries', schema=None) as batch_op:
        batch_op.drop_column('version')
