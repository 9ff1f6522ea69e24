"""Coupons over HTTP (R-CPN-1, R-CPN-2, R-PAY-1, R-PAY-2, R-PAY-6): HQ's templates, staff issuing
them, a cashier applying each kind at the till, every refusal leaving everything as it was,
refunds giving coupons back, and the ledger booking what coupons cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dinecard.ledger.domain import AccountKind, counter_code
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from tests.api.helpers import (
    API,
    assert_problem,
    balance,
    member,
    open_store,
    post_refund,
    recharge,
    refund,
    register,
    snapshot,
)
from tests.conftest import make_token

TEMPLATES = f"{API}/coupon-templates"
SILVER_PHONE = "13812340001"
OTHER_PHONE = "13812340002"
NORMAL_PHONE = "13812340003"


# ---------------------------------------------------------------- helpers


def template_body(code: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"code": code, "name": f"{code} 券", "kind": kind, "validity": {"days": 30}, **fields}


def create_template(client: TestClient, code: str, kind: str, **fields: Any) -> dict[str, Any]:
    response = client.post(TEMPLATES, json=template_body(code, kind, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def post_issue(
    client: TestClient, member_id: str, template_code: str, count: int = 1, headers: dict[str, str] | None = None
) -> Any:
    body = {"template_code": template_code, "count": count}
    return client.post(f"{API}/members/{member_id}/coupons", json=body, headers=headers)


def issue(client: TestClient, member_id: str, template_code: str, count: int = 1) -> list[str]:
    response = post_issue(client, member_id, template_code, count)
    assert response.status_code == 201, response.text
    return [coupon["code"] for coupon in response.json()]


def issue_one(client: TestClient, member_id: str, template_code: str) -> str:
    return issue(client, member_id, template_code)[0]


def read_coupon(client: TestClient, code: str) -> dict[str, Any]:
    response = client.get(f"{API}/coupons/{code}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def coupon_status(client: TestClient, code: str) -> str:
    return str(read_coupon(client, code)["status"])


def read_template(client: TestClient, code: str) -> dict[str, Any]:
    response = client.get(f"{TEMPLATES}/{code}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def add_dish(client: TestClient, dish_id: str, price: str, **fields: Any) -> None:
    body = {"id": dish_id, "name": dish_id, "category": "热菜", "price": price, **fields}
    response = client.post(f"{API}/dishes", json=body)
    assert response.status_code == 201, response.text


def silver_member(client: TestClient, store_id: str, phone: str = SILVER_PHONE) -> str:
    """A member who recharged 500.00: silver (95 %, × 1.2), 500.00 + 80.00 bonus, 300 points."""
    member_id = str(register(client, phone)["id"])
    recharge(client, member_id, store_id, "500.00")
    return member_id


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def till_checkout(
    client: TestClient, headers: dict[str, str], member_id: str, store_id: str, bill: str | None, **options: Any
) -> Any:
    body = {"store_id": store_id, **options}
    if bill is not None:
        body["bill_total"] = bill
    return client.post(f"{API}/members/{member_id}/checkouts", json=body, headers=headers)


def till_quote(
    client: TestClient, headers: dict[str, str], member_id: str, store_id: str, bill: str | None, **options: Any
) -> Any:
    body = {"store_id": store_id, **options}
    if bill is not None:
        body["bill_total"] = bill
    return client.post(f"{API}/members/{member_id}/quote", json=body, headers=headers)


def coupon_cost_fen(container: Container) -> int:
    """The sum of every posting on a coupon-cost account, straight from the ledger tables."""
    with container.database.read() as session:
        return int(
            session.execute(
                text(
                    "SELECT COALESCE(SUM(p.amount), 0) FROM ledger_postings p "
                    "JOIN ledger_accounts a ON a.id = p.account_id WHERE a.kind = :kind"
                ),
                {"kind": AccountKind.COUPON_COST.value},
            ).scalar_one()
        )


def postings_on(container: Container, account_code: str) -> int:
    with container.database.read() as session:
        return int(
            session.execute(
                text(
                    "SELECT COALESCE(SUM(p.amount), 0) FROM ledger_postings p "
                    "JOIN ledger_accounts a ON a.id = p.account_id WHERE a.code = :code"
                ),
                {"code": account_code},
            ).scalar_one()
        )


def assert_reconciles(container: Container) -> None:
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    assert report.ok, {check.name: check.failures[:3] for check in report.checks if check.failures}


def events(client: TestClient, member_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/members/{member_id}/rewards-history")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


@pytest.fixture
def cashier(container: Container, store_id: str) -> dict[str, str]:
    return bearer(make_token(container, Role.CASHIER, store_id))


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize(
    ("kind", "fields", "rules"),
    [
        ("cash", {"value": "20.00"}, {"value": "20.00", "threshold": None, "rate": None, "cap": None}),
        (
            "threshold_cash",
            {"value": "30.00", "threshold": "150.00"},
            {"value": "30.00", "threshold": "150.00", "rate": None, "cap": None},
        ),
        (
            "percent",
            {"rate": "0.88", "cap": "50.00"},
            {"value": None, "threshold": None, "rate": "0.88", "cap": "50.00"},
        ),
        ("free_meal", {"cap": "200.00"}, {"value": None, "threshold": None, "rate": None, "cap": "200.00"}),
    ],
)
def test_hq_creates_each_kind_of_template(
    client: TestClient, kind: str, fields: dict[str, Any], rules: dict[str, Any]
) -> None:
    response = client.post(TEMPLATES, json=template_body("T1", kind, stock=100, per_member_limit=2, **fields))

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["code"], body["name"], body["kind"]) == ("T1", "T1 券", kind)
    assert (body["stock"], body["issued"], body["left"], body["active"]) == (100, 0, 100, True)
    assert {name: body["rules"][name] for name in rules} == rules
    assert body["rules"]["kind"] == kind
    assert body["rules"]["per_member_limit"] == 2
    assert body["rules"]["stacking"] == "one_per_kind"
    assert body["rules"]["validity"]["days"] == 30
    assert read_template(client, "T1") == body
    assert [t["code"] for t in client.get(TEMPLATES).json()] == ["T1"]


def test_hq_creates_a_dish_voucher_for_dishes_on_the_menu(client: TestClient) -> None:
    add_dish(client, "D-DUCK", "88.00")
    body = create_template(client, "DUCK", "dish", dish_ids=["D-DUCK"], cap="60.00")
    assert (body["kind"], body["rules"]["dish_ids"], body["rules"]["cap"]) == ("dish", ["D-DUCK"], "60.00")
    assert (body["stock"], body["left"]) == (None, None)


def test_a_dish_voucher_for_a_dish_not_on_the_menu_is_refused(client: TestClient) -> None:
    response = client.post(TEMPLATES, json=template_body("DUCK", "dish", dish_ids=["D-NOPE"]))
    assert assert_problem(response, 404, "dish_not_found")["dish_id"] == "D-NOPE"
    assert client.get(TEMPLATES).json() == []


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kind": "threshold_cash", "value": "30.00"}, "threshold"),
        ({"kind": "cash"}, "value"),
        ({"kind": "percent"}, "rate"),
        ({"kind": "dish"}, "dish_ids"),
        ({"kind": "cash", "value": "20.00", "cap": "20.00"}, "cap"),
        ({"kind": "threshold_cash", "value": "30.00", "threshold": "29.99"}, "threshold"),
        ({"kind": "percent", "rate": "1"}, "rate"),
        ({"kind": "percent", "rate": "0"}, "rate"),
        ({"kind": "percent", "rate": "1.5"}, "rate"),
        ({"kind": "cash", "value": "20.00", "validity": {}}, "valid_until"),
        (
            {"kind": "cash", "value": "20.00", "validity": {"days": 7, "valid_until": "2026-04-01T00:00:00+08:00"}},
            "days",
        ),
        ({"kind": "cash", "value": "20.00", "validity": {"days": 0}}, "days"),
        ({"kind": "cash", "value": "20.00", "per_member_limit": 0}, "per_member_limit"),
        ({"kind": "cash", "value": "20.00", "stacking": "sometimes"}, "stacking"),
        ({"kind": "cash", "value": "20.00", "stock": -1}, "stock"),
        ({"kind": "bogof", "value": "20.00"}, "kind"),
    ],
)
def test_template_validation_errors_are_422_problems_naming_the_field(
    client: TestClient, fields: dict[str, Any], named: str
) -> None:
    body = {"code": "BAD", "name": "坏券", "validity": {"days": 30}, **fields}

    problem = assert_problem(client.post(TEMPLATES, json=body), 422, "validation_failed")

    assert any(named in (str(error["loc"]) + error["message"]) for error in problem["errors"]), problem["errors"]
    assert client.get(TEMPLATES).json() == []


def test_a_bad_amount_in_a_template_is_amount_invalid(client: TestClient) -> None:
    problem = assert_problem(
        client.post(TEMPLATES, json=template_body("BAD", "cash", value="20.005")), 422, "amount_invalid"
    )
    assert [error["loc"] for error in problem["errors"]] == [["body", "value"]]


def test_a_template_code_is_taken_once(client: TestClient) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    response = client.post(TEMPLATES, json=template_body("CASH20", "cash", value="5.00"))
    assert assert_problem(response, 409, "coupon_template_taken")["template_code"] == "CASH20"
    assert read_template(client, "CASH20")["rules"]["value"] == "20.00"


def test_only_hq_creates_and_changes_templates(container: Container, client: TestClient, store_id: str) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    for role in (Role.CASHIER, Role.STORE_MANAGER):
        headers = bearer(make_token(container, role, store_id))
        response = client.post(TEMPLATES, json=template_body("MINE", "cash", value="5.00"), headers=headers)
        assert_problem(response, 403, "forbidden")
        response = client.patch(f"{TEMPLATES}/CASH20", json={"active": False}, headers=headers)
        assert_problem(response, 403, "forbidden")
        # every role reads them
        assert client.get(f"{TEMPLATES}/CASH20", headers=headers).status_code == 200
    assert [t["code"] for t in client.get(TEMPLATES).json()] == ["CASH20"]
    assert read_template(client, "CASH20")["active"] is True


# ---------------------------------------------------------------- issuing


def test_staff_issue_several_coupons_at_once(client: TestClient, store_id: str) -> None:
    # given a 20.00 coupon valid for 7 days, issued at 12:00 on 2 March (Shanghai)
    create_template(client, "CASH20", "cash", value="20.00", stock=10, validity={"days": 7})
    member_id = silver_member(client, store_id)

    response = post_issue(client, member_id, "CASH20", count=3)

    assert response.status_code == 201, response.text
    coupons = response.json()
    assert len({c["code"] for c in coupons}) == 3
    for coupon in coupons:
        assert len(coupon["code"]) == 11
        assert coupon["member_id"] == member_id
        assert (coupon["template_code"], coupon["kind"], coupon["status"]) == ("CASH20", "cash", "usable")
        assert (coupon["value"], coupon["discount"], coupon["source"]) == ("20.00", "0.00", "staff")
        assert instant(coupon["valid_from"]) == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
        # the end of Sunday 8 March in Shanghai
        assert instant(coupon["valid_until"]) == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)
        assert instant(read_coupon(client, coupon["code"])["valid_until"]) == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)
        assert (coupon["used_order_no"], coupon["times_restored"]) == (None, 0)
    template = read_template(client, "CASH20")
    assert (template["issued"], template["left"]) == (3, 7)
    listed = client.get(f"{API}/members/{member_id}/coupons").json()
    assert sorted(c["code"] for c in listed) == sorted(c["code"] for c in coupons)


def test_the_per_member_limit_is_honoured(client: TestClient, store_id: str) -> None:
    create_template(client, "CASH20", "cash", value="20.00", per_member_limit=2)
    member_id = silver_member(client, store_id)
    other_id = silver_member(client, store_id, OTHER_PHONE)
    issue(client, member_id, "CASH20", count=2)

    refused = assert_problem(post_issue(client, member_id, "CASH20"), 409, "coupon_member_limit")

    assert (refused["template_code"], refused["limit"]) == ("CASH20", 2)
    # asking for more than the limit at once is refused whole
    assert_problem(post_issue(client, other_id, "CASH20", count=3), 409, "coupon_member_limit")
    assert client.get(f"{API}/members/{other_id}/coupons").json() == []
    # another member still gets theirs
    assert len(issue(client, other_id, "CASH20", count=2)) == 2
    assert read_template(client, "CASH20")["issued"] == 4
    assert len(client.get(f"{API}/members/{member_id}/coupons", params={"status": "all"}).json()) == 2


def test_a_used_coupon_still_counts_towards_the_per_member_limit(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "CASH20", "cash", value="20.00", per_member_limit=1)
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    assert till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[code]).status_code == 201

    assert_problem(post_issue(client, member_id, "CASH20"), 409, "coupon_member_limit")


def test_a_stopped_template_issues_nothing_until_resumed(client: TestClient, store_id: str) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    response = client.patch(f"{TEMPLATES}/CASH20", json={"active": False})
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False

    refused = assert_problem(post_issue(client, member_id, "CASH20"), 409, "coupon_template_inactive")

    assert refused["template_code"] == "CASH20"
    assert read_template(client, "CASH20")["issued"] == 0
    assert client.patch(f"{TEMPLATES}/CASH20", json={"active": True}).status_code == 200
    assert len(issue(client, member_id, "CASH20")) == 1


def test_stock_runs_out_and_can_be_topped_up(client: TestClient, store_id: str) -> None:
    create_template(client, "CASH20", "cash", value="20.00", stock=2)
    member_id = silver_member(client, store_id)

    # three at once do not fit in two: nothing is issued
    refused = assert_problem(post_issue(client, member_id, "CASH20", count=3), 409, "coupon_out_of_stock")
    assert refused["template_code"] == "CASH20"
    assert read_template(client, "CASH20")["issued"] == 0
    issue(client, member_id, "CASH20", count=2)
    assert (read_template(client, "CASH20")["issued"], read_template(client, "CASH20")["left"]) == (2, 0)
    assert_problem(post_issue(client, member_id, "CASH20"), 409, "coupon_out_of_stock")
    # stock below what is issued is refused; raising it lets one more go out
    assert_problem(client.patch(f"{TEMPLATES}/CASH20", json={"stock": 1}), 422, "validation_failed")
    assert client.patch(f"{TEMPLATES}/CASH20", json={"stock": 3}).json()["left"] == 1
    issue(client, member_id, "CASH20")
    assert len(client.get(f"{API}/members/{member_id}/coupons").json()) == 3


def test_an_unknown_template_is_not_found(client: TestClient, store_id: str) -> None:
    member_id = silver_member(client, store_id)
    assert assert_problem(post_issue(client, member_id, "NOPE"), 404, "coupon_template_not_found")["template_code"] == (
        "NOPE"
    )


def test_a_cashier_may_not_issue_but_a_store_manager_may(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "CASH20", "cash", value="20.00", stock=5)
    member_id = silver_member(client, store_id)

    assert_problem(post_issue(client, member_id, "CASH20", headers=cashier), 403, "forbidden")
    assert read_template(client, "CASH20")["issued"] == 0
    assert client.get(f"{API}/members/{member_id}/coupons", headers=cashier).json() == []

    manager = bearer(make_token(container, Role.STORE_MANAGER, store_id))
    response = post_issue(client, member_id, "CASH20", headers=manager)
    assert response.status_code == 201, response.text
    assert read_template(client, "CASH20")["issued"] == 1


def test_issuing_with_an_idempotency_key_issues_once(client: TestClient, store_id: str) -> None:
    create_template(client, "CASH20", "cash", value="20.00", stock=5)
    member_id = silver_member(client, store_id)
    headers = {"Idempotency-Key": "issue-0001"}

    first = post_issue(client, member_id, "CASH20", count=2, headers=headers)
    second = post_issue(client, member_id, "CASH20", count=2, headers=headers)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert read_template(client, "CASH20")["issued"] == 2
    assert len(client.get(f"{API}/members/{member_id}/coupons").json()) == 2


def test_a_patch_changes_only_what_it_sends_and_null_clears_the_english_name_and_the_stock(
    client: TestClient,
) -> None:
    create_template(client, "CASH20", "cash", value="20.00", name_en="20 off", stock=100)

    def fields() -> tuple[Any, ...]:
        body = read_template(client, "CASH20")
        return body["name"], body["name_en"], body["stock"], body["active"]

    # a new name alone keeps the English name, the stock and the status
    assert client.patch(f"{TEMPLATES}/CASH20", json={"name": "立减 20"}).status_code == 200
    assert fields() == ("立减 20", "20 off", 100, True)
    # null name or active mean "keep"; null name_en and stock clear them (no English name, no limit)
    assert client.patch(f"{TEMPLATES}/CASH20", json={"name": None, "active": None, "stock": None}).status_code == 200
    assert fields() == ("立减 20", "20 off", None, True)
    assert client.patch(f"{TEMPLATES}/CASH20", json={"name_en": None, "active": False}).status_code == 200
    assert fields() == ("立减 20", None, None, False)


def test_the_rules_of_a_template_never_change(client: TestClient) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    problem = assert_problem(client.patch(f"{TEMPLATES}/CASH20", json={"value": "50.00"}), 422, "validation_failed")
    assert problem["errors"][0]["loc"] == ["body", "value"]
    assert read_template(client, "CASH20")["rules"]["value"] == "20.00"
    assert_problem(client.patch(f"{TEMPLATES}/NOPE", json={"active": False}), 404, "coupon_template_not_found")


def test_a_template_whose_validity_has_ended_issues_nothing(client: TestClient, store_id: str) -> None:
    # given a template valid until 1 March; it is 2 March
    create_template(client, "OLD", "cash", value="5.00", stock=1, validity={"valid_until": "2026-03-01T00:00:00+08:00"})
    member_id = silver_member(client, store_id)

    response = post_issue(client, member_id, "OLD")

    # then no dead coupon is handed out and the stock is not spent on one
    assert response.status_code == 409, response.text
    assert response.json()["code"] in {"coupon_template_inactive", "coupon_expired"}
    assert read_template(client, "OLD")["issued"] == 0
    assert client.get(f"{API}/members/{member_id}/coupons", params={"status": "all"}).json() == []


def test_issued_coupons_are_answered_as_they_are_read_back(client: TestClient, store_id: str) -> None:
    # docs/api.md: answers are UTC, ISO 8601 with a Z suffix
    create_template(client, "CASH20", "cash", value="20.00", validity={"days": 7, "delay_days": 1})
    member_id = silver_member(client, store_id)

    issued = post_issue(client, member_id, "CASH20").json()[0]

    assert issued == read_coupon(client, issued["code"])
    assert (issued["valid_from"], issued["valid_until"]) == ("2026-03-02T16:00:00Z", "2026-03-09T16:00:00Z")


# ---------------------------------------------------------------- each kind at the till


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "bill_total": body["bill_total"],
        "discount": body["discount"],
        "coupon_discount": body["coupon_discount"],
        "points_deduction": body["points_deduction"],
        "payable": body["payable"],
        "paid_from_balance": body["paid_from_balance"],
        "due_other_tender": body["due_other_tender"],
        "points_earned": body["points_earned"],
    }


def test_worked_example_silver_member_threshold_coupon_paid_from_balance(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    # given a silver member (95 %, points × 1.2; 500.00 + 80.00 on the card, 300 points) with 满150减30
    create_template(client, "MJ150", "threshold_cash", threshold="150.00", value="30.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "MJ150")
    before = snapshot(client, member_id)

    # when the till quotes, then checks out a 200.00 bill with the coupon
    quoted = till_quote(client, cashier, member_id, store_id, "200.00", coupon_codes=[code])
    assert quoted.status_code == 200, quoted.text
    assert snapshot(client, member_id) == before
    assert coupon_status(client, code) == "usable"
    response = till_checkout(client, cashier, member_id, store_id, "200.00", coupon_codes=[code])

    # then 200.00 − 10.00 level discount = 190.00 ≥ 150.00 → 30.00 off → 160.00 from the balance,
    # in proportion 500 : 80 → 137.93 + 22.07; 160 × 1.2 = 192 points
    assert response.status_code == 201, response.text
    body = response.json()
    expected = {
        "bill_total": "200.00",
        "discount": "10.00",
        "coupon_discount": "30.00",
        "points_deduction": "0.00",
        "payable": "160.00",
        "paid_from_balance": balance("137.93", "22.07"),
        "due_other_tender": "0.00",
        "points_earned": 192,
    }
    assert _figures(body) == expected
    assert _figures(quoted.json()) == expected
    assert quoted.json()["coupons"] == body["coupons"]
    assert quoted.json()["balance_after"] == balance("362.07", "57.93")
    assert quoted.json()["points_after"] == 492
    assert body["discounts"] == [{"kind": "level", "amount": "10.00"}]
    assert body["coupons"] == [
        {"code": code, "template_code": "MJ150", "kind": "threshold_cash", "amount": "30.00", "dish_id": None}
    ]
    assert body["balance"] == balance("362.07", "57.93")
    assert body["points"]["usable"] == 492
    # and the coupon is used on this order, for what it took
    used = read_coupon(client, code)
    assert (used["status"], used["used_order_no"], used["discount"]) == ("used", body["order_no"], "30.00")
    assert used["used_at"] == "2026-03-02T04:00:00Z"
    assert coupon_cost_fen(container) == -3000
    assert postings_on(container, counter_code(AccountKind.COUPON_COST, store_id, "MJ150")) == -3000
    assert postings_on(container, counter_code(AccountKind.CONSUMPTION, store_id, "coupon")) == 3000
    assert_reconciles(container)


@pytest.mark.parametrize(
    ("kind", "fields", "bill", "expected"),
    [
        # 100.00 − 5.00 = 95.00 − 20.00 = 75.00; 75 × 1.2 = 90
        (
            "cash",
            {"value": "20.00"},
            "100.00",
            {"discount": "5.00", "coupon_discount": "20.00", "payable": "75.00", "points_earned": 90},
        ),
        # a 20.00 coupon on a 15.00 bill: 14.25 after the level discount, all of it taken
        (
            "cash",
            {"value": "20.00"},
            "15.00",
            {"discount": "0.75", "coupon_discount": "14.25", "payable": "0.00", "points_earned": 0},
        ),
        # 95.00 × 0.88 = 83.60 paid, 11.40 off; 83.6 × 1.2 = 100.32 → 100
        (
            "percent",
            {"rate": "0.88"},
            "100.00",
            {"discount": "5.00", "coupon_discount": "11.40", "payable": "83.60", "points_earned": 100},
        ),
        # 300.00 → 285.00; 12 % would be 34.20, the cap is 20.00 → 265.00; 265 × 1.2 = 318
        (
            "percent",
            {"rate": "0.88", "cap": "20.00"},
            "300.00",
            {"discount": "15.00", "coupon_discount": "20.00", "payable": "265.00", "points_earned": 318},
        ),
        # 80.00 → 76.00, all of it free
        (
            "free_meal",
            {},
            "80.00",
            {"discount": "4.00", "coupon_discount": "76.00", "payable": "0.00", "points_earned": 0},
        ),
        # 80.00 → 76.00, at most 50.00 free → 26.00; 26 × 1.2 = 31.2 → 31
        (
            "free_meal",
            {"cap": "50.00"},
            "80.00",
            {"discount": "4.00", "coupon_discount": "50.00", "payable": "26.00", "points_earned": 31},
        ),
    ],
)
def test_a_cashier_applies_each_kind_and_the_quote_agrees(
    container: Container,
    client: TestClient,
    store_id: str,
    cashier: dict[str, str],
    kind: str,
    fields: dict[str, Any],
    bill: str,
    expected: dict[str, Any],
) -> None:
    # given a silver member paying by another tender
    create_template(client, "T1", kind, **fields)
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "T1")
    options = {"coupon_codes": [code], "pay_with_balance": False, "other_tender": "wechat"}
    before = snapshot(client, member_id)

    quoted = till_quote(client, cashier, member_id, store_id, bill, **options)
    assert quoted.status_code == 200, quoted.text
    assert snapshot(client, member_id) == before
    assert coupon_status(client, code) == "usable"
    response = till_checkout(client, cashier, member_id, store_id, bill, **options)

    assert response.status_code == 201, response.text
    body = response.json()
    full = {
        "bill_total": bill,
        "points_deduction": "0.00",
        "paid_from_balance": balance("0.00", "0.00"),
        "due_other_tender": expected["payable"],
        **expected,
    }
    assert _figures(body) == full
    assert _figures(quoted.json()) == full
    assert body["coupons"] == [
        {"code": code, "template_code": "T1", "kind": kind, "amount": expected["coupon_discount"], "dish_id": None}
    ]
    assert body["balance"] == balance("500.00", "80.00")
    assert body["points"]["usable"] == 300 + expected["points_earned"]
    used = read_coupon(client, code)
    assert (used["status"], used["used_order_no"], used["discount"]) == (
        "used",
        body["order_no"],
        expected["coupon_discount"],
    )
    assert coupon_cost_fen(container) == -int(expected["coupon_discount"].replace(".", ""))
    assert_reconciles(container)


def test_a_cashier_applies_a_dish_voucher_to_the_dearest_unit_and_discounts_the_rest(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    # given a duck (88.00) and rice (2.00) on the menu and a duck voucher
    add_dish(client, "D-DUCK", "88.00")
    add_dish(client, "D-RICE", "2.00")
    create_template(client, "DUCK", "dish", dish_ids=["D-DUCK"])
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "DUCK")
    items = [{"dish_id": "D-DUCK", "quantity": 2}, {"dish_id": "D-RICE", "quantity": 3}]
    options = {"items": items, "coupon_codes": [code], "pay_with_balance": False}

    quoted = till_quote(client, cashier, member_id, store_id, None, **options)
    response = till_checkout(client, cashier, member_id, store_id, None, **options)

    # then 182.00: one duck free (88.00), 94.00 at 95 % → 89.30; 89.3 × 1.2 = 107.16 → 107
    assert response.status_code == 201, response.text
    body = response.json()
    expected = {
        "bill_total": "182.00",
        "discount": "4.70",
        "coupon_discount": "88.00",
        "points_deduction": "0.00",
        "payable": "89.30",
        "paid_from_balance": balance("0.00", "0.00"),
        "due_other_tender": "89.30",
        "points_earned": 107,
    }
    assert _figures(body) == expected
    assert _figures(quoted.json()) == expected
    assert body["coupons"] == [
        {"code": code, "template_code": "DUCK", "kind": "dish", "amount": "88.00", "dish_id": "D-DUCK"}
    ]
    assert coupon_cost_fen(container) == -8800
    assert_reconciles(container)


def test_coupons_of_different_kinds_share_a_bill_in_order(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "MJ150", "threshold_cash", threshold="150.00", value="30.00")
    create_template(client, "CASH10", "cash", value="10.00")
    create_template(client, "PCT90", "percent", rate="0.9")
    member_id = silver_member(client, store_id)
    codes = [issue_one(client, member_id, t) for t in ("PCT90", "CASH10", "MJ150")]

    body = till_checkout(
        client, cashier, member_id, store_id, "200.00", coupon_codes=codes, pay_with_balance=False
    ).json()

    # 190.00 → 满150减30 160.00 → 10 off 150.00 → 10 % off 135.00; 135 × 1.2 = 162
    assert [(c["kind"], c["amount"]) for c in body["coupons"]] == [
        ("threshold_cash", "30.00"),
        ("cash", "10.00"),
        ("percent", "15.00"),
    ]
    assert (body["discount"], body["coupon_discount"], body["payable"], body["points_earned"]) == (
        "10.00",
        "55.00",
        "135.00",
        162,
    )


def test_points_are_deducted_after_coupons(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    # given 300 points and a 20.00 coupon: 100.00 → 95.00 → 75.00 → 300 points = 3.00 → 72.00
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")

    body = till_checkout(
        client, cashier, member_id, store_id, "100.00", coupon_codes=[code], use_points=300, pay_with_balance=False
    ).json()

    # 72 × 1.2 = 86.4 → 86 points earned
    assert (body["coupon_discount"], body["points_deduction"], body["payable"], body["points_earned"]) == (
        "20.00",
        "3.00",
        "72.00",
        86,
    )
    assert body["points"]["usable"] == 86


def test_the_quote_limits_points_after_coupons(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    # given 300 points; 4.00 → 3.80 (silver) → 2.80 after a 1.00 coupon: at most 280 points
    create_template(client, "CASH1", "cash", value="1.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH1")

    quoted = till_quote(client, cashier, member_id, store_id, "4.00", coupon_codes=[code]).json()

    assert (quoted["payable"], quoted["points_usable_now"], quoted["max_points_usable"]) == ("2.80", 300, 280)
    problem = assert_problem(
        till_checkout(client, cashier, member_id, store_id, "4.00", coupon_codes=[code], use_points=281),
        422,
        "points_exceed_bill",
    )
    assert problem["max_points"] == 280
    body = till_checkout(client, cashier, member_id, store_id, "4.00", coupon_codes=[code], use_points=280).json()
    assert (body["coupon_discount"], body["points_deduction"], body["payable"], body["points_earned"]) == (
        "1.00",
        "2.80",
        "0.00",
        0,
    )


def test_a_free_meal_and_points_paying_everything_come_back_with_a_whole_refund(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    # 55.00 → 52.25 (silver) → free meal up to 50.00 → 2.25 → 225 points → 0.00 to pay
    create_template(client, "FREE50", "free_meal", cap="50.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "FREE50")
    body = till_checkout(client, cashier, member_id, store_id, "55.00", coupon_codes=[code], use_points=225).json()
    assert (body["coupon_discount"], body["points_deduction"], body["payable"]) == ("50.00", "2.25", "0.00")
    assert body["points"]["usable"] == 75

    refunded = refund(client, body["order_no"])

    assert (refunded["amount"], refunded["points_restored"], refunded["coupons_restored"]) == ("0.00", 225, [code])
    assert refunded["points"]["usable"] == 300
    assert coupon_status(client, code) == "usable"
    assert coupon_cost_fen(container) == 0
    assert_reconciles(container)


# ---------------------------------------------------------------- refusals at the till


def _refused(
    client: TestClient,
    headers: dict[str, str],
    member_id: str,
    store_id: str,
    bill: str | None,
    status: int,
    code: str,
    **options: Any,
) -> dict[str, Any]:
    """The checkout and the quote both refuse, and nothing about the member changes."""
    before = snapshot(client, member_id)
    quoted = assert_problem(till_quote(client, headers, member_id, store_id, bill, **options), status, code)
    problem = assert_problem(till_checkout(client, headers, member_id, store_id, bill, **options), status, code)
    assert {k: v for k, v in quoted.items() if k != "instance"} == {k: v for k, v in problem.items() if k != "instance"}
    assert snapshot(client, member_id) == before
    return problem


def test_an_expired_coupon_is_refused(
    client: TestClient, clock: FixedClock, store_id: str, cashier: dict[str, str]
) -> None:
    # given a coupon valid until the end of 2 March in Shanghai (16:00 UTC)
    create_template(client, "CASH20", "cash", value="20.00", validity={"days": 1})
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    # the last instant of its day still works (quote only)
    clock.set(clock.now().replace(hour=15, minute=59, second=59, microsecond=999999))
    assert till_quote(client, cashier, member_id, store_id, "100.00", coupon_codes=[code]).status_code == 200

    clock.set(clock.now().replace(hour=16, minute=0, second=0, microsecond=0))

    problem = _refused(client, cashier, member_id, store_id, "100.00", 409, "coupon_expired", coupon_codes=[code])
    assert (problem["coupon_code"], instant(problem["valid_until"])) == (code, datetime(2026, 3, 2, 16, 0, tzinfo=UTC))
    assert coupon_status(client, code) == "expired"
    assert [
        c["code"] for c in client.get(f"{API}/members/{member_id}/coupons", params={"status": "expired"}).json()
    ] == [code]
    assert client.get(f"{API}/members/{member_id}/coupons").json() == []


def test_a_coupon_not_yet_valid_is_refused_until_local_midnight(
    client: TestClient, clock: FixedClock, store_id: str, cashier: dict[str, str]
) -> None:
    # given a coupon usable from the day after it is issued (from 16:00 UTC on 2 March)
    create_template(client, "CASH20", "cash", value="20.00", validity={"days": 3, "delay_days": 1})
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    assert read_coupon(client, code)["valid_from"] == "2026-03-02T16:00:00Z"
    assert coupon_status(client, code) == "not_yet_valid"

    problem = _refused(client, cashier, member_id, store_id, "100.00", 409, "coupon_not_yet_valid", coupon_codes=[code])
    assert problem["coupon_code"] == code

    clock.set(clock.now().replace(hour=16, minute=0))
    assert coupon_status(client, code) == "usable"
    assert till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[code]).status_code == 201


def test_a_used_coupon_is_refused(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    first = till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[code]).json()

    problem = _refused(client, cashier, member_id, store_id, "100.00", 409, "coupon_used", coupon_codes=[code])

    assert problem["coupon_code"] == code
    assert read_coupon(client, code)["used_order_no"] == first["order_no"]


def test_a_voided_coupon_is_refused(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    # a cashier may not void; a store manager may
    assert_problem(
        client.post(f"{API}/coupons/{code}/void", json={"reason": "发错了"}, headers=cashier), 403, "forbidden"
    )
    manager = bearer(make_token(container, Role.STORE_MANAGER, store_id))
    voided = client.post(f"{API}/coupons/{code}/void", json={"reason": "发错了"}, headers=manager)
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"

    problem = _refused(client, cashier, member_id, store_id, "100.00", 409, "coupon_voided", coupon_codes=[code])

    assert problem["coupon_code"] == code
    assert_problem(client.post(f"{API}/coupons/{code}/void", json={"reason": "again"}), 409, "coupon_voided")
    assert [
        c["code"] for c in client.get(f"{API}/members/{member_id}/coupons", params={"status": "voided"}).json()
    ] == [code]
    assert events(client, member_id)[0]["kind"] == "coupon_voided"


def test_a_used_coupon_cannot_be_voided(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[code])

    problem = assert_problem(client.post(f"{API}/coupons/{code}/void", json={"reason": "x"}), 409, "coupon_used")

    assert problem["coupon_code"] == code
    assert coupon_status(client, code) == "used"


def test_another_members_coupon_is_refused(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    owner_id = silver_member(client, store_id)
    other_id = silver_member(client, store_id, OTHER_PHONE)
    code = issue_one(client, owner_id, "CASH20")

    problem = _refused(client, cashier, other_id, store_id, "100.00", 409, "coupon_wrong_member", coupon_codes=[code])

    assert problem["coupon_code"] == code
    assert coupon_status(client, code) == "usable"


def test_a_coupon_for_another_store_is_refused(container: Container, client: TestClient, store_id: str) -> None:
    # given a coupon only for the first store, presented at a second store's till
    create_template(client, "CASH20", "cash", value="20.00", stores=[store_id])
    other_store = open_store(client, "S002", "徐家汇店")
    other_till = bearer(make_token(container, Role.CASHIER, other_store))
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")

    problem = _refused(
        client, other_till, member_id, other_store, "100.00", 409, "coupon_wrong_store", coupon_codes=[code]
    )

    assert problem["coupon_code"] == code
    assert coupon_status(client, code) == "usable"


def test_a_coupon_for_another_level_is_refused(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    create_template(client, "GOLD20", "cash", value="20.00", levels=["gold", "diamond"])
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "GOLD20")

    problem = _refused(client, cashier, member_id, store_id, "100.00", 409, "coupon_wrong_level", coupon_codes=[code])

    assert problem["coupon_code"] == code
    # once gold (1000.00 recharged in all) the member may use it
    recharge(client, member_id, store_id, "500.00")
    assert member(client, member_id)["level"]["code"] == "gold"
    assert till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[code]).status_code == 201


def test_a_coupon_is_refused_on_its_blackout_date_in_shanghai(
    client: TestClient, clock: FixedClock, store_id: str, cashier: dict[str, str]
) -> None:
    # given a coupon that cannot be used on 3 March; it is 23:59 on 2 March in Shanghai
    create_template(client, "CASH20", "cash", value="20.00", blackout_dates=["2026-03-03"])
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    clock.set(clock.now().replace(hour=15, minute=59))
    assert till_quote(client, cashier, member_id, store_id, "100.00", coupon_codes=[code]).status_code == 200

    # when it is 00:00 on 3 March in Shanghai (16:00 UTC on the 2nd)
    clock.set(clock.now().replace(hour=16, minute=0))

    problem = _refused(client, cashier, member_id, store_id, "100.00", 409, "coupon_blackout_date", coupon_codes=[code])
    assert problem["coupon_code"] == code
    assert coupon_status(client, code) == "usable"


def test_the_threshold_one_fen_short_is_refused_and_exactly_met_works(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    # given an ordinary member (no level discount) with 满150减30
    create_template(client, "MJ150", "threshold_cash", threshold="150.00", value="30.00")
    member_id = str(register(client, NORMAL_PHONE)["id"])
    code = issue_one(client, member_id, "MJ150")

    problem = _refused(
        client, cashier, member_id, store_id, "149.99", 409, "coupon_threshold_not_met", coupon_codes=[code]
    )
    assert (problem["coupon_code"], problem["threshold"], problem["amount"]) == (code, "150.00", "149.99")
    assert coupon_status(client, code) == "usable"

    body = till_checkout(client, cashier, member_id, store_id, "150.00", coupon_codes=[code]).json()
    assert (body["discount"], body["coupon_discount"], body["payable"], body["due_other_tender"]) == (
        "0.00",
        "30.00",
        "120.00",
        "120.00",
    )
    assert body["points_earned"] == 120


def test_the_threshold_is_measured_after_the_level_discount(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    # silver: 157.88 × 0.95 = 149.986 → 149.99 due: one fen short
    create_template(client, "MJ150", "threshold_cash", threshold="150.00", value="30.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "MJ150")

    problem = _refused(
        client, cashier, member_id, store_id, "157.88", 409, "coupon_threshold_not_met", coupon_codes=[code]
    )
    assert problem["amount"] == "149.99"
    # 157.89 × 0.95 = 149.9955 → 150.00: exactly the threshold → 120.00
    body = till_checkout(client, cashier, member_id, store_id, "157.89", coupon_codes=[code]).json()
    assert (body["discount"], body["payable"]) == ("7.89", "120.00")


def test_a_dish_voucher_without_its_dish_on_the_bill_is_refused(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    add_dish(client, "D-DUCK", "88.00")
    add_dish(client, "D-RICE", "2.00")
    create_template(client, "DUCK", "dish", dish_ids=["D-DUCK"])
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "DUCK")

    problem = _refused(
        client,
        cashier,
        member_id,
        store_id,
        None,
        409,
        "coupon_dish_not_on_bill",
        items=[{"dish_id": "D-RICE", "quantity": 5}],
        coupon_codes=[code],
    )
    assert (problem["coupon_code"], problem["dish_ids"]) == (code, ["D-DUCK"])
    # nor on a bill without line items
    _refused(client, cashier, member_id, store_id, "100.00", 409, "coupon_dish_not_on_bill", coupon_codes=[code])
    assert coupon_status(client, code) == "usable"


def test_two_coupons_of_one_kind_are_refused(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    create_template(client, "CASH5", "cash", value="5.00")
    member_id = silver_member(client, store_id)
    first, second = issue_one(client, member_id, "CASH20"), issue_one(client, member_id, "CASH5")

    problem = _refused(
        client, cashier, member_id, store_id, "100.00", 409, "coupon_not_combinable", coupon_codes=[first, second]
    )

    assert (problem["coupon_code"], problem["rule"], problem["coupon_kind"]) == (second, "one_per_kind", "cash")
    assert (coupon_status(client, first), coupon_status(client, second)) == ("usable", "usable")


def test_an_exclusive_coupon_with_another_is_refused(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "FREE", "free_meal", stacking="exclusive")
    create_template(client, "CASH5", "cash", value="5.00")
    member_id = silver_member(client, store_id)
    exclusive, other = issue_one(client, member_id, "FREE"), issue_one(client, member_id, "CASH5")

    problem = _refused(
        client, cashier, member_id, store_id, "100.00", 409, "coupon_not_combinable", coupon_codes=[exclusive, other]
    )

    assert (problem["coupon_code"], problem["rule"]) == (exclusive, "exclusive")
    assert (coupon_status(client, exclusive), coupon_status(client, other)) == ("usable", "usable")


def test_a_coupon_left_with_nothing_to_take_is_refused(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    # 15.00 → 14.25 (silver); the 20.00 coupon takes all of it, nothing is left for the free meal
    create_template(client, "CASH20", "cash", value="20.00")
    create_template(client, "FREE", "free_meal")
    member_id = silver_member(client, store_id)
    cash_code, free_code = issue_one(client, member_id, "CASH20"), issue_one(client, member_id, "FREE")

    problem = _refused(
        client, cashier, member_id, store_id, "15.00", 409, "coupon_no_effect", coupon_codes=[free_code, cash_code]
    )

    assert problem["coupon_code"] == free_code
    assert (coupon_status(client, cash_code), coupon_status(client, free_code)) == ("usable", "usable")


def test_a_mistyped_code_is_not_found(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    # the first character changed by one step of the alphabet: the check character catches it
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    typo = alphabet[(alphabet.index(code[0]) + 1) % 32] + code[1:]

    problem = _refused(client, cashier, member_id, store_id, "100.00", 404, "coupon_not_found", coupon_codes=[typo])

    assert problem["coupon_code"] == typo
    assert_problem(client.get(f"{API}/coupons/{typo}"), 404, "coupon_not_found")
    assert coupon_status(client, code) == "usable"


def test_the_same_code_twice_is_a_duplicate(client: TestClient, store_id: str, cashier: dict[str, str]) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    typed = f"{code[:4]}-{code[4:8]}-{code[8:]}".lower()

    problem = _refused(
        client, cashier, member_id, store_id, "100.00", 422, "coupon_duplicate", coupon_codes=[code, typed]
    )

    assert problem["coupon_code"] == code
    assert coupon_status(client, code) == "usable"


def test_a_coupon_typed_in_lower_case_with_dashes_works_at_the_till_and_in_lookups(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    typed = f"{code[:4]}-{code[4:8]}-{code[8:]}".lower()

    looked_up = read_coupon(client, typed)
    body = till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[typed]).json()

    assert (looked_up["code"], looked_up["status"]) == (code, "usable")
    assert body["coupons"][0]["code"] == code
    assert read_coupon(client, code.lower())["status"] == "used"


def test_a_member_lists_coupons_by_status(
    container: Container, client: TestClient, clock: FixedClock, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "DAY", "cash", value="5.00", validity={"days": 1})
    create_template(client, "MONTH", "cash", value="20.00", validity={"days": 30})
    create_template(client, "PCT", "percent", rate="0.9", validity={"days": 30})
    member_id = silver_member(client, store_id)
    short = issue_one(client, member_id, "DAY")
    used, voided, usable = (
        issue_one(client, member_id, "MONTH"),
        issue_one(client, member_id, "MONTH"),
        issue_one(client, member_id, "PCT"),
    )
    till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[used])
    assert client.post(f"{API}/coupons/{voided}/void", json={"reason": "test"}).status_code == 200
    clock.advance(timedelta(days=1))

    def listed(status: str) -> list[str]:
        response = client.get(f"{API}/members/{member_id}/coupons", params={"status": status})
        assert response.status_code == 200, response.text
        return sorted(c["code"] for c in response.json())

    assert listed("usable") == [usable]
    assert listed("used") == [used]
    assert listed("expired") == [short]
    assert listed("voided") == [voided]
    assert listed("all") == sorted([short, used, voided, usable])
    assert client.get(f"{API}/members/{member_id}/coupons", params={"status": "lost"}).status_code == 422


# ---------------------------------------------------------------- refunds give coupons back


def _cash_bill(client: TestClient, cashier: dict[str, str], store_id: str, **template: Any) -> tuple[str, str, str]:
    """A silver member's 100.00 bill with a 20.00 coupon: 95.00 − 20.00 = 75.00 from the balance."""
    create_template(client, "CASH20", "cash", value="20.00", **template)
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    body = till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[code]).json()
    # 75.00 in proportion 500 : 80 → 64.66 + 10.34; 75 × 1.2 = 90 points
    assert (body["payable"], body["paid_from_balance"], body["points_earned"]) == (
        "75.00",
        balance("64.66", "10.34"),
        90,
    )
    return member_id, code, body["order_no"]


