"""Wallet API bodies: recharges, checkouts, refunds, closing a card, money history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dinecard.members.schemas import BalanceOut, LevelOut, PointsOut
from dinecard.shared.schema_types import YuanAmount
from dinecard.wallet.service import (
    Channel,
    CheckoutResult,
    CloseResult,
    MemberAfter,
    PaymentMethod,
    RechargeResult,
    RefundResult,
)


class RechargeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: YuanAmount
    payment_method: PaymentMethod
    store_id: str
    channel: Channel = Channel.OFFLINE


class LineItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dish_id: str | None = Field(default=None, max_length=40)
    name: str = Field(max_length=80)
    quantity: int = Field(ge=1, le=999)
    price: YuanAmount = Field(description="Unit price")


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str
    bill_total: YuanAmount
    items: list[LineItemIn] = Field(default_factory=list, max_length=200)
    use_points: int = Field(default=0, ge=0, le=100_000_000)
    pay_with_balance: bool = Field(default=True, description="Pay what the balance covers from it")
    balance_only: bool = Field(
        default=False,
        description="Refuse with insufficient_balance instead of leaving a rest for another tender",
    )
    other_tender: PaymentMethod = Field(default=PaymentMethod.OTHER, description="How any rest is paid")


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: YuanAmount | None = Field(default=None, description="Omitted: everything that remains refundable")
    reason: str | None = Field(default=None, max_length=200)


class CloseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=200)


class _AfterFields(BaseModel):
    level: LevelOut
    balance: BalanceOut
    points: PointsOut


def _after(after: MemberAfter) -> dict[str, object]:
    return {
        "level": LevelOut.of(after.level),
        "balance": BalanceOut.of(after.principal, after.bonus),
        "points": PointsOut.of(after.points_usable, after.points_lifetime),
    }


class RechargeOut(_AfterFields):
    order_no: str
    amount: YuanAmount
    bonus: YuanAmount
    points_awarded: int
    upgrade_gift_points: int

    @classmethod
    def of(cls, result: RechargeResult) -> RechargeOut:
        return cls(
            order_no=result.order_no,
            amount=result.amount,
            bonus=result.bonus,
            points_awarded=result.points_awarded,
            upgrade_gift_points=result.upgrade_gift_points,
            **_after(result.member),
        )


class CheckoutOut(_AfterFields):
    order_no: str
    bill_total: YuanAmount
    discount: YuanAmount
    payable: YuanAmount
    points_used: int
    points_deduction: YuanAmount
    paid_from_balance: BalanceOut
    due_other_tender: YuanAmount
    points_earned: int
    upgrade_gift_points: int

    @classmethod
    def of(cls, result: CheckoutResult) -> CheckoutOut:
        return cls(
            order_no=result.order_no,
            bill_total=result.bill_total,
            discount=result.discount,
            payable=result.payable,
            points_used=result.points_used,
            points_deduction=result.points_deduction,
            paid_from_balance=BalanceOut.of(result.paid_principal, result.paid_bonus),
            due_other_tender=result.due_other_tender,
            points_earned=result.points_earned,
            upgrade_gift_points=result.upgrade_gift_points,
            **_after(result.member),
        )


class RefundOut(_AfterFields):
    order_no: str
    original_order_no: str
    kind: str
    amount: YuanAmount
    refunded_to_balance: BalanceOut
    refunded_to_other_tender: YuanAmount
    bonus_forfeited: YuanAmount
    points_taken_back: int
    points_restored: int

    @classmethod
    def of(cls, result: RefundResult) -> RefundOut:
        return cls(
            order_no=result.order_no,
            original_order_no=result.original_order_no,
            kind=result.kind,
            amount=result.amount,
            refunded_to_balance=BalanceOut.of(result.principal, result.bonus),
            refunded_to_other_tender=result.other_tender,
            bonus_forfeited=result.bonus_forfeited,
            points_taken_back=result.points_taken_back,
            points_restored=result.points_restored,
            **_after(result.member),
        )


class CloseOut(_AfterFields):
    status: str = "closed"
    principal_returned: YuanAmount
    bonus_forfeited: YuanAmount
    points_forfeited: int
    refunds: list[RefundOut]

    @classmethod
    def of(cls, result: CloseResult) -> CloseOut:
        return cls(
            principal_returned=result.principal_returned,
            bonus_forfeited=result.bonus_forfeited,
            points_forfeited=result.points_forfeited,
            refunds=[RefundOut.of(r) for r in result.refunds],
            **_after(result.member),
        )


class MoneyEntryOut(BaseModel):
    id: int
    kind: str
    order_no: str | None
    store_id: str | None
    created_at: datetime
    principal_change: YuanAmount
    bonus_change: YuanAmount
    principal_after: YuanAmount
    bonus_after: YuanAmount


class MoneyHistoryOut(BaseModel):
    items: list[MoneyEntryOut]
    next_before: int | None = Field(description="Pass as `before` to read the next (older) page")


class PointsEntryOut(BaseModel):
    id: int
    type: str
    points: int
    order_no: str | None
    store_id: str | None
    created_at: datetime
    expires_at: datetime | None


class PointsHistoryOut(BaseModel):
    items: list[PointsEntryOut]
    next_before: int | None
