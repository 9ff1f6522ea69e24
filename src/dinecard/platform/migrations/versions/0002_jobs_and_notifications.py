"""jobs and notifications: job_runs, notification_once, outbox delivery attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:04:12.636471
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dinecard.platform.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=60), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("started_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("job", "business_date", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "notification_once",
        sa.Column("member_id", sa.String(length=26), nullable=False),
        sa.Column("occasion", sa.String(length=80), nullable=False),
        sa.Column("created_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "occasion", name=op.f("pk_notification_once")),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("next_attempt_at", dinecard.platform.db.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")

    op.drop_table("notification_once")
    op.drop_table("job_runs")
