"""checkout claims: idempotent checkout, one open order per course and training year

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = '0004'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checkouts',
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('checkout_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_checkouts_trainee_id_users')),
    sa.PrimaryKeyConstraint('order_no', name=op.f('pk_checkouts')),
    sa.UniqueConstraint('trainee_id', 'checkout_key', name=op.f('uq_checkouts_trainee_id'))
    )
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkouts_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('open_order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('training_year', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_open_order_lines_course_id_courses')),
    sa.ForeignKeyConstraint(['order_no'], ['checkouts.order_no'], name=op.f('fk_open_order_lines_order_no_checkouts')),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_open_order_lines_trainee_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_order_lines')),
    sa.UniqueConstraint('trainee_id', 'course_id', 'training_year', name=op.f('uq_open_order_lines_trainee_id'))
    )
    with op.batch_alter_table('open_order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_order_lines_order_no'), ['order_no'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('open_order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_order_lines_order_no'))
    op.drop_table('open_order_lines')
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkouts_trainee_id'))
    op.drop_table('checkouts')
