"""The points mall over HTTP (R-CPN-3, R-PTS-4): HQ's catalogue, redeeming points for a dish
voucher, a coupon or merchandise, cancelling within the window, and every refusal leaving
the member, the stock and the coupons exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import TemplateRules
from dinecard.coupons.models import Coupon
from dinecard.ledger.models import JournalTransaction
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.ledger.service import load_member_accounts
from dinecard.mall.models import Redemption, Reward
from dinecard.menu.service import DishFields, create_dish
from dinecard.platform.container import Container
from dinecard.rewards import history
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from dinecard.shared.money import Money
from tests.api.helpers import API, assert_problem, checkout, open_store, points_history, recharge, register, snapshot
from tests.conftest import make_token

REWARDS = f"{API}/mall/rewards"


# ---------------------------------------------------------------- helpers


def dish_template(container: Container, code: str = "DUCK", stock: int | None = None) -> str:
    """A dish on the menu and a voucher template for one unit of it."""
    now = container.clock.now()
    with container.database.write() as uow:
        fields = DishFields("招牌烤鸭", "Roast duck", "热菜", Money(8800), None, None)
        create_dish(uow, f"D-{code}", fields, now)
        rules = TemplateRules.model_validate({"kind": "dish", "dish_ids": [f"D-{code}"], "validity": {"days": 30}})
        coupons.create_template(uow, code, coupons.TemplateFields("烤鸭券", "Duck voucher", stock), rules, now)
    return code


def cash_template(container: Container, code: str = "CASH10", stock: int | None = None) -> str:
    now = container.clock.now()
    with container.database.write() as uow:
        rules = TemplateRules.model_validate({"kind": "cash", "value": "10.00", "validity": {"days": 30}})
        coupons.create_template(uow, code, coupons.TemplateFields("10元券", "10 yuan off", stock), rules, now)
    return code


def add_reward(client: TestClient, reward_id: str = "R1", **fields: Any) -> dict[str, Any]:
    body = {"id": reward_id, "name": "礼品", "kind": "merchandise", "points_price": 100, **fields}
    response = client.post(REWARDS, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def give_points(client: TestClient, member_id: str, store_id: str, points: int) -> None:
    body = {"store_id": store_id, "points": points, "reason": "test points"}
    response = client.post(f"{API}/members/{member_id}/adjustments", json=body)
    assert response.status_code == 201, response.text


def member_with_points(client: TestClient, store_id: str, points: int, phone: str = "13812341234") -> str:
    member_id = str(register(client, phone)["id"])
    give_points(client, member_id, store_id, points)
    return member_id


def post_redeem(
    client: TestClient, member_id: str, reward_id: str, store_id: str, headers: dict[str, str] | None = None
) -> Any:
    body = {"reward_id": reward_id, "store_id": store_id}
    return client.post(f"{API}/members/{member_id}/redemptions", json=body, headers=headers)


def redeem(client: TestClient, member_id: str, reward_id: str, store_id: str) -> dict[str, Any]:
    response = post_redeem(client, member_id, reward_id, store_id)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def post_cancel(client: TestClient, order_no: str, reason: str | None = None) -> Any:
    return client.post(f"{API}/redemptions/{order_no}/cancel", json={} if reason is None else {"reason": reason})


def reward_row(client: TestClient, reward_id: str) -> dict[str, Any]:
    response = client.get(f"{REWARDS}/{reward_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def member_coupons(container: Container, member_id: str) -> list[Coupon]:
    with container.database.read() as session:
        rows = session.execute(select(Coupon).where(Coupon.member_id == member_id).order_by(Coupon.id)).scalars()
        return list(rows)


def lot_balances(container: Container, member_id: str) -> dict[datetime | None, int]:
    """The member's points lots by expiry (emptied lots included, so a spend shows as 0)."""
    from dinecard.ledger.domain import AccountKind
    from dinecard.ledger.models import Account

    with container.database.read() as session:
        rows = session.execute(
            select(Account.expires_at, Account.balance).where(
                Account.member_id == member_id, Account.kind == AccountKind.MEMBER_POINTS_LOT.value
            )
        ).all()
    return {expires_at: balance for expires_at, balance in rows}


def assert_reconciled(container: Container) -> None:
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    assert report.ok, [check.failures for check in report.checks if check.failures]


