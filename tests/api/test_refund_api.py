"""Refunds and closing a card over HTTP.

A checkout refund goes back to the buckets it was paid from, in proportion to what remains of
each; points earned are taken back and points used given back on the cumulative refunded share
(rounded down, exact at the end). A recharge refund returns unspent principal only, forfeits the
bonus share (rounded up), takes its points back and drops the level it bought.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import (
    API,
    assert_problem,
    balance,
    checkout,
    member,
    points_history,
    points_of,
    post_checkout,
    post_recharge,
    post_refund,
    recharge,
    refund,
    register,
    snapshot,
)


def _silver_member_after_a_100_bill(client: TestClient, store_id: str) -> tuple[str, dict[str, Any]]:
    """Recharge 500 (+80, 300 points, silver), then a 100.00 bill: 95.00 paid as 81.90 + 13.10, 114 points."""
    member_id = str(register(client)["id"])
    recharge(client, member_id, store_id, "500.00")
    paid = checkout(client, member_id, store_id, "100.00")
    assert paid["paid_from_balance"] == balance("81.90", "13.10")
    assert paid["balance"] == balance("418.10", "66.90")
    assert paid["points"]["usable"] == 414
    return member_id, paid


# ---------------------------------------------------------------- checkout refunds


def test_a_whole_refund_puts_balance_and_points_back(client: TestClient, store_id: str) -> None:
    member_id, paid = _silver_member_after_a_100_bill(client, store_id)

    body = refund(client, paid["order_no"])

    assert body["order_no"].startswith("F") and body["original_order_no"] == paid["order_no"]
    assert body["kind"] == "checkout_refund"
    assert body["amount"] == "95.00"
    assert body["refunded_to_balance"] == balance("81.90", "13.10")
    assert body["paid_back"] == "0.00" and body["paid_back_method"] is None
    assert body["points_taken_back"] == 114 and body["points_restored"] == 0
    assert body["balance"] == balance("500.00", "80.00")
    assert body["points"] == points_of(300, 300)
    assert member(client, member_id)["cumulative"] == {"recharge": "500.00", "consume": "0.00"}


def test_two_partial_refunds_then_the_rest_end_where_a_whole_refund_would(client: TestClient, store_id: str) -> None:
    member_id, paid = _silver_member_after_a_100_bill(client, store_id)
    order_no = paid["order_no"]

    # 30.00 of 81.90 + 13.10: 25.86 / 4.14 (spare fen to bonus); points floor(114 × 30 / 95) = 36
    first = refund(client, order_no, "30.00")
    assert first["amount"] == "30.00"
    assert first["refunded_to_balance"] == balance("25.86", "4.14")
    assert first["points_taken_back"] == 36
    assert first["balance"] == balance("443.96", "71.04")
    assert first["points"]["usable"] == 378

    # 50.00 of 56.04 + 8.96: 43.11 / 6.89 (spare fen to principal); points floor(114 × 80 / 95) - 36 = 60
    second = refund(client, order_no, "50.00")
    assert second["refunded_to_balance"] == balance("43.11", "6.89")
    assert second["points_taken_back"] == 60
    assert second["balance"] == balance("487.07", "77.93")
    assert second["points"]["usable"] == 318

    # the rest: 15.00 as 12.93 / 2.07 and the last 18 points
    rest = refund(client, order_no)
    assert rest["amount"] == "15.00"
    assert rest["refunded_to_balance"] == balance("12.93", "2.07")
    assert rest["points_taken_back"] == 18
    assert rest["balance"] == balance("500.00", "80.00")
    assert rest["points"] == points_of(300, 300)
    assert member(client, member_id)["cumulative"]["consume"] == "0.00"


def test_a_refund_larger_than_what_remains_is_refused(client: TestClient, store_id: str) -> None:
    member_id, paid = _silver_member_after_a_100_bill(client, store_id)
    refund(client, paid["order_no"], "30.00")
    before = snapshot(client, member_id)

    response = post_refund(client, paid["order_no"], "65.01")

    body = assert_problem(response, 409, "refund_exceeds_remaining")
    assert body["remaining"] == "65.00"
    assert snapshot(client, member_id) == before
    assert refund(client, paid["order_no"], "65.00")["balance"] == balance("500.00", "80.00")


def test_refunding_again_after_a_whole_refund_is_refused(client: TestClient, store_id: str) -> None:
    member_id, paid = _silver_member_after_a_100_bill(client, store_id)
    refund(client, paid["order_no"])
    before = snapshot(client, member_id)

    assert_problem(post_refund(client, paid["order_no"]), 409, "nothing_to_refund")
    assert_problem(post_refund(client, paid["order_no"], "1.00"), 409, "nothing_to_refund")
    assert snapshot(client, member_id) == before


def test_a_zero_or_malformed_refund_amount_is_refused(client: TestClient, store_id: str) -> None:
    _member_id, paid = _silver_member_after_a_100_bill(client, store_id)

    assert_problem(post_refund(client, paid["order_no"], "0.00"), 422, "amount_not_positive")
    assert_problem(post_refund(client, paid["order_no"], "-1.00"), 422, "amount_invalid")
    assert_problem(post_refund(client, paid["order_no"], "1.001"), 422, "amount_invalid")


def test_an_unknown_order_is_not_found(client: TestClient, store_id: str) -> None:
    assert_problem(post_refund(client, "C01HZZZZZZZZZZZZZZZZZZZZZZZ"), 404, "order_not_found")
    assert_problem(post_refund(client, "R01HZZZZZZZZZZZZZZZZZZZZZZZ"), 404, "order_not_found")
    assert_problem(post_refund(client, "X123"), 404, "order_not_found")


def test_a_refund_order_cannot_itself_be_refunded(client: TestClient, store_id: str) -> None:
    _member_id, paid = _silver_member_after_a_100_bill(client, store_id)
    first = refund(client, paid["order_no"], "10.00")

    assert_problem(post_refund(client, first["order_no"]), 409, "order_not_refundable")


def test_refunding_a_checkout_that_used_points_gives_them_back(client: TestClient, store_id: str) -> None:
    # given a silver member who paid 94.00 and 100 points for a 100.00 bill, earning 112
    member_id = str(register(client)["id"])
    recharge(client, member_id, store_id, "500.00")
    paid = checkout(client, member_id, store_id, "100.00", use_points=100)
    assert paid["points"]["usable"] == 312

    # when
    body = refund(client, paid["order_no"])

    # then
    assert body["amount"] == "94.00"
    assert body["points_restored"] == 100 and body["points_taken_back"] == 112
    assert body["points"]["usable"] == 300
    assert body["balance"] == balance("500.00", "80.00")
    latest = points_history(client, member_id)["items"]
    by_type = {(e["type"], e["order_no"]): e["points"] for e in latest}
    assert by_type[("refund_restore", body["order_no"])] == 100
    assert by_type[("refund_reversal", body["order_no"])] == -112


def test_a_partial_refund_gives_back_the_share_of_points_used(client: TestClient, store_id: str) -> None:
    # given 94.00 paid with 100 points used and 112 earned (as above)
    member_id = str(register(client)["id"])
    recharge(client, member_id, store_id, "500.00")
    paid = checkout(client, member_id, store_id, "100.00", use_points=100)

    # when half the paid amount is refunded
    body = refund(client, paid["order_no"], "47.00")

    # then floor(100 × 47 / 94) = 50 back, floor(112 × 47 / 94) = 56 taken: 312 + 50 - 56 = 306
    assert body["points_restored"] == 50 and body["points_taken_back"] == 56
    assert body["points"]["usable"] == 306


def test_a_bill_paid_wholly_with_points_can_be_refunded_for_its_points(client: TestClient, store_id: str) -> None:
    member_id = str(register(client)["id"])
    recharge(client, member_id, store_id, "500.00")
    paid = checkout(client, member_id, store_id, "2.00", use_points=190)

    body = refund(client, paid["order_no"])

    assert body["amount"] == "0.00" and body["points_restored"] == 190
    assert body["points"]["usable"] == 300
    assert_problem(post_refund(client, paid["order_no"]), 409, "nothing_to_refund")


def test_refund_of_a_bill_partly_paid_by_other_tender_returns_that_part_to_it(
    client: TestClient, store_id: str
) -> None:
    # given 220.00 of balance against a 300.00 bill: 80.00 paid in cash
    member_id = str(register(client)["id"])
    recharge(client, member_id, store_id, "200.00")
    paid = checkout(client, member_id, store_id, "300.00", other_tender="cash")

    body = refund(client, paid["order_no"])

    assert body["refunded_to_balance"] == balance("200.00", "20.00")
    assert body["paid_back"] == "80.00" and body["paid_back_method"] == "cash"
    assert body["points_taken_back"] == 300
    assert body["balance"] == balance("200.00", "20.00") and body["points"]["usable"] == 100


# ---------------------------------------------------------------- recharge refunds


def test_refunding_an_untouched_recharge_returns_it_and_drops_the_level(client: TestClient, store_id: str) -> None:
    # given
    member_id = str(register(client)["id"])
    recharged = recharge(client, member_id, store_id, "500.00")
    assert recharged["level"]["code"] == "silver"

    # when
    body = refund(client, recharged["order_no"])

    # then
    assert body["kind"] == "recharge_refund" and body["original_order_no"] == recharged["order_no"]
    assert body["amount"] == "500.00"
    assert body["bonus_forfeited"] == "80.00"
    assert body["points_taken_back"] == 300
    assert body["balance"] == balance("0.00", "0.00")
    assert body["points"] == points_of(0, 0)
    assert body["level"]["code"] == "normal"
    shown = member(client, member_id)
    assert shown["level"]["code"] == "normal" and shown["points"]["usable"] == 0
    assert shown["cumulative"]["recharge"] == "0.00"


def test_refunding_a_recharge_returns_only_unspent_principal(client: TestClient, store_id: str) -> None:
    # given 418.10 principal and 66.90 bonus left after a 95.00 bill, 414 points
    member_id, _paid = _silver_member_after_a_100_bill(client, store_id)
    recharge_no = next(
        e["order_no"] for e in points_history(client, member_id)["items"] if e["type"] == "recharge_gift"
    )

    # when
    body = refund(client, recharge_no)

    # then bonus ceil(80 × 418.10 / 500) = 66.90 and points ceil(300 × 418.10 / 500) = 251 go with it
    assert body["amount"] == "418.10"
    assert body["bonus_forfeited"] == "66.90"
    assert body["points_taken_back"] == 251
    assert body["balance"] == balance("0.00", "0.00")
    assert body["points"]["usable"] == 163
    assert body["level"]["code"] == "normal"
    assert_problem(post_refund(client, recharge_no), 409, "nothing_to_refund")


def test_a_partial_recharge_refund_forfeits_its_share_of_bonus_and_points(client: TestClient, store_id: str) -> None:
    member_id = str(register(client)["id"])
    recharged = recharge(client, member_id, store_id, "500.00")

    # 100 of 500: a fifth of the 80.00 bonus and of the 300 points
    body = refund(client, recharged["order_no"], "100.00")

    assert body["amount"] == "100.00" and body["bonus_forfeited"] == "16.00" and body["points_taken_back"] == 60
    assert body["balance"] == balance("400.00", "64.00")
    assert body["points"]["usable"] == 240
    assert body["level"]["code"] == "normal"
    assert_problem(post_refund(client, recharged["order_no"], "400.01"), 409, "refund_exceeds_remaining")


def test_a_recharge_refund_reports_the_principal_taken_out_of_the_balance(client: TestClient, store_id: str) -> None:
    # the principal and the forfeited bonus leave the card; the principal is paid back by WeChat
    member_id = str(register(client)["id"])
    recharged = recharge(client, member_id, store_id, "500.00", "wechat")

    body = refund(client, recharged["order_no"])

    assert body["taken_from_balance"] == balance("500.00", "80.00")
    assert body["refunded_to_balance"] == balance("0.00", "0.00")
    assert body["paid_back"] == "500.00" and body["paid_back_method"] == "wechat"
    assert body["balance"] == balance("0.00", "0.00")


def test_a_refund_is_allowed_on_a_frozen_card(client: TestClient, store_id: str) -> None:
    member_id, paid = _silver_member_after_a_100_bill(client, store_id)
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200

    body = refund(client, paid["order_no"])

    assert body["balance"] == balance("500.00", "80.00")
    assert member(client, member_id)["status"] == "frozen"


# ---------------------------------------------------------------- closing a card


def test_closing_a_card_returns_principal_and_forfeits_bonus_and_points(client: TestClient, store_id: str) -> None:
    # given 418.10 principal, 66.90 bonus and 414 points
    member_id, _paid = _silver_member_after_a_100_bill(client, store_id)

    # when
    response = client.post(f"{API}/members/{member_id}/close", json={"reason": "moving away"})

    # then the recharge refund takes 66.90 bonus and 251 points; the other 163 points are forfeited
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "closed"
    assert body["principal_returned"] == "418.10"
    assert body["bonus_forfeited"] == "66.90"
    assert body["points_forfeited"] == 163
    assert [r["kind"] for r in body["refunds"]] == ["recharge_refund"]
    assert body["balance"] == balance("0.00", "0.00")
    assert body["points"]["usable"] == 0
    shown = member(client, member_id)
    assert shown["status"] == "closed" and shown["balance"]["total"] == "0.00" and shown["points"]["usable"] == 0


def test_closing_a_card_without_a_body_or_balance_works(client: TestClient) -> None:
    member_id = register(client)["id"]

    response = client.post(f"{API}/members/{member_id}/close")

    assert response.status_code == 200, response.text
    assert response.json()["principal_returned"] == "0.00" and response.json()["refunds"] == []


def test_a_closed_card_refuses_everything_that_changes_it(client: TestClient, store_id: str) -> None:
    # given
    member_id, paid = _silver_member_after_a_100_bill(client, store_id)
    assert client.post(f"{API}/members/{member_id}/close").status_code == 200
    before = snapshot(client, member_id)

    # when / then
    assert_problem(post_recharge(client, member_id, store_id, "500.00"), 409, "member_closed")
    assert_problem(post_checkout(client, member_id, store_id, "10.00"), 409, "member_closed")
    assert_problem(post_checkout(client, member_id, store_id, "10.00", pay_with_balance=False), 409, "member_closed")
    assert_problem(post_refund(client, paid["order_no"]), 409, "member_closed")
    assert_problem(client.post(f"{API}/members/{member_id}/close"), 409, "member_closed")
    assert_problem(client.post(f"{API}/members/{member_id}/freeze"), 409, "member_closed")
    assert_problem(client.patch(f"{API}/members/{member_id}", json={"name": "x"}), 409, "member_closed")
    assert snapshot(client, member_id) == before


def _points_spent_then_recharge_refunded(client: TestClient, store_id: str) -> tuple[str, str]:
    """Recharge 500 (300 points); spend all 300 on a 10.00 bill (9.50 - 3.00 = 6.50 paid, 7 earned);
    refund the recharge: 297 points go back, 7 from the lot and 290 as a debt (owed 290)."""
    member_id = str(register(client)["id"])
    recharge_no = recharge(client, member_id, store_id, "500.00")["order_no"]
    paid = checkout(client, member_id, store_id, "10.00", use_points=300)
    assert paid["payable"] == "6.50" and paid["points"]["usable"] == 7
    refunded = refund(client, recharge_no)
    assert refunded["amount"] == "494.40" and refunded["points_taken_back"] == 297
    assert refunded["points"] == points_of(0, 10, owed=290)
    return member_id, paid["order_no"]


def test_closing_a_card_reports_as_forfeited_only_points_the_member_could_use(
    client: TestClient, store_id: str
) -> None:
    # given the checkout refunded too: 300 used points restored, 7 earned taken back → usable 3, 5.60 + 0.90 back
    member_id, checkout_no = _points_spent_then_recharge_refunded(client, store_id)
    back = refund(client, checkout_no)
    assert back["points"]["usable"] == 3 and back["balance"] == balance("5.60", "0.90")

    # when the card is closed: refunding the last 5.60 of the recharge takes its last 3 points back
    body = client.post(f"{API}/members/{member_id}/close").json()

    # then nothing usable was left to forfeit, and the points history shows no forfeit
    assert body["principal_returned"] == "5.60" and body["bonus_forfeited"] == "0.90"
    assert body["points"]["usable"] == 0
    assert [e for e in points_history(client, member_id)["items"] if e["type"] == "forfeit"] == []
    assert body["points_forfeited"] == 0


def test_closing_a_card_with_a_points_debt_never_shows_a_forfeit_that_gives_points(
    client: TestClient, store_id: str
) -> None:
    # given a points debt of 290 and an empty balance
    member_id, _checkout_no = _points_spent_then_recharge_refunded(client, store_id)

    # when
    body = client.post(f"{API}/members/{member_id}/close").json()

    # then
    assert body["status"] == "closed" and body["points_forfeited"] == 0 and body["points"]["usable"] == 0
    forfeits = [e for e in points_history(client, member_id)["items"] if e["type"] == "forfeit"]
    assert all(e["points"] < 0 for e in forfeits), forfeits


def test_a_member_with_a_points_debt_can_still_pay_a_bill_without_points(client: TestClient, store_id: str) -> None:
    # given 290 points owed (and an empty balance)
    member_id, _checkout_no = _points_spent_then_recharge_refunded(client, store_id)

    # when a 10.00 bill is paid in cash, using no points
    response = post_checkout(client, member_id, store_id, "10.00", pay_with_balance=False, other_tender="cash")

    # then it goes through and its 10 points repay part of the debt
    assert response.status_code == 201, response.text
    assert response.json()["points_earned"] == 10
    assert response.json()["points"] == points_of(0, 20, owed=280)


def test_a_member_with_a_points_debt_cannot_spend_points(client: TestClient, store_id: str) -> None:
    member_id, _checkout_no = _points_spent_then_recharge_refunded(client, store_id)

    response = post_checkout(client, member_id, store_id, "10.00", pay_with_balance=False, use_points=1)

    body = assert_problem(response, 409, "insufficient_points")
    assert body["usable"] == 0
