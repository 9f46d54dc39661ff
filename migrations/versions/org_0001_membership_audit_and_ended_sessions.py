"""Membership changes audit trail; ended sign-in sessions

Revision ID: org_0001
Revises: autonomy_0001
Create Date: 2026-12-02 18:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'org_0001'
down_revision = "autonomy_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('auth_ended_sessions',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_ended_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_auth_ended_sessions'))
    )
    with op.batch_alter_table('auth_ended_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_ended_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('org_membership_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("action IN ('added', 'ended', 'edited')", name=op.f('ck_org_membership_changes_action_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_org_membership_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_org_membership_changes_member_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_org_membership_changes_membership_id_memberships'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_org_membership_changes_pod_id_pods'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_membership_changes'))
    )
    with op.batch_alter_table('org_membership_changes', schema=None) as batch_op:
        batch_op.create_index('ix_org_membership_changes_pod_at', ['pod_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_membership_changes_member_id'), ['member_id'], unique=False)


def downgrade():
    with op.batch_alter_table('org_membership_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_membership_changes_member_id'))
        batch_op.drop_index('ix_org_membership_changes_pod_at')
    op.drop_table('org_membership_changes')
    with op.batch_alter_table('auth_ended_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_ended_sessions_user_id'))
    op.drop_table('auth_ended_sessions')
