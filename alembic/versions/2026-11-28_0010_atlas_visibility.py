"""challenge.atlas_visibility: the class atlas live, or only after finalize

Revision ID: 0010_atlas_visibility
Revises: 0009_challenge_tracks
Create Date: 2026-11-28 02:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_atlas_visibility"
down_revision: str | Sequence[str] | None = "0009_challenge_tracks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "atlas_visibility", sa.String(length=16), nullable=False, server_default="live"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.drop_column("atlas_visibility")
