"""Wallet API bodies: recharges, checkouts, refunds, closing a card, money history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dinecard.coupons.domain import CouponEffect
from dinecard.members.schemas import BalanceOut, LevelOut, PointsOut, fraction_text
from dinecard.shared.money import Money
from dinecard.shared.schema_types import SignedYuanAmount, SignedYuanInput, YuanAmount
from dinecard.stamps.service import StampsEarned
from dinecard.wallet.adjusting import AdjustResult
from dinecard.wallet.service import (
    Channel,
    CheckoutQuote,
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

    dish_id: str | None = Field(default=None, max_length=40, description="A menu dish; its name and price by default")
    name: str | None = Field(
        default=None, min_length=1, max_length=80, description="Needed when the line names no menu dish"
    )
    quantity: int = Field(ge=1, le=999)
    price: YuanAmount | None = Field(default=None, description="Unit price; omitted: the menu's price")


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str
    bill_total: YuanAmount | None = Field(default=None, description="Omitted: the sum of the items")
    items: list[LineItemIn] = Field(default_factory=list, max_length=200)
    coupon_codes: list[str] = Field(
        default_factory=list, max_length=10, description="Coupons to apply, as typed or scanned"
    )
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
    bonus: YuanAmount = Field(description="All bonus this recharge gives, now and later")
    bonus_now: YuanAmount = Field(description="Bonus credited at once")
    bonus_pending: YuanAmount = Field(description="Bonus released in monthly instalments")
    points_awarded: int
    upgrade_gift_points: int
    upgrade_gift_coupons: list[str] = Field(description="Codes of the coupons the levels reached gave")
    campaign_code: str | None
    first_recharge_offer: bool

    @classmethod
    def of(cls, result: RechargeResult) -> RechargeOut:
        return cls(
            order_no=result.order_no,
            amount=result.amount,
            bonus=result.bonus,
            bonus_now=result.bonus_now,
            bonus_pending=result.bonus_pending,
            points_awarded=result.points_awarded,
            upgrade_gift_points=result.upgrade_gift_points,
            upgrade_gift_coupons=list(result.upgrade_gift_coupons),
            campaign_code=result.campaign_code,
            first_recharge_offer=result.first_recharge_offer,
            **_after(result.member),
        )


class DiscountOut(BaseModel):
    kind: str = Field(description="level, birthday, member_day_dish or birthday_dish")
    amount: YuanAmount


class CouponEffectOut(BaseModel):
    code: str
    template_code: str
    kind: str = Field(description="cash, threshold_cash, percent, dish or free_meal")
    amount: YuanAmount = Field(description="What the coupon took off this bill")
    dish_id: str | None = Field(description="dish vouchers: the dish it paid for")

    @classmethod
    def of(cls, effect: CouponEffect) -> CouponEffectOut:
        return cls(
            code=effect.code,
            template_code=effect.template_code,
            kind=effect.kind.value,
            amount=effect.amount,
            dish_id=effect.dish_id,
        )


class StampsOut(BaseModel):
    card_id: str
    card_name: str
    earned: int
    stamps: int = Field(description="On the card after this checkout")
    stamps_needed: int
    reward_coupons: list[str] = Field(description="Vouchers that full cards turned into")

    @classmethod
    def of(cls, stamps: StampsEarned) -> StampsOut:
        return cls(
            card_id=stamps.card_id,
            card_name=stamps.card_name,
            earned=stamps.earned,
            stamps=stamps.stamps,
            stamps_needed=stamps.stamps_needed,
            reward_coupons=list(stamps.reward_coupons),
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
    points_multiplier: str = Field(description="Level × campaign multiplier applied to the points earned")
    discounts: list[DiscountOut]
    coupon_discount: YuanAmount
    coupons: list[CouponEffectOut]
    stamps: list[StampsOut]
    upgrade_gift_points: int
    upgrade_gift_coupons: list[str] = Field(description="Codes of the coupons the levels reached gave")

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
            points_multiplier=fraction_text(result.points_multiplier),
            discounts=[DiscountOut(kind=d.kind, amount=d.amount) for d in result.discounts],
            coupon_discount=sum((c.amount for c in result.coupons), Money.zero()),
            coupons=[CouponEffectOut.of(c) for c in result.coupons],
            stamps=[StampsOut.of(s) for s in result.stamps],
            upgrade_gift_points=result.upgrade_gift_points,
            upgrade_gift_coupons=list(result.upgrade_gift_coupons),
            **_after(result.member),
        )


class QuoteOut(BaseModel):
    bill_total: YuanAmount
    discount: YuanAmount
    discounts: list[DiscountOut]
    coupon_discount: YuanAmount
    coupons: list[CouponEffectOut]
    points_used: int
    points_deduction: YuanAmount
    payable: YuanAmount
    paid_from_balance: BalanceOut
    due_other_tender: YuanAmount
    points_earned: int
    points_multiplier: str
    level: LevelOut
    points_usable_now: int
    max_points_usable: int = Field(description="The most points this bill accepts")
    balance_after: BalanceOut
    points_after: int

    @classmethod
    def of(cls, quote: CheckoutQuote) -> QuoteOut:
        pricing = quote.pricing
        return cls(
            bill_total=pricing.bill_total,
            discount=pricing.discount,
            discounts=[DiscountOut(kind=d.kind, amount=d.amount) for d in pricing.discounts],
            coupon_discount=pricing.coupon_discount,
            coupons=[CouponEffectOut.of(c) for c in pricing.coupons],
            points_used=pricing.points_used,
            points_deduction=pricing.points_deduction,
            payable=pricing.payable,
            paid_from_balance=BalanceOut.of(pricing.paid_principal, pricing.paid_bonus),
            due_other_tender=pricing.due_other_tender,
            points_earned=pricing.points_earned,
            points_multiplier=fraction_text(pricing.points_multiplier),
            level=LevelOut.of(quote.level),
            points_usable_now=max(quote.points_usable_now, 0),
            max_points_usable=quote.max_points_usable,
            balance_after=BalanceOut.of(quote.principal_after, quote.bonus_after),
            points_after=quote.points_after,
        )


class RefundOut(_AfterFields):
    order_no: str
    original_order_no: str
    kind: str = Field(description="checkout_refund or recharge_refund")
    amount: YuanAmount
    refunded_to_balance: BalanceOut = Field(description="Checkout refunds: money put back on the card")
    taken_from_balance: BalanceOut = Field(
        description="Recharge refunds: principal paid back and bonus forfeited, both leaving the card"
    )
    paid_back: YuanAmount = Field(description="Money handed back to the customer by the original payment method")
    paid_back_method: str | None
    bonus_forfeited: YuanAmount
    points_taken_back: int
    points_restored: int
    coupons_restored: list[str] = Field(description="Coupons of the bill usable again (whole-bill refunds)")
    coupons_not_restored: list[str] = Field(description="Coupons that expired since the bill: they stay used")

    @classmethod
    def of(cls, result: RefundResult) -> RefundOut:
        zero = Money.zero()
        is_checkout = result.kind == "checkout_refund"
        return cls(
            order_no=result.order_no,
            original_order_no=result.original_order_no,
            kind=result.kind,
            amount=result.amount,
            refunded_to_balance=BalanceOut.of(result.principal, result.bonus)
            if is_checkout
            else BalanceOut.of(zero, zero),
            taken_from_balance=(
                BalanceOut.of(zero, zero) if is_checkout else BalanceOut.of(result.principal, result.bonus_forfeited)
            ),
            paid_back=result.other_tender if is_checkout else result.principal,
            paid_back_method=result.paid_back_method,
            bonus_forfeited=result.bonus_forfeited,
            points_taken_back=result.points_taken_back,
            points_restored=result.points_restored,
            coupons_restored=list(result.coupons_restored),
            coupons_not_restored=list(result.coupons_not_restored),
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
    principal_change: SignedYuanAmount
    bonus_change: SignedYuanAmount
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


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str | None = Field(default=None, description="Where it happens; default the caller's store")
    principal: SignedYuanInput = Field(default_factory=Money.zero, description='Signed, e.g. "-20.00"')
    bonus: SignedYuanInput = Field(default_factory=Money.zero)
    points: int = Field(default=0, ge=-10_000_000, le=10_000_000)
    reason: str = Field(min_length=1, max_length=200)


class AdjustmentOut(_AfterFields):
    order_no: str
    principal: SignedYuanAmount
    bonus: SignedYuanAmount
    points_change: int

    @classmethod
    def of(cls, result: AdjustResult) -> AdjustmentOut:
        return cls(
            order_no=result.order_no,
            principal=result.principal,
            bonus=result.bonus,
            points_change=result.points,
            **_after(result.member),
        )
