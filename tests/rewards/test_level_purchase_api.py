"""Buying the next level with points over HTTP (R-PTS-4): only the level directly above, only at
its points price, recorded like any upgrade (reason `purchased`), and kept by refunds."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dinecard.ledger.models import JournalTransaction
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.levels.models import LevelHistory
from dinecard.members.models import Member
from dinecard.platform.container import Container
from dinecard.platform.outbox import OutboxMessage
from dinecard.rewards import history
from dinecard.security.domain import Role
from tests.api.helpers import (
    API,
    assert_problem,
    checkout,
    member,
    open_store,
    points_history,
    recharge,
    refund,
    register,
    snapshot,
)
from tests.conftest import make_token

SILVER_PRICE, GOLD_PRICE, SILVER_GIFT = 3000, 8000, 100


@pytest.fixture
def priced(client: TestClient) -> None:
    """The default programme with silver and gold for sale; diamond is not."""
    document = client.get(f"{API}/program").json()["program"]
    for level in document["levels"]:
        if level["code"] == "silver":
            level.update(points_price=SILVER_PRICE, upgrade_gift_points=SILVER_GIFT)
        elif level["code"] == "gold":
            level["points_price"] = GOLD_PRICE
    response = client.put(f"{API}/program", json={"program": document, "note": "levels for points"})
    assert response.status_code == 201, response.text


def give_points(client: TestClient, member_id: str, store_id: str, points: int) -> None:
    body = {"store_id": store_id, "points": points, "reason": "test points"}
    response = client.post(f"{API}/members/{member_id}/adjustments", json=body)
    assert response.status_code == 201, response.text


def post_purchase(
    client: TestClient, member_id: str, level_code: str, store_id: str, headers: dict[str, str] | None = None
) -> Any:
    body = {"level_code": level_code, "store_id": store_id}
    return client.post(f"{API}/members/{member_id}/level-purchases", json=body, headers=headers)


def purchase(client: TestClient, member_id: str, level_code: str, store_id: str) -> dict[str, Any]:
    response = post_purchase(client, member_id, level_code, store_id)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def level_history(container: Container, member_id: str) -> list[tuple[str, str, str, str | None]]:
    with container.database.read() as session:
        rows = session.execute(
            select(LevelHistory).where(LevelHistory.member_id == member_id).order_by(LevelHistory.id)
        ).scalars()
        return [(row.from_level, row.to_level, row.reason, row.order_no) for row in rows]


def stored_member(container: Container, member_id: str) -> Member:
    with container.database.read() as session:
        row = session.get(Member, member_id)
        assert row is not None
        session.expunge(row)
        return row


def assert_reconciled(container: Container) -> None:
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    assert report.ok, [check.failures for check in report.checks if check.failures]


# ---------------------------------------------------------------- buying


@pytest.mark.usefixtures("priced")
def test_a_member_buys_the_next_level_with_points(client: TestClient, container: Container, store_id: str) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, 5000)

    body = purchase(client, member_id, "silver", store_id)

    assert body["order_no"].startswith("P")
    assert (body["from_level"]["code"], body["level"]["code"]) == ("normal", "silver")
    assert (body["points_spent"], body["upgrade_gift_points"]) == (SILVER_PRICE, SILVER_GIFT)
    assert body["points"] == {"usable": 5000 - SILVER_PRICE + SILVER_GIFT, "lifetime": 5000 + SILVER_GIFT, "owed": 0}
    assert member(client, member_id)["level"]["code"] == "silver"
    assert level_history(container, member_id) == [("normal", "silver", "purchased", body["order_no"])]
    row = stored_member(container, member_id)
    assert row.level_floor_code == "silver"
    # Standing exactly at silver's threshold (500 yuan recharged) though nothing was recharged.
    assert (row.level_recharge_offset_fen, row.level_consume_offset_fen) == (-50000, 0)
    items = points_history(client, member_id)["items"]
    assert {(i["type"], i["points"]) for i in items if i["order_no"] == body["order_no"]} == {
        ("level_purchase", -SILVER_PRICE),
        ("upgrade_gift", SILVER_GIFT),
    }
    with container.database.read() as session:
        kind = session.execute(
            select(JournalTransaction.kind).where(JournalTransaction.order_no == body["order_no"])
        ).scalar_one()
        topics = session.execute(
            select(OutboxMessage.topic, OutboxMessage.payload).where(OutboxMessage.member_id == member_id)
        ).all()
        events = [(e.kind, e.ref) for e in history.page(session, member_id, None, 10)]
    assert kind == "level_purchase"
    assert ("level_upgraded", "purchased") in {(topic, payload["reason"]) for topic, payload in topics}
    assert ("level_purchased", body["order_no"]) in events
    assert_reconciled(container)


@pytest.mark.usefixtures("priced")
def test_later_recharges_count_on_from_the_bought_level(
    client: TestClient, container: Container, store_id: str
) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE)
    purchase(client, member_id, "silver", store_id)

    recharge(client, member_id, store_id, "200.00")  # stands at 700 of gold's 1000
    assert member(client, member_id)["level"]["code"] == "silver"
    recharge(client, member_id, store_id, "300.00")  # 1000: gold, though only 500 was ever recharged

    assert member(client, member_id)["level"]["code"] == "gold"
    assert [reason for _f, _t, reason, _o in level_history(container, member_id)] == ["purchased", "recharge"]
    assert_reconciled(container)


@pytest.mark.usefixtures("priced")
def test_levels_other_than_the_next_priced_one_are_refused_and_nothing_changes(
    client: TestClient, container: Container, store_id: str
) -> None:
    normal = str(register(client, "13800000001")["id"])
    give_points(client, normal, store_id, 20000)
    gold = str(register(client, "13800000002")["id"])
    recharge(client, gold, store_id, "1000.00")  # gold
    give_points(client, gold, store_id, 20000)

    cases = [
        (normal, "gold", "not_next_level"),
        (normal, "normal", "already_at_or_above"),
        (normal, "platinum", "unknown_level"),
        (gold, "silver", "already_at_or_above"),
        (gold, "diamond", "not_for_sale"),
    ]
    for member_id, level_code, reason in cases:
        before = snapshot(client, member_id)
        refused = assert_problem(post_purchase(client, member_id, level_code, store_id), 409, "level_not_purchasable")
        assert refused["reason"] == reason, (level_code, refused)
        assert snapshot(client, member_id) == before
    refused = assert_problem(post_purchase(client, normal, "gold", store_id), 409, "level_not_purchasable")
    assert (refused["current_level"], refused["next_level"]) == ("normal", "silver")
    assert level_history(container, normal) == []


@pytest.mark.usefixtures("priced")
def test_too_few_points_buy_nothing(client: TestClient, container: Container, store_id: str) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE - 1)

    before = snapshot(client, member_id)
    refused = assert_problem(post_purchase(client, member_id, "silver", store_id), 409, "insufficient_points")

    assert (refused["usable"], refused["needed"]) == (SILVER_PRICE - 1, SILVER_PRICE)
    assert snapshot(client, member_id) == before
    assert stored_member(container, member_id).level_floor_code is None


def test_without_a_price_in_the_programme_no_level_is_for_sale(client: TestClient, store_id: str) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, 50000)

    refused = assert_problem(post_purchase(client, member_id, "silver", store_id), 409, "level_not_purchasable")

    assert refused["reason"] == "not_for_sale"


@pytest.mark.usefixtures("priced")
def test_a_frozen_card_cannot_buy_a_level(client: TestClient, store_id: str) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE)
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200

    assert_problem(post_purchase(client, member_id, "silver", store_id), 409, "member_frozen")


@pytest.mark.usefixtures("priced")
def test_an_idempotency_key_replay_buys_once(client: TestClient, container: Container, store_id: str) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE + GOLD_PRICE)
    headers = {"Idempotency-Key": "till-1-level-0001"}

    first = post_purchase(client, member_id, "silver", store_id, headers)
    replay = post_purchase(client, member_id, "silver", store_id, headers)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert len(level_history(container, member_id)) == 1
    assert member(client, member_id)["points"]["usable"] == GOLD_PRICE + SILVER_GIFT


@pytest.mark.usefixtures("priced")
def test_buying_is_scoped_to_the_callers_store(client: TestClient, container: Container, store_id: str) -> None:
    other_store = open_store(client, "S002", "徐家汇店")
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE)
    cashier = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, store_id)}"}

    assert_problem(post_purchase(client, member_id, "silver", other_store, cashier), 403, "wrong_store")
    assert post_purchase(client, member_id, "silver", store_id, cashier).status_code == 201


@pytest.mark.usefixtures("priced")
def test_step_by_step_a_member_buys_silver_then_gold(client: TestClient, container: Container, store_id: str) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE + GOLD_PRICE)

    purchase(client, member_id, "silver", store_id)
    body = purchase(client, member_id, "gold", store_id)

    assert body["level"]["code"] == "gold"
    assert body["points"]["usable"] == SILVER_GIFT
    row = stored_member(container, member_id)
    assert (row.level_floor_code, row.level_recharge_offset_fen) == ("gold", -100000)
    assert_reconciled(container)


# ---------------------------------------------------------------- refunds keep a bought level


@pytest.mark.usefixtures("priced")
def test_a_later_checkout_refund_does_not_take_a_bought_level_away(
    client: TestClient, container: Container, store_id: str
) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE)
    purchase(client, member_id, "silver", store_id)
    bill = checkout(client, member_id, store_id, "100.00", pay_with_balance=False)

    refund(client, bill["order_no"])

    assert member(client, member_id)["level"]["code"] == "silver"
    assert [reason for _f, _t, reason, _o in level_history(container, member_id)] == ["purchased"]
    assert_reconciled(container)


@pytest.mark.usefixtures("priced")
def test_a_later_recharge_refund_does_not_take_a_bought_level_away(
    client: TestClient, container: Container, store_id: str
) -> None:
    member_id = str(register(client)["id"])
    give_points(client, member_id, store_id, SILVER_PRICE)
    purchase(client, member_id, "silver", store_id)
    topped_up = recharge(client, member_id, store_id, "200.00")

    refund(client, topped_up["order_no"])

    assert member(client, member_id)["level"]["code"] == "silver"
    assert_reconciled(container)
