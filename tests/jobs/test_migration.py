"""Migration 0002 (job runs, notification occasions, outbox attempts) goes up and down on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from dinecard.platform.migrate import alembic_config, upgrade
from tests.conftest import IN_CI, PG_ADMIN_URL, _worker_suffix, postgres_available


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    reason = postgres_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"dinecard_migration_{_worker_suffix()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        outbox_columns = {column["name"] for column in inspector.get_columns("notification_outbox")}
        return set(inspector.get_table_names()), outbox_columns
    finally:
        engine.dispose()


def test_0002_adds_and_removes_its_tables_and_columns(empty_database_url: str) -> None:
    # given a database at the initial schema with an unsent message in it
    upgrade(empty_database_url, "0001")
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notification_outbox (topic, payload, created_at) "
                "VALUES ('hello', '{}', '2026-03-02 04:00:00')"
            )
        )
    engine.dispose()

    # when 0002 is applied, then the new tables and outbox columns exist and old rows have 0 attempts
    upgrade(empty_database_url, "0002")
    tables, outbox_columns = _schema(empty_database_url)
    assert {"job_runs", "notification_once"} <= tables
    assert {"attempts", "last_error", "next_attempt_at"} <= outbox_columns
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT attempts FROM notification_outbox")).scalar_one() == 0
    engine.dispose()

    # when it is undone, then they are gone and the message is kept
    command.downgrade(alembic_config(empty_database_url), "0001")
    tables, outbox_columns = _schema(empty_database_url)
    assert not {"job_runs", "notification_once"} & tables
    assert not {"attempts", "last_error", "next_attempt_at"} & outbox_columns
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM notification_outbox")).scalar_one() == 1
    engine.dispose()
