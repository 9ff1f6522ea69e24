"""What the access tests share: credentials for each role, stores, staff logins."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from tests.api.helpers import API
from tests.conftest import make_token

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def key_headers(container: Container, role: Role, store_id: str | None = None) -> dict[str, str]:
    """Headers carrying a fresh API key for `role` (at `store_id` for the store roles)."""
    return bearer(make_token(container, role, store_id))


def create_staff(
    client: TestClient, username: str, role: Role, store_id: str | None, password: str = PASSWORD
) -> dict[str, Any]:
    """A staff account, created by the client's HQ credential."""
    body = {"username": username, "password": password, "display_name": username, "role": role.value}
    if store_id is not None:
        body["store_id"] = store_id
    response = client.post(f"{API}/staff", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])