def reward_events(container: Container, member_id: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with container.database.read() as session:
        return [(e.kind, e.ref, dict(e.detail)) for e in history.page(session, member_id, None, 100)]


# ---------------------------------------------------------------- the catalogue


def test_hq_adds_reads_lists_and_changes_a_reward(client: TestClient, container: Container) -> None:
    dish_template(container)
    created = add_reward(
        client,
        "R-DUCK",
        name="招牌烤鸭",
        name_en="Signature roast duck",
        kind="dish",
        points_price=500,
        coupon_template_code="DUCK",
        stock=10,
        per_member_limit=2,
        levels=["silver", "gold"],
        starts_at="2026-03-01T00:00:00+08:00",
        ends_at="2026-04-01T00:00:00+08:00",
    )

    assert created["kind"] == "dish" and created["points_price"] == 500
    assert (created["stock"], created["redeemed_count"], created["remaining"]) == (10, 0, 10)
    assert created["cancel_window_hours"] == 24  # the default
    assert created["levels"] == ["gold", "silver"]
    assert reward_row(client, "R-DUCK") == created
    assert [r["id"] for r in client.get(REWARDS).json()] == ["R-DUCK"]

    response = client.patch(
        f"{REWARDS}/R-DUCK",
        json={"name": "烤鸭半只", "points_price": 450, "stock": None, "active": False, "cancel_window_hours": 2},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["points_price"], changed["stock"], changed["remaining"]) == (
        "烤鸭半只",
        450,
        None,
        None,
    )
    assert (changed["active"], changed["cancel_window_hours"]) == (False, 2)
    assert changed["name_en"] == "Signature roast duck"  # not sent: unchanged
    assert changed["starts_at"] == created["starts_at"]


def test_the_catalogue_refuses_rewards_that_do_not_fit_together(client: TestClient, container: Container) -> None:
    dish_template(container)
    cash_template(container)
    base = {"name": "礼品", "points_price": 100}

    cases = [
        ({"id": "A", "kind": "dish", "coupon_template_code": "CASH10"}, 422, "validation_failed"),
        ({"id": "B", "kind": "dish"}, 422, "validation_failed"),
        ({"id": "C", "kind": "coupon"}, 422, "validation_failed"),
        ({"id": "D", "kind": "merchandise", "coupon_template_code": "CASH10"}, 422, "validation_failed"),
        ({"id": "E", "kind": "coupon", "coupon_template_code": "NOPE"}, 404, "coupon_template_not_found"),
        ({"id": "F", "kind": "merchandise", "levels": ["platinum"]}, 422, "validation_failed"),
        ({"id": "F2", "kind": "merchandise", "levels": []}, 422, "validation_failed"),
        ({"id": "G", "kind": "merchandise", "points_price": 0}, 422, "validation_failed"),
        (
            {"id": "H", "kind": "merchandise", "starts_at": "2026-04-01T00:00:00Z", "ends_at": "2026-03-01T00:00:00Z"},
            422,
            "validation_failed",
        ),
    ]
    for fields, status, code in cases:
        assert_problem(client.post(REWARDS, json={**base, **fields}), status, code)

    add_reward(client, "OK", kind="coupon", coupon_template_code="DUCK")  # a coupon reward takes any template
    assert_problem(client.post(REWARDS, json={**base, "id": "OK", "kind": "merchandise"}), 409, "reward_taken")
    assert [r["id"] for r in client.get(REWARDS).json()] == ["OK"]
    assert_problem(client.get(f"{REWARDS}/NOPE"), 404, "reward_not_found")
    assert_problem(client.patch(f"{REWARDS}/NOPE", json={"active": False}), 404, "reward_not_found")
    assert_problem(client.patch(f"{REWARDS}/OK", json={"points_price": None}), 422, "validation_failed")


def test_stock_cannot_be_set_below_what_is_redeemed(client: TestClient, store_id: str) -> None:
    add_reward(client, "R1", stock=5)
    member_id = member_with_points(client, store_id, 1000)
    redeem(client, member_id, "R1", store_id)
    redeem(client, member_id, "R1", store_id)

    assert_problem(client.patch(f"{REWARDS}/R1", json={"stock": 1}), 422, "validation_failed")
    response = client.patch(f"{REWARDS}/R1", json={"stock": 2})
    assert response.status_code == 200, response.text
    assert (response.json()["redeemed_count"], response.json()["remaining"]) == (2, 0)


def test_only_hq_manages_the_catalogue_and_every_role_reads_it(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_reward(client, "R1")
    cashier = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, store_id)}"}
    manager = {"Authorization": f"Bearer {make_token(container, Role.STORE_MANAGER, store_id)}"}

    for headers in (cashier, manager):
        body = {"id": "R2", "name": "礼品", "kind": "merchandise", "points_price": 1}
        assert_problem(client.post(REWARDS, json=body, headers=headers), 403, "forbidden")
        assert_problem(client.patch(f"{REWARDS}/R1", json={"active": False}, headers=headers), 403, "forbidden")
        assert [r["id"] for r in client.get(REWARDS, headers=headers).json()] == ["R1"]


