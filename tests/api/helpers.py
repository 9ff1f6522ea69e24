"""Small calls the API tests share: open a store, register a member, move money, read problems."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"


def open_store(client: TestClient, code: str = "S001", name: str = "人民广场店") -> str:
    response = client.post(f"{API}/stores", json={"code": code, "name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def register(client: TestClient, phone: str = "13812341234", **fields: Any) -> dict[str, Any]:
    response = client.post(f"{API}/members", json={"phone": phone, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def recharge(
    client: TestClient, member_id: str, store_id: str, amount: str, payment_method: str = "wechat"
) -> dict[str, Any]:
    response = post_recharge(client, member_id, store_id, amount, payment_method)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def post_recharge(
    client: TestClient,
    member_id: str,
    store_id: str,
    amount: Any,
    payment_method: str = "wechat",
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"amount": amount, "payment_method": payment_method, "store_id": store_id}
    return client.post(f"{API}/members/{member_id}/recharges", json=body, headers=headers)


def post_checkout(
    client: TestClient,
    member_id: str,
    store_id: str,
    bill_total: Any,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> Response:
    body = {"store_id": store_id, "bill_total": bill_total, **options}
    return client.post(f"{API}/members/{member_id}/checkouts", json=body, headers=headers)


def checkout(client: TestClient, member_id: str, store_id: str, bill_total: str, **options: Any) -> dict[str, Any]:
    response = post_checkout(client, member_id, store_id, bill_total, **options)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def post_refund(
    client: TestClient, order_no: str, amount: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {} if amount is None else {"amount": amount}
    return client.post(f"{API}/orders/{order_no}/refunds", json=body, headers=headers)


def refund(client: TestClient, order_no: str, amount: str | None = None) -> dict[str, Any]:
    response = post_refund(client, order_no, amount)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def member(client: TestClient, member_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/members/{member_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def transactions(client: TestClient, member_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}/members/{member_id}/transactions", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def points_history(client: TestClient, member_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}/members/{member_id}/points-history", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def snapshot(client: TestClient, member_id: str) -> dict[str, Any]:
    """Everything a refused request must leave as it was: the member, both histories."""
    return {
        "member": member(client, member_id),
        "transactions": transactions(client, member_id, limit=200),
        "points": points_history(client, member_id, limit=200),
    }


def balance(principal: str, bonus: str) -> dict[str, str]:
    """A balance as the API shows it; amounts are written with two decimals, the total is added in fen."""
    total_fen = int(principal.replace(".", "")) + int(bonus.replace(".", ""))
    return {"principal": principal, "bonus": bonus, "total": f"{total_fen // 100}.{total_fen % 100:02d}"}


def points_of(usable: int, lifetime: int, owed: int = 0) -> dict[str, int]:
    """Points as the API shows them: usable never below zero, a points debt shown apart as owed."""
    return {"usable": usable, "lifetime": lifetime, "owed": owed}


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with DineCard's stable code and both languages' messages."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"urn:dinecard:problem:{code}"
    for field in ("title", "message_zh", "message_en"):
        assert isinstance(body[field], str) and body[field], (field, body)
    return body
