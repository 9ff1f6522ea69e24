"""member logins: one-time codes for the member's own page

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dinecard.platform.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_login_codes",
        sa.Column("member_id", sa.String(length=26), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("failed_tries", sa.Integer(), nullable=False),
        sa.Column("used_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_login_codes_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_login_codes")),
    )


def downgrade() -> None:
    op.drop_table("member_login_codes")
