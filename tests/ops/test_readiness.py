"""/healthz says the process is up; /readyz that the database answers, is migrated, and Redis answers."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dinecard.platform.container import Container
from dinecard.platform.readiness import code_revision
from tests.conftest import IN_CI

PROBLEM_JSON = "application/problem+json"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_healthz_answers_without_a_key(client: TestClient) -> None:
    del client.headers["Authorization"]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_database_reachable_and_migrations_current(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_readyz_is_503_naming_the_migrations_when_the_database_is_at_another_revision(
    client: TestClient, container: Container
) -> None:
    # given the database claims an older schema
    with container.database.write() as uow:
        uow.session.execute(text("UPDATE alembic_version SET version_num = 'an_older_one'"))
    try:
        # when
        response = client.get("/readyz")
    finally:
        with container.database.write() as uow:
            uow.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": code_revision()})
    # then
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert (body["code"], body["failed"]) == ("not_ready", ["migrations"])
    assert "an_older_one" in body["checks"]["migrations"]
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_naming_redis_when_the_configured_redis_does_not_answer(
    client: TestClient, container: Container
) -> None:
    container.settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_checks_redis_when_it_is_configured(client: TestClient, container: Container) -> None:
    if not redis_answers():
        if IN_CI:
            pytest.fail("CI needs Redis at 127.0.0.1:6379")
        pytest.skip("no Redis at 127.0.0.1:6379")
    container.settings.redis_url = LOCAL_REDIS
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}
