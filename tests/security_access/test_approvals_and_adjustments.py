"""Large refunds and adjustments need a store manager's approval (R-CMP-6); every adjustment has a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dinecard.ledger.reconcile import run_reconciliation
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import AuditEntry
from tests.api.helpers import (
    API,
    assert_problem,
    checkout,
    member,
    open_store,
    points_history,
    post_refund,
    recharge,
    register,
    transactions,
)
from tests.conftest import make_token
from tests.security_access.helpers import bearer, create_staff, login

APPROVAL = "X-Approval"


@dataclass(frozen=True)
class Till:
    """Store A with a member who has money there, and the people who work at A and at B."""

    store_a: str
    store_b: str
    member_id: str
    cashier: dict[str, str]
    other_cashier: dict[str, str]
    manager: dict[str, str]
    manager_of_b: dict[str, str]
    hq: dict[str, str]


@pytest.fixture
def till(client: TestClient, container: Container) -> Till:
    store_a = open_store(client, "A001", "人民广场店")
    store_b = open_store(client, "B001", "徐家汇店")
    member_id = str(register(client, store_id=store_a)["id"])
    recharge(client, member_id, store_a, "2000.00")  # 2000.00 + 500.00 bonus; diamond: bills at 85 %
    return Till(
        store_a=store_a,
        store_b=store_b,
        member_id=member_id,
        cashier=bearer(make_token(container, Role.CASHIER, store_a)),
        other_cashier=bearer(make_token(container, Role.CASHIER, store_a)),
        manager=bearer(make_token(container, Role.STORE_MANAGER, store_a)),
        manager_of_b=bearer(make_token(container, Role.STORE_MANAGER, store_b)),
        hq=bearer(make_token(container, Role.HQ_ADMIN)),
    )


def _checkout_of_850(client: TestClient, till: Till) -> str:
    order = checkout(client, till.member_id, till.store_a, "1000.00")
    assert order["payable"] == "850.00"
    return str(order["order_no"])


def _approved_by(approver: dict[str, str]) -> dict[str, str]:
    return {APPROVAL: approver["Authorization"]}


def _refund(client: TestClient, order_no: str, amount: str | None, caller: dict[str, str], **approval: str) -> Any:
    return post_refund(client, order_no, amount, headers={**caller, **approval})


# ---------------------------------------------------------------- refunds


def test_a_cashier_refunding_more_than_500_needs_approval_and_nothing_changes(client: TestClient, till: Till) -> None:
    # given
    order_no = _checkout_of_850(client, till)
    before = member(client, till.member_id)

    # when
    response = _refund(client, order_no, "500.01", till.cashier)

    # then
    body = assert_problem(response, 403, "approval_required")
    assert body["threshold"] == "500.00"
    assert member(client, till.member_id) == before


def test_a_whole_refund_is_judged_by_what_remains_on_the_order(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)

    assert_problem(_refund(client, order_no, None, till.cashier), 403, "approval_required")


def test_a_recharge_refund_above_500_needs_approval_too(client: TestClient, till: Till) -> None:
    recharge_no = recharge(client, till.member_id, till.store_a, "600.00")["order_no"]

    assert_problem(_refund(client, recharge_no, None, till.cashier), 403, "approval_required")


def test_a_store_manager_of_the_same_store_approves_with_their_login(
    client: TestClient, container: Container, till: Till
) -> None:
    # given the manager's staff login, typed in at the cashier's till
    create_staff(client, "manager.a", Role.STORE_MANAGER, till.store_a)
    manager_token = login(client, "manager.a")
    order_no = _checkout_of_850(client, till)

    # when
    response = _refund(client, order_no, "600.00", till.cashier, **{APPROVAL: f"Bearer {manager_token}"})

    # then
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "600.00"
    # and the audit log names the manager who approved it, beside the cashier who did it
    with container.database.read() as session:
        entry = (
            session.execute(
                select(AuditEntry).where(AuditEntry.action.like("POST %/refunds")).order_by(AuditEntry.id.desc())
            )
            .scalars()
            .first()
        )
    assert entry is not None and entry.actor_role == "cashier"
    assert entry.after["approved_by"]["name"] == "manager.a"
    assert entry.after["approved_by"]["role"] == "store_manager"


def test_an_hq_credential_approves_too(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)

    response = _refund(client, order_no, "600.00", till.cashier, **_approved_by(till.hq))

    assert response.status_code == 201, response.text


def test_a_manager_of_another_store_may_not_approve(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)

    response = _refund(client, order_no, "600.00", till.cashier, **_approved_by(till.manager_of_b))

    assert_problem(response, 403, "wrong_store")


def test_a_cashier_may_not_approve_their_own_refund(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)

    response = _refund(client, order_no, "600.00", till.cashier, **_approved_by(till.cashier))

    assert_problem(response, 403, "approval_required")


def test_another_cashier_may_not_approve(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)

    response = _refund(client, order_no, "600.00", till.cashier, **_approved_by(till.other_cashier))

    assert_problem(response, 403, "forbidden")


def test_an_unknown_approval_credential_is_refused_and_nothing_changes(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)
    before = member(client, till.member_id)

    response = _refund(client, order_no, "600.00", till.cashier, **{APPROVAL: "Bearer dc_0123456789ab.guess"})

    assert_problem(response, 401, "unauthenticated")
    assert member(client, till.member_id) == before


def test_the_approval_scheme_word_is_matched_case_insensitively_like_authorization(
    client: TestClient, till: Till
) -> None:
    order_no = _checkout_of_850(client, till)
    manager_key = till.manager["Authorization"].removeprefix("Bearer ")

    response = _refund(client, order_no, "600.00", till.cashier, **{APPROVAL: f"bearer {manager_key}"})

    assert response.status_code == 201, response.text


def test_a_store_manager_refunds_a_large_amount_without_approval(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)

    response = _refund(client, order_no, None, till.manager)

    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "850.00"


def test_exactly_500_needs_no_approval_the_threshold_is_above(client: TestClient, till: Till) -> None:
    order_no = _checkout_of_850(client, till)

    response = _refund(client, order_no, "500.00", till.cashier)

    assert response.status_code == 201, response.text


# ---------------------------------------------------------------- adjustments


def _adjust(client: TestClient, till: Till, caller: dict[str, str] | None = None, **body: Any) -> Any:
    return client.post(f"{API}/members/{till.member_id}/adjustments", json=body, headers=caller or till.manager)


def _balance_and_points(client: TestClient, member_id: str) -> tuple[str, str, int]:
    view = member(client, member_id)
    return view["balance"]["principal"], view["balance"]["bonus"], view["points"]["usable"]


def test_adjustments_add_and_take_principal_bonus_and_points(client: TestClient, till: Till) -> None:
    # given 2000.00 + 500.00 and the recharge's 2000 points
    assert _balance_and_points(client, till.member_id) == ("2000.00", "500.00", 2000)

    # when
    added = _adjust(client, till, principal="30.00", bonus="5.50", points=120, reason="till miscounted")
    taken = _adjust(client, till, principal="-10.00", bonus="-0.50", points=-20, reason="double credit")

    # then
    assert added.status_code == 201, added.text
    assert taken.status_code == 201, taken.text
    assert (added.json()["principal"], added.json()["bonus"], added.json()["points_change"]) == ("30.00", "5.50", 120)
    assert (taken.json()["principal"], taken.json()["bonus"], taken.json()["points_change"]) == ("-10.00", "-0.50", -20)
    assert _balance_and_points(client, till.member_id) == ("2020.00", "505.00", 2100)


def test_a_cashier_adjusts_small_amounts_at_their_own_store(client: TestClient, till: Till) -> None:
    response = _adjust(client, till, till.cashier, principal="12.00", reason="coins found")

    assert response.status_code == 201, response.text
    assert transactions(client, till.member_id)["items"][0]["store_id"] == till.store_a


def test_an_adjustment_without_a_reason_is_refused(client: TestClient, till: Till) -> None:
    assert_problem(_adjust(client, till, principal="1.00"), 422, "validation_failed")
    assert_problem(_adjust(client, till, principal="1.00", reason=""), 422, "validation_failed")
    assert_problem(_adjust(client, till, principal="1.00", reason="   "), 422, "reason_required")
    assert _balance_and_points(client, till.member_id) == ("2000.00", "500.00", 2000)


def test_an_adjustment_may_not_take_more_than_the_balance(client: TestClient, till: Till) -> None:
    assert_problem(_adjust(client, till, till.hq, principal="-2000.01", reason="x"), 409, "insufficient_balance")
    assert_problem(_adjust(client, till, till.hq, bonus="-500.01", reason="x"), 409, "insufficient_balance")
    assert _balance_and_points(client, till.member_id) == ("2000.00", "500.00", 2000)


def test_an_adjustment_may_not_take_more_points_than_usable(client: TestClient, till: Till) -> None:
    assert_problem(_adjust(client, till, points=-2001, reason="x"), 409, "insufficient_points")
    assert _balance_and_points(client, till.member_id) == ("2000.00", "500.00", 2000)


def test_a_cashiers_adjustment_above_500_needs_a_managers_approval(client: TestClient, till: Till) -> None:
    # 1 point counts as 1 fen: 50,001 points weigh 500.01
    cases = [{"principal": "300.00", "bonus": "-200.01"}, {"points": 50_001}]

    for change in cases:
        refused = _adjust(client, till, till.cashier, reason="goodwill", **change)
        approved = _adjust(client, till, {**till.cashier, **_approved_by(till.manager)}, reason="goodwill", **change)

        assert_problem(refused, 403, "approval_required")
        assert approved.status_code == 201, approved.text


def test_an_adjustment_shows_in_the_histories_with_its_kind(client: TestClient, till: Till) -> None:
    order_no = _adjust(client, till, principal="8.00", bonus="2.00", points=50, reason="birthday cake").json()[
        "order_no"
    ]

    money = transactions(client, till.member_id)["items"][0]
    points = points_history(client, till.member_id)["items"][0]

    assert (money["kind"], money["order_no"], money["principal_change"], money["bonus_change"]) == (
        "adjustment",
        order_no,
        "8.00",
        "2.00",
    )
    assert (points["type"], points["order_no"], points["points"]) == ("adjustment", order_no, 50)


def test_the_ledger_reconciles_after_adjustments(client: TestClient, container: Container, till: Till) -> None:
    # given money and points moved both ways, after ordinary business
    checkout(client, till.member_id, till.store_a, "100.00")
    _adjust(client, till, principal="40.00", bonus="-100.00", points=300, reason="migration fix")
    _adjust(client, till, principal="-15.00", bonus="3.00", points=-150, reason="migration fix")

    # when
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())

    # then
    assert report.ok, report.summary
