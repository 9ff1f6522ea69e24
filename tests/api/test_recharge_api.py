"""Recharges over HTTP: the tier table, levels bought on the way, and amounts that are refused.

Default tiers: 200→+20 (+100 pts); 500→+80 (+300 pts, silver); 1000→+200 (+800 pts, gold);
2000→+500 (+2000 pts, diamond); between tiers the highest tier at or below applies.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import (
    API,
    assert_problem,
    balance,
    member,
    points_of,
    post_recharge,
    recharge,
    register,
    snapshot,
)


@pytest.mark.parametrize(
    ("amount", "bonus", "points", "level"),
    [
        ("199.99", "0.00", 0, "normal"),
        ("200.00", "20.00", 100, "normal"),
        ("499.99", "20.00", 100, "normal"),
        ("500.00", "80.00", 300, "silver"),
        ("600.00", "80.00", 300, "silver"),
        ("1000.00", "200.00", 800, "gold"),
        ("1999.99", "200.00", 800, "gold"),
        ("2000.00", "500.00", 2000, "diamond"),
    ],
)
def test_a_recharge_gets_the_highest_tier_at_or_below_it(
    client: TestClient, store_id: str, amount: str, bonus: str, points: int, level: str
) -> None:
    member_id = register(client)["id"]

    body = recharge(client, member_id, store_id, amount)

    assert body["order_no"].startswith("R")
    assert body["amount"] == amount and body["bonus"] == bonus
    assert body["points_awarded"] == points and body["upgrade_gift_points"] == 0
    assert body["balance"] == balance(amount, bonus)
    assert body["points"] == points_of(points, points)
    assert body["level"]["code"] == level
    shown = member(client, member_id)
    assert shown["balance"] == balance(amount, bonus)
    assert shown["level"]["code"] == level
    assert shown["cumulative"] == {"recharge": amount, "consume": "0.00"}


def test_a_2000_recharge_makes_a_new_member_diamond_at_once(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    body = recharge(client, member_id, store_id, "2000")

    assert body["level"] == {
        "code": "diamond",
        "name": "钻石会员",
        "name_en": "Diamond",
        "discount_rate": "0.85",
        "points_multiplier": "2.0",
        "benefits": [
            "birthday_gift",
            "priority_queue",
            "exclusive_dishes",
            "monthly_free_meal",
            "private_room",
            "manager_reception",
        ],
    }


def test_the_largest_accepted_amount_is_one_million(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    body = recharge(client, member_id, store_id, "1000000.00")

    assert body["bonus"] == "500.00" and body["points_awarded"] == 2000
    assert body["balance"] == balance("1000000.00", "500.00")


def test_recharges_that_add_up_to_500_make_the_member_silver(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    first = recharge(client, member_id, store_id, "300.00", "cash")
    second = recharge(client, member_id, store_id, "200.00", "alipay")

    # each recharge is priced alone (300 and 200 are both the 200 tier), the level on the sum
    assert first["bonus"] == "20.00" and first["level"]["code"] == "normal"
    assert second["bonus"] == "20.00" and second["level"]["code"] == "silver"
    assert second["balance"] == balance("500.00", "40.00")
    assert second["points"]["usable"] == 200
    assert member(client, member_id)["cumulative"]["recharge"] == "500.00"


@pytest.mark.parametrize("method", ["cash", "bank_card", "wechat", "alipay", "other"])
def test_every_payment_method_and_the_online_channel_are_accepted(
    client: TestClient, store_id: str, method: str
) -> None:
    member_id = register(client)["id"]

    response = client.post(
        f"{API}/members/{member_id}/recharges",
        json={"amount": "200.00", "payment_method": method, "store_id": store_id, "channel": "online"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["balance"]["total"] == "220.00"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("500.555", "amount_invalid"),
        ("-5", "amount_invalid"),
        ("-5.00", "amount_invalid"),
        (500.5, "amount_invalid"),
        ("abc", "amount_invalid"),
        ("", "amount_invalid"),
        ("5e2", "amount_invalid"),
        (None, "amount_invalid"),
        (True, "amount_invalid"),
        ("0", "amount_not_positive"),
        ("1000000.01", "amount_invalid"),
        ("１００", "amount_invalid"),
        ("0500", "amount_invalid"),
        ("0", "amount_not_positive"),
        ("0.00", "amount_not_positive"),
    ],
    ids=ascii,
)
def test_a_malformed_or_zero_amount_is_refused_and_changes_nothing(
    client: TestClient, store_id: str, amount: Any, code: str
) -> None:
    member_id = register(client)["id"]
    before = snapshot(client, member_id)

    response = post_recharge(client, member_id, store_id, amount)

    assert_problem(response, 422, code)
    assert snapshot(client, member_id) == before


def test_an_unknown_payment_method_is_a_validation_error(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    response = post_recharge(client, member_id, store_id, "200.00", payment_method="bitcoin")

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "payment_method"]


def test_a_recharge_at_an_unknown_store_is_refused(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]

    response = post_recharge(client, member_id, "no-such-store", "500.00")

    assert_problem(response, 404, "store_not_found")
    assert member(client, member_id)["balance"]["total"] == "0.00"


def test_a_recharge_for_an_unknown_member_is_refused(client: TestClient, store_id: str) -> None:
    response = post_recharge(client, "nobody", store_id, "500.00")

    assert_problem(response, 404, "member_not_found")


def test_a_frozen_card_cannot_be_recharged(client: TestClient, store_id: str) -> None:
    member_id = register(client)["id"]
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200

    response = post_recharge(client, member_id, store_id, "500.00")

    assert_problem(response, 409, "member_frozen")
    assert member(client, member_id)["balance"]["total"] == "0.00"
