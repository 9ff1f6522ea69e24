"""Fixtures of the reliability checks: a fresh database of their own on the shared PostgreSQL server, a private
PostgreSQL cluster to crash, a migrated SQLite file.

Like `postgres_url`, a missing PostgreSQL (or initdb/pg_ctl for the private cluster) fails the test in CI and
skips it elsewhere with the reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dinecard.platform.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, postgres_available
from tests.reliability.load import FULL
from tests.reliability.servers import PrivateCluster, postgres_bindir, skip_or_fail

_databases = itertools.count(1)

# The full-size fuzz and state machine run only when asked for (DINECARD_RELIABILITY_FULL=1, see
# docs/reliability.md): not collected otherwise, so an ordinary run shows no skip for them.
collect_ignore = [] if FULL else ["test_full_runs.py"]


@pytest.fixture
def rel_pg_url() -> Iterator[str]:
    """A new, migrated database `dinecard_rel_<pid>_<n>` on the shared server, dropped afterwards."""
    reason = postgres_available()
    if reason is not None:
        skip_or_fail(reason)
    name = f"dinecard_rel_{os.getpid()}_{next(_databases)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of this test alone (initdb, pg_ctl), on a free port, removed afterwards."""
    bindir = postgres_bindir()
    if bindir is None:
        skip_or_fail("initdb and pg_ctl not found (set DINECARD_TEST_PG_BINDIR): no private cluster to restart")
    assert bindir is not None
    cluster = PrivateCluster(bindir)
    try:
        cluster.init_and_start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def rel_sqlite_url(tmp_path: Path) -> str:
    path = tmp_path / "dinecard.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url
