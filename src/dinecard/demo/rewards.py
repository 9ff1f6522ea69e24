"""The demo chain's rewards: coupon templates, a stamp card, a points mall and a lottery, and
what members do with them, so every screen has something to show."""

from __future__ import annotations

import random
from datetime import datetime

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import TemplateRules
from dinecard.lottery import service as lottery
from dinecard.lottery.domain import PrizeKind, PrizeSpec
from dinecard.mall import service as mall
from dinecard.mall.domain import RewardKind
from dinecard.platform.db import Database, UnitOfWork
from dinecard.program.domain import Program
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stamps import admin as stamp_cards

WELCOME = "WELCOME10"
TEMPLATES: list[dict[str, object]] = [
    {"code": WELCOME, "name": "新人礼：10元无门槛券", "kind": "cash", "value": "10", "validity": {"days": 30}},
    {
        "code": "MJ100_20",
        "name": "满100减20",
        "kind": "threshold_cash",
        "value": "20",
        "threshold": "100",
        "validity": {"days": 30},
    },
    {
        "code": "P88",
        "name": "88折券（最高减30元）",
        "kind": "percent",
        "rate": "0.88",
        "cap": "30",
        "validity": {"days": 14},
    },
    {"code": "DISH_MAODU", "name": "招牌毛肚菜品券", "kind": "dish", "dish_ids": ["D001"], "validity": {"days": 30}},
    {"code": "DRINK_FREE", "name": "酸梅汤一杯", "kind": "dish", "dish_ids": ["D007"], "validity": {"days": 60}},
    {
        "code": "FREE_MEAL_150",
        "name": "免单券（最高150元）",
        "kind": "free_meal",
        "cap": "150",
        "validity": {"days": 30},
        "stacking": "exclusive",
    },
]


def set_up(uow: UnitOfWork, program: Program, now: datetime) -> None:
    for document in TEMPLATES:
        rules = TemplateRules.model_validate({k: v for k, v in document.items() if k not in ("code", "name")})
        names = coupons.TemplateFields(str(document["name"]), None, None)
        coupons.create_template(uow, str(document["code"]), names, rules, now, program)
    stamp_cards.create_card(
        uow,
        "DRINK10",
        stamp_cards.CardFields(
            name="酸梅汤集杯卡：买10送1",
            name_en="Plum drink card: buy 10, get 1",
            dish_ids=["D007"],
            categories=None,
            stamps_needed=10,
            reward_template_code="DRINK_FREE",
            stores=None,
            starts_at=None,
            ends_at=None,
            active=True,
        ),
        now,
    )
    for reward in (
        mall.RewardFields("R-MAODU", "招牌毛肚一份", RewardKind.DISH, 500, coupon_template_code="DISH_MAODU"),
        mall.RewardFields("R-MJ100", "满100减20券", RewardKind.COUPON, 300, coupon_template_code="MJ100_20"),
        mall.RewardFields("R-MUG", "品牌马克杯", RewardKind.MERCHANDISE, 800, stock=50, per_member_limit=1),
    ):
        mall.create_reward(uow, program, reward, now)
    prizes = [
        PrizeSpec("FREE", "免单券", PrizeKind.COUPON, 1, stock=5, coupon_template_code="FREE_MEAL_150"),
        PrizeSpec("MAODU", "招牌毛肚菜品券", PrizeKind.COUPON, 5, stock=100, coupon_template_code="DISH_MAODU"),
        PrizeSpec("CASH", "10元无门槛券", PrizeKind.COUPON, 15, coupon_template_code=WELCOME),
        PrizeSpec("P50", "50积分", PrizeKind.POINTS, 20, points=50),
        PrizeSpec("NONE", "谢谢参与", PrizeKind.NOTHING, 59),
    ]
    daily = lottery.LotteryFields("每日抽奖", "Daily draw", 100, 3, None, None, True)
    lottery.create_lottery(uow, "DAILY", daily, prizes, now)


def welcome(uow: UnitOfWork, program: Program, member_id: str, now: datetime) -> None:
    """A new member's welcome coupon (a rule a chain would set up)."""
    coupons.issue(uow, program, member_id, WELCOME, now, "welcome")


def coupon_for_bill(uow: UnitOfWork, member_id: str, total: Money, now: datetime, rng: random.Random) -> list[str]:
    """Sometimes the member hands over a coupon that fits the bill."""
    if rng.random() > 0.35:
        return []
    usable = coupons.member_coupons(uow.session, member_id, "usable", now)
    fitting = [
        row.code
        for row in usable
        if row.template_code == WELCOME or (row.template_code == "MJ100_20" and total >= Money(15000))
    ]
    return fitting[:1]


def spend_some_points(
    database: Database, program: Program, member_ids: list[str], store_ids: list[str], now: datetime, rng: random.Random
) -> dict[str, int]:
    """Some members redeem in the points mall, some draw in the lottery (each in its own transaction)."""
    done = {"redemptions": 0, "draws": 0}
    for member_id in member_ids:
        store_id = rng.choice(store_ids)
        wish = rng.random()
        try:
            with database.write() as uow:
                if wish < 0.08:
                    mall.redeem(uow, program, mall.RedeemCommand(member_id, "R-MAODU", store_id), now)
                    done["redemptions"] += 1
                elif wish < 0.25:
                    lottery.draw(uow, program, lottery.DrawCommand(member_id, "DAILY", store_id), now)
                    done["draws"] += 1
        except DomainError:
            continue  # too few points, most likely: the member simply does not
    return done
