"""Competition rules: submission limits, timezone, late submissions, extra metrics

Revision ID: 0003_rules_limits
Revises: 0007_board_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_rules_limits"
down_revision: str | Sequence[str] | None = "0007_board_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.alter_column("daily_submission_limit", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(
            sa.Column("submission_limits", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch_op.add_column(
            sa.Column("late_submissions", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("extra_metrics", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("extra_scores", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("extra_scores")
        batch_op.drop_column("late")
    op.execute("UPDATE challenge SET daily_submission_limit = 1000 WHERE daily_submission_limit IS NULL")
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.drop_column("extra_metrics")
        batch_op.drop_column("late_submissions")
        batch_op.drop_column("timezone")
        batch_op.drop_column("submission_limits")
        batch_op.alter_column("daily_submission_limit", existing_type=sa.Integer(), nullable=False)
