"""The programme cache reloads on the caller's own transaction: a request holding the only pooled
connection (and perhaps a member's lock) never waits for a second one to read the programme."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import text

from dinecard.platform.db import Database
from dinecard.program import service as programs
from dinecard.program.presets import default_program
from tests.conftest import _truncate_postgres


def test_a_stale_programme_is_reloaded_inside_a_write_transaction_without_a_second_connection(
    postgres_url: str,
) -> None:
    _truncate_postgres(postgres_url)
    database = Database(postgres_url, pool_size=1, pool_overflow=0)  # one connection: no second to take
    source = programs.ProgramSource(database, default_program())
    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    with database.write() as uow:
        saved = programs.save_version(uow, default_program(), now, now, None, "first")
    seen: list[int] = []

    def checkout_like() -> None:
        with database.write() as uow:
            uow.session.execute(text("SELECT 1"))  # the transaction now holds the pool's one connection
            source.invalidate()  # the cache went stale while this request held the connection
            seen.append(source.at(now).version)

    worker = threading.Thread(target=checkout_like)
    worker.start()
    worker.join(timeout=10)
    try:
        assert not worker.is_alive(), "reading the programme waited for a second pooled connection"
        assert seen == [saved.version]
    finally:
        worker.join()
        database.dispose()
