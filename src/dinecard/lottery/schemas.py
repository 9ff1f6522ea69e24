"""Lottery API bodies: lotteries with their prize tables and expected cost, draws and their audit."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dinecard.lottery.domain import MAX_PRIZES, MAX_WEIGHT, CostEstimate, PrizeKind, PrizeSpec, PrizeTable
from dinecard.lottery.models import Draw, Lottery
from dinecard.program.domain import AwareDatetime
from dinecard.shared.money import Money

CODE = r"^[A-Za-z0-9_-]+$"


def _decimal(value: Fraction, places: int) -> str:
    """An exact fraction as a decimal string (half up), the API's way with non-integer numbers."""
    scaled = value * 10**places
    whole = int(scaled + Fraction(1, 2)) if scaled >= 0 else -int(-scaled + Fraction(1, 2))
    sign, digits = ("-" if whole < 0 else ""), str(abs(whole)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def _yuan(value: Fraction) -> str:
    """Yuan to the fen, half up (an expected value is rarely a whole number of fen)."""
    return Money(100).times_half_up(value).yuan()


# ---------------------------------------------------------------- requests


class PrizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=CODE)
    name: str = Field(min_length=1, max_length=60)
    kind: PrizeKind
    weight: int = Field(ge=1, le=MAX_WEIGHT, description="Relative chance: probability = weight / sum of weights")
    stock: int | None = Field(default=None, ge=0, le=1_000_000_000, description="Omitted: unlimited")
    coupon_template_code: str | None = Field(default=None, max_length=40, description="coupon prizes only")
    points: int = Field(default=0, ge=0, le=1_000_000, description="points prizes only")

    def spec(self) -> PrizeSpec:
        return PrizeSpec(
            code=self.code,
            name=self.name,
            kind=self.kind,
            weight=self.weight,
            stock=self.stock,
            points=self.points,
            coupon_template_code=self.coupon_template_code,
        )


class LotteryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40, pattern=CODE)
    name: str = Field(min_length=1, max_length=60)
    name_en: str | None = Field(default=None, max_length=80)
    cost_points: int = Field(default=100, ge=1, le=1_000_000, description="Points a draw costs")
    daily_limit: int | None = Field(default=None, ge=1, le=1000, description="Draws per member per business day")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = Field(default=None, description="Exclusive")
    active: bool = True
    prizes: list[PrizeIn] = Field(min_length=1, max_length=MAX_PRIZES)


