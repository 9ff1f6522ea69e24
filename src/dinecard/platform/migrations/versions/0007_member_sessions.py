"""member sessions: one row per member-page login, so logging out revokes it on the server

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dinecard.platform.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_sessions_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_sessions")),
    )
    with op.batch_alter_table("member_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_sessions_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_sessions_member_id"))

    op.drop_table("member_sessions")
