"""Fixtures for the operations tests: a store, metric samples read back from /metrics, risk events."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from dinecard.platform.container import Container
from dinecard.platform.outbox import OutboxMessage
from dinecard.security.models import RiskEvent
from dinecard.security.risk import scan_recent
from dinecard.stores.service import create_store
from tests.api.helpers import open_store


@pytest.fixture
def store_id(client: TestClient) -> str:
    return open_store(client)


@pytest.fixture
def service_store_id(container: Container) -> str:
    """A store made without the API, for tests that drive the services directly."""
    with container.database.write() as uow:
        return create_store(uow, "O001", "运维测试店", container.clock.now()).id


def metric(client: TestClient, name: str, **labels: str) -> float:
    """One sample as /metrics shows it, with exactly these labels (0 when absent)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def risk_events(container: Container, kind: str | None = None) -> list[RiskEvent]:
    statement = select(RiskEvent).order_by(RiskEvent.id)
    if kind is not None:
        statement = statement.where(RiskEvent.kind == kind)
    with container.database.read() as session:
        return list(session.execute(statement).scalars())


def outbox_messages(container: Container, topic: str) -> list[OutboxMessage]:
    with container.database.read() as session:
        return list(
            session.execute(select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id))
            .scalars()
            .all()
        )


def scan(container: Container) -> dict[str, int]:
    """The worker's frequent scan, now."""
    return scan_recent(container)
