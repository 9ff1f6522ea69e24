"""Shared fixtures: a real database per test on SQLite and on PostgreSQL, a pinned clock, an API client.

PostgreSQL tests skip with a visible reason when no server answers, except in CI (CI=true),
where an unreachable PostgreSQL or Redis is a failure, never a silent skip.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from dinecard.platform.api import create_app
from dinecard.platform.container import Container
from dinecard.platform.db import Database
from dinecard.platform.migrate import upgrade
from dinecard.platform.settings import Settings
from dinecard.program.presets import default_program
from dinecard.security.crypto import PersonalDataCipher
from dinecard.security.domain import Role
from dinecard.security.service import create_api_key
from dinecard.shared.clock import FixedClock
from dinecard.shared.ids import new_ulid
from dinecard.stores.service import create_store

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("DINECARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEST_KEY = base64.b64encode(b"k" * 32).decode()
START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, a Monday


def _worker_suffix() -> str:
    # One database per test process, so parallel runs (xdist, several developers) never collide.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def postgres_available() -> str | None:
    """None when PostgreSQL answers, otherwise the reason it does not."""
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    reason = postgres_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"dinecard_test_{_worker_suffix()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = (
            connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
            .scalars()
            .all()
        )
        connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database: each data test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "dinecard.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def container(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    # Limits that ordinary tests never meet; the limit tests set their own.
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        data_key=TEST_KEY,
        limit_recharges_per_phone_per_hour=10_000,
        limit_daily_recharge_yuan="1000000",
        limit_recharge_max_yuan="1000000",
    )
    database = Database(database_url, pool_size=20, pool_overflow=80)
    built = Container(
        settings=settings,
        database=database,
        cipher=PersonalDataCipher(base64.b64decode(TEST_KEY)),
        clock=clock,
        program=default_program(),
    )
    yield built
    database.dispose()


@pytest.fixture
def pg_container(postgres_url: str, tmp_path: Path) -> Iterator[Container]:
    """A container on the (emptied) PostgreSQL test database, for tests of row-lock races that only
    PostgreSQL has (SQLite runs one write transaction at a time); skips or fails like `postgres_url`."""
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


def make_token(container: Container, role: Role = Role.HQ_ADMIN, store_id: str | None = None) -> str:
    """A key for `role`; store roles without a named store get a store of their own."""
    with container.database.write() as uow:
        if role is not Role.HQ_ADMIN and store_id is None:
            store_id = create_store(uow, f"K{new_ulid()[-8:]}", "key store", container.clock.now()).id
        _key_id, token = create_api_key(uow, f"test {role.value}", role, store_id, container.clock.now())
    return token


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    app = create_app(container)
    token = make_token(container)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client
