"""Notifications remember failed e-mail attempts and the last reason, so one bad message cannot block the queue

Revision ID: standups_0001
Revises: ae279cd5ee97
Create Date: 2026-12-02 17:55:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'standups_0001'
down_revision = 'ae279cd5ee97'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('email_error', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('email_error')
        batch_op.drop_column('email_attempts')
