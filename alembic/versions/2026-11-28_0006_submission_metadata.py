"""submission metadata: the fact sheet a team sends with a submission (JSON, at most 64 KB)

Revision ID: 0006_submission_metadata
Revises: 0006_refused_uploads
Create Date: 2026-11-28 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006_submission_metadata'
down_revision: str | Sequence[str] | None = '0006_refused_uploads'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_metadata', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('run_metadata')
