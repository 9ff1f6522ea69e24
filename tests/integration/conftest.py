"""Fixtures for integration tests that need PostgreSQL itself (row locks, several processes)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from dinecard.platform.container import Container
from dinecard.platform.db import Database
from dinecard.platform.settings import Settings
from dinecard.security.crypto import PersonalDataCipher
from dinecard.shared.clock import FixedClock
from tests.conftest import START, TEST_KEY, _truncate_postgres


@pytest.fixture
def pg_container(postgres_url: str, tmp_path: Path) -> Iterator[Container]:
    """A container on the (emptied) PostgreSQL test database; skips or fails like `postgres_url`."""
    _truncate_postgres(postgres_url)
    database = Database(postgres_url, pool_size=24, pool_overflow=16)
    built = Container(
        settings=Settings(database_url=postgres_url, data_dir=tmp_path, data_key=TEST_KEY),
        database=database,
        cipher=PersonalDataCipher(base64.b64decode(TEST_KEY)),
        clock=FixedClock(START),
    )
    yield built
    database.dispose()
