"""study at scale: the live-session ledger that heartbeats advance instead of the study workflow

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('study_ledger',
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('deadline_at', sa.Float(), nullable=False),
    sa.Column('report_due', sa.Boolean(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_study_ledger_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_study_ledger_trainee_id_users')),
    sa.PrimaryKeyConstraint('enrollment_id', name=op.f('pk_study_ledger'))
    )
    with op.batch_alter_table('study_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_study_ledger_live_deadline', ['live', 'deadline_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_study_ledger_report_due'), ['report_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_study_ledger_trainee_id'), ['trainee_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('study_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_ledger_trainee_id'))
        batch_op.drop_index(batch_op.f('ix_study_ledger_report_due'))
        batch_op.drop_index('ix_study_ledger_live_deadline')

    op.drop_table('study_ledger')
