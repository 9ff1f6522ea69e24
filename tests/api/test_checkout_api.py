"""Checkouts over HTTP: level discount (half up) → points → balance (proportional) → other tender.

Levels: normal 100 % ×1, silver 95 % ×1.2, gold 90 % ×1.5, diamond 85 % ×2; points earned are
floor(payable × multiplier); 100 points = 1 yuan. A payment from balance is split between
principal and bonus in proportion to the two balances (largest remainder to the fen).
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import (
    API,
    assert_problem,
    balance,
    checkout,
    member,
    points_of,
    post_checkout,
    recharge,
    register,
    snapshot,
)


def _member_with(client: TestClient, store_id: str, amount: str | None) -> str:
    member_id = str(register(client)["id"])
    if amount is not None:
        recharge(client, member_id, store_id, amount)
    return member_id


def test_gold_member_pays_88_88_with_the_discount_rounded_half_up(client: TestClient, store_id: str) -> None:
    # given a gold member: 1000 recharged, 200 bonus, 800 points
    member_id = _member_with(client, store_id, "1000.00")

    # when
    body = checkout(client, member_id, store_id, "88.88")

    # then 88.88 × 0.9 = 79.992 → 79.99; points floor(79.99 × 1.5 = 119.985) = 119
    assert body["order_no"].startswith("C")
    assert body["bill_total"] == "88.88" and body["discount"] == "8.89" and body["payable"] == "79.99"
    assert body["points_used"] == 0 and body["points_deduction"] == "0.00"
    # 7999 fen over principal 1000 : bonus 200 → 6665.83 / 1333.17 → the spare fen to principal
    assert body["paid_from_balance"] == balance("66.66", "13.33")
    assert body["due_other_tender"] == "0.00"
    assert body["points_earned"] == 119
    assert body["level"]["code"] == "gold"
    assert body["balance"] == balance("933.34", "186.67")
    assert body["points"] == points_of(919, 919)
    shown = member(client, member_id)
    assert shown["balance"] == balance("933.34", "186.67")
    assert shown["cumulative"] == {"recharge": "1000.00", "consume": "79.99"}


def test_diamond_discount_of_an_exact_half_fen_rounds_up(client: TestClient, store_id: str) -> None:
    # given a diamond member: 2000 + 500 bonus, 2000 points
    member_id = _member_with(client, store_id, "2000.00")

    # when 10.10 × 0.85 = 8.585 → 8.59
    body = checkout(client, member_id, store_id, "10.10")

    # then points floor(8.59 × 2) = 17; 859 fen over 2000 : 500 → 687.2 / 171.8 → the spare fen to bonus
    assert body["payable"] == "8.59" and body["discount"] == "1.51"
    assert body["paid_from_balance"] == balance("6.87", "1.72")
    assert body["points_earned"] == 17
    assert body["balance"] == balance("1993.13", "498.28")
    assert body["points"]["usable"] == 2017


def test_too_little_balance_leaves_the_rest_for_another_tender(client: TestClient, store_id: str) -> None:
    # given a normal member with 200 + 20 bonus and 100 points
    member_id = _member_with(client, store_id, "200.00")

    # when a 300.00 bill is paid from balance as far as it goes
    response = post_checkout(client, member_id, store_id, "300.00", pay_with_balance=True, other_tender="cash")

    # then the whole balance is used, 80.00 is due in cash, points on all 300 paid
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["payable"] == "300.00" and body["discount"] == "0.00"
    assert body["paid_from_balance"] == balance("200.00", "20.00")
    assert body["due_other_tender"] == "80.00"
    assert body["points_earned"] == 300
    assert body["balance"] == balance("0.00", "0.00")
    assert body["points"]["usable"] == 400


def test_balance_only_with_too_little_balance_is_refused_and_changes_nothing(client: TestClient, store_id: str) -> None:
    # given
    member_id = _member_with(client, store_id, "200.00")
    before = snapshot(client, member_id)

    # when
    response = post_checkout(client, member_id, store_id, "300.00", pay_with_balance=True, balance_only=True)

    # then
    body = assert_problem(response, 409, "insufficient_balance")
    assert body["balance"] == "220.00" and body["payable"] == "300.00"
    assert snapshot(client, member_id) == before


def test_balance_only_with_enough_balance_pays_everything_from_it(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, "200.00")

    body = checkout(client, member_id, store_id, "220.00", balance_only=True)

    assert body["paid_from_balance"] == balance("200.00", "20.00")
    assert body["due_other_tender"] == "0.00"
    assert body["balance"]["total"] == "0.00"


def test_without_pay_with_balance_the_balance_is_left_alone(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, "200.00")

    body = checkout(client, member_id, store_id, "50.00", pay_with_balance=False, other_tender="alipay")

    assert body["paid_from_balance"] == balance("0.00", "0.00")
    assert body["due_other_tender"] == "50.00"
    assert body["points_earned"] == 50
    assert body["balance"] == balance("200.00", "20.00")
    assert body["points"]["usable"] == 150


def test_a_member_without_balance_pays_everything_by_other_tender(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, None)

    body = checkout(client, member_id, store_id, "45.60")

    assert body["due_other_tender"] == "45.60" and body["points_earned"] == 45
    assert body["balance"] == balance("0.00", "0.00")


def test_100_points_take_one_yuan_off_after_the_level_discount(client: TestClient, store_id: str) -> None:
    # given a silver member: 500 + 80 bonus, 300 points
    member_id = _member_with(client, store_id, "500.00")

    # when
    body = checkout(client, member_id, store_id, "100.00", use_points=100)

    # then 100 × 0.95 = 95.00, less 1.00 of points = 94.00; earned floor(94 × 1.2 = 112.8) = 112
    assert body["discount"] == "5.00"
    assert body["points_used"] == 100 and body["points_deduction"] == "1.00"
    assert body["payable"] == "94.00"
    # 9400 fen over 500 : 80 → 8103.45 / 1296.55 → the spare fen to bonus
    assert body["paid_from_balance"] == balance("81.03", "12.97")
    assert body["points_earned"] == 112
    assert body["balance"] == balance("418.97", "67.03")
    assert body["points"] == points_of(312, 412)


def test_points_may_pay_the_whole_bill(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, "500.00")

    # 2.00 × 0.95 = 1.90 = 190 points
    body = checkout(client, member_id, store_id, "2.00", use_points=190)

    assert body["payable"] == "0.00" and body["points_deduction"] == "1.90"
    assert body["paid_from_balance"]["total"] == "0.00" and body["due_other_tender"] == "0.00"
    assert body["points_earned"] == 0
    assert body["points"]["usable"] == 110
    assert body["balance"] == balance("500.00", "80.00")


def test_more_points_than_the_member_has_is_refused(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, "500.00")
    before = snapshot(client, member_id)

    response = post_checkout(client, member_id, store_id, "100.00", use_points=301)

    body = assert_problem(response, 409, "insufficient_points")
    assert body["usable"] == 300
    assert snapshot(client, member_id) == before


def test_points_worth_more_than_the_discounted_bill_are_refused(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, "500.00")

    # 2.00 × 0.95 = 1.90: at most 190 points
    response = post_checkout(client, member_id, store_id, "2.00", use_points=191)

    body = assert_problem(response, 422, "points_exceed_bill")
    assert body["max_points"] == 190


def _put_d001_on_the_menu(client: TestClient) -> None:
    dish = {"id": "D001", "name": "红烧肉", "category": "热菜", "price": "38.00"}
    assert client.post(f"{API}/dishes", json=dish).status_code == 201


def test_line_items_that_add_up_to_the_bill_are_accepted(client: TestClient, store_id: str) -> None:
    _put_d001_on_the_menu(client)
    member_id = _member_with(client, store_id, None)
    items = [
        {"dish_id": "D001", "name": "红烧肉", "quantity": 2, "price": "38.00"},
        {"name": "米饭", "quantity": 3, "price": "2.00"},
    ]

    body = checkout(client, member_id, store_id, "82.00", items=items)

    assert body["payable"] == "82.00" and body["points_earned"] == 82


def test_line_items_that_do_not_add_up_to_the_bill_are_refused(client: TestClient, store_id: str) -> None:
    _put_d001_on_the_menu(client)
    member_id = _member_with(client, store_id, "200.00")
    before = snapshot(client, member_id)
    items = [
        {"dish_id": "D001", "name": "红烧肉", "quantity": 2, "price": "38.00"},
        {"name": "米饭", "quantity": 3, "price": "2.00"},
    ]

    response = post_checkout(client, member_id, store_id, "80.00", items=items)

    assert_problem(response, 422, "items_total_mismatch")
    assert snapshot(client, member_id) == before


def test_a_frozen_member_may_not_pay_from_balance_or_points(client: TestClient, store_id: str) -> None:
    # given
    member_id = _member_with(client, store_id, "200.00")
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200
    before = snapshot(client, member_id)

    # when
    from_balance = post_checkout(client, member_id, store_id, "50.00", pay_with_balance=True)
    with_points = post_checkout(client, member_id, store_id, "50.00", pay_with_balance=False, use_points=10)
    default_tender = post_checkout(client, member_id, store_id, "50.00")

    # then pay_with_balance defaults to true, so it too is refused
    assert_problem(from_balance, 409, "member_frozen")
    assert_problem(with_points, 409, "member_frozen")
    assert_problem(default_tender, 409, "member_frozen")
    assert snapshot(client, member_id) == before


def test_a_frozen_member_paying_by_other_tender_still_collects_points(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, "200.00")
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200

    body = checkout(client, member_id, store_id, "50.00", pay_with_balance=False, other_tender="cash")

    assert body["due_other_tender"] == "50.00" and body["points_earned"] == 50
    assert body["balance"] == balance("200.00", "20.00")
    assert body["points"]["usable"] == 150
    assert member(client, member_id)["status"] == "frozen"


def test_a_zero_bill_is_refused(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, None)

    assert_problem(post_checkout(client, member_id, store_id, "0.00"), 422, "amount_not_positive")
    assert_problem(post_checkout(client, member_id, store_id, "12.345"), 422, "amount_invalid")
    assert_problem(post_checkout(client, member_id, store_id, 12.34), 422, "amount_invalid")


def test_a_checkout_at_an_unknown_store_or_for_an_unknown_member_is_refused(client: TestClient, store_id: str) -> None:
    member_id = _member_with(client, store_id, "200.00")

    assert_problem(post_checkout(client, member_id, "no-such-store", "50.00"), 404, "store_not_found")
    assert_problem(post_checkout(client, "nobody", store_id, "50.00"), 404, "member_not_found")
    assert member(client, member_id)["balance"]["total"] == "220.00"