def test_available_for_lists_what_the_member_could_redeem_now(
    client: TestClient, container: Container, store_id: str
) -> None:
    member_id = member_with_points(client, store_id, 1000)
    add_reward(client, "OPEN")
    add_reward(client, "OFF", active=False)
    add_reward(client, "GOLD", levels=["gold"])
    add_reward(client, "LATER", starts_at="2026-06-01T00:00:00+08:00")
    add_reward(client, "ONCE", per_member_limit=1)
    add_reward(client, "GONE", stock=0)
    redeem(client, member_id, "ONCE", store_id)

    response = client.get(REWARDS, params={"available_for": member_id})

    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()] == ["OPEN"]
    assert len(client.get(REWARDS).json()) == 6
    assert_problem(client.get(REWARDS, params={"available_for": "NOBODY"}), 404, "member_not_found")


# ---------------------------------------------------------------- redeeming


def test_redeeming_a_dish_reward_spends_the_points_and_issues_the_voucher(
    client: TestClient, container: Container, store_id: str
) -> None:
    dish_template(container)
    add_reward(client, "R-DUCK", kind="dish", points_price=250, coupon_template_code="DUCK", stock=3)
    member_id = member_with_points(client, store_id, 300)

    body = redeem(client, member_id, "R-DUCK", store_id)

    assert body["order_no"].startswith("M")
    assert body["reward"] == {"id": "R-DUCK", "name": "礼品", "name_en": None, "kind": "dish"}
    assert (body["points_spent"], body["status"], body["store_id"]) == (250, "redeemed", store_id)
    assert body["points"] == {"usable": 50, "lifetime": 300, "owed": 0}
    assert body["cancellable_until"] == "2026-03-03T04:00:00Z"
    [coupon] = member_coupons(container, member_id)
    assert (coupon.code, coupon.template_code, coupon.status) == (body["coupon_code"], "DUCK", "issued")
    assert (coupon.source, coupon.source_ref) == ("mall", body["order_no"])
    assert reward_row(client, "R-DUCK")["redeemed_count"] == 1
    # The points history shows the spend under the redemption's order number.
    spent = points_history(client, member_id)["items"][0]
    assert (spent["type"], spent["points"], spent["order_no"]) == ("mall_redeem", -250, body["order_no"])
    with container.database.read() as session:
        journal = session.execute(
            select(JournalTransaction.kind).where(JournalTransaction.order_no == body["order_no"])
        ).scalar_one()
    assert journal == "mall_redemption"
    kinds = [kind for kind, _ref, _detail in reward_events(container, member_id)]
    assert kinds[:2] == ["mall_redeemed", "coupon_issued"]
    # Readable by order number and in the member's list, newest first.
    read = client.get(f"{API}/redemptions/{body['order_no']}").json()
    assert {k: v for k, v in body.items() if k != "points"} == read
    listed = client.get(f"{API}/members/{member_id}/redemptions").json()
    assert [item["order_no"] for item in listed["items"]] == [body["order_no"]]
    assert listed["next_before"] is None
    assert_reconciled(container)


def test_the_voucher_is_used_at_checkout_and_then_the_redemption_cannot_be_cancelled(
    client: TestClient, container: Container, store_id: str
) -> None:
    dish_template(container)
    add_reward(client, "R-DUCK", kind="dish", points_price=250, coupon_template_code="DUCK")
    member_id = member_with_points(client, store_id, 300)
    redeemed = redeem(client, member_id, "R-DUCK", store_id)

    bill = checkout(
        client,
        member_id,
        store_id,
        "88.00",
        items=[{"dish_id": "D-DUCK", "quantity": 1}],
        coupon_codes=[redeemed["coupon_code"]],
        pay_with_balance=False,
    )

    [coupon] = member_coupons(container, member_id)
    assert (coupon.status, coupon.used_order_no) == ("used", bill["order_no"])
    before = snapshot(client, member_id)
    refused = assert_problem(post_cancel(client, redeemed["order_no"]), 409, "redemption_not_cancellable")
    assert refused["reason"] == "coupon_used"
    assert snapshot(client, member_id) == before
    assert reward_row(client, "R-DUCK")["redeemed_count"] == 1
    assert_reconciled(container)


