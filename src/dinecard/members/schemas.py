"""Member API bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from dinecard.members.domain import Gender, normalize_phone
from dinecard.members.service import MemberView
from dinecard.program.domain import LevelRule
from dinecard.shared.errors import PHONE_INVALID, DomainError
from dinecard.shared.money import Money
from dinecard.shared.schema_types import YuanAmount


class Profile(BaseModel):
    """Tastes and restrictions the cashier should see (R-MEM-3)."""

    model_config = ConfigDict(extra="forbid")

    taste_preferences: list[str] = Field(default_factory=list, max_length=20)
    allergies: list[str] = Field(default_factory=list, max_length=20)
    favourite_dishes: list[str] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(examples=["13812341234"])
    name: str | None = Field(default=None, max_length=60)
    birthday: date | None = None
    gender: Gender | None = None
    store_id: str | None = None
    referral_code: str | None = Field(default=None, max_length=12)
    profile: Profile | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            return normalize_phone(value)
        except DomainError:
            raise PydanticCustomError(PHONE_INVALID.code, PHONE_INVALID.message_en) from None


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=60)
    birthday: date | None = None
    gender: Gender | None = None
    taste_preferences: list[str] | None = Field(default=None, max_length=20)
    allergies: list[str] | None = Field(default=None, max_length=20)
    favourite_dishes: list[str] | None = Field(default=None, max_length=50)
    tags: list[str] | None = Field(default=None, max_length=50)


class LevelOut(BaseModel):
    code: str
    name: str
    name_en: str
    discount_rate: str
    points_multiplier: str
    benefits: list[str] = Field(default_factory=list, description="Flags for the cashier, e.g. priority_queue")

    @classmethod
    def of(cls, level: LevelRule) -> LevelOut:
        return cls(
            code=level.code,
            name=level.name_zh,
            name_en=level.name_en,
            discount_rate=fraction_text(level.discount_rate),
            points_multiplier=fraction_text(level.points_multiplier),
            benefits=list(level.benefits),
        )


def fraction_text(value: Any) -> str:
    """An exact decimal text for a fraction like 6/5 ("1.2"), or n/d when it has none."""
    numerator, denominator = value.numerator, value.denominator
    if 10**6 % denominator == 0:
        scaled = numerator * (10**6 // denominator)
        whole, part = divmod(scaled, 10**6)
        return f"{whole}.{str(part).rjust(6, '0').rstrip('0') or '0'}"
    return f"{numerator}/{denominator}"


class BalanceOut(BaseModel):
    principal: YuanAmount
    bonus: YuanAmount
    total: YuanAmount

    @classmethod
    def of(cls, principal: Money, bonus: Money) -> BalanceOut:
        return cls(principal=principal, bonus=bonus, total=principal + bonus)


class PointsOut(BaseModel):
    usable: int = Field(description="Points the member can spend now")
    lifetime: int = Field(description="Points ever earned, net of points taken back")
    owed: int = Field(description="Points taken back after they were spent; repaid by the next points earned")

    @classmethod
    def of(cls, usable: int, lifetime: int) -> PointsOut:
        return cls(usable=max(usable, 0), lifetime=lifetime, owed=max(-usable, 0))


class CumulativeOut(BaseModel):
    recharge: YuanAmount
    consume: YuanAmount


class MemberOut(BaseModel):
    id: str
    card_no: str
    phone_masked: str
    name: str | None
    status: str
    level: LevelOut
    balance: BalanceOut
    pending_bonus: YuanAmount = Field(description="Bonus promised by recharges, released monthly")
    points: PointsOut
    cumulative: CumulativeOut
    birthday: date | None
    gender: str | None
    store_id: str | None
    referral_code: str
    registered_at: datetime
    profile: dict[str, Any]

    @classmethod
    def of(cls, view: MemberView) -> MemberOut:
        return cls(
            id=view.id,
            card_no=view.card_no,
            phone_masked=view.phone_masked,
            name=view.name,
            status=view.status,
            level=LevelOut.of(view.level),
            balance=BalanceOut.of(view.principal, view.bonus),
            pending_bonus=view.pending_bonus,
            points=PointsOut.of(view.points_usable, view.points_lifetime),
            cumulative=CumulativeOut(recharge=view.cumulative_recharge, consume=view.cumulative_consume),
            birthday=view.birthday,
            gender=view.gender,
            store_id=view.store_id,
            referral_code=view.referral_code,
            registered_at=view.registered_at,
            profile=view.profile,
        )


class MemberCodeOut(BaseModel):
    member_code: str = Field(description="Card number and a one-time part that changes every 60 seconds")
    valid_until: datetime
