"""Money and points histories over HTTP: newest first, paged by a `before` cursor."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import API, assert_problem, checkout, points_history, recharge, refund, register, transactions

NOW = "2026-03-02T04:00:00Z"  # the pinned clock
# Earned in March 2026 (Shanghai): usable until the end of March 2027, i.e. until 2027-04-01 00:00 +08:00.
LOT_EXPIRES_AT = "2027-03-31T16:00:00Z"


def _money_line(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["kind"],
        entry["order_no"],
        entry["principal_change"],
        entry["bonus_change"],
        entry["principal_after"],
        entry["bonus_after"],
    )


def _points_line(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["type"], entry["points"], entry["order_no"])


def _recharge_checkout_partial_refund(client: TestClient, store_id: str) -> tuple[str, str, str, str]:
    """Recharge 500; a 100.00 bill with 100 points (94.00 paid, 112 earned); 47.00 of it refunded."""
    member_id = str(register(client)["id"])
    recharge_no = recharge(client, member_id, store_id, "500.00")["order_no"]
    checkout_no = checkout(client, member_id, store_id, "100.00", use_points=100)["order_no"]
    refund_no = refund(client, checkout_no, "47.00")["order_no"]
    return member_id, recharge_no, checkout_no, refund_no


def test_money_history_lists_changes_and_balances_after_newest_first(client: TestClient, store_id: str) -> None:
    # given
    member_id, recharge_no, checkout_no, refund_no = _recharge_checkout_partial_refund(client, store_id)

    # when
    page = transactions(client, member_id)

    # then 94.00 was paid as 81.03 + 12.97; half of it (40.52 / 6.48 of 81.03 / 12.97 remaining) came back
    assert [_money_line(e) for e in page["items"]] == [
        ("checkout_refund", refund_no, "40.52", "6.48", "459.49", "73.51"),
        ("checkout", checkout_no, "-81.03", "-12.97", "418.97", "67.03"),
        ("recharge", recharge_no, "500.00", "80.00", "500.00", "80.00"),
    ]
    assert page["next_before"] is None
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)
    assert all(e["store_id"] == store_id and e["created_at"] == NOW for e in page["items"])


def test_money_history_pages_with_the_before_cursor(client: TestClient, store_id: str) -> None:
    # given
    member_id, recharge_no, checkout_no, refund_no = _recharge_checkout_partial_refund(client, store_id)

    # when
    first = transactions(client, member_id, limit=2)
    second = transactions(client, member_id, limit=2, before=first["next_before"])

    # then
    assert [e["order_no"] for e in first["items"]] == [refund_no, checkout_no]
    assert first["next_before"] == first["items"][-1]["id"]
    assert [e["order_no"] for e in second["items"]] == [recharge_no]
    assert second["next_before"] is None


def test_money_history_pages_one_at_a_time_reach_every_entry_once(client: TestClient, store_id: str) -> None:
    member_id, recharge_no, checkout_no, refund_no = _recharge_checkout_partial_refund(client, store_id)

    seen: list[str] = []
    before = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 1} if before is None else {"limit": 1, "before": before}
        page = transactions(client, member_id, **params)
        seen += [e["order_no"] for e in page["items"]]
        before = page["next_before"]
        if before is None:
            break

    assert seen == [refund_no, checkout_no, recharge_no]


def test_points_history_shows_each_type_with_its_order(client: TestClient, store_id: str) -> None:
    # given
    member_id, recharge_no, checkout_no, refund_no = _recharge_checkout_partial_refund(client, store_id)

    # when
    page = points_history(client, member_id)

    # then the partial refund gave back floor(100 × 47 / 94) = 50 used points, took floor(112 / 2) = 56 earned
    lines = [_points_line(e) for e in page["items"]]
    assert sorted(lines[:2]) == sorted([("refund_restore", 50, refund_no), ("refund_reversal", -56, refund_no)])
    assert sorted(lines[2:4]) == sorted([("redeem", -100, checkout_no), ("purchase", 112, checkout_no)])
    assert lines[4:] == [("recharge_gift", 300, recharge_no)]
    assert page["next_before"] is None
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)
    for entry in page["items"]:
        assert entry["created_at"] == NOW and entry["store_id"] == store_id
        assert entry["expires_at"] == (LOT_EXPIRES_AT if entry["points"] > 0 else None)


def test_points_history_pages_by_transaction(client: TestClient, store_id: str) -> None:
    member_id, recharge_no, checkout_no, refund_no = _recharge_checkout_partial_refund(client, store_id)

    first = points_history(client, member_id, limit=1)
    second = points_history(client, member_id, limit=1, before=first["next_before"])
    third = points_history(client, member_id, limit=1, before=second["next_before"])

    assert {e["order_no"] for e in first["items"]} == {refund_no} and len(first["items"]) == 2
    assert {e["order_no"] for e in second["items"]} == {checkout_no} and len(second["items"]) == 2
    assert [e["order_no"] for e in third["items"]] == [recharge_no]
    assert third["next_before"] is None


def test_a_recharge_refund_shows_its_points_taken_back(client: TestClient, store_id: str) -> None:
    member_id = str(register(client)["id"])
    recharge_no = recharge(client, member_id, store_id, "500.00")["order_no"]
    refund_no = refund(client, recharge_no)["order_no"]

    money = transactions(client, member_id)["items"]
    points = points_history(client, member_id)["items"]

    assert [_money_line(e) for e in money] == [
        ("recharge_refund", refund_no, "-500.00", "-80.00", "0.00", "0.00"),
        ("recharge", recharge_no, "500.00", "80.00", "500.00", "80.00"),
    ]
    assert [_points_line(e) for e in points] == [
        ("refund_reversal", -300, refund_no),
        ("recharge_gift", 300, recharge_no),
    ]


def test_closing_a_card_shows_the_refund_and_the_forfeited_points(client: TestClient, store_id: str) -> None:
    # given 418.10 + 66.90 and 414 points after a 100.00 bill by a silver member
    member_id = str(register(client)["id"])
    recharge_no = recharge(client, member_id, store_id, "500.00")["order_no"]
    checkout_no = checkout(client, member_id, store_id, "100.00")["order_no"]

    # when
    closed = client.post(f"{API}/members/{member_id}/close").json()

    # then
    refund_no = closed["refunds"][0]["order_no"]
    assert [_money_line(e) for e in transactions(client, member_id)["items"]] == [
        ("recharge_refund", refund_no, "-418.10", "-66.90", "0.00", "0.00"),
        ("checkout", checkout_no, "-81.90", "-13.10", "418.10", "66.90"),
        ("recharge", recharge_no, "500.00", "80.00", "500.00", "80.00"),
    ]
    assert [_points_line(e) for e in points_history(client, member_id)["items"]] == [
        ("forfeit", -163, None),
        ("refund_reversal", -251, refund_no),
        ("purchase", 114, checkout_no),
        ("recharge_gift", 300, recharge_no),
    ]


def test_a_new_member_has_empty_histories(client: TestClient) -> None:
    member_id = register(client)["id"]

    assert transactions(client, member_id) == {"items": [], "next_before": None}
    assert points_history(client, member_id) == {"items": [], "next_before": None}


def test_histories_of_an_unknown_member_are_not_found(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/members/nobody/transactions"), 404, "member_not_found")
    assert_problem(client.get(f"{API}/members/nobody/points-history"), 404, "member_not_found")
