"""Coupons under concurrency on PostgreSQL (R-CPN-2, R-OPS-1): many claims on a template's last
coupons give exactly its stock, never more; one coupon named by many tills at once is used once
and the member is charged once.

SQLite runs one write transaction at a time (BEGIN IMMEDIATE), so these races only mean
something on PostgreSQL: this module runs on PostgreSQL alone (it skips, or fails in CI, like
every PostgreSQL test when there is none).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import TemplateRules
from dinecard.coupons.models import Coupon, CouponTemplate
from dinecard.ledger.domain import AccountKind
from dinecard.ledger.models import Account, Posting
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.ledger.service import load_member_accounts
from dinecard.members.service import RegisterMember, lock_member, register_member
from dinecard.platform.container import Container
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from dinecard.wallet.common import PaymentMethod
from dinecard.wallet.models import Checkout
from tests.api.helpers import API
from tests.conftest import _truncate_postgres

CLAIMERS = 64
TILLS = 32
SECONDS_MAX = 120


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Only PostgreSQL for this module: `container` and `client` stand on it."""
    _truncate_postgres(postgres_url)
    return postgres_url


def _race(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Release every job at once (a barrier); each returns its result or its exception."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        try:
            return job()
        except Exception as exc:  # every outcome is judged by the test
            return exc

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        return [future.result(timeout=SECONDS_MAX) for future in futures]


def _store_and_template(container: Container, stock: int | None, **rules: Any) -> str:
    now = container.clock.now()
    with container.database.write() as uow:
        store_id = create_store(uow, "S001", "人民广场店", now).id
        document = {"kind": "cash", "value": "20.00", "validity": {"days": 30}, **rules}
        fields = coupons.TemplateFields("20元券", "20 off", stock)
        coupons.create_template(uow, "CASH20", fields, TemplateRules.model_validate(document), now)
    return store_id


def _members(container: Container, count: int) -> list[str]:
    now = container.clock.now()
    member_ids = []
    with container.database.write() as uow:
        for index in range(count):
            command = RegisterMember(phone=f"139{index:08d}")
            member_ids.append(register_member(uow, container.cipher, container.program, command, now))
    return member_ids


def _claim(container: Container, member_id: str, count: int = 1) -> Callable[[], list[str]]:
    def claim() -> list[str]:
        with container.database.write() as uow:
            lock_member(uow, member_id)
            now = container.clock.now()
            rows = coupons.issue(uow, container.program, member_id, "CASH20", now, coupons.Source.STAFF, count=count)
            return [row.code for row in rows]

    return claim


def _refusals(outcomes: list[Any]) -> Counter[str]:
    return Counter(
        outcome.code if isinstance(outcome, DomainError) else repr(outcome)
        for outcome in outcomes
        if isinstance(outcome, BaseException)
    )


def _coupons_by_member(container: Container) -> Counter[str]:
    with container.database.read() as session:
        return Counter(session.execute(select(Coupon.member_id).where(Coupon.template_code == "CASH20")).scalars())


def _issued_count(container: Container) -> int:
    with container.database.read() as session:
        template = session.get(CouponTemplate, "CASH20")
        assert template is not None
        return template.issued_count


def _assert_reconciles(container: Container) -> None:
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    assert report.ok, {check.name: check.failures[:3] for check in report.checks if check.failures}


# ---------------------------------------------------------------- stock


@pytest.mark.parametrize("stock", [1, 10])
def test_64_members_claiming_at_once_get_exactly_the_stock(container: Container, stock: int) -> None:
    # given a template with `stock` coupons left and 64 members at 64 tills
    _store_and_template(container, stock)
    member_ids = _members(container, CLAIMERS)

    # when all of them claim one at the same instant
    outcomes = _race([_claim(container, member_id) for member_id in member_ids])

    # then exactly `stock` claims win one coupon each and every other claim is out of stock
    won = [outcome for outcome in outcomes if isinstance(outcome, list)]
    assert len(won) == stock, _refusals(outcomes)
    assert all(len(codes) == 1 for codes in won)
    assert _refusals(outcomes) == Counter({errors.COUPON_OUT_OF_STOCK.code: CLAIMERS - stock})
    holders = _coupons_by_member(container)
    assert sum(holders.values()) == stock
    assert set(holders.values()) == {1}
    assert _issued_count(container) == stock


def test_claims_of_three_at_once_never_split_the_last_coupons(container: Container) -> None:
    # given 10 left: three claims of three fit, the fourth would need 12
    _store_and_template(container, 10)
    member_ids = _members(container, CLAIMERS)

    outcomes = _race([_claim(container, member_id, count=3) for member_id in member_ids])

    won = [outcome for outcome in outcomes if isinstance(outcome, list)]
    assert len(won) == 3, _refusals(outcomes)
    assert all(len(codes) == 3 for codes in won)
    assert _refusals(outcomes) == Counter({errors.COUPON_OUT_OF_STOCK.code: CLAIMERS - 3})
    assert sorted(_coupons_by_member(container).values()) == [3, 3, 3]
    assert _issued_count(container) == 9


def test_one_member_asking_from_many_tills_gets_no_more_than_the_per_member_limit(
    container: Container, client: TestClient
) -> None:
    # given a template without a stock limit but at most 2 per member
    _store_and_template(container, None, per_member_limit=2)
    (member_id,) = _members(container, 1)

    def issue_over_http() -> int | str:
        response = client.post(f"{API}/members/{member_id}/coupons", json={"template_code": "CASH20"})
        return response.status_code if response.status_code == 201 else str(response.json()["code"])

    outcomes = _race([issue_over_http for _ in range(16)])

    assert Counter(outcomes) == Counter({201: 2, errors.COUPON_MEMBER_LIMIT.code: 14})
    assert _coupons_by_member(container) == Counter({member_id: 2})
    assert _issued_count(container) == 2


# ---------------------------------------------------------------- one coupon, many tills


def _member_with_coupon(container: Container) -> tuple[str, str, str]:
    """A silver member (500.00 + 80.00 on the card) holding one 20.00 coupon: (store, member, code)."""
    store_id = _store_and_template(container, None)
    (member_id,) = _members(container, 1)
    with container.database.write() as uow:
        command = wallet.RechargeCommand(member_id, store_id, Money(50_000), PaymentMethod.WECHAT)
        wallet.recharge(uow, container.program, command, container.clock.now())
    claimed = _claim(container, member_id)()
    return store_id, member_id, claimed[0]


def _assert_charged_once(container: Container, member_id: str, code: str, order_nos: list[str]) -> None:
    # 100.00 → 95.00 (silver) → 75.00 after the coupon, from 500 : 80 → 64.66 + 10.34
    with container.database.read() as session:
        accounts = load_member_accounts(session, member_id)
        assert (accounts.principal, accounts.bonus) == (50_000 - 6466, 8000 - 1034)
        checkouts = list(session.execute(select(Checkout).where(Checkout.member_id == member_id)).scalars())
        assert [c.order_no for c in checkouts] == order_nos
        assert (checkouts[0].coupon_discount_fen, checkouts[0].payable_fen) == (2000, 7500)
        coupon = session.execute(select(Coupon).where(Coupon.code == code)).scalar_one()
        assert (coupon.status, coupon.used_order_no, coupon.discount_fen) == ("used", order_nos[0], 2000)
        cost = session.execute(
            select(func.coalesce(func.sum(Posting.amount), 0))
            .join(Account, Account.id == Posting.account_id)
            .where(Account.kind == AccountKind.COUPON_COST.value)
        ).scalar_one()
        assert cost == -2000
    _assert_reconciles(container)


def test_32_tills_naming_one_coupon_at_once_use_it_once(container: Container) -> None:
    store_id, member_id, code = _member_with_coupon(container)
    command = wallet.CheckoutCommand(member_id, store_id, Money(10_000), coupon_codes=(code,))

    def till() -> str:
        with container.database.write() as uow:
            return wallet.checkout(uow, container.program, command, container.clock.now()).order_no

    outcomes = _race([till for _ in range(TILLS)])

    order_nos = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert len(order_nos) == 1, _refusals(outcomes)
    assert _refusals(outcomes) == Counter({errors.COUPON_USED.code: TILLS - 1})
    _assert_charged_once(container, member_id, code, order_nos)


def test_32_tills_naming_one_coupon_over_http_use_it_once(container: Container, client: TestClient) -> None:
    store_id, member_id, code = _member_with_coupon(container)
    body = {"store_id": store_id, "bill_total": "100.00", "coupon_codes": [code]}

    def till() -> tuple[int, str]:
        response = client.post(f"{API}/members/{member_id}/checkouts", json=body)
        payload = response.json()
        return response.status_code, payload["order_no"] if response.status_code == 201 else payload["code"]

    outcomes = _race([till for _ in range(TILLS)])

    succeeded = [order_no for status, order_no in outcomes if status == 201]
    assert len(succeeded) == 1, outcomes
    assert Counter(outcome for outcome in outcomes if outcome[0] != 201) == Counter(
        {(409, errors.COUPON_USED.code): TILLS - 1}
    )
    _assert_charged_once(container, member_id, code, succeeded)
