"""Stamp cards over HTTP (集杯卡, R-CPN-5): buy 10, get 1, alongside points.

The menu here: T01 奶茶 18.00 and T02 果茶 22.00 (饮品), F01 烤鱼 68.00 (热菜). The card TEA10 stamps
every T01 bought; ten stamps turn into a FREE_TEA dish voucher for one T01. The member pays by
other tender (no balance), a normal member: payable = the bill.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from dinecard.stamps.models import StampEntry
from tests.api.helpers import API, assert_problem, open_store, refund, register
from tests.conftest import make_token

CARDS = f"{API}/stamp-cards"
CARD_NAME = "集杯卡：买10送1"


# ---------------------------------------------------------------- helpers


@pytest.fixture
def menu(client: TestClient) -> None:
    for dish_id, name, category, price in [
        ("T01", "奶茶", "饮品", "18.00"),
        ("T02", "果茶", "饮品", "22.00"),
        ("F01", "烤鱼", "热菜", "68.00"),
    ]:
        response = client.post(
            f"{API}/dishes", json={"id": dish_id, "name": name, "category": category, "price": price}
        )
        assert response.status_code == 201, response.text
    add_template(client, "FREE_TEA", kind="dish", dish_ids=["T01"])


def add_template(client: TestClient, code: str, **rules: Any) -> dict[str, Any]:
    body = {"code": code, "name": f"券 {code}", "validity": {"days": 30}, **rules}
    response = client.post(f"{API}/coupon-templates", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def card_body(card_id: str = "TEA10", **fields: Any) -> dict[str, Any]:
    return {
        "id": card_id,
        "name": CARD_NAME,
        "dish_ids": ["T01"],
        "stamps_needed": 10,
        "reward_template_code": "FREE_TEA",
        **fields,
    }


def card_fields(**fields: Any) -> dict[str, Any]:
    """A card body for PUT (no id)."""
    return {k: v for k, v in card_body(**fields).items() if k != "id"}


def add_card(client: TestClient, card_id: str = "TEA10", **fields: Any) -> dict[str, Any]:
    response = client.post(CARDS, json=card_body(card_id, **fields))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def post_buy(
    client: TestClient, member_id: str, store_id: str, *lines: tuple[str, int], coupons: list[str] | None = None
) -> Any:
    body: dict[str, Any] = {"store_id": store_id, "items": [{"dish_id": d, "quantity": q} for d, q in lines]}
    if coupons:
        body["coupon_codes"] = coupons
    return client.post(f"{API}/members/{member_id}/checkouts", json=body)


def buy(
    client: TestClient, member_id: str, store_id: str, *lines: tuple[str, int], coupons: list[str] | None = None
) -> dict[str, Any]:
    response = post_buy(client, member_id, store_id, *lines, coupons=coupons)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def stamps_of(client: TestClient, member_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/members/{member_id}/stamps")
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def card_state(client: TestClient, member_id: str, card_id: str = "TEA10") -> tuple[int, int]:
    """(stamps, cards completed) on one card."""
    rows = [row for row in stamps_of(client, member_id) if row["card_id"] == card_id]
    assert len(rows) == 1, rows
    return rows[0]["stamps"], rows[0]["cards_completed"]


def coupon(client: TestClient, code: str) -> dict[str, Any]:
    response = client.get(f"{API}/coupons/{code}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def earned(body: dict[str, Any]) -> list[tuple[str, int, int, list[str]]]:
    """The checkout's stamps as (card, earned, stamps after, reward coupons)."""
    return sorted((s["card_id"], s["earned"], s["stamps"], s["reward_coupons"]) for s in body["stamps"])


def entries(container: Container, member_id: str) -> list[tuple[str, int, str]]:
    with container.database.read() as session:
        rows = session.execute(
            select(StampEntry.card_id, StampEntry.delta, StampEntry.reason)
            .where(StampEntry.member_id == member_id)
            .order_by(StampEntry.id)
        ).all()
    return [(card, delta, reason) for card, delta, reason in rows]


