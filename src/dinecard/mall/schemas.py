"""Points-mall and level-purchase API bodies. Points are ints; times are ISO 8601 with an offset."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dinecard.levels.purchasing import LevelPurchaseResult
from dinecard.mall import domain
from dinecard.mall.domain import RewardKind
from dinecard.mall.models import Redemption, Reward
from dinecard.mall.service import CancelResult, RedemptionResult, RewardFields
from dinecard.members.schemas import BalanceOut, LevelOut, PointsOut
from dinecard.wallet.common import MemberAfter

REWARD_ID = r"^[A-Za-z0-9_.-]+$"
LEVEL_CODES = Field(
    default=None, min_length=1, max_length=20, description="Level codes that may redeem it; omit for every level"
)
POINTS_PRICE = Field(ge=1, le=100_000_000, description="Points one redemption costs")
STOCK = Field(default=None, ge=0, le=100_000_000, description="Units on offer in all; omit for unlimited")
PER_MEMBER = Field(default=None, ge=1, le=10_000, description="Most one member may redeem (cancelled ones not counted)")
CANCEL_WINDOW = Field(default=24, ge=0, le=24 * 90, description="Hours a redemption may be cancelled; 0: never")


class RewardCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40, pattern=REWARD_ID, examples=["R-DUCK"])
    name: str = Field(min_length=1, max_length=60, examples=["招牌烤鸭"])
    name_en: str | None = Field(default=None, max_length=80)
    kind: RewardKind
    points_price: int = POINTS_PRICE
    coupon_template_code: str | None = Field(
        default=None, max_length=40, description="dish (a dish-voucher template) and coupon: the coupon issued"
    )
    stock: int | None = STOCK
    per_member_limit: int | None = PER_MEMBER
    levels: list[str] | None = LEVEL_CODES
    cancel_window_hours: int = CANCEL_WINDOW
    starts_at: AwareDatetime | None = Field(default=None, description="Offered from (inclusive)")
    ends_at: AwareDatetime | None = Field(default=None, description="Offered until (exclusive)")
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # The template's own kind is checked by the service, which can look it up.
        problem = domain.shape_problem(self.kind, self.coupon_template_code, None) or domain.window_problem(
            self.starts_at, self.ends_at
        )
        if problem is not None:
            raise ValueError(problem)
        return self

    def fields(self) -> RewardFields:
        return RewardFields(
            id=self.id,
            name=self.name,
            name_en=self.name_en,
            kind=self.kind,
            points_price=self.points_price,
            coupon_template_code=self.coupon_template_code,
            stock=self.stock,
            per_member_limit=self.per_member_limit,
            levels=frozenset(self.levels) if self.levels is not None else None,
            cancel_window_hours=self.cancel_window_hours,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            active=self.active,
        )


class RewardPatch(BaseModel):
    """Only the fields sent change; null clears stock, the limit, the levels or a window end."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=60)
    name_en: str | None = Field(default=None, max_length=80)
    points_price: int | None = Field(default=None, ge=1, le=100_000_000)
    stock: int | None = STOCK
    per_member_limit: int | None = PER_MEMBER
    levels: list[str] | None = LEVEL_CODES
    cancel_window_hours: int | None = Field(default=None, ge=0, le=24 * 90)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> Self:
        for name in ("name", "points_price", "cancel_window_hours", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class RewardOut(BaseModel):
    id: str
    name: str
    name_en: str | None
    kind: RewardKind
    points_price: int
    coupon_template_code: str | None
    stock: int | None
    redeemed_count: int = Field(description="Units redeemed and not cancelled")
    remaining: int | None = Field(description="Units left; null: unlimited")
    per_member_limit: int | None
    levels: list[str] | None
    cancel_window_hours: int
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Reward) -> RewardOut:
        return cls(
            id=row.id,
            name=row.name,
            name_en=row.name_en,
            kind=RewardKind(row.kind),
            points_price=row.points_price,
            coupon_template_code=row.coupon_template_code,
            stock=row.stock,
            redeemed_count=row.redeemed_count,
            remaining=max(row.stock - row.redeemed_count, 0) if row.stock is not None else None,
            per_member_limit=row.per_member_limit,
            levels=row.levels,
            cancel_window_hours=row.cancel_window_hours,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            active=row.active,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_id: str = Field(min_length=1, max_length=40)
    store_id: str = Field(min_length=1, max_length=26)


class RedemptionCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=200)


class RewardRef(BaseModel):
    id: str
    name: str
    name_en: str | None
    kind: RewardKind


class RedemptionOut(BaseModel):
    order_no: str
    member_id: str
    reward: RewardRef
    store_id: str | None
    points_spent: int
    coupon_code: str | None = Field(description="The coupon issued (dish and coupon rewards)")
    status: str = Field(description="redeemed or cancelled")
    created_at: datetime
    cancellable_until: datetime | None = Field(description="Last moment it may be cancelled; null: never")
    cancelled_at: datetime | None

    @classmethod
    def of(cls, row: Redemption, reward: Reward) -> RedemptionOut:
        return cls(
            order_no=row.order_no,
            member_id=row.member_id,
            reward=RewardRef(id=reward.id, name=reward.name, name_en=reward.name_en, kind=RewardKind(reward.kind)),
            store_id=row.store_id,
            points_spent=row.points,
            coupon_code=row.coupon_code,
            status=row.status,
            created_at=row.created_at,
            cancellable_until=row.cancellable_until,
            cancelled_at=row.cancelled_at,
        )


class RedemptionPage(BaseModel):
    items: list[RedemptionOut]
    next_before: int | None = Field(description="Pass as `before` to read the next (older) page")


class RedeemOut(RedemptionOut):
    points: PointsOut = Field(description="The member's points after")

    @classmethod
    def of_result(cls, result: RedemptionResult) -> RedeemOut:
        base = RedemptionOut.of(result.redemption, result.reward)
        return cls(**base.model_dump(), points=_points(result.member))


class CancelOut(RedemptionOut):
    points_restored: int
    points: PointsOut = Field(description="The member's points after")

    @classmethod
    def of_result(cls, result: CancelResult) -> CancelOut:
        base = RedemptionOut.of(result.redemption, result.reward)
        return cls(**base.model_dump(), points_restored=result.points_restored, points=_points(result.member))


def _points(after: MemberAfter) -> PointsOut:
    return PointsOut.of(after.points_usable, after.points_lifetime)


class LevelPurchaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level_code: str = Field(min_length=1, max_length=20, description="The level directly above the member's")
    store_id: str = Field(min_length=1, max_length=26)


class LevelPurchaseOut(BaseModel):
    order_no: str
    from_level: LevelOut
    level: LevelOut = Field(description="The level bought: the member's level now")
    points_spent: int
    upgrade_gift_points: int
    upgrade_gift_coupons: list[str] = Field(description="Codes of the coupons the levels reached gave")
    balance: BalanceOut
    points: PointsOut

    @classmethod
    def of(cls, result: LevelPurchaseResult) -> LevelPurchaseOut:
        return cls(
            order_no=result.order_no,
            from_level=LevelOut.of(result.from_level),
            level=LevelOut.of(result.member.level),
            points_spent=result.points_spent,
            upgrade_gift_points=result.upgrade_gift_points,
            upgrade_gift_coupons=list(result.upgrade_gift_coupons),
            balance=BalanceOut.of(result.member.principal, result.member.bonus),
            points=_points(result.member),
        )
