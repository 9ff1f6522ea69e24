"""room for balance updates: members and ledger accounts keep 15 % of each page free (PostgreSQL)

Every checkout and recharge updates the member's row and two or three account rows; the daily
jobs update hundreds of thousands of them. None of the updated columns is indexed, so with free
room on the page PostgreSQL writes the new row version beside the old one (a HOT update) and
touches no index; on a full page it must add an entry to every index of the table. Existing
pages get the room as they are rewritten (VACUUM FULL, or over time); new pages at once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("members", "ledger_accounts")
FILLFACTOR = 85


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no fill factor
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
