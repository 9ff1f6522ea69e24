"""Recharge and request limits (R-RCH-8, R-CMP-1, R-SEC-4) with the deployment defaults, alone and shared via Redis."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from dinecard.platform.api import create_app
from dinecard.platform.container import Container
from dinecard.platform.db import Database
from dinecard.platform.settings import Settings
from dinecard.program.presets import default_program
from dinecard.security.crypto import PersonalDataCipher
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from tests.api.helpers import API, assert_problem, open_store, post_recharge, register
from tests.conftest import IN_CI, TEST_KEY, make_token
from tests.security_access.helpers import PASSWORD, bearer, create_staff

REDIS_URL = os.environ.get("DINECARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Held while a test uses the Redis test database, so parallel test processes never flush each other's counters.
REDIS_LOCK = "dinecard-tests:lock"
BuildContainer = Callable[..., Container]


@pytest.fixture
def build_container(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[BuildContainer]:
    """Containers with the deployment's default limits unless overridden; several may share one database."""
    built: list[Container] = []

    def build(**overrides: Any) -> Container:
        settings = Settings(database_url=database_url, data_dir=tmp_path, data_key=TEST_KEY, **overrides)
        container = Container(
            settings=settings,
            database=Database(database_url, pool_size=5, pool_overflow=10),
            cipher=PersonalDataCipher(base64.b64decode(TEST_KEY)),
            clock=clock,
            program=default_program(),
        )
        built.append(container)
        return container

    yield build
    for container in built:
        container.database.dispose()


