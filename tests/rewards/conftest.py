"""Fixtures for the rewards tests (menu, coupons, stamp cards, points mall, lottery)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import open_store


@pytest.fixture
def store_id(client: TestClient) -> str:
    return open_store(client)
