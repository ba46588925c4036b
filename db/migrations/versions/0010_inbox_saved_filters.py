"""inbox for volume: reviewers' saved filters of the task list

Revision ID: 0010
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('saved_task_filters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('query', sa.String(length=300), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_task_filters_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_task_filters')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_saved_task_filters_user_id'))
    )
    with op.batch_alter_table('saved_task_filters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_task_filters_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('saved_task_filters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_task_filters_user_id'))

    op.drop_table('saved_task_filters')
