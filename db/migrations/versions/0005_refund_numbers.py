"""refund numbers: 退款单号 shown to people (TK + Beijing date + sequence)

Revision ID: 0005
Revises: 0004

Order states 部分退款 / 已退款 ('part_refund', 'refunded') fit the existing status column.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_number', sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_refunds_refund_number'), ['refund_number'])


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_refunds_refund_number'), type_='unique')
        batch_op.drop_column('refund_number')