def test_a_whole_refund_gives_a_valid_coupon_back(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    member_id, code, order_no = _cash_bill(client, cashier, store_id)
    assert coupon_cost_fen(container) == -2000

    body = refund(client, order_no)

    assert (body["amount"], body["refunded_to_balance"], body["points_taken_back"]) == (
        "75.00",
        balance("64.66", "10.34"),
        90,
    )
    assert (body["coupons_restored"], body["coupons_not_restored"]) == ([code], [])
    assert body["balance"] == balance("500.00", "80.00")
    coupon = read_coupon(client, code)
    assert (coupon["status"], coupon["used_order_no"], coupon["discount"], coupon["times_restored"]) == (
        "usable",
        None,
        "0.00",
        1,
    )
    assert coupon_cost_fen(container) == 0
    assert postings_on(container, counter_code(AccountKind.CONSUMPTION, store_id, "coupon")) == 0
    assert_reconciles(container)
    # and it can be used again
    again = till_checkout(client, cashier, member_id, store_id, "100.00", coupon_codes=[code])
    assert again.status_code == 201, again.text
    assert again.json()["coupon_discount"] == "20.00"
    assert coupon_cost_fen(container) == -2000
    assert_reconciles(container)


def test_a_partial_refund_keeps_the_coupon_used_until_refunds_complete_the_bill(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    member_id, code, order_no = _cash_bill(client, cashier, store_id)

    first = refund(client, order_no, "30.00")

    assert (first["amount"], first["coupons_restored"], first["coupons_not_restored"]) == ("30.00", [], [])
    assert (coupon_status(client, code), read_coupon(client, code)["used_order_no"]) == ("used", order_no)
    assert coupon_cost_fen(container) == -2000
    assert_reconciles(container)

    rest = refund(client, order_no)

    assert (rest["amount"], rest["coupons_restored"], rest["coupons_not_restored"]) == ("45.00", [code], [])
    assert coupon_status(client, code) == "usable"
    assert member(client, member_id)["balance"] == balance("500.00", "80.00")
    assert coupon_cost_fen(container) == 0
    assert_reconciles(container)
    assert_problem(post_refund(client, order_no), 409, "nothing_to_refund")


def test_a_whole_refund_after_the_coupon_expired_leaves_it_used(
    container: Container, client: TestClient, clock: FixedClock, store_id: str, cashier: dict[str, str]
) -> None:
    member_id, code, order_no = _cash_bill(client, cashier, store_id, validity={"days": 1})
    clock.advance(timedelta(days=1))

    body = refund(client, order_no)

    assert (body["amount"], body["coupons_restored"], body["coupons_not_restored"]) == ("75.00", [], [code])
    coupon = read_coupon(client, code)
    assert (coupon["status"], coupon["used_order_no"], coupon["times_restored"]) == ("used", order_no, 0)
    assert member(client, member_id)["balance"] == balance("500.00", "80.00")
    # the bill no longer stands, so neither does its coupon cost
    assert coupon_cost_fen(container) == 0
    assert_reconciles(container)
    assert [e["kind"] for e in events(client, member_id)][:1] == ["coupon_not_restored"]


def test_a_free_meal_covering_the_whole_bill_can_be_refunded_to_give_the_coupon_back(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "FREE", "free_meal")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "FREE")
    body = till_checkout(client, cashier, member_id, store_id, "80.00", coupon_codes=[code]).json()
    assert (body["payable"], body["coupon_discount"], body["points_earned"]) == ("0.00", "76.00", 0)
    assert coupon_cost_fen(container) == -7600

    response = post_refund(client, body["order_no"])

    assert response.status_code == 201, response.text
    refunded = response.json()
    assert (refunded["amount"], refunded["coupons_restored"], refunded["coupons_not_restored"]) == ("0.00", [code], [])
    assert coupon_status(client, code) == "usable"
    assert member(client, member_id)["balance"] == balance("500.00", "80.00")
    assert coupon_cost_fen(container) == 0
    assert_reconciles(container)
    assert_problem(post_refund(client, body["order_no"]), 409, "nothing_to_refund")


def test_an_idempotent_replay_of_a_checkout_uses_the_coupon_once(
    container: Container, client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    create_template(client, "CASH20", "cash", value="20.00")
    member_id = silver_member(client, store_id)
    code = issue_one(client, member_id, "CASH20")
    headers = {**cashier, "Idempotency-Key": "till1-coupon-0001"}

    first = till_checkout(client, headers, member_id, store_id, "100.00", coupon_codes=[code])
    second = till_checkout(client, headers, member_id, store_id, "100.00", coupon_codes=[code])

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    assert member(client, member_id)["balance"] == balance("435.34", "69.66")
    assert coupon_cost_fen(container) == -2000
    assert read_coupon(client, code)["used_order_no"] == first.json()["order_no"]
    assert_reconciles(container)


# ---------------------------------------------------------------- the rewards history


def test_the_rewards_history_shows_coupons_issued_and_restored(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    member_id, code, order_no = _cash_bill(client, cashier, store_id)
    issued = [e for e in events(client, member_id) if e["kind"] == "coupon_issued"]
    assert len(issued) == 1
    assert issued[0]["ref"] == code
    assert (issued[0]["detail"]["template_code"], issued[0]["detail"]["source"]) == ("CASH20", "staff")

    refund(client, order_no)

    newest = events(client, member_id)[0]
    assert (newest["kind"], newest["ref"], newest["detail"]["order_no"]) == ("coupon_restored", code, order_no)


def test_the_rewards_history_shows_a_coupon_used_with_its_bill_and_amount(
    client: TestClient, store_id: str, cashier: dict[str, str]
) -> None:
    member_id, code, order_no = _cash_bill(client, cashier, store_id)

    history = events(client, member_id)

    assert [(e["kind"], e["ref"]) for e in history] == [("coupon_used", code), ("coupon_issued", code)]
    assert (history[0]["detail"]["order_no"], history[0]["detail"]["amount"]) == (order_no, "20.00")
