"""accounts: roles, hosts, private challenges, invitations, moderation

Usernames become unique without regard to case (an index on lower(username)).
Accounts that already differ only in case (possible before this revision, and
only the first of them could sign in) keep the oldest one's name; the others
are renamed "<name>-<id>" so that the index can be built.

Revision ID: 0002_accounts
Revises: 0008_error_detail
Create Date: 2026-11-27 23:21:38.577156
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.models.base

revision: str = "0002_accounts"
down_revision: str | Sequence[str] | None = "0008_error_detail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = server.models.base.UTCDateTime(timezone=True)


def _rename_case_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, username FROM "user" ORDER BY id')).all()
    seen: set[str] = set()
    for user_id, username in rows:
        key = username.lower()
        if key in seen:
            bind.execute(
                sa.text('UPDATE "user" SET username = :name WHERE id = :id'),
                {"name": f"{username[:50]}-{user_id}", "id": user_id},
            )
        seen.add(key)


def upgrade() -> None:
    op.create_table(
        "challenge_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenge.id"],
            name=op.f("fk_challenge_access_challenge_id_challenge"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_challenge_access_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_access")),
        sa.UniqueConstraint(
            "challenge_id", "user_id", name=op.f("uq_challenge_access_challenge_id")
        ),
    )
    with op.batch_alter_table("challenge_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenge_access_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_challenge_access_user_id"), ["user_id"], unique=False)

    op.create_table(
        "challenge_host",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenge.id"],
            name=op.f("fk_challenge_host_challenge_id_challenge"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_challenge_host_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_host")),
        sa.UniqueConstraint("challenge_id", "user_id", name=op.f("uq_challenge_host_challenge_id")),
    )
    with op.batch_alter_table("challenge_host", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_challenge_host_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_challenge_host_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=16), nullable=False, server_default="public")
        )
        batch_op.add_column(sa.Column("invite_code", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("allowed_email_domains", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column(
                "join_requires_approval", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.create_unique_constraint(batch_op.f("uq_challenge_invite_code"), ["invite_code"])

    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disqualified_at", UTC, nullable=True))
        batch_op.add_column(
            sa.Column(
                "disqualified_reason", sa.String(length=500), nullable=False, server_default=""
            )
        )

    _rename_case_duplicates()
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("display_name", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("student_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("disabled_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_user_created_by_id_user"),
            "user",
            ["created_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("uq_user_username_lower", "user", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_user_username_lower", table_name="user")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_user_created_by_id_user"), type_="foreignkey")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("student_id")
        batch_op.drop_column("email")
        batch_op.drop_column("display_name")
    # Admins were organizers before this revision.
    op.execute("UPDATE \"user\" SET role = 'organizer' WHERE role = 'admin'")

    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("disqualified_reason")
        batch_op.drop_column("disqualified_at")

    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_challenge_invite_code"), type_="unique")
        batch_op.drop_column("join_requires_approval")
        batch_op.drop_column("allowed_email_domains")
        batch_op.drop_column("invite_code")
        batch_op.drop_column("visibility")

    with op.batch_alter_table("challenge_host", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_host_user_id"))
        batch_op.drop_index(batch_op.f("ix_challenge_host_challenge_id"))
    op.drop_table("challenge_host")
    with op.batch_alter_table("challenge_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_access_user_id"))
        batch_op.drop_index(batch_op.f("ix_challenge_access_challenge_id"))
    op.drop_table("challenge_access")
