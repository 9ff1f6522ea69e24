"""The membership programme: the rules that price every operation.

The core ships the seed article's numbers as the default programme; the rules issue makes
them configurable and versioned. Every operation records `Program.version`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from dinecard.shared.money import Money


class BalanceOrder(StrEnum):
    """Which bucket a payment from balance draws on first."""

    PROPORTIONAL = "proportional"
    BONUS_FIRST = "bonus_first"
    PRINCIPAL_FIRST = "principal_first"


class RechargePointsMode(StrEnum):
    TIER = "tier"  # the tier's fixed points (the article's table)
    PER_YUAN = "per_yuan"  # one point per yuan of principal (the article's code)


@dataclass(frozen=True)
class RechargeTier:
    amount: Money
    bonus: Money
    points: int


@dataclass(frozen=True)
class LevelRule:
    code: str
    name_zh: str
    name_en: str
    rank: int
    min_cumulative_recharge: Money | None
    min_cumulative_consume: Money | None
    discount_rate: Fraction  # 0.95 means the member pays 95 %
    points_multiplier: Fraction
    upgrade_gift_points: int = 0


@dataclass(frozen=True)
class Program:
    version: int
    tiers: tuple[RechargeTier, ...]
    recharge_points_mode: RechargePointsMode
    levels: tuple[LevelRule, ...]
    points_per_yuan_redeemed: int  # 100 points = 1 yuan
    points_earned_per_yuan: Fraction
    balance_order: BalanceOrder
    points_expiry_months_after_month_end: int | None  # None: points never expire
    refunded_points_grace_days: int
    business_timezone: str = "Asia/Shanghai"
    package_amounts_only: bool = False
    level_by_code: dict[str, LevelRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        amounts = [tier.amount for tier in self.tiers]
        assert amounts == sorted(amounts) and len(set(amounts)) == len(amounts), "tiers must increase"
        ranks = [level.rank for level in self.levels]
        assert ranks == sorted(ranks) and ranks[0] == 0, "levels are ordered by rank from 0"
        object.__setattr__(self, "level_by_code", {level.code: level for level in self.levels})

    def level(self, code: str) -> LevelRule:
        return self.level_by_code[code]

    @property
    def entry_level(self) -> LevelRule:
        return self.levels[0]


def _level(
    code: str, zh: str, en: str, rank: int, recharge_yuan: int | None, discount: str, multiplier: str
) -> LevelRule:
    return LevelRule(
        code=code,
        name_zh=zh,
        name_en=en,
        rank=rank,
        min_cumulative_recharge=None if recharge_yuan is None else Money(recharge_yuan * 100),
        min_cumulative_consume=None,
        discount_rate=Fraction(discount),
        points_multiplier=Fraction(multiplier),
    )


def default_program() -> Program:
    """The seed article's section 3 numbers."""
    return Program(
        version=1,
        tiers=(
            RechargeTier(Money(20000), Money(2000), 100),
            RechargeTier(Money(50000), Money(8000), 300),
            RechargeTier(Money(100000), Money(20000), 800),
            RechargeTier(Money(200000), Money(50000), 2000),
        ),
        recharge_points_mode=RechargePointsMode.TIER,
        levels=(
            _level("normal", "普通会员", "Member", 0, None, "1", "1"),
            _level("silver", "银卡会员", "Silver", 1, 500, "0.95", "1.2"),
            _level("gold", "金卡会员", "Gold", 2, 1000, "0.90", "1.5"),
            _level("diamond", "钻石会员", "Diamond", 3, 2000, "0.85", "2"),
        ),
        points_per_yuan_redeemed=100,
        points_earned_per_yuan=Fraction(1),
        balance_order=BalanceOrder.PROPORTIONAL,
        points_expiry_months_after_month_end=12,
        refunded_points_grace_days=30,
    )
