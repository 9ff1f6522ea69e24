"""Requests racing each other over HTTP: nothing doubled, nothing overspent (R-OPS-1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.api.helpers import API, assert_problem, balance, member, post_checkout, post_recharge, recharge, register

RACERS = 8


def _race(send: Any) -> list[Response]:
    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(lambda _: send(), range(RACERS)))


def test_the_same_recharge_sent_at_once_from_eight_threads_is_applied_once(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    responses = _race(lambda: post_recharge(client, member_id, store_id, "200.00", headers={"Idempotency-Key": "r-1"}))

    assert [r.status_code for r in responses] == [201] * RACERS
    assert len({r.json()["order_no"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == RACERS - 1
    assert member(client, member_id)["balance"] == balance("200.00", "20.00")


def test_racing_balance_only_checkouts_never_overspend(client: TestClient, store_id: str) -> None:
    # given 220.00 on the card: room for two 100.00 bills
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "200.00")

    # when eight tills each try to take 100.00
    responses = _race(lambda: post_checkout(client, member_id, store_id, "100.00", balance_only=True))

    # then exactly two succeed and the rest are clear refusals
    succeeded = [r for r in responses if r.status_code == 201]
    assert len(succeeded) == 2
    for refused in (r for r in responses if r.status_code != 201):
        assert_problem(refused, 409, "insufficient_balance")
    # 100.00 of 200 : 20 → 90.91 / 9.09; then 100.00 of 109.09 : 10.91 → 90.91 / 9.09
    assert member(client, member_id)["balance"] == balance("18.18", "1.82")


def test_racing_registrations_of_one_phone_make_one_member(client: TestClient) -> None:
    responses = _race(lambda: client.post(f"{API}/members", json={"phone": "13812341234"}))

    assert [r.status_code for r in responses].count(201) == 1
    for refused in (r for r in responses if r.status_code != 201):
        assert_problem(refused, 409, "phone_taken")
