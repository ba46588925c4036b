"""unit compliance and notices: 单位管理员 rounds (compliance_reminders), 消息中心 (notices), users.email

Revision ID: 0008
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compliance_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_key', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=40), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=True),
    sa.Column('total_hours', sa.Numeric(precision=6, scale=1), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_compliance_reminders_trainee_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_reminders')),
    sa.UniqueConstraint('round_key', 'recipient', name='uq_compliance_reminders_round_recipient')
    )
    with op.batch_alter_table('compliance_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_reminders_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_reminders_round_key'), ['round_key'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=200), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('user_id', 'key', name='uq_notices_user_id_key')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_user_unread', ['user_id', 'read_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_users_unit_credit_code'), ['unit_credit_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_unit_credit_code'))
        batch_op.drop_column('email')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_user_unread')

    op.drop_table('notices')
    with op.batch_alter_table('compliance_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_reminders_round_key'))
        batch_op.drop_index(batch_op.f('ix_compliance_reminders_credit_code'))

    op.drop_table('compliance_reminders')