@contextmanager
def api(container: Container, token: str | None = None) -> Iterator[TestClient]:
    """One API process over `container`, calling as HQ unless another token is given."""
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token or make_token(container)}"
        yield client


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis test database, emptied before and after; a skip with its reason when Redis is away (not in CI)."""
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as exc:
        connection.close()
        reason = f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}"
        if IN_CI:
            pytest.fail(f"CI needs Redis: {reason}")
        pytest.skip(reason)
    with connection.lock(REDIS_LOCK, timeout=120, blocking_timeout=120):
        _empty(connection)
        yield REDIS_URL
        _empty(connection)
    connection.close()


def _empty(connection: redis.Redis) -> None:
    keys = [key for key in connection.scan_iter(count=1000) if key != REDIS_LOCK.encode()]
    if keys:
        connection.delete(*keys)


def _recharge(client: TestClient, member_id: str, store_id: str, amount: str) -> Any:
    return post_recharge(client, member_id, store_id, amount)


# ---------------------------------------------------------------- recharge limits


def test_defaults_are_the_specs(build_container: BuildContainer) -> None:
    settings = build_container().settings

    assert settings.limit_recharges_per_phone_per_hour == 3
    assert settings.limit_recharge_max_yuan == "5000"
    assert settings.limit_daily_recharge_yuan == "10000"
    assert settings.approval_threshold_yuan == "500"


def test_a_fourth_recharge_within_an_hour_waits_as_long_as_retry_after_says(
    build_container: BuildContainer, clock: FixedClock
) -> None:
    with api(build_container()) as client:
        # given three recharges ten minutes apart
        store_id = open_store(client)
        member_id = str(register(client)["id"])
        other_member = str(register(client, "13912345678")["id"])
        for _ in range(3):
            assert _recharge(client, member_id, store_id, "100.00").status_code == 201
            clock.advance(timedelta(minutes=10))

        # when
        refused = _recharge(client, member_id, store_id, "100.00")

        # then the first of the three leaves the hour in 30 minutes
        body = assert_problem(refused, 429, "recharge_too_frequent")
        assert body["max_per_hour"] == 3
        assert refused.headers["Retry-After"] == "1800"
        assert _recharge(client, other_member, store_id, "100.00").status_code == 201  # the limit is per member
        clock.advance(timedelta(seconds=1799))
        assert_problem(_recharge(client, member_id, store_id, "100.00"), 429, "recharge_too_frequent")
        clock.advance(timedelta(seconds=1))
        assert _recharge(client, member_id, store_id, "100.00").status_code == 201


def test_a_single_recharge_may_be_5000_but_not_a_fen_more(build_container: BuildContainer) -> None:
    with api(build_container()) as client:
        store_id = open_store(client)
        member_id = str(register(client)["id"])

        body = assert_problem(_recharge(client, member_id, store_id, "5000.01"), 422, "recharge_limit_exceeded")
        assert (body["limit"], body["max"]) == ("single", "5000.00")
        assert _recharge(client, member_id, store_id, "5000.00").status_code == 201


def test_10000_a_business_day_and_the_business_day_ends_at_midnight_in_shanghai(
    build_container: BuildContainer, clock: FixedClock
) -> None:
    with api(build_container()) as client:
        # given 10,000 recharged on Monday 2 March (Shanghai), an hour apart
        store_id = open_store(client)
        member_id = str(register(client)["id"])
        assert _recharge(client, member_id, store_id, "5000.00").status_code == 201
        clock.advance(timedelta(minutes=61))
        assert _recharge(client, member_id, store_id, "5000.00").status_code == 201
        clock.advance(timedelta(minutes=61))

        # when a fen more is asked for the same day
        refused = _recharge(client, member_id, store_id, "0.01")

        # then
        body = assert_problem(refused, 422, "recharge_limit_exceeded")
        assert (body["limit"], body["max"], body["left"]) == ("daily", "10000.00", "0.00")
        # 23:59:59 in Shanghai is still Monday
        clock.set(datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC))
        assert_problem(_recharge(client, member_id, store_id, "0.01"), 422, "recharge_limit_exceeded")
        # midnight in Shanghai starts Tuesday, while it is still Monday in UTC
        clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))
        assert _recharge(client, member_id, store_id, "5000.00").status_code == 201


def test_a_recharge_that_would_lift_the_balance_above_the_cap_is_refused(build_container: BuildContainer) -> None:
    with api(build_container(limit_balance_cap_yuan="5000")) as client:
        # given 4000.00 + 500.00 bonus on the card
        store_id = open_store(client)
        member_id = str(register(client)["id"])
        assert _recharge(client, member_id, store_id, "4000.00").json()["balance"]["total"] == "4500.00"

        # when 500.00 (+ 80.00 bonus) would make 5080.00
        refused = _recharge(client, member_id, store_id, "500.00")

        # then
        body = assert_problem(refused, 409, "balance_cap_exceeded")
        assert body["cap"] == "5000.00"
        assert client.get(f"{API}/members/{member_id}").json()["balance"]["total"] == "4500.00"
        assert _recharge(client, member_id, store_id, "400.00").json()["balance"]["total"] == "4920.00"


# ---------------------------------------------------------------- request rate, in one process


def test_each_caller_has_its_own_request_rate(build_container: BuildContainer) -> None:
    container = build_container(api_rate_limit="5/minute")
    busy_till, quiet_till = bearer(make_token(container)), bearer(make_token(container))

    with api(container) as client:
        for _ in range(5):
            assert client.get(f"{API}/stores", headers=busy_till).status_code == 200

        refused = client.get(f"{API}/stores", headers=busy_till)

        assert_problem(refused, 429, "rate_limited")
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert client.get(f"{API}/stores", headers=quiet_till).status_code == 200


def test_without_redis_each_api_process_counts_alone(build_container: BuildContainer) -> None:
    first, second = build_container(api_rate_limit="5/minute"), build_container(api_rate_limit="5/minute")
    token = make_token(first)

    with api(first, token) as one, api(second, token) as other:
        for _ in range(5):
            assert one.get(f"{API}/stores").status_code == 200

        assert_problem(one.get(f"{API}/stores"), 429, "rate_limited")
        assert other.get(f"{API}/stores").status_code == 200
    assert not first.limiter.shared


# ---------------------------------------------------------------- shared through Redis


def test_two_api_processes_sharing_redis_share_the_request_rate(
    build_container: BuildContainer, redis_url: str
) -> None:
    # given two API processes over one database and one Redis, each with its own limiter
    first = build_container(redis_url=redis_url, api_rate_limit="5/minute")
    second = build_container(redis_url=redis_url, api_rate_limit="5/minute")
    assert first.limiter is not second.limiter and first.limiter.shared and second.limiter.shared
    token = make_token(first)

    with api(first, token) as one, api(second, token) as other:
        # when the caller spreads five requests over both
        for client in (one, other, one, other, one):
            assert client.get(f"{API}/stores").status_code == 200

        # then the sixth is refused by either
        assert_problem(other.get(f"{API}/stores"), 429, "rate_limited")
        refused = one.get(f"{API}/stores")
        assert_problem(refused, 429, "rate_limited")
        assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_two_api_processes_sharing_redis_share_the_login_throttle(
    build_container: BuildContainer, redis_url: str
) -> None:
    # given a cashier, and two API processes over one database and one Redis
    first, second = build_container(redis_url=redis_url), build_container(redis_url=redis_url)
    with api(first) as one, api(second) as other:
        create_staff(one, "lili", Role.CASHIER, open_store(one))

        def attempt(client: TestClient, password: str) -> Any:
            return client.post(f"{API}/auth/login", json={"username": "lili", "password": password})

        # when a guesser spreads five wrong passwords over both
        for client in (one, other, one, other, one):
            assert_problem(attempt(client, "guess"), 401, "login_failed")

        # then both refuse even the right password
        for client in (one, other):
            refused = attempt(client, PASSWORD)
            assert_problem(refused, 429, "rate_limited")
            assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
