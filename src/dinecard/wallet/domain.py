"""Pure pricing of recharges, checkouts and refunds. No database, no clock, no web."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from dinecard.program.domain import BalanceOrder, LevelRule, Program, RechargePointsMode, RechargeTier
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.shared.rounding import cumulative_share, floor_points, split_proportionally


@dataclass(frozen=True)
class Balance:
    principal: Money
    bonus: Money

    @property
    def total(self) -> Money:
        return self.principal + self.bonus


# ---------------------------------------------------------------- recharge


@dataclass(frozen=True)
class RechargeQuote:
    amount: Money
    bonus: Money
    points: int
    tier: RechargeTier | None


def select_tier(program: Program, amount: Money) -> RechargeTier | None:
    """The highest tier at or below the amount (600 yuan gets the 500 tier); None below the lowest."""
    eligible = [tier for tier in program.tiers if tier.amount <= amount]
    return eligible[-1] if eligible else None


def quote_recharge(program: Program, amount: Money) -> RechargeQuote:
    if amount.fen <= 0:
        raise DomainError(errors.AMOUNT_NOT_POSITIVE)
    tier = select_tier(program, amount)
    if program.package_amounts_only and (tier is None or tier.amount != amount):
        raise DomainError(errors.AMOUNT_INVALID, {"allowed": [t.amount.yuan() for t in program.tiers]})
    bonus = tier.bonus if tier else Money.zero()
    if program.recharge_points_mode is RechargePointsMode.PER_YUAN:
        points = amount.fen // 100
    else:
        points = tier.points if tier else 0
    return RechargeQuote(amount=amount, bonus=bonus, points=points, tier=tier)


# ---------------------------------------------------------------- checkout


@dataclass(frozen=True)
class CheckoutRequest:
    bill_total: Money
    use_points: int
    pay_with_balance: bool
    balance_only: bool


@dataclass(frozen=True)
class CheckoutPricing:
    bill_total: Money
    discount: Money
    points_used: int
    points_deduction: Money
    payable: Money
    paid_principal: Money
    paid_bonus: Money
    due_other_tender: Money
    points_earned: int

    @property
    def paid_from_balance(self) -> Money:
        return self.paid_principal + self.paid_bonus


def points_value(program: Program, points: int) -> Money:
    """What a number of points is worth at the till; it must convert to whole fen."""
    fen, remainder = divmod(points * 100, program.points_per_yuan_redeemed)
    if remainder:
        raise DomainError(errors.POINTS_NOT_REDEEMABLE, {"points_per_yuan": program.points_per_yuan_redeemed})
    return Money(fen)


def split_balance_payment(amount: Money, balance: Balance, order: BalanceOrder) -> tuple[Money, Money]:
    """How a payment from balance divides between principal and bonus: (principal, bonus)."""
    assert Money.zero() <= amount <= balance.total
    if order is BalanceOrder.BONUS_FIRST:
        bonus = min(amount, balance.bonus)
        return amount - bonus, bonus
    if order is BalanceOrder.PRINCIPAL_FIRST:
        principal = min(amount, balance.principal)
        return principal, amount - principal
    principal_fen, bonus_fen = split_proportionally(amount.fen, [balance.principal.fen, balance.bonus.fen])
    return Money(principal_fen), Money(bonus_fen)


def points_for_payment(program: Program, level: LevelRule, paid: Money) -> int:
    """1 point per yuan paid (after discount and points) times the level multiplier, rounded down."""
    return floor_points(Fraction(paid.fen, 100) * program.points_earned_per_yuan * level.points_multiplier)


def price_checkout(
    program: Program, level: LevelRule, request: CheckoutRequest, balance: Balance, usable_points: int
) -> CheckoutPricing:
    """Level discount, then points, then balance, then the other tender (R-PAY-2)."""
    if request.bill_total.fen <= 0:
        raise DomainError(errors.AMOUNT_NOT_POSITIVE, {"field": "bill_total"})
    discounted = request.bill_total.times_half_up(level.discount_rate)
    deduction = points_value(program, request.use_points)
    if deduction > discounted:
        raise DomainError(errors.POINTS_EXCEED_BILL, {"max_points": _max_points(program, discounted)})
    # A member in points debt (usable < 0) can still check out and earn; only spending is refused.
    if request.use_points > 0 and request.use_points > usable_points:
        raise DomainError(errors.INSUFFICIENT_POINTS, {"usable": max(usable_points, 0)})
    payable = discounted - deduction
    from_balance = Money.zero()
    if request.pay_with_balance or request.balance_only:
        from_balance = min(payable, balance.total)
        if request.balance_only and from_balance < payable:
            raise DomainError(errors.INSUFFICIENT_BALANCE, {"balance": balance.total.yuan(), "payable": payable.yuan()})
    principal, bonus = split_balance_payment(from_balance, balance, program.balance_order)
    return CheckoutPricing(
        bill_total=request.bill_total,
        discount=request.bill_total - discounted,
        points_used=request.use_points,
        points_deduction=deduction,
        payable=payable,
        paid_principal=principal,
        paid_bonus=bonus,
        due_other_tender=payable - from_balance,
        points_earned=points_for_payment(program, level, payable),
    )


def _max_points(program: Program, amount: Money) -> int:
    return amount.fen * program.points_per_yuan_redeemed // 100


# ---------------------------------------------------------------- refunds


@dataclass(frozen=True)
class CheckoutPaid:
    """What a checkout took, and what its refunds so far have given back."""

    payable: Money
    principal: Money
    bonus: Money
    other_tender: Money
    points_earned: int
    points_used: int
    refunded_principal: Money
    refunded_bonus: Money
    refunded_other: Money
    points_earned_reversed: int
    points_used_restored: int

    @property
    def refunded(self) -> Money:
        return self.refunded_principal + self.refunded_bonus + self.refunded_other

    @property
    def remaining(self) -> Money:
        return self.payable - self.refunded

    @property
    def fully_refunded(self) -> bool:
        return (
            self.remaining.fen == 0
            and self.points_used_restored == self.points_used
            and (self.points_earned_reversed == self.points_earned)
        )


@dataclass(frozen=True)
class CheckoutRefund:
    amount: Money
    principal: Money
    bonus: Money
    other_tender: Money
    points_earned_reversed: int
    points_used_restored: int


def allocate_checkout_refund(paid: CheckoutPaid, amount: Money | None) -> CheckoutRefund:
    """Split a refund over the buckets the bill was paid from, in proportion to what remains.

    Points are given and taken back on the cumulative refunded share, so a series of partial
    refunds ends exactly where one whole refund would.
    """
    if paid.fully_refunded:
        raise DomainError(errors.NOTHING_TO_REFUND)
    amount = paid.remaining if amount is None else amount
    if amount.fen <= 0 and paid.remaining.fen > 0:
        raise DomainError(errors.AMOUNT_NOT_POSITIVE)
    if amount > paid.remaining:
        raise DomainError(errors.REFUND_EXCEEDS_REMAINING, {"remaining": paid.remaining.yuan()})
    remaining_buckets = [
        (paid.principal - paid.refunded_principal).fen,
        (paid.bonus - paid.refunded_bonus).fen,
        (paid.other_tender - paid.refunded_other).fen,
    ]
    principal, bonus, other = split_proportionally(amount.fen, remaining_buckets)
    refunded_after = (paid.refunded + amount).fen
    earned_target = cumulative_share(paid.points_earned, refunded_after, paid.payable.fen)
    used_target = cumulative_share(paid.points_used, refunded_after, paid.payable.fen)
    return CheckoutRefund(
        amount=amount,
        principal=Money(principal),
        bonus=Money(bonus),
        other_tender=Money(other),
        points_earned_reversed=earned_target - paid.points_earned_reversed,
        points_used_restored=used_target - paid.points_used_restored,
    )


@dataclass(frozen=True)
class RechargePaid:
    principal: Money
    bonus: Money
    points: int
    refunded_principal: Money
    bonus_forfeited: Money
    points_taken_back: int


@dataclass(frozen=True)
class RechargeRefund:
    principal: Money
    bonus_forfeited: Money
    points_taken_back: int


def _ceil_share(whole: int, part: int, of: int) -> int:
    return -((-whole * part) // of)


def allocate_recharge_refund(paid: RechargePaid, balance: Balance, amount: Money | None) -> RechargeRefund:
    """Unspent principal goes back; the bonus and points it bought go in proportion (R-RCH-9).

    Shares of bonus and points round up: a refund never leaves the member a fen of bonus or a
    point that the refunded money paid for.
    """
    refundable = min(paid.principal - paid.refunded_principal, balance.principal)
    if refundable.fen == 0:
        raise DomainError(errors.NOTHING_TO_REFUND)
    amount = refundable if amount is None else amount
    if amount.fen <= 0:
        raise DomainError(errors.AMOUNT_NOT_POSITIVE)
    if amount > refundable:
        raise DomainError(errors.REFUND_EXCEEDS_REMAINING, {"remaining": refundable.yuan()})
    refunded_after = (paid.refunded_principal + amount).fen
    bonus_target = _ceil_share(paid.bonus.fen, refunded_after, paid.principal.fen)
    points_target = _ceil_share(paid.points, refunded_after, paid.principal.fen)
    bonus = min(Money(bonus_target) - paid.bonus_forfeited, balance.bonus)
    return RechargeRefund(
        principal=amount,
        bonus_forfeited=bonus,
        points_taken_back=points_target - paid.points_taken_back,
    )
