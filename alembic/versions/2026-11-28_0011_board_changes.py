"""board_change: the team each frequent board version changed (incremental ranking)

Revision ID: 0011_board_changes
Revises: 0010_atlas_visibility
Create Date: 2026-11-28 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011_board_changes'
down_revision: str | Sequence[str] | None = '0010_atlas_visibility'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'board_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('challenge_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['challenge_id'],
            ['challenge.id'],
            name=op.f('fk_board_change_challenge_id_challenge'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_change')),
        sa.UniqueConstraint(
            'challenge_id', 'version', name=op.f('uq_board_change_challenge_id')
        ),
    )


def downgrade() -> None:
    op.drop_table('board_change')