# ---------------------------------------------------------------- setting cards up


def test_hq_creates_and_changes_a_stamp_card_and_every_till_reads_it(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    created = add_card(client, stores=[store_id])
    expected = {
        "id": "TEA10",
        "name": CARD_NAME,
        "name_en": None,
        "dish_ids": ["T01"],
        "categories": None,
        "stamps_needed": 10,
        "reward_template_code": "FREE_TEA",
        "stores": [store_id],
        "starts_at": None,
        "ends_at": None,
        "active": True,
    }
    assert created == expected
    assert client.get(CARDS).json() == [expected]

    changed = client.put(
        f"{CARDS}/TEA10",
        json={"name": "集杯卡：买8送1", "categories": ["饮品"], "stamps_needed": 8, "reward_template_code": "FREE_TEA"},
    )
    assert changed.status_code == 200, changed.text
    expected_after = {
        **expected,
        "name": "集杯卡：买8送1",
        "dish_ids": None,
        "categories": ["饮品"],
        "stamps_needed": 8,
        "stores": None,
    }
    assert changed.json() == expected_after

    cashier = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, store_id)}"}
    assert client.get(CARDS, headers=cashier).json() == [expected_after]
    assert_problem(client.post(CARDS, json=card_body("TEA8"), headers=cashier), 403, "forbidden")
    assert_problem(client.put(f"{CARDS}/TEA10", json=card_fields(), headers=cashier), 403, "forbidden")
    assert client.get(CARDS).json() == [expected_after]


def test_a_card_window_is_read_back_in_utc(client: TestClient, menu: None) -> None:
    add_card(client, starts_at="2026-03-01T00:00:00+08:00", ends_at="2026-04-01T00:00:00+08:00")

    [card] = client.get(CARDS).json()

    assert (card["starts_at"], card["ends_at"]) == ("2026-02-28T16:00:00Z", "2026-03-31T16:00:00Z")


def test_creating_or_changing_a_card_answers_its_window_in_utc(client: TestClient, menu: None) -> None:
    window = {"starts_at": "2026-03-01T00:00:00+08:00", "ends_at": "2026-04-01T00:00:00+08:00"}
    utc = ("2026-02-28T16:00:00Z", "2026-03-31T16:00:00Z")

    created = add_card(client, **window)
    changed = client.put(f"{CARDS}/TEA10", json=card_fields(**window)).json()

    assert (created["starts_at"], created["ends_at"]) == utc
    assert (changed["starts_at"], changed["ends_at"]) == utc


def test_a_stamp_card_rewards_only_a_dish_voucher(client: TestClient, menu: None) -> None:
    add_template(client, "CASH10", kind="cash", value="10")

    problem = assert_problem(
        client.post(CARDS, json=card_body(reward_template_code="CASH10")), 422, "validation_failed"
    )
    assert problem["errors"][0]["loc"] == ["body", "reward_template_code"]
    unknown = assert_problem(
        client.post(CARDS, json=card_body(reward_template_code="NOPE")), 404, "coupon_template_not_found"
    )
    assert unknown["template_code"] == "NOPE"
    assert client.get(CARDS).json() == []

    # a card in use cannot be switched to a cash reward either
    add_card(client)
    body = card_fields(reward_template_code="CASH10")
    assert_problem(client.put(f"{CARDS}/TEA10", json=body), 422, "validation_failed")
    assert [card["reward_template_code"] for card in client.get(CARDS).json()] == ["FREE_TEA"]


