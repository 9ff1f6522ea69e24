"""The menu over HTTP (R-PER-3): HQ keeps the dishes, every till reads them, and a checkout line
naming a dish takes its name and price from the menu — if this member may order it at this store.

Default programme: normal 100 % ×1 (1 point a yuan, rounded down), gold 90 % ×1.5.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from dinecard.wallet.models import Checkout
from tests.api.helpers import API, assert_problem, open_store, recharge, register, snapshot
from tests.conftest import make_token

DISHES = f"{API}/dishes"


# ---------------------------------------------------------------- helpers


def add_dish(client: TestClient, dish_id: str, **fields: Any) -> dict[str, Any]:
    body = {"id": dish_id, "name": "招牌烤鱼", "category": "热菜", "price": "68.00", **fields}
    response = client.post(DISHES, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def post_bill(client: TestClient, member_id: str, store_id: str, items: list[dict[str, Any]], **more: Any) -> Any:
    """A checkout whose body carries only what is given (no bill_total unless passed)."""
    return client.post(f"{API}/members/{member_id}/checkouts", json={"store_id": store_id, "items": items, **more})


def stored_items(container: Container, order_no: str) -> list[dict[str, Any]] | None:
    with container.database.read() as session:
        row = session.execute(select(Checkout).where(Checkout.order_no == order_no)).scalar_one()
        items: list[dict[str, Any]] | None = row.items
        return items


def checkout_count(container: Container, member_id: str) -> int:
    with container.database.read() as session:
        count: int = session.execute(
            select(func.count()).select_from(Checkout).where(Checkout.member_id == member_id)
        ).scalar_one()
        return count


def with_role(client: TestClient, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- HQ keeps the menu


def test_hq_adds_a_dish_and_reads_it_back(client: TestClient, clock: FixedClock) -> None:
    # when
    created = add_dish(
        client,
        "D001",
        name="招牌烤鱼",
        name_en="Grilled fish",
        category="热菜",
        price="68.50",
        exclusive_levels=["gold", "diamond"],
    )

    # then
    expected = {
        "id": "D001",
        "name": "招牌烤鱼",
        "name_en": "Grilled fish",
        "category": "热菜",
        "price": "68.50",
        "stores": None,
        "exclusive_levels": ["diamond", "gold"],
        "active": True,
        "updated_at": "2026-03-02T04:00:00Z",
    }
    assert created == expected
    assert client.get(f"{DISHES}/D001").json() == expected
    assert client.get(DISHES).json() == [expected]


def test_hq_changes_a_dish_price_stores_and_switches_it_off(
    client: TestClient, clock: FixedClock, store_id: str
) -> None:
    add_dish(client, "D001", price="68.00")
    clock.advance(timedelta(minutes=5))

    # when
    response = client.put(
        f"{DISHES}/D001",
        json={"name": "招牌烤鱼（大）", "category": "热菜", "price": "78.00", "stores": [store_id], "active": False},
    )

    # then
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed == {
        "id": "D001",
        "name": "招牌烤鱼（大）",
        "name_en": None,
        "category": "热菜",
        "price": "78.00",
        "stores": [store_id],
        "exclusive_levels": None,
        "active": False,
        "updated_at": "2026-03-02T04:05:00Z",
    }
    assert client.get(f"{DISHES}/D001").json() == changed


def test_a_dish_id_is_taken_once(client: TestClient) -> None:
    add_dish(client, "D001", price="68.00")

    body = assert_problem(
        client.post(DISHES, json={"id": "D001", "name": "别的菜", "category": "热菜", "price": "1.00"}),
        409,
        "dish_id_taken",
    )

    assert body["dish_id"] == "D001"
    assert client.get(f"{DISHES}/D001").json()["price"] == "68.00"
    assert [dish["id"] for dish in client.get(DISHES).json()] == ["D001"]


def test_an_unknown_dish_cannot_be_changed_or_read(client: TestClient) -> None:
    unknown = {"name": "x", "category": "热菜", "price": "1.00"}

    changed = client.put(f"{DISHES}/D404", json=unknown)
    read = client.get(f"{DISHES}/D404")

    for response in (changed, read):
        assert response.status_code in (404, 422), response.text
        assert response.json()["code"] == "dish_not_found"
        assert response.json()["dish_id"] == "D404"
    assert client.get(DISHES).json() == []


def test_an_unknown_dish_in_the_path_is_not_found_like_every_other_resource(client: TestClient) -> None:
    unknown = {"name": "x", "category": "热菜", "price": "1.00"}

    assert_problem(client.get(f"{DISHES}/D404"), 404, "dish_not_found")
    assert_problem(client.put(f"{DISHES}/D404", json=unknown), 404, "dish_not_found")


def test_the_menu_filters_by_category_and_by_store(client: TestClient, store_id: str) -> None:
    other_store = open_store(client, "S002", "徐家汇店")
    add_dish(client, "D001", category="热菜")
    add_dish(client, "D002", category="饮品", name="酸梅汤", price="8.00")
    add_dish(client, "D003", category="饮品", name="豆浆", price="6.00", stores=[other_store])
    add_dish(client, "D004", category="热菜", name="毛血旺", stores=[store_id])

    def ids(**params: str) -> list[str]:
        response = client.get(DISHES, params=params)
        assert response.status_code == 200, response.text
        return [dish["id"] for dish in response.json()]

    # ordered by category, then id
    assert ids() == ["D001", "D004", "D002", "D003"]
    assert ids(category="饮品") == ["D002", "D003"]
    assert ids(store_id=store_id) == ["D001", "D004", "D002"]
    assert ids(store_id=other_store) == ["D001", "D002", "D003"]
    assert ids(category="饮品", store_id=store_id) == ["D002"]
    assert ids(category="凉菜") == []


def test_a_cashier_reads_the_menu_but_may_not_add_or_change_dishes(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001")
    cashier = with_role(client, make_token(container, Role.CASHIER, store_id))
    manager = with_role(client, make_token(container, Role.STORE_MANAGER, store_id))

    assert client.get(DISHES, headers=cashier).status_code == 200
    assert client.get(f"{DISHES}/D001", headers=cashier).json()["price"] == "68.00"

    new = {"id": "D002", "name": "酸梅汤", "category": "饮品", "price": "8.00"}
    assert_problem(client.post(DISHES, json=new, headers=cashier), 403, "forbidden")
    assert_problem(client.post(DISHES, json=new, headers=manager), 403, "forbidden")
    change = {"name": "招牌烤鱼", "category": "热菜", "price": "0.01"}
    assert_problem(client.put(f"{DISHES}/D001", json=change, headers=cashier), 403, "forbidden")

    assert [(dish["id"], dish["price"]) for dish in client.get(DISHES).json()] == [("D001", "68.00")]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"id": "D 001"}, "validation_failed", "id"),
        ({"id": ""}, "validation_failed", "id"),
        ({"name": ""}, "validation_failed", "name"),
        ({"category": ""}, "validation_failed", "category"),
        ({"price": "-1.00"}, "amount_invalid", "price"),
        ({"price": "1.005"}, "amount_invalid", "price"),
        ({"price": 1.5}, "amount_invalid", "price"),
        ({"colour": "red"}, "validation_failed", "colour"),
    ],
)
def test_a_dish_that_is_not_valid_is_refused(client: TestClient, change: dict[str, Any], code: str, field: str) -> None:
    body = {"id": "D001", "name": "招牌烤鱼", "category": "热菜", "price": "68.00", **change}

    problem = assert_problem(client.post(DISHES, json=body), 422, code)

    assert problem["errors"][0]["loc"] == ["body", field]
    assert client.get(DISHES).json() == []


def test_a_dish_without_a_price_is_refused(client: TestClient) -> None:
    problem = assert_problem(
        client.post(DISHES, json={"id": "D001", "name": "烤鱼", "category": "热菜"}), 422, "validation_failed"
    )
    assert problem["errors"][0]["loc"] == ["body", "price"]


# ---------------------------------------------------------------- checkout lines from the menu


def test_a_checkout_by_dish_id_only_takes_name_and_price_from_the_menu(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001", name="招牌烤鱼", price="68.00")
    add_dish(client, "D002", name="酸梅汤", category="饮品", price="8.50")
    member_id = register(client)["id"]

    # when the till sends only dish ids and quantities, and no bill total
    response = post_bill(
        client, member_id, store_id, [{"dish_id": "D001", "quantity": 1}, {"dish_id": "D002", "quantity": 2}]
    )

    # then the bill is 68.00 + 2 × 8.50 = 85.00, paid by other tender; 85 points
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["bill_total"], body["discount"], body["payable"], body["due_other_tender"]) == (
        "85.00",
        "0.00",
        "85.00",
        "85.00",
    )
    assert body["points_earned"] == 85
    assert stored_items(container, body["order_no"]) == [
        {"dish_id": "D001", "name": "招牌烤鱼", "quantity": 1, "unit_price_fen": 6800},
        {"dish_id": "D002", "name": "酸梅汤", "quantity": 2, "unit_price_fen": 850},
    ]


def test_a_price_or_name_given_on_the_line_is_used_instead_of_the_menus(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001", name="招牌烤鱼", price="68.00")
    member_id = register(client)["id"]

    # when the till gives its own unit price (e.g. a half portion) and its own name
    response = post_bill(
        client,
        member_id,
        store_id,
        [
            {"dish_id": "D001", "quantity": 2, "price": "34.00"},
            {"dish_id": "D001", "name": "烤鱼（例）", "quantity": 1},
        ],
        bill_total="136.00",
    )

    # then
    assert response.status_code == 201, response.text
    assert response.json()["payable"] == "136.00"
    assert stored_items(container, response.json()["order_no"]) == [
        {"dish_id": "D001", "name": "招牌烤鱼", "quantity": 2, "unit_price_fen": 3400},
        {"dish_id": "D001", "name": "烤鱼（例）", "quantity": 1, "unit_price_fen": 6800},
    ]


def test_menu_lines_and_free_text_lines_mix_and_the_given_total_must_match(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001", name="招牌烤鱼", price="68.00")
    member_id = register(client)["id"]
    items = [{"dish_id": "D001", "quantity": 1}, {"name": "米饭", "quantity": 2, "price": "3.00"}]
    before = snapshot(client, member_id)

    # a total that is not the lines' 74.00 is refused, naming the lines' total
    refused = assert_problem(
        post_bill(client, member_id, store_id, items, bill_total="68.00"), 422, "items_total_mismatch"
    )
    assert refused["items_total"] == "74.00"
    assert snapshot(client, member_id) == before
    assert checkout_count(container, member_id) == 0

    # the right total goes through
    response = post_bill(client, member_id, store_id, items, bill_total="74.00")
    assert response.status_code == 201, response.text
    assert response.json()["payable"] == "74.00"
    assert stored_items(container, response.json()["order_no"]) == [
        {"dish_id": "D001", "name": "招牌烤鱼", "quantity": 1, "unit_price_fen": 6800},
        {"dish_id": None, "name": "米饭", "quantity": 2, "unit_price_fen": 300},
    ]


@pytest.mark.parametrize(
    "line",
    [
        {"name": "米饭", "quantity": 1},
        {"quantity": 1, "price": "3.00"},
        {"quantity": 1},
    ],
)
def test_a_line_without_a_dish_needs_a_name_and_a_price(
    client: TestClient, container: Container, store_id: str, line: dict[str, Any]
) -> None:
    member_id = register(client)["id"]
    before = snapshot(client, member_id)

    assert_problem(post_bill(client, member_id, store_id, [line]), 422, "item_needs_name_and_price")

    assert snapshot(client, member_id) == before
    assert checkout_count(container, member_id) == 0


def test_a_line_without_a_dish_and_with_an_empty_name_is_refused(
    client: TestClient, container: Container, store_id: str
) -> None:
    member_id = register(client)["id"]

    response = post_bill(client, member_id, store_id, [{"name": "", "quantity": 1, "price": "3.00"}])

    assert response.status_code == 422, response.text
    assert checkout_count(container, member_id) == 0


def test_a_bill_with_neither_total_nor_lines_is_refused(
    client: TestClient, container: Container, store_id: str
) -> None:
    member_id = register(client)["id"]

    assert_problem(post_bill(client, member_id, store_id, []), 422, "item_needs_name_and_price")

    assert checkout_count(container, member_id) == 0


def _refused(
    client: TestClient, container: Container, member_id: str, store_id: str, dish_id: str, code: str
) -> dict[str, Any]:
    before = snapshot(client, member_id)
    items = [{"dish_id": "D001", "quantity": 1}, {"dish_id": dish_id, "quantity": 1}]
    status = 404 if code == "dish_not_found" else 422
    problem = assert_problem(post_bill(client, member_id, store_id, items), status, code)
    # the quote refuses the same bill the same way
    assert_problem(
        client.post(f"{API}/members/{member_id}/quote", json={"store_id": store_id, "items": items}), status, code
    )
    assert snapshot(client, member_id) == before
    assert checkout_count(container, member_id) == 0
    return problem


def test_a_dish_not_on_the_menu_is_refused_and_nothing_changes(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001")
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "200")

    problem = _refused(client, container, member_id, store_id, "D404", "dish_not_found")

    assert problem["dish_id"] == "D404"


def test_a_dish_switched_off_is_refused_and_nothing_changes(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001")
    add_dish(client, "D002", name="季节限定", active=False)
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "200")

    problem = _refused(client, container, member_id, store_id, "D002", "dish_not_available")

    assert problem["dish_id"] == "D002"


def test_a_dish_not_sold_at_this_store_is_refused_here_and_sold_there(
    client: TestClient, container: Container, store_id: str
) -> None:
    other_store = open_store(client, "S002", "徐家汇店")
    add_dish(client, "D001")
    add_dish(client, "D002", name="徐家汇特供", price="20.00", stores=[other_store])
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "200")

    problem = _refused(client, container, member_id, store_id, "D002", "dish_not_available")
    assert problem["dish_id"] == "D002"

    # at the store that sells it the same bill goes through: 68 + 20, paid from 200 + 20 bonus
    response = post_bill(
        client, member_id, other_store, [{"dish_id": "D001", "quantity": 1}, {"dish_id": "D002", "quantity": 1}]
    )
    assert response.status_code == 201, response.text
    assert response.json()["payable"] == "88.00"
    assert response.json()["due_other_tender"] == "0.00"


def test_a_dish_exclusive_to_gold_is_refused_to_a_normal_member_until_they_become_gold(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001")
    add_dish(client, "D009", name="金卡专享和牛", price="188.00", exclusive_levels=["gold", "diamond"])
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "200")

    problem = _refused(client, container, member_id, store_id, "D009", "dish_exclusive")
    assert problem["dish_id"] == "D009"
    assert problem["levels"] == ["diamond", "gold"]

    # when the member becomes gold (200 + 800 recharged)
    assert recharge(client, member_id, store_id, "800")["level"]["code"] == "gold"

    # then the same bill goes through at gold's price: (68 + 188) × 0.9 = 230.40
    response = post_bill(
        client, member_id, store_id, [{"dish_id": "D001", "quantity": 1}, {"dish_id": "D009", "quantity": 1}]
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["bill_total"], body["discount"], body["payable"]) == ("256.00", "25.60", "230.40")
    assert body["points_earned"] == 345  # floor(230.40 × 1.5)
    assert stored_items(container, body["order_no"]) == [
        {"dish_id": "D001", "name": "招牌烤鱼", "quantity": 1, "unit_price_fen": 6800},
        {"dish_id": "D009", "name": "金卡专享和牛", "quantity": 1, "unit_price_fen": 18800},
    ]


def test_a_price_change_applies_to_the_next_bill_and_not_to_a_stored_one(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_dish(client, "D001", price="68.00")
    member_id = register(client)["id"]
    first = post_bill(client, member_id, store_id, [{"dish_id": "D001", "quantity": 1}]).json()

    client.put(f"{DISHES}/D001", json={"name": "招牌烤鱼", "category": "热菜", "price": "72.00"})
    second = post_bill(client, member_id, store_id, [{"dish_id": "D001", "quantity": 1}]).json()

    assert (first["payable"], second["payable"]) == ("68.00", "72.00")
    assert stored_items(container, first["order_no"]) == [
        {"dish_id": "D001", "name": "招牌烤鱼", "quantity": 1, "unit_price_fen": 6800}
    ]
