"""PostgreSQL keeps room on the pages of the rows every payment updates (migration 0008)."""

from __future__ import annotations

from sqlalchemy import text

from dinecard.platform.container import Container


def test_members_and_ledger_accounts_leave_15_percent_of_each_page_free(pg_container: Container) -> None:
    with pg_container.database.read() as session:
        options = dict(
            session.execute(
                text("SELECT relname, reloptions FROM pg_class WHERE relname IN ('members', 'ledger_accounts')")
            ).all()
        )
    assert options == {"members": ["fillfactor=85"], "ledger_accounts": ["fillfactor=85"]}