def test_a_stamp_card_needs_something_that_earns_stamps_and_a_free_id(client: TestClient, menu: None) -> None:
    assert_problem(client.post(CARDS, json=card_body(dish_ids=None)), 422, "validation_failed")
    assert_problem(client.post(CARDS, json=card_body(dish_ids=[], categories=[])), 422, "validation_failed")
    assert_problem(client.post(CARDS, json=card_body(stamps_needed=0)), 422, "validation_failed")
    assert_problem(client.post(CARDS, json=card_body(starts_at="2026-03-01T00:00:00")), 422, "validation_failed")
    add_card(client)
    assert assert_problem(client.post(CARDS, json=card_body()), 409, "stamp_card_taken")["card_id"] == "TEA10"
    body = card_fields()
    assert assert_problem(client.put(f"{CARDS}/NOPE", json=body), 404, "stamp_card_not_found")["card_id"] == "NOPE"
    assert [card["id"] for card in client.get(CARDS).json()] == ["TEA10"]


def test_the_stamps_of_an_unknown_member_are_not_found(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/members/01NOSUCHMEMBER0000000000000/stamps"), 404, "member_not_found")


# ---------------------------------------------------------------- earning


def test_the_tenth_cup_completes_the_card_and_its_voucher_pays_for_a_later_cup(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    assert stamps_of(client, member_id) == []

    # three, four and two cups: 9 stamps
    assert earned(buy(client, member_id, store_id, ("T01", 3))) == [("TEA10", 3, 3, [])]
    assert earned(buy(client, member_id, store_id, ("T01", 4), ("F01", 1))) == [("TEA10", 4, 7, [])]
    assert earned(buy(client, member_id, store_id, ("T01", 2))) == [("TEA10", 2, 9, [])]
    assert stamps_of(client, member_id) == [
        {"card_id": "TEA10", "card_name": CARD_NAME, "stamps": 9, "stamps_needed": 10, "cards_completed": 0}
    ]

    # when the tenth cup is bought
    tenth = buy(client, member_id, store_id, ("T01", 1))

    # then the card is full: it turns into one voucher and starts again at 0
    assert tenth["stamps"] == [
        {
            "card_id": "TEA10",
            "card_name": CARD_NAME,
            "earned": 1,
            "stamps": 0,
            "stamps_needed": 10,
            "reward_coupons": tenth["stamps"][0]["reward_coupons"],
        }
    ]
    [code] = tenth["stamps"][0]["reward_coupons"]
    assert tenth["payable"] == "18.00"  # the tenth cup itself is paid for
    voucher = coupon(client, code)
    assert (voucher["template_code"], voucher["kind"], voucher["dish_ids"], voucher["status"]) == (
        "FREE_TEA",
        "dish",
        ["T01"],
        "usable",
    )
    assert (voucher["source"], voucher["source_ref"], voucher["member_id"]) == (
        "stamp_card",
        tenth["order_no"],
        member_id,
    )
    assert stamps_of(client, member_id) == [
        {"card_id": "TEA10", "card_name": CARD_NAME, "stamps": 0, "stamps_needed": 10, "cards_completed": 1}
    ]

    # when the voucher pays for one of two cups at a later checkout
    later = buy(client, member_id, store_id, ("T01", 2), coupons=[code])

    # then that cup is free (36 → 18) and earns no stamp; the paid cup earns one
    assert (later["bill_total"], later["coupon_discount"], later["payable"]) == ("36.00", "18.00", "18.00")
    assert later["coupons"] == [
        {"code": code, "template_code": "FREE_TEA", "kind": "dish", "amount": "18.00", "dish_id": "T01"}
    ]
    assert earned(later) == [("TEA10", 1, 1, [])]
    assert later["points_earned"] == 18
    assert coupon(client, code)["status"] == "used"
    assert card_state(client, member_id) == (1, 1)


def test_a_cup_paid_wholly_by_the_voucher_earns_no_stamp(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client, stamps_needed=2)
    member_id = register(client)["id"]
    [code] = buy(client, member_id, store_id, ("T01", 2))["stamps"][0]["reward_coupons"]

    body = buy(client, member_id, store_id, ("T01", 1), ("F01", 1), coupons=[code])

    assert (body["bill_total"], body["payable"]) == ("86.00", "68.00")
    assert body["stamps"] == []
    assert card_state(client, member_id) == (0, 1)


def test_one_checkout_can_fill_the_card_twice(client: TestClient, store_id: str, menu: None) -> None:
    add_card(client)
    member_id = register(client)["id"]
    buy(client, member_id, store_id, ("T01", 9))

    # 9 + 12 = 21: two full cards and 1 stamp left
    body = buy(client, member_id, store_id, ("T01", 12))

    [stamps] = body["stamps"]
    assert (stamps["earned"], stamps["stamps"], len(stamps["reward_coupons"])) == (12, 1, 2)
    assert len(set(stamps["reward_coupons"])) == 2
    assert all(coupon(client, code)["status"] == "usable" for code in stamps["reward_coupons"])
    assert card_state(client, member_id) == (1, 2)


def test_a_card_by_category_stamps_every_dish_of_that_category(client: TestClient, store_id: str, menu: None) -> None:
    add_card(client, "DRINKS5", dish_ids=None, categories=["饮品"], stamps_needed=5)
    member_id = register(client)["id"]

    body = buy(client, member_id, store_id, ("T01", 2), ("T02", 1), ("F01", 3))

    assert earned(body) == [("DRINKS5", 3, 3, [])]
    assert card_state(client, member_id, "DRINKS5") == (3, 0)


def test_dishes_and_lines_that_do_not_qualify_earn_nothing(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]

    # a dish the card does not list, and a free-text line that happens to be called 奶茶
    response = client.post(
        f"{API}/members/{member_id}/checkouts",
        json={
            "store_id": store_id,
            "items": [{"dish_id": "T02", "quantity": 3}, {"name": "奶茶", "quantity": 2, "price": "18.00"}],
        },
    )

    assert response.status_code == 201, response.text
    assert response.json()["stamps"] == []
    assert stamps_of(client, member_id) == []
    assert entries(container, member_id) == []


def test_a_card_earns_only_at_its_stores(client: TestClient, container: Container, store_id: str, menu: None) -> None:
    other_store = open_store(client, "S002", "徐家汇店")
    add_card(client, stores=[other_store])
    member_id = register(client)["id"]

    assert buy(client, member_id, store_id, ("T01", 3))["stamps"] == []
    assert earned(buy(client, member_id, other_store, ("T01", 2))) == [("TEA10", 2, 2, [])]
    assert card_state(client, member_id) == (2, 0)


def test_a_card_earns_only_inside_its_window(client: TestClient, clock: FixedClock, store_id: str, menu: None) -> None:
    # the card runs from 2026-03-03 00:00 to 2026-03-04 00:00 (Shanghai); now is 2026-03-02 12:00
    add_card(client, starts_at="2026-03-03T00:00:00+08:00", ends_at="2026-03-04T00:00:00+08:00")
    member_id = register(client)["id"]

    assert buy(client, member_id, store_id, ("T01", 1))["stamps"] == []

    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # the first instant of the window
    assert earned(buy(client, member_id, store_id, ("T01", 2))) == [("TEA10", 2, 2, [])]

    clock.set(datetime(2026, 3, 3, 16, 0, tzinfo=UTC) - timedelta(microseconds=1))
    assert earned(buy(client, member_id, store_id, ("T01", 1))) == [("TEA10", 1, 3, [])]

    clock.set(datetime(2026, 3, 3, 16, 0, tzinfo=UTC))  # ends_at is exclusive
    assert buy(client, member_id, store_id, ("T01", 4))["stamps"] == []
    assert card_state(client, member_id) == (3, 0)


def test_a_card_switched_off_earns_nothing_and_keeps_the_stamps(client: TestClient, store_id: str, menu: None) -> None:
    add_card(client)
    member_id = register(client)["id"]
    buy(client, member_id, store_id, ("T01", 4))

    body = card_fields(active=False)
    assert client.put(f"{CARDS}/TEA10", json=body).status_code == 200

    assert buy(client, member_id, store_id, ("T01", 6))["stamps"] == []
    assert card_state(client, member_id) == (4, 0)


def test_two_cards_stamp_the_same_cup_each(client: TestClient, store_id: str, menu: None) -> None:
    add_card(client)
    add_card(client, "DRINKS5", dish_ids=None, categories=["饮品"], stamps_needed=5)
    member_id = register(client)["id"]

    body = buy(client, member_id, store_id, ("T01", 5))

    completed = earned(body)
    assert [(card, n, left) for card, n, left, _ in completed] == [("DRINKS5", 5, 0), ("TEA10", 5, 5)]
    assert len(completed[0][3]) == 1 and completed[1][3] == []
    assert [(row["card_id"], row["stamps"], row["cards_completed"]) for row in stamps_of(client, member_id)] == [
        ("DRINKS5", 0, 1),
        ("TEA10", 5, 0),
    ]


# ---------------------------------------------------------------- refunds


def test_a_whole_refund_takes_back_the_stamps_the_bill_earned(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    buy(client, member_id, store_id, ("T01", 2))
    order = buy(client, member_id, store_id, ("T01", 4), ("F01", 1))
    assert card_state(client, member_id) == (6, 0)

    refund(client, order["order_no"])

    assert card_state(client, member_id) == (2, 0)
    assert entries(container, member_id) == [
        ("TEA10", 2, "purchase"),
        ("TEA10", 4, "purchase"),
        ("TEA10", -4, "refund"),
    ]


def test_two_half_refunds_take_back_what_one_whole_refund_would(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    order = buy(client, member_id, store_id, ("T01", 4))  # 72.00, 4 stamps

    refund(client, order["order_no"], "36.00")
    assert card_state(client, member_id) == (2, 0)

    refund(client, order["order_no"], "36.00")
    assert card_state(client, member_id) == (0, 0)
    assert [delta for _, delta, _ in entries(container, member_id)] == [4, -2, -2]


def test_partial_refunds_take_back_the_share_rounded_down_and_the_rest_at_the_end(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    order = buy(client, member_id, store_id, ("T01", 3), ("F01", 1))  # 122.00, 3 stamps

    # 50 of 122: floor(3 × 50 / 122) = 1
    refund(client, order["order_no"], "50.00")
    assert card_state(client, member_id) == (2, 0)
    # 60 of 122: floor(3 × 60 / 122) = 1, nothing more
    refund(client, order["order_no"], "10.00")
    assert card_state(client, member_id) == (2, 0)
    # 100 of 122: floor(3 × 100 / 122) = 2
    refund(client, order["order_no"], "40.00")
    assert card_state(client, member_id) == (1, 0)
    # the rest: all 3
    refund(client, order["order_no"])
    assert card_state(client, member_id) == (0, 0)
    assert [delta for _, delta, _ in entries(container, member_id)] == [3, -1, -1, -1]


def test_a_refund_after_the_card_completed_voids_the_unused_voucher_and_gives_the_stamps_back(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    first = buy(client, member_id, store_id, ("T01", 9))
    [code] = buy(client, member_id, store_id, ("T01", 1))["stamps"][0]["reward_coupons"]
    assert card_state(client, member_id) == (0, 1)

    # when the nine cups are refunded: 0 − 9 = −9, the unused voucher goes back into 10 stamps
    refund(client, first["order_no"])

    # then one cup remains bought, one stamp on the card, no voucher
    assert card_state(client, member_id) == (1, 0)
    voided = coupon(client, code)
    assert voided["status"] == "voided"
    assert_problem(post_buy(client, member_id, store_id, ("T01", 1), coupons=[code]), 409, "coupon_voided")
    assert entries(container, member_id) == [
        ("TEA10", 9, "purchase"),
        ("TEA10", 1, "purchase"),
        ("TEA10", -10, "completed"),
        ("TEA10", -9, "refund"),
        ("TEA10", 10, "voucher_voided"),
    ]

    # and the next nine cups complete the card again
    again = buy(client, member_id, store_id, ("T01", 9))
    assert earned(again)[0][:3] == ("TEA10", 9, 0)
    assert len(earned(again)[0][3]) == 1


def test_a_refund_of_the_completing_bill_voids_the_voucher(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    buy(client, member_id, store_id, ("T01", 9))
    tenth = buy(client, member_id, store_id, ("T01", 1))
    [code] = tenth["stamps"][0]["reward_coupons"]

    refund(client, tenth["order_no"])

    assert card_state(client, member_id) == (9, 0)
    assert coupon(client, code)["status"] == "voided"


def test_with_the_voucher_already_used_the_card_owes_stamps_until_the_next_purchases(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    first = buy(client, member_id, store_id, ("T01", 9))
    [code] = buy(client, member_id, store_id, ("T01", 1))["stamps"][0]["reward_coupons"]
    buy(client, member_id, store_id, ("T01", 1), ("F01", 1), coupons=[code])  # the free cup
    assert card_state(client, member_id) == (0, 1)

    # when the nine cups are refunded: the voucher is spent, so the card owes 9
    refund(client, first["order_no"])

    assert card_state(client, member_id) == (-9, 1)
    assert coupon(client, code)["status"] == "used"

    # then the next cups first make up what is owed: 5 → −4, then 12 → 8, no voucher
    assert earned(buy(client, member_id, store_id, ("T01", 5))) == [("TEA10", 5, -4, [])]
    assert earned(buy(client, member_id, store_id, ("T01", 12))) == [("TEA10", 12, 8, [])]
    # and two more fill the card
    last = buy(client, member_id, store_id, ("T01", 2))
    assert earned(last)[0][:3] == ("TEA10", 2, 0)
    assert len(earned(last)[0][3]) == 1
    assert card_state(client, member_id) == (0, 2)


def test_refunds_of_a_bill_that_earned_nothing_leave_the_card_alone(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client)
    member_id = register(client)["id"]
    buy(client, member_id, store_id, ("T01", 3))
    other = buy(client, member_id, store_id, ("F01", 1))

    refund(client, other["order_no"])

    assert card_state(client, member_id) == (3, 0)
    assert [reason for _, _, reason in entries(container, member_id)] == ["purchase"]


def test_a_full_card_whose_voucher_cannot_be_issued_keeps_its_stamps(
    client: TestClient, store_id: str, menu: None
) -> None:
    add_template(client, "ONE_TEA", kind="dish", dish_ids=["T01"], stock=0)
    add_card(client, stamps_needed=3, reward_template_code="ONE_TEA")
    member_id = register(client)["id"]

    body = buy(client, member_id, store_id, ("T01", 3))

    # no voucher could be issued (stock 0): the member must not lose the three stamps they paid for
    assert body["stamps"][0]["reward_coupons"] == []
    assert card_state(client, member_id) == (3, 0)


def test_a_whole_refund_of_the_bill_the_voucher_paid_gives_the_voucher_back(
    client: TestClient, container: Container, store_id: str, menu: None
) -> None:
    add_card(client, stamps_needed=2)
    member_id = register(client)["id"]
    [code] = buy(client, member_id, store_id, ("T01", 2))["stamps"][0]["reward_coupons"]
    used = buy(client, member_id, store_id, ("T01", 2), coupons=[code])  # 36 − 18: one stamp
    assert earned(used) == [("TEA10", 1, 1, [])]

    body = refund(client, used["order_no"])

    assert body["coupons_restored"] == [code]
    assert coupon(client, code)["status"] == "usable"
    assert card_state(client, member_id) == (0, 1)
