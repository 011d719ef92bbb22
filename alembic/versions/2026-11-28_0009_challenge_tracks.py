"""challenge.tracks: parameter-budget tracks, each a board of its own

Revision ID: 0009_challenge_tracks
Revises: 0002_accounts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_challenge_tracks"
down_revision: str | Sequence[str] | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracks", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.drop_column("tracks")
