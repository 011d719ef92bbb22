"""board index: submission(challenge_id, status, team_id, public_score, created_at, id)

The leaderboard's best-row-per-team query reads only these columns; measured
5x faster on a 10,000-team board (docs/benchmarks.md).

Revision ID: 0007_board_index
Revises: 0006_submission_metadata
Create Date: 2026-11-28 00:50:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0007_board_index'
down_revision: str | Sequence[str] | None = '0006_submission_metadata'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(
            'ix_submission_board',
            ['challenge_id', 'status', 'team_id', 'public_score', 'created_at', 'id'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_board')