class LotteryPatch(BaseModel):
    """Only the fields sent change; send null to clear name_en, daily_limit, starts_at or ends_at."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=60)
    name_en: str | None = Field(default=None, max_length=80)
    cost_points: int | None = Field(default=None, ge=1, le=1_000_000)
    daily_limit: int | None = Field(default=None, ge=1, le=1000)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        changed = {name: getattr(self, name) for name in self.model_fields_set}
        # These cannot be cleared: null means "leave as it is".
        return {k: v for k, v in changed.items() if v is not None or k not in ("name", "cost_points", "active")}


class PrizesReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prizes: list[PrizeIn] = Field(min_length=1, max_length=MAX_PRIZES)


class DrawCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lottery_id: str = Field(min_length=1, max_length=40)
    store_id: str


# ---------------------------------------------------------------- lotteries


class PrizeOut(BaseModel):
    code: str
    name: str
    kind: PrizeKind
    weight: int
    stock: int | None
    given: int
    left: int | None = Field(description="Stock left; null: unlimited")
    coupon_template_code: str | None
    coupon_value: str | None = Field(description="Yuan a coupon prize is worth at most, where known")
    points: int
    probability: str = Field(description="Chance of this prize on the next draw, at the current stock (6 decimals)")


class ExpectedCostOut(BaseModel):
    """Per draw, on average, at the current stock."""

    cost_points: int
    points_per_yuan: int = Field(description="The programme's redemption rate, converting coupon value to points")
    points_back: str = Field(description="Points given back as prizes (2 decimals)")
    coupon_value: str = Field(description="Yuan of coupons given (coupons of unknown value left out)")
    value_points: str = Field(description="Everything given, in points (2 decimals)")
    margin_points: str = Field(description="cost_points - value_points; negative: it gives more than it takes")
    unvalued_prizes: list[str] = Field(description="Coupon prizes of unknown value, not counted above")


class LotteryOut(BaseModel):
    id: str
    name: str
    name_en: str | None
    cost_points: int
    daily_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    running: bool = Field(description="Active and within its window now")
    created_at: datetime
    updated_at: datetime
    prizes: list[PrizeOut]
    expected_cost: ExpectedCostOut

    @classmethod
    def of(cls, lottery: Lottery, table: PrizeTable, estimate: CostEstimate, running: bool) -> LotteryOut:
        return cls(
            id=lottery.id,
            name=lottery.name,
            name_en=lottery.name_en,
            cost_points=lottery.cost_points,
            daily_limit=lottery.daily_limit,
            # A row just written still holds the times as sent; answers are in UTC.
            starts_at=lottery.starts_at.astimezone(UTC) if lottery.starts_at else None,
            ends_at=lottery.ends_at.astimezone(UTC) if lottery.ends_at else None,
            active=lottery.active,
            running=running,
            created_at=lottery.created_at,
            updated_at=lottery.updated_at,
            prizes=[
                PrizeOut(
                    code=prize.code,
                    name=prize.name,
                    kind=prize.kind,
                    weight=prize.weight,
                    stock=prize.stock,
                    given=prize.given,
                    left=prize.left,
                    coupon_template_code=prize.coupon_template_code,
                    coupon_value=prize.coupon_value.yuan() if prize.coupon_value is not None else None,
                    points=prize.points,
                    probability=_decimal(estimate.probabilities[prize.code], 6),
                )
                for prize in table.prizes
            ],
            expected_cost=ExpectedCostOut(
                cost_points=estimate.cost_points,
                points_per_yuan=estimate.points_per_yuan,
                points_back=_decimal(estimate.points_back, 2),
                coupon_value=_yuan(estimate.coupon_value_yuan),
                value_points=_decimal(estimate.value_points, 2),
                margin_points=_decimal(estimate.margin_points, 2),
                unvalued_prizes=list(estimate.unvalued),
            ),
        )


# ---------------------------------------------------------------- draws


class PrizeWon(BaseModel):
    code: str
    name: str
    kind: PrizeKind


class DrawOut(BaseModel):
    draw_no: str
    lottery_id: str
    member_id: str
    store_id: str | None
    cost_points: int
    prize: PrizeWon
    coupon_code: str | None
    points_won: int
    created_at: datetime

    @staticmethod
    def fields_of(row: Draw) -> dict[str, Any]:
        names = {c["code"]: c.get("name", c["code"]) for c in row.candidates}
        return {
            "draw_no": row.draw_no,
            "lottery_id": row.lottery_id,
            "member_id": row.member_id,
            "store_id": row.store_id,
            "cost_points": row.cost_points,
            "prize": PrizeWon(code=row.prize_code, name=names.get(row.prize_code, row.prize_code), kind=row.prize_kind),
            "coupon_code": row.coupon_code,
            "points_won": row.points_won,
            "created_at": row.created_at,
        }


class DrawResultOut(DrawOut):
    points_after: int = Field(description="The member's usable points after the draw")


class CandidateOut(BaseModel):
    code: str
    weight: int


class DrawAuditOut(DrawOut):
    """Everything needed to recompute the draw: the algorithm (lottery/domain.py: a SHA-256 counter
    stream over the seed), the seed, the candidates in order with their weights, the prizes found gone."""

    algorithm: str
    seed: str
    candidates: list[CandidateOut]
    exhausted: list[str] = Field(description="Prizes picked but found gone, in the order they were picked")
    replayed_prize_code: str | None
    replay_matches: bool


class DrawPage(BaseModel):
    items: list[DrawOut]
    next_before: int | None