def test_points_come_from_the_soonest_expiring_lot_and_a_cancel_gives_them_back_to_it(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    cash_template(container)
    add_reward(client, "R-CASH", kind="coupon", points_price=150, coupon_template_code="CASH10", stock=1)
    member_id = str(register(client)["id"])
    recharge(client, member_id, store_id, "200.00")  # 100 points in March: usable to the end of March 2027
    clock.advance(timedelta(days=92))
    recharge(client, member_id, store_id, "200.00")  # 100 points in June: usable to the end of June 2027
    march = datetime(2027, 3, 31, 16, 0, tzinfo=UTC)  # 2027-04-01 00:00 in Shanghai
    june = datetime(2027, 6, 30, 16, 0, tzinfo=UTC)
    assert lot_balances(container, member_id) == {march: 100, june: 100}

    redeemed = redeem(client, member_id, "R-CASH", store_id)

    assert lot_balances(container, member_id) == {march: 0, june: 50}
    assert redeemed["points"]["usable"] == 50
    assert reward_row(client, "R-CASH")["remaining"] == 0

    clock.advance(timedelta(hours=23))
    response = post_cancel(client, redeemed["order_no"], "changed their mind")

    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["status"], cancelled["points_restored"]) == ("cancelled", 150)
    assert cancelled["cancelled_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert cancelled["points"] == {"usable": 200, "lifetime": 200, "owed": 0}
    assert lot_balances(container, member_id) == {march: 100, june: 100}
    restored = points_history(client, member_id)["items"][0]
    assert (restored["type"], restored["points"], restored["order_no"]) == ("mall_cancel", 150, redeemed["order_no"])
    assert restored["expires_at"] == "2027-03-31T16:00:00Z"  # back in the March lot first of all
    [coupon] = member_coupons(container, member_id)
    assert (coupon.status, coupon.void_reason) == ("voided", "changed their mind")
    assert (reward_row(client, "R-CASH")["redeemed_count"], reward_row(client, "R-CASH")["remaining"]) == (0, 1)
    with container.database.read() as session:
        kinds = session.execute(
            select(JournalTransaction.kind)
            .where(JournalTransaction.order_no == redeemed["order_no"])
            .order_by(JournalTransaction.id)
        ).scalars()
        assert list(kinds) == ["mall_redemption", "mall_cancellation"]
    assert [kind for kind, _ref, _detail in reward_events(container, member_id)][:2] == [
        "mall_cancelled",
        "coupon_voided",
    ]
    assert client.get(f"{API}/redemptions/{redeemed['order_no']}").json()["status"] == "cancelled"
    assert_reconciled(container)


def test_a_cancel_after_the_lot_expired_gives_the_points_a_grace_lot(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    add_reward(client, "R1", points_price=100, cancel_window_hours=24)
    member_id = str(register(client)["id"])
    clock.set(datetime(2027, 3, 1, 4, 0, tzinfo=UTC))
    give_points(client, member_id, store_id, 100)  # earned March 2027: usable to the end of March 2028
    clock.set(datetime(2028, 3, 31, 15, 0, tzinfo=UTC))  # an hour before that lot expires
    redeemed = redeem(client, member_id, "R1", store_id)

    clock.advance(timedelta(hours=2))  # the lot has expired: the points come back in a grace lot
    response = post_cancel(client, redeemed["order_no"])

    assert response.status_code == 200, response.text
    assert response.json()["points"]["usable"] == 100
    lots = lot_balances(container, member_id)
    assert lots[datetime(2028, 3, 31, 16, 0, tzinfo=UTC)] == 0
    assert sum(lots.values()) == 100
    assert_reconciled(container)


def test_a_cancel_at_the_last_second_of_the_window_works_and_one_second_later_is_refused(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    add_reward(client, "R1", points_price=100, cancel_window_hours=2)
    member_id = member_with_points(client, store_id, 200)
    first = redeem(client, member_id, "R1", store_id)
    clock.advance(timedelta(minutes=10))
    second = redeem(client, member_id, "R1", store_id)

    clock.set(datetime.fromisoformat(first["cancellable_until"].replace("Z", "+00:00")))
    assert post_cancel(client, first["order_no"]).status_code == 200

    clock.set(datetime.fromisoformat(second["cancellable_until"].replace("Z", "+00:00")) + timedelta(seconds=1))
    before = snapshot(client, member_id)
    refused = assert_problem(post_cancel(client, second["order_no"]), 409, "redemption_not_cancellable")
    assert (refused["reason"], refused["cancellable_until"]) == ("window_passed", "2026-03-02T06:10:00Z")
    assert snapshot(client, member_id) == before
    assert reward_row(client, "R1")["redeemed_count"] == 1
    assert_reconciled(container)


def test_a_redemption_is_cancelled_once_and_a_zero_window_never(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_reward(client, "R1", points_price=100)
    add_reward(client, "FINAL", points_price=100, cancel_window_hours=0)
    member_id = member_with_points(client, store_id, 200)
    once = redeem(client, member_id, "R1", store_id)
    final = redeem(client, member_id, "FINAL", store_id)
    assert final["cancellable_until"] is None

    assert post_cancel(client, once["order_no"]).status_code == 200
    again = assert_problem(post_cancel(client, once["order_no"]), 409, "redemption_not_cancellable")
    never = assert_problem(post_cancel(client, final["order_no"]), 409, "redemption_not_cancellable")

    assert (again["reason"], never["reason"]) == ("already_cancelled", "not_cancellable")
    assert_problem(post_cancel(client, "MNOSUCHORDER"), 404, "redemption_not_found")
    assert_problem(client.get(f"{API}/redemptions/MNOSUCHORDER"), 404, "redemption_not_found")
    assert_reconciled(container)


def test_a_closed_card_gets_no_points_back(client: TestClient, container: Container, store_id: str) -> None:
    add_reward(client, "R1", points_price=100)
    member_id = member_with_points(client, store_id, 300)
    redeemed = redeem(client, member_id, "R1", store_id)
    assert client.post(f"{API}/members/{member_id}/close", json={}).status_code == 200

    assert_problem(post_cancel(client, redeemed["order_no"]), 409, "member_closed")
    assert client.get(f"{API}/redemptions/{redeemed['order_no']}").json()["status"] == "redeemed"
    assert_reconciled(container)


# ---------------------------------------------------------------- refusals change nothing


def _unchanged(client: TestClient, container: Container, member_id: str, reward_id: str) -> Any:
    """What a refused redemption must leave as it was: the member, the reward, coupons, redemptions."""
    with container.database.read() as session:
        redemptions = session.execute(select(func.count()).select_from(Redemption)).scalar_one()
    return (
        snapshot(client, member_id),
        reward_row(client, reward_id),
        [c.code for c in member_coupons(container, member_id)],
        redemptions,
    )


def test_out_of_stock_is_refused_until_a_cancel_gives_a_unit_back(
    client: TestClient, container: Container, store_id: str
) -> None:
    dish_template(container)
    add_reward(client, "R-DUCK", kind="dish", points_price=100, coupon_template_code="DUCK", stock=1)
    first = member_with_points(client, store_id, 100, "13800000001")
    second = member_with_points(client, store_id, 100, "13800000002")
    taken = redeem(client, first, "R-DUCK", store_id)

    before = _unchanged(client, container, second, "R-DUCK")
    assert_problem(post_redeem(client, second, "R-DUCK", store_id), 409, "reward_out_of_stock")
    assert _unchanged(client, container, second, "R-DUCK") == before

    assert post_cancel(client, taken["order_no"]).status_code == 200
    assert redeem(client, second, "R-DUCK", store_id)["points"]["usable"] == 0
    assert reward_row(client, "R-DUCK")["redeemed_count"] == 1
    assert_reconciled(container)


def test_the_per_member_limit_counts_redemptions_not_cancelled(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_reward(client, "R1", points_price=100, per_member_limit=1)
    member_id = member_with_points(client, store_id, 500)
    other = member_with_points(client, store_id, 500, "13800000002")
    first = redeem(client, member_id, "R1", store_id)

    before = _unchanged(client, container, member_id, "R1")
    refused = assert_problem(post_redeem(client, member_id, "R1", store_id), 409, "reward_member_limit")
    assert (refused["limit"], refused["redeemed"]) == (1, 1)
    assert _unchanged(client, container, member_id, "R1") == before
    redeem(client, other, "R1", store_id)  # the limit is per member

    assert post_cancel(client, first["order_no"]).status_code == 200
    redeem(client, member_id, "R1", store_id)
    assert_reconciled(container)


def test_a_reward_for_other_levels_or_outside_its_window_is_refused(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    add_reward(client, "GOLD", levels=["gold", "diamond"])
    add_reward(client, "MAY", starts_at="2026-05-01T00:00:00+08:00", ends_at="2026-06-01T00:00:00+08:00")
    add_reward(client, "OFF", active=False)
    member_id = str(register(client)["id"])
    recharge(client, member_id, store_id, "500.00")  # silver, 300 points

    refusals = {}
    for reward_id in ("GOLD", "MAY", "OFF"):
        before = _unchanged(client, container, member_id, reward_id)
        refusals[reward_id] = assert_problem(
            post_redeem(client, member_id, reward_id, store_id), 409, "reward_unavailable"
        )
        assert _unchanged(client, container, member_id, reward_id) == before
    assert {reward_id: refused["reason"] for reward_id, refused in refusals.items()} == {
        "GOLD": "level_not_allowed",
        "MAY": "not_started",
        "OFF": "inactive",
    }
    assert refusals["GOLD"]["levels"] == ["diamond", "gold"]

    clock.set(datetime(2026, 5, 31, 15, 59, 59, tzinfo=UTC))  # the window's last second
    redeem(client, member_id, "MAY", store_id)
    clock.advance(timedelta(seconds=1))
    ended = assert_problem(post_redeem(client, member_id, "MAY", store_id), 409, "reward_unavailable")
    assert ended["reason"] == "ended"
    recharge(client, member_id, store_id, "500.00")  # gold now
    redeem(client, member_id, "GOLD", store_id)
    assert_reconciled(container)


def test_too_few_points_change_nothing(client: TestClient, container: Container, store_id: str) -> None:
    dish_template(container)
    add_reward(client, "R-DUCK", kind="dish", points_price=500, coupon_template_code="DUCK", stock=5)
    member_id = member_with_points(client, store_id, 300)

    before = _unchanged(client, container, member_id, "R-DUCK")
    refused = assert_problem(post_redeem(client, member_id, "R-DUCK", store_id), 409, "insufficient_points")

    assert (refused["usable"], refused["needed"]) == (300, 500)
    assert _unchanged(client, container, member_id, "R-DUCK") == before
    assert reward_row(client, "R-DUCK")["redeemed_count"] == 0
    assert member_coupons(container, member_id) == []


def test_expired_points_do_not_count(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    add_reward(client, "R1", points_price=100)
    member_id = member_with_points(client, store_id, 100)  # March 2026: usable to the end of March 2027
    clock.set(datetime(2027, 3, 31, 16, 0, tzinfo=UTC))

    refused = assert_problem(post_redeem(client, member_id, "R1", store_id), 409, "insufficient_points")

    assert refused["usable"] == 0


def test_a_coupon_that_cannot_be_issued_undoes_the_whole_redemption(
    client: TestClient, container: Container, store_id: str
) -> None:
    cash_template(container, stock=0)
    add_reward(client, "R-CASH", kind="coupon", points_price=100, coupon_template_code="CASH10", stock=5)
    member_id = member_with_points(client, store_id, 300)

    before = _unchanged(client, container, member_id, "R-CASH")
    assert_problem(post_redeem(client, member_id, "R-CASH", store_id), 409, "coupon_out_of_stock")

    assert _unchanged(client, container, member_id, "R-CASH") == before  # the unit claimed first is back too
    assert reward_row(client, "R-CASH")["redeemed_count"] == 0


def test_a_frozen_card_cannot_redeem_and_an_unknown_reward_or_store_is_refused(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_reward(client, "R1")
    member_id = member_with_points(client, store_id, 300)

    assert_problem(post_redeem(client, member_id, "NOPE", store_id), 404, "reward_not_found")
    assert_problem(post_redeem(client, member_id, "R1", "NO-SUCH-STORE"), 404, "store_not_found")
    assert_problem(post_redeem(client, "NOBODY", "R1", store_id), 404, "member_not_found")
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200
    assert_problem(post_redeem(client, member_id, "R1", store_id), 409, "member_frozen")
    assert reward_row(client, "R1")["redeemed_count"] == 0


def test_an_idempotency_key_replay_gives_the_same_single_redemption(
    client: TestClient, container: Container, store_id: str
) -> None:
    add_reward(client, "R1", points_price=100, stock=5)
    member_id = member_with_points(client, store_id, 300)
    headers = {"Idempotency-Key": "till-1-redeem-0001"}

    first = post_redeem(client, member_id, "R1", store_id, headers)
    replay = post_redeem(client, member_id, "R1", store_id, headers)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert client.get(f"{API}/members/{member_id}/redemptions").json()["items"] == [
        {k: v for k, v in first.json().items() if k != "points"}
    ]
    assert reward_row(client, "R1")["redeemed_count"] == 1
    assert points_history(client, member_id)["items"][0]["points"] == -100
    assert len(points_history(client, member_id)["items"]) == 2  # the adjustment and one spend


def test_redemptions_and_cancels_are_scoped_to_the_store(
    client: TestClient, container: Container, store_id: str
) -> None:
    other_store = open_store(client, "S002", "徐家汇店")
    add_reward(client, "R1", points_price=100)
    member_id = member_with_points(client, store_id, 300)
    here = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, store_id)}"}
    there = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, other_store)}"}

    assert_problem(post_redeem(client, member_id, "R1", other_store, here), 403, "wrong_store")
    response = post_redeem(client, member_id, "R1", store_id, here)
    assert response.status_code == 201, response.text
    order_no = response.json()["order_no"]

    cancel = f"{API}/redemptions/{order_no}/cancel"
    assert_problem(client.post(cancel, json={}, headers=there), 403, "wrong_store")
    assert client.get(f"{API}/redemptions/{order_no}", headers=there).status_code == 200  # reading is chain-wide
    assert client.post(cancel, json={}, headers=here).status_code == 200


def test_redemptions_are_listed_newest_first_page_by_page(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    add_reward(client, "R1", points_price=10)
    member_id = member_with_points(client, store_id, 100)
    orders = []
    for _ in range(5):
        orders.append(redeem(client, member_id, "R1", store_id)["order_no"])
        clock.advance(timedelta(minutes=1))

    first = client.get(f"{API}/members/{member_id}/redemptions", params={"limit": 3}).json()
    rest = client.get(
        f"{API}/members/{member_id}/redemptions", params={"limit": 3, "before": first["next_before"]}
    ).json()

    assert [i["order_no"] for i in first["items"]] + [i["order_no"] for i in rest["items"]] == orders[::-1]
    assert rest["next_before"] is None
    assert_problem(client.get(f"{API}/members/NOBODY/redemptions"), 404, "member_not_found")


def test_scenarios_keep_the_ledger_reconciled_and_the_stock_counted(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    """A busy afternoon: several members, rewards of each kind, cancels; the books still agree."""
    dish_template(container)
    cash_template(container)
    add_reward(client, "R-DUCK", kind="dish", points_price=300, coupon_template_code="DUCK", stock=10)
    add_reward(client, "R-CASH", kind="coupon", points_price=120, coupon_template_code="CASH10")
    add_reward(client, "R-MUG", kind="merchandise", points_price=80, stock=3)
    members = [str(register(client, f"1380000000{i}")["id"]) for i in range(4)]
    for index, member_id in enumerate(members):
        recharge(client, member_id, store_id, "1000.00")  # 800 points, gold
        clock.advance(timedelta(days=20 * index))
    orders = []
    for member_id in members:
        for reward_id in ("R-DUCK", "R-CASH", "R-MUG"):
            response = post_redeem(client, member_id, reward_id, store_id)
            if response.status_code == 201:
                orders.append(response.json()["order_no"])
    for order_no in orders[::3]:
        assert post_cancel(client, order_no).status_code == 200

    with container.database.read() as session:
        for reward in session.execute(select(Reward)).scalars():
            live = session.execute(
                select(func.count())
                .select_from(Redemption)
                .where(Redemption.reward_id == reward.id, Redemption.status == "redeemed")
            ).scalar_one()
            assert reward.redeemed_count == live, reward.id
    with container.database.read() as session:
        for member_id in members:
            accounts = load_member_accounts(session, member_id)
            spent = session.execute(
                select(func.coalesce(func.sum(Redemption.points), 0)).where(
                    Redemption.member_id == member_id, Redemption.status == "redeemed"
                )
            ).scalar_one()
            assert sum(lot.balance for lot in accounts.lots) == 800 - spent
    assert_reconciled(container)
