"""Concurrent redemptions on PostgreSQL: 32 members race for a reward with 5 units in stock.

The stock is claimed with one conditional UPDATE, so exactly 5 win, nobody is charged for a unit
they did not get, and the ledger still reconciles. SQLite serializes writers (BEGIN IMMEDIATE),
so the race only means something on PostgreSQL.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import TemplateRules
from dinecard.coupons.models import Coupon
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.ledger.service import load_member_accounts
from dinecard.mall import service as mall
from dinecard.mall.domain import RewardKind
from dinecard.mall.models import Redemption, Reward
from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.container import Container
from dinecard.points.domain import usable_points
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from dinecard.wallet.common import PaymentMethod

MEMBERS = 32
STOCK = 5
PRICE = 100  # each member gets 100 points from a 200-yuan recharge


def test_32_concurrent_redemptions_of_5_units_give_exactly_5(pg_container: Container) -> None:
    # PostgreSQL only: SQLite runs one write transaction at a time, so there is no race to test.
    container = pg_container
    now = container.clock.now()
    program = container.program
    with container.database.write() as uow:
        store_id = create_store(uow, "S001", "人民广场店", now).id
        rules = TemplateRules.model_validate({"kind": "cash", "value": "10.00", "validity": {"days": 30}})
        coupons.create_template(uow, "CASH10", coupons.TemplateFields("10元券", None, None), rules, now)
        fields = mall.RewardFields(
            id="R-CASH",
            name="10元券",
            kind=RewardKind.COUPON,
            points_price=PRICE,
            coupon_template_code="CASH10",
            stock=STOCK,
        )
        mall.create_reward(uow, program, fields, now)
    member_ids = []
    for index in range(MEMBERS):
        with container.database.write() as uow:
            member_id = register_member(uow, container.cipher, program, RegisterMember(phone=f"138{index:08d}"), now)
            command = wallet.RechargeCommand(member_id, store_id, Money(20000), PaymentMethod.WECHAT)
            wallet.recharge(uow, program, command, now)
        member_ids.append(member_id)

    barrier = threading.Barrier(MEMBERS)

    def attempt(member_id: str) -> str:
        barrier.wait(timeout=30)
        try:
            with container.database.write() as uow:
                command = mall.RedeemCommand(member_id=member_id, reward_id="R-CASH", store_id=store_id)
                return mall.redeem(uow, program, command, container.clock.now()).redemption.order_no
        except DomainError as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=MEMBERS) as pool:
        outcomes = list(pool.map(attempt, member_ids, timeout=120))

    won = [outcome for outcome in outcomes if outcome.startswith("M")]
    assert len(won) == STOCK, outcomes
    assert sorted(set(outcomes) - set(won)) == [errors.REWARD_OUT_OF_STOCK.code]
    with container.database.read() as session:
        reward = session.get(Reward, "R-CASH")
        assert reward is not None and reward.redeemed_count == STOCK
        assert session.execute(select(func.count()).select_from(Redemption)).scalar_one() == STOCK
        assert session.execute(select(func.count()).select_from(Coupon)).scalar_one() == STOCK
        winners = set(session.execute(select(Redemption.member_id)).scalars())
        for member_id in member_ids:
            accounts = load_member_accounts(session, member_id)
            expected = 0 if member_id in winners else PRICE  # only the winners paid
            assert usable_points(accounts.lots, accounts.debt, container.clock.now()) == expected
        report = run_reconciliation(session, container.clock.now())
    assert report.ok, [check.failures for check in report.checks if check.failures]
