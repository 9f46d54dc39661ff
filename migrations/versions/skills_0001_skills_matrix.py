"""Skills matrix: pod skills, levels, proposals and the history of every change

Revision ID: skills_0001
Revises: metrics_0001
Create Date: 2026-12-02 21:41:45.517471

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'skills_0001'
down_revision = 'metrics_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('skill_levels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('skill_key', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("level IN ('none', 'learning', 'independent', 'teach')", name=op.f('ck_skill_levels_level_valid')),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_skill_levels_pod_id_pods'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_skill_levels_set_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_skill_levels_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_levels')),
    sa.UniqueConstraint('pod_id', 'user_id', 'skill_key', name=op.f('uq_skill_levels_pod_id_user_id_skill_key'))
    )
    with op.batch_alter_table('skill_levels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_levels_user_id'), ['user_id'], unique=False)

    op.create_table('skill_pod_skills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('name_key', sa.String(length=80), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_skill_pod_skills_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_skill_pod_skills_pod_id_pods'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_pod_skills'))
    )
    with op.batch_alter_table('skill_pod_skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_pod_skills_pod_id'), ['pod_id'], unique=False)
        batch_op.create_index('uq_skill_pod_skills_active_name', ['pod_id', 'name_key'], unique=True, sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))

    op.create_table('skill_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('skill_key', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("level IN ('none', 'learning', 'independent', 'teach')", name=op.f('ck_skill_proposals_level_valid')),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'declined', 'withdrawn')", name=op.f('ck_skill_proposals_status_valid')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_skill_proposals_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_skill_proposals_pod_id_pods'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_skill_proposals_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_proposals'))
    )
    with op.batch_alter_table('skill_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_skill_proposals_pod_status', ['pod_id', 'status'], unique=False)
        batch_op.create_index('uq_skill_proposals_pending', ['pod_id', 'user_id', 'skill_key'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('skill_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pod_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('skill_key', sa.String(length=40), nullable=False),
    sa.Column('from_level', sa.String(length=12), nullable=False),
    sa.Column('to_level', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("from_level IN ('none', 'learning', 'independent', 'teach')", name=op.f('ck_skill_changes_from_level_valid')),
    sa.CheckConstraint("to_level IN ('none', 'learning', 'independent', 'teach')", name=op.f('ck_skill_changes_to_level_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_skill_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pod_id'], ['pods.id'], name=op.f('fk_skill_changes_pod_id_pods'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['skill_proposals.id'], name=op.f('fk_skill_changes_proposal_id_skill_proposals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_skill_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_changes'))
    )
    with op.batch_alter_table('skill_changes', schema=None) as batch_op:
        batch_op.create_index('ix_skill_changes_pod_at', ['pod_id', 'at'], unique=False)



def downgrade():
    with op.batch_alter_table('skill_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_skill_changes_pod_at')

    op.drop_table('skill_changes')
    with op.batch_alter_table('skill_proposals', schema=None) as batch_op:
        batch_op.drop_index('uq_skill_proposals_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_skill_proposals_pod_status')

    op.drop_table('skill_proposals')
    with op.batch_alter_table('skill_pod_skills', schema=None) as batch_op:
        batch_op.drop_index('uq_skill_pod_skills_active_name', sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_skill_pod_skills_pod_id'))

    op.drop_table('skill_pod_skills')
    with op.batch_alter_table('skill_levels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skill_levels_user_id'))

    op.drop_table('skill_levels')
