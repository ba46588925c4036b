"""course publication: each course row's state, its lineage (versions), cover image, review reason

Revision ID: 0007
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), server_default='published', nullable=False))
        batch_op.add_column(sa.Column('lineage_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('cover_path', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('review_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_courses_lineage_id'), ['lineage_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_courses_lineage_id_courses'), 'courses', ['lineage_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_courses_lineage_id_courses'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_courses_lineage_id'))
        batch_op.drop_column('review_reason')
        batch_op.drop_column('cover_path')
        batch_op.drop_column('version')
        batch_op.drop_column('lineage_id')
        batch_op.drop_column('state')
