"""The membership programme: every rule that prices an operation, as validated data.

A programme is a document (JSON in the API and the database) that HQ edits; a change makes a
new version with an effective time, and every operation records the version that priced it.
Pydantic validates it (clear messages, where and why); the domain computes with it as plain
immutable values: no database, no web, no clock here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from dinecard.shared.money import Money
from dinecard.shared.schema_types import YuanAmount

Rate = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)]  # 0.95 = pay 95 %
Multiplier = Annotated[Decimal, Field(ge=1, le=100, max_digits=7, decimal_places=4)]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("give a time zone offset, e.g. 2026-12-01T00:00:00+08:00")
    return moment


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


def fraction(value: Decimal) -> Fraction:
    """Decimals from the document become exact fractions for arithmetic."""
    return Fraction(value)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreScoped(Rule):
    """Any rule can be limited to pilot stores (R-OPS-6); None means every store."""

    stores: frozenset[str] | None = Field(default=None, description="Store ids; omit for every store")

    def covers(self, store_id: str | None) -> bool:
        return self.stores is None or (store_id is not None and store_id in self.stores)


class Window(StoreScoped):
    """A limited-time rule: active from starts_at (inclusive) to ends_at (exclusive)."""

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def active(self, moment: datetime, store_id: str | None) -> bool:
        started = self.starts_at is None or self.starts_at <= moment
        not_ended = self.ends_at is None or moment < self.ends_at
        return started and not_ended and self.covers(store_id)


# ---------------------------------------------------------------- recharge


class BalanceOrder(StrEnum):
    """Which bucket a payment from balance draws on first."""

    PROPORTIONAL = "proportional"
    BONUS_FIRST = "bonus_first"
    PRINCIPAL_FIRST = "principal_first"


class RechargePointsMode(StrEnum):
    TIER = "tier"  # the tier's fixed points (the article's table)
    PER_YUAN = "per_yuan"  # points per yuan of principal (the article's code)


class RechargeTier(Rule):
    amount: YuanAmount
    bonus: YuanAmount
    points: int = Field(ge=0, le=10_000_000)


class RechargeCampaign(Window):
    """限时活动: e.g. this month, recharge 500 or more, get 50 extra (R-RCH-4)."""

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=80)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    min_amount: YuanAmount
    extra_bonus: YuanAmount = Money(0)
    extra_points: int = Field(default=0, ge=0, le=10_000_000)
    budget: YuanAmount | None = Field(default=None, description="Total extra bonus the campaign may give")
    per_member_limit: int | None = Field(default=None, ge=1, description="Times one member may benefit")
    stacks_with_tier: bool = Field(default=True, description="False: the member gets the better of the two")


class FirstRechargeOffer(StoreScoped):
    """新用户首充: e.g. first recharge of 100 → 100 principal + 100 bonus + 50 gift (R-RCH-5)."""

    min_amount: YuanAmount
    extra_bonus: YuanAmount = Money(0)
    gift: YuanAmount = Money(0)
    extra_points: int = Field(default=0, ge=0, le=10_000_000)
    stacks_with_tier: bool = True


class DeferredBonus(Rule):
    """赠送分批到账: part of the bonus now, the rest in monthly instalments (R-RCH-6)."""

    immediate_share: Rate = Field(description="Share of the bonus credited at once, e.g. 0.5")
    instalments: int = Field(ge=1, le=36, description="Monthly releases of the rest")


class RechargeRules(Rule):
    tiers: tuple[RechargeTier, ...]
    package_amounts_only: bool = False
    points_mode: RechargePointsMode = RechargePointsMode.TIER
    points_per_yuan: Decimal = Field(default=Decimal(1), ge=0, le=100)
    campaigns: tuple[RechargeCampaign, ...] = ()
    first_recharge: FirstRechargeOffer | None = None
    deferred_bonus: DeferredBonus | None = None

    @field_validator("tiers")
    @classmethod
    def _increasing(cls, tiers: tuple[RechargeTier, ...]) -> tuple[RechargeTier, ...]:
        amounts = [tier.amount for tier in tiers]
        if any(later <= earlier for earlier, later in pairwise(amounts)):
            raise ValueError("tier amounts must strictly increase")
        if any(tier.amount.fen <= 0 for tier in tiers):
            raise ValueError("tier amounts must be positive")
        return tiers

    @model_validator(mode="after")
    def _campaigns_resolvable(self) -> Self:
        """Two campaigns active at once in one store would need a rule to choose: refuse instead."""
        codes = [campaign.code for campaign in self.campaigns]
        if len(set(codes)) != len(codes):
            raise ValueError("campaign codes must be unique")
        for index, first in enumerate(self.campaigns):
            for second in self.campaigns[index + 1 :]:
                overlap_in_time = first.starts_at < second.ends_at and second.starts_at < first.ends_at
                shared_store = first.stores is None or second.stores is None or bool(first.stores & second.stores)
                if overlap_in_time and shared_store:
                    raise ValueError(
                        f"campaigns {first.code!r} and {second.code!r} overlap in time and stores; "
                        "give them separate windows or separate stores"
                    )
        return self


# ---------------------------------------------------------------- points


class PointsRounding(StrEnum):
    DOWN = "down"
    HALF_UP = "half_up"


class Stacking(StrEnum):
    """How campaign multipliers combine (the level multiplier always multiplies the result)."""

    HIGHEST = "highest_campaign_times_level"
    MULTIPLY = "product_of_campaigns_times_level"
    ADD_EXTRAS = "sum_of_extras_times_level"  # ×2 and ×1.5 give ×2.5


class MultiplierKind(StrEnum):
    BIRTHDAY_MONTH = "birthday_month"
    MEMBER_DAY = "member_day"  # on the programme's member day
    NEW_MEMBER = "new_member"  # the first `days` days after registration
    WINDOW = "window"  # between starts_at and ends_at


class EarnMultiplier(Window):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    kind: MultiplierKind
    multiplier: Multiplier
    days: int | None = Field(default=None, ge=1, le=366, description="For new_member")

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind is MultiplierKind.NEW_MEMBER and self.days is None:
            raise ValueError("a new_member multiplier needs days")
        if self.kind is MultiplierKind.WINDOW and (self.starts_at is None or self.ends_at is None):
            raise ValueError("a window multiplier needs starts_at and ends_at")
        return self


class SpendBonus(Window):
    """Flat extra points for a bill of at least min_spend, e.g. winter: spend 50, get 50 (tea preset)."""

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    min_spend: YuanAmount
    points: int = Field(ge=1, le=1_000_000)


class ExpiryPolicyKind(StrEnum):
    ROLLING_MONTHS = "rolling_months"  # N months after the day earned
    END_OF_MONTH = "end_of_month"  # end of the month N months after the month earned
    END_OF_YEAR = "end_of_year"  # end of the year N years after the year earned
    NEVER = "never"


class ExpiryPolicy(Rule):
    policy: ExpiryPolicyKind = ExpiryPolicyKind.END_OF_MONTH
    months: int = Field(default=12, ge=0, le=120, description="For rolling_months and end_of_month")
    years: int = Field(default=1, ge=0, le=10, description="For end_of_year")


class Redemption(Rule):
    points_per_yuan: int = Field(default=100, ge=1, le=100_000, description="100 points = 1 yuan")
    min_points: int = Field(default=0, ge=0, description="Smallest number of points a checkout may use")
    max_share: Rate = Field(default=Decimal(1), description="Largest share of the bill payable with points")


class PointsRules(Rule):
    earn_per_yuan: Decimal = Field(default=Decimal(1), ge=0, le=100)
    rounding: PointsRounding = PointsRounding.DOWN
    stacking: Stacking = Stacking.HIGHEST
    multipliers: tuple[EarnMultiplier, ...] = ()
    spend_bonuses: tuple[SpendBonus, ...] = ()
    expiry: ExpiryPolicy = ExpiryPolicy()
    reminder_days: tuple[int, ...] = (30, 7)
    refund_grace_days: int = Field(default=30, ge=0, le=366)
    redemption: Redemption = Redemption()


# ---------------------------------------------------------------- levels


class LevelRule(Rule):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=20)
    name_en: str = Field(min_length=1, max_length=30)
    min_recharge: YuanAmount | None = Field(default=None, description="Cumulative recharge principal")
    min_consume: YuanAmount | None = Field(default=None, description="Cumulative consumption (alternative path)")
    discount: Rate = Decimal(1)
    multiplier: Multiplier = Decimal(1)
    birthday_gift_points: int = Field(default=0, ge=0, le=1_000_000)
    upgrade_gift_points: int = Field(default=0, ge=0, le=1_000_000)
    upgrade_gift_coupons: tuple[str, ...] = Field(default=(), description="Coupon template codes given on reaching it")
    birthday_gift_coupons: tuple[str, ...] = Field(default=(), description="Coupon template codes given on birthdays")
    points_price: int | None = Field(
        default=None, ge=1, le=100_000_000, description="Points that buy this level from the one below (R-PTS-4)"
    )
    benefits: tuple[str, ...] = Field(default=(), description="Flags shown to the cashier, e.g. priority_queue")

    # Aliases the rest of the domain reads.
    @property
    def name_zh(self) -> str:
        return self.name

    @property
    def discount_rate(self) -> Fraction:
        return fraction(self.discount)

    @property
    def points_multiplier(self) -> Fraction:
        return fraction(self.multiplier)

    @property
    def min_cumulative_recharge(self) -> Money | None:
        return self.min_recharge

    @property
    def min_cumulative_consume(self) -> Money | None:
        return self.min_consume


class DiscountScope(StrEnum):
    ALWAYS = "always"
    BALANCE_PAYMENT = "balance_payment"  # only when the bill is paid (at least partly) from balance


class LevelPolicy(Rule):
    discount_applies: DiscountScope = DiscountScope.ALWAYS
    downgrade_after_months: int | None = Field(default=3, ge=1, le=36, description="Months without consumption")
    retention_quarter_consume: YuanAmount | None = Field(
        default=Money(50000), description="Consumption in a quarter that keeps the level"
    )


# ---------------------------------------------------------------- dishes, member day, birthday


class DishDiscount(Rule):
    dish_ids: frozenset[str] = Field(min_length=1)
    rate: Rate = Field(description="Price multiplier: 0.5 half price, 0 free")


class MemberDay(StoreScoped):
    """会员日: a day of the month with dish discounts; its points multiplier is a `member_day` multiplier."""

    day_of_month: int = Field(default=18, ge=1, le=28)
    dish_discounts: tuple[DishDiscount, ...] = ()


class Birthday(Rule):
    """Birthday-day pricing (R-LIF-2): a bill discount (0.5 = 50 % off, 0 = free) and/or free dishes."""

    bill_rate: Rate | None = None
    bill_discount_cap: YuanAmount | None = None
    dish_discounts: tuple[DishDiscount, ...] = ()


# ---------------------------------------------------------------- the programme


class Program(Rule):
    version: int = Field(default=0, ge=0, description="Set by the server")
    name: str = Field(default="default", max_length=60)
    business_timezone: str = "Asia/Shanghai"
    balance_order: BalanceOrder = BalanceOrder.PROPORTIONAL
    recharge: RechargeRules
    points: PointsRules = PointsRules()
    levels: tuple[LevelRule, ...]
    level_policy: LevelPolicy = LevelPolicy()
    member_day: MemberDay | None = None
    birthday: Birthday = Birthday()

    @field_validator("business_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: tuple[LevelRule, ...]) -> tuple[LevelRule, ...]:
        if not levels:
            raise ValueError("at least one level (the entry level) is needed")
        if levels[0].min_recharge is not None or levels[0].min_consume is not None:
            raise ValueError("the first level is the entry level: it has no threshold")
        codes = [level.code for level in levels]
        if len(set(codes)) != len(codes):
            raise ValueError("level codes must be unique")
        for path in ("min_recharge", "min_consume"):
            previous: Money | None = None
            for level in levels[1:]:
                threshold = getattr(level, path)
                if threshold is None:
                    continue
                if previous is not None and threshold <= previous:
                    raise ValueError(f"level {level.code!r}: {path} must be higher than the level below")
                previous = threshold
        for level in levels[1:]:
            if level.min_recharge is None and level.min_consume is None:
                raise ValueError(f"level {level.code!r} needs min_recharge or min_consume")
        return levels

    @model_validator(mode="after")
    def _member_day_multiplier_needs_member_day(self) -> Self:
        kinds = {multiplier.kind for multiplier in self.points.multipliers}
        if MultiplierKind.MEMBER_DAY in kinds and self.member_day is None:
            raise ValueError("a member_day multiplier needs the member_day section")
        return self

    @model_validator(mode="after")
    def _entry_level_is_not_for_sale(self) -> Self:
        if self.levels[0].points_price is not None:
            raise ValueError("the entry level cannot be bought: set points_price on a higher level")
        return self

    # Lookups the domain uses.
    def coupon_templates(self) -> set[str]:
        """Every coupon template the programme gives (they must exist)."""
        return {code for level in self.levels for code in (*level.upgrade_gift_coupons, *level.birthday_gift_coupons)}

    def store_references(self) -> list[tuple[list[str | int], str]]:
        """(path in the programme, store id) of every store a rule is limited to (they must exist)."""
        return _store_references(self, [])

    def level(self, code: str) -> LevelRule:
        for level in self.levels:
            if level.code == code:
                return level
        raise KeyError(code)

    def rank(self, code: str) -> int:
        return [level.code for level in self.levels].index(code)

    @property
    def entry_level(self) -> LevelRule:
        return self.levels[0]

    @property
    def tiers(self) -> tuple[RechargeTier, ...]:
        return self.recharge.tiers

    @property
    def points_per_yuan_redeemed(self) -> int:
        return self.points.redemption.points_per_yuan

    @property
    def refunded_points_grace_days(self) -> int:
        return self.points.refund_grace_days


def _store_references(rule: BaseModel, path: list[str | int]) -> list[tuple[list[str | int], str]]:
    """Walk every rule nested in `rule` (fields, and items of tuples of rules) for StoreScoped stores."""
    found: list[tuple[list[str | int], str]] = []
    if isinstance(rule, StoreScoped) and rule.stores:
        found += [([*path, "stores"], store) for store in sorted(rule.stores)]
    for name in type(rule).model_fields:
        value = getattr(rule, name)
        if isinstance(value, BaseModel):
            found += _store_references(value, [*path, name])
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += _store_references(item, [*path, name, index])
    return found
