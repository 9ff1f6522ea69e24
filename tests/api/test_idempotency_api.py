"""Idempotency-Key over HTTP: a retry is answered the same and applied once (R-OPS-1)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from tests.api.helpers import (
    API,
    assert_problem,
    balance,
    checkout,
    member,
    post_checkout,
    post_recharge,
    post_refund,
    recharge,
    register,
    snapshot,
    transactions,
)
from tests.conftest import make_token


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_a_retried_recharge_is_answered_the_same_and_applied_once(client: TestClient, store_id: str) -> None:
    # given
    member_id = register(client)["id"]

    # when the till sends the same recharge twice
    first = post_recharge(client, member_id, store_id, "500.00", headers=_key("till-1-r-0001"))
    retry = post_recharge(client, member_id, store_id, "500.00", headers=_key("till-1-r-0001"))

    # then
    assert first.status_code == 201 and retry.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert member(client, member_id)["balance"] == balance("500.00", "80.00")
    assert member(client, member_id)["points"]["usable"] == 300
    assert len(transactions(client, member_id)["items"]) == 1


def test_the_same_amount_written_differently_is_the_same_request(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    first = post_recharge(client, member_id, store_id, "500.00", headers=_key("k-amount"))
    retry = post_recharge(client, member_id, store_id, "500", headers=_key("k-amount"))

    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert member(client, member_id)["balance"]["total"] == "580.00"


def test_the_same_key_with_a_different_body_is_refused(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]
    post_recharge(client, member_id, store_id, "500.00", headers=_key("till-1-r-0002"))
    before = snapshot(client, member_id)

    response = post_recharge(client, member_id, store_id, "600.00", headers=_key("till-1-r-0002"))

    assert_problem(response, 409, "idempotency_key_reused")
    assert snapshot(client, member_id) == before


def test_the_same_key_on_another_endpoint_is_refused(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]
    post_recharge(client, member_id, store_id, "500.00", headers=_key("shared-key"))
    before = snapshot(client, member_id)

    response = post_checkout(client, member_id, store_id, "10.00", headers=_key("shared-key"))

    assert_problem(response, 409, "idempotency_key_reused")
    assert snapshot(client, member_id) == before


def test_keys_are_scoped_per_api_key(client: TestClient, container: Container, store_id: str) -> None:
    # given two tills with their own API keys, both numbering their requests from 1
    member_id = register(client)["id"]
    other_till = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, store_id)}"}

    # when both send a recharge with the key "1"
    first = post_recharge(client, member_id, store_id, "200.00", headers=_key("1"))
    second = post_recharge(client, member_id, store_id, "200.00", headers={**_key("1"), **other_till})

    # then both are applied: they are different requests
    assert first.status_code == 201 and second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["order_no"] != first.json()["order_no"]
    assert member(client, member_id)["balance"] == balance("400.00", "40.00")

    # and each till's retry replays its own answer
    replay = post_recharge(client, member_id, store_id, "200.00", headers={**_key("1"), **other_till})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == second.json()
    assert member(client, member_id)["balance"]["total"] == "440.00"


def test_a_refused_request_retried_after_a_recharge_succeeds(client: TestClient, store_id: str) -> None:
    # given a member with nothing on the card
    member_id = register(client)["id"]
    headers = _key("till-1-c-0001")

    # when the balance-only checkout is refused, the member recharges, and the till retries
    refused = post_checkout(client, member_id, store_id, "100.00", balance_only=True, headers=headers)
    assert_problem(refused, 409, "insufficient_balance")
    recharge(client, member_id, store_id, "200.00")
    retried = post_checkout(client, member_id, store_id, "100.00", balance_only=True, headers=headers)

    # then the retry is evaluated afresh
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["balance"]["total"] == "120.00"

    # and from now on it is stored
    again = post_checkout(client, member_id, store_id, "100.00", balance_only=True, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == retried.json()
    assert member(client, member_id)["balance"]["total"] == "120.00"


def test_a_request_refused_by_validation_does_not_use_up_the_key(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    bad = post_recharge(client, member_id, store_id, "500.555", headers=_key("k-validation"))
    good = post_recharge(client, member_id, store_id, "500.00", headers=_key("k-validation"))

    assert_problem(bad, 422, "amount_invalid")
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers


def test_a_retried_registration_creates_one_member(client: TestClient) -> None:
    body = {"phone": "13812341234", "name": "王芳"}

    first = client.post(f"{API}/members", json=body, headers=_key("reg-1"))
    retry = client.post(f"{API}/members", json=body, headers=_key("reg-1"))

    assert first.status_code == 201 and retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    # without the key the same phone is refused, so exactly one member exists
    assert_problem(client.post(f"{API}/members", json=body), 409, "phone_taken")


def test_a_retried_store_creation_creates_one_store(client: TestClient) -> None:
    body = {"code": "S002", "name": "徐家汇店"}

    first = client.post(f"{API}/stores", json=body, headers=_key("store-1"))
    retry = client.post(f"{API}/stores", json=body, headers=_key("store-1"))

    assert first.status_code == 201 and retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert len(client.get(f"{API}/stores").json()) == 1


def test_a_retried_partial_refund_is_applied_once(client: TestClient, store_id: str) -> None:
    # given 95.00 paid by a silver member
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "500.00")
    paid = checkout(client, member_id, store_id, "100.00")

    # when the same 30.00 refund is sent twice
    first = post_refund(client, paid["order_no"], "30.00", headers=_key("refund-1"))
    retry = post_refund(client, paid["order_no"], "30.00", headers=_key("refund-1"))

    # then
    assert first.status_code == 201 and retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert member(client, member_id)["balance"]["total"] == "515.00"
    assert len(transactions(client, member_id)["items"]) == 3


def test_a_retried_checkout_is_applied_once(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "500.00")

    first = post_checkout(client, member_id, store_id, "100.00", use_points=100, headers=_key("c-1"))
    retry = post_checkout(client, member_id, store_id, "100.00", use_points=100, headers=_key("c-1"))

    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    shown = member(client, member_id)
    assert shown["balance"]["total"] == "486.00" and shown["points"]["usable"] == 312
    assert len(transactions(client, member_id)["items"]) == 2


def test_retried_freeze_and_close_are_answered_the_same(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "200.00")

    frozen = client.post(f"{API}/members/{member_id}/freeze", headers=_key("freeze-1"))
    frozen_again = client.post(f"{API}/members/{member_id}/freeze", headers=_key("freeze-1"))
    assert frozen.status_code == 200 and frozen_again.status_code == 200
    assert frozen_again.headers["Idempotent-Replayed"] == "true" and frozen_again.json() == frozen.json()

    closed = client.post(f"{API}/members/{member_id}/close", json={}, headers=_key("close-1"))
    closed_again = client.post(f"{API}/members/{member_id}/close", json={}, headers=_key("close-1"))
    assert closed.status_code == 200 and closed_again.status_code == 200
    assert closed_again.headers["Idempotent-Replayed"] == "true" and closed_again.json() == closed.json()
    assert closed.json()["principal_returned"] == "200.00"


def test_a_key_with_a_space_is_refused(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    response = post_recharge(client, member_id, store_id, "500.00", headers=_key("till 1"))

    assert_problem(response, 422, "idempotency_key_invalid")
    assert member(client, member_id)["balance"]["total"] == "0.00"


def test_a_key_longer_than_200_characters_is_refused(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    response = post_recharge(client, member_id, store_id, "500.00", headers=_key("k" * 201))

    assert_problem(response, 422, "idempotency_key_invalid")
    assert member(client, member_id)["balance"]["total"] == "0.00"
    accepted = post_recharge(client, member_id, store_id, "500.00", headers=_key("k" * 200))
    assert accepted.status_code == 201, accepted.text
