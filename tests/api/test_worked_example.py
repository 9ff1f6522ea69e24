"""The issue's worked example, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _store(client: TestClient) -> str:
    response = client.post("/api/v1/stores", json={"code": "S001", "name": "人民广场店"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_recharge_500_checkout_100_retry_and_refund(client: TestClient) -> None:
    # given a new member at a store
    store_id = _store(client)
    member = client.post("/api/v1/members", json={"phone": "13812341234", "name": "王芳", "store_id": store_id})
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    assert member.json()["phone_masked"] == "138****1234"
    assert member.json()["level"]["code"] == "normal"

    # when they recharge 500
    recharge = client.post(
        f"/api/v1/members/{member_id}/recharges",
        json={"amount": "500.00", "payment_method": "wechat", "store_id": store_id},
    )
    assert recharge.status_code == 201, recharge.text
    body = recharge.json()
    assert body["amount"] == "500.00" and body["bonus"] == "80.00" and body["points_awarded"] == 300
    assert body["balance"] == {"principal": "500.00", "bonus": "80.00", "total": "580.00"}
    assert body["points"]["usable"] == 300
    assert body["level"]["code"] == "silver"

    # and check out a 100.00 bill from balance, with a retry of the same request
    checkout_body = {"store_id": store_id, "bill_total": "100.00", "pay_with_balance": True}
    headers = {"Idempotency-Key": "till-7-bill-0001"}
    first = client.post(f"/api/v1/members/{member_id}/checkouts", json=checkout_body, headers=headers)
    retry = client.post(f"/api/v1/members/{member_id}/checkouts", json=checkout_body, headers=headers)

    # then the checkout is priced at 95.00 and applied once
    assert first.status_code == 201, first.text
    assert retry.status_code == 201 and retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    result = first.json()
    assert result["payable"] == "95.00" and result["discount"] == "5.00"
    assert result["balance"]["total"] == "485.00"
    assert result["points_earned"] == 114 and result["points"]["usable"] == 414
    looked_up = client.get("/api/v1/members", params={"phone": "13812341234"}).json()
    assert looked_up["balance"]["total"] == "485.00" and looked_up["points"]["usable"] == 414

    # when the checkout is refunded in full
    refund = client.post(f"/api/v1/orders/{result['order_no']}/refunds", json={})
    assert refund.status_code == 201, refund.text

    # then balance and points are back where the recharge left them
    assert refund.json()["balance"]["total"] == "580.00"
    assert refund.json()["points"]["usable"] == 300
    assert client.get(f"/api/v1/members/{member_id}").json()["balance"] == {
        "principal": "500.00",
        "bonus": "80.00",
        "total": "580.00",
    }
