"""Pure pricing of recharges, checkouts and refunds. No database, no clock, no web."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from dinecard.coupons.domain import CouponEffect, IssuedCoupon, apply_bill_coupons, check_stacking, take_dish_units
from dinecard.program.domain import (
    BalanceOrder,
    DiscountScope,
    DishDiscount,
    LevelRule,
    MultiplierKind,
    PointsRounding,
    Program,
    RechargeCampaign,
    RechargePointsMode,
    RechargeTier,
    Stacking,
    fraction,
)
from dinecard.shared import errors
from dinecard.shared.calendar import birthday_in_year
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
class CampaignStanding:
    """A campaign active now, with what it has given so far (read under its lock)."""

    campaign: RechargeCampaign
    bonus_given: Money
    member_uses: int


@dataclass(frozen=True)
class RechargeContext:
    store_id: str | None = None
    first_recharge: bool = False  # the member has never recharged before
    campaign: CampaignStanding | None = None


@dataclass(frozen=True)
class RechargeQuote:
    amount: Money
    tier: RechargeTier | None
    tier_bonus: Money
    tier_points: int
    campaign_code: str | None
    campaign_bonus: Money
    campaign_points: int
    first_recharge_bonus: Money
    first_recharge_points: int
    bonus_now: Money
    bonus_later: tuple[Money, ...]  # monthly instalments, first one month after the recharge

    @property
    def bonus(self) -> Money:
        return self.tier_bonus + self.campaign_bonus + self.first_recharge_bonus

    @property
    def points(self) -> int:
        return self.tier_points + self.campaign_points + self.first_recharge_points


def select_tier(program: Program, amount: Money) -> RechargeTier | None:
    """The highest tier at or below the amount (600 yuan gets the 500 tier); None below the lowest."""
    eligible = [tier for tier in program.recharge.tiers if tier.amount <= amount]
    return eligible[-1] if eligible else None


def active_campaign(program: Program, moment: datetime, store_id: str | None) -> RechargeCampaign | None:
    """The recharge campaign running now at this store (validation allows at most one)."""
    return next((c for c in program.recharge.campaigns if c.active(moment, store_id)), None)


def _tier_points(program: Program, amount: Money, tier: RechargeTier | None) -> int:
    if program.recharge.points_mode is RechargePointsMode.PER_YUAN:
        return floor_points(Fraction(amount.fen, 100) * fraction(program.recharge.points_per_yuan))
    return tier.points if tier else 0


def _campaign_applies(standing: CampaignStanding, amount: Money) -> bool:
    campaign = standing.campaign
    if amount < campaign.min_amount:
        return False
    if campaign.per_member_limit is not None and standing.member_uses >= campaign.per_member_limit:
        return False
    return campaign.budget is None or standing.bonus_given + campaign.extra_bonus <= campaign.budget


def _split_deferred(program: Program, bonus: Money) -> tuple[Money, tuple[Money, ...]]:
    deferred = program.recharge.deferred_bonus
    if deferred is None or bonus.fen == 0:
        return bonus, ()
    now = Money(floor_points(Fraction(bonus.fen) * fraction(deferred.immediate_share)))
    rest = (bonus - now).fen
    base, extra = divmod(rest, deferred.instalments)
    later = tuple(Money(base + (1 if index < extra else 0)) for index in range(deferred.instalments))
    return now, tuple(part for part in later if part.fen)


def quote_recharge(program: Program, amount: Money, context: RechargeContext | None = None) -> RechargeQuote:
    """Tier, campaign and first-recharge offer for an amount; a non-stacking offer replaces
    what it is better than, so the member always gets the better of the two."""
    context = context or RechargeContext()
    if amount.fen <= 0:
        raise DomainError(errors.AMOUNT_NOT_POSITIVE)
    tier = select_tier(program, amount)
    if program.recharge.package_amounts_only and (tier is None or tier.amount != amount):
        raise DomainError(errors.AMOUNT_NOT_A_PACKAGE, {"allowed": [t.amount.yuan() for t in program.recharge.tiers]})
    tier_bonus, tier_points = (tier.bonus if tier else Money.zero()), _tier_points(program, amount, tier)
    campaign_code, campaign_bonus, campaign_points = None, Money.zero(), 0
    standing = context.campaign
    if standing is not None and _campaign_applies(standing, amount):
        campaign = standing.campaign
        if campaign.stacks_with_tier or campaign.extra_bonus > tier_bonus:
            campaign_code, campaign_bonus, campaign_points = campaign.code, campaign.extra_bonus, campaign.extra_points
            if not campaign.stacks_with_tier:
                tier_bonus, tier_points = Money.zero(), 0
    first_bonus, first_points = Money.zero(), 0
    offer = program.recharge.first_recharge
    if offer and context.first_recharge and offer.covers(context.store_id) and amount >= offer.min_amount:
        offered = offer.extra_bonus + offer.gift
        if offer.stacks_with_tier or offered > tier_bonus + campaign_bonus:
            first_bonus, first_points = offered, offer.extra_points
            if not offer.stacks_with_tier:
                tier_bonus, tier_points, campaign_code, campaign_bonus, campaign_points = (
                    Money.zero(),
                    0,
                    None,
                    Money.zero(),
                    0,
                )
    total = tier_bonus + campaign_bonus + first_bonus
    bonus_now, bonus_later = _split_deferred(program, total)
    return RechargeQuote(
        amount=amount,
        tier=tier,
        tier_bonus=tier_bonus,
        tier_points=tier_points,
        campaign_code=campaign_code,
        campaign_bonus=campaign_bonus,
        campaign_points=campaign_points,
        first_recharge_bonus=first_bonus,
        first_recharge_points=first_points,
        bonus_now=bonus_now,
        bonus_later=bonus_later,
    )


# ---------------------------------------------------------------- checkout


@dataclass(frozen=True)
class BillLine:
    dish_id: str | None
    quantity: int
    unit_price: Money
    list_price: Money | None = None  # the menu's price: the most a dish voucher gives for a unit

    @property
    def total(self) -> Money:
        return Money(self.unit_price.fen * self.quantity)


@dataclass(frozen=True)
class CheckoutRequest:
    bill_total: Money
    use_points: int
    pay_with_balance: bool
    balance_only: bool
    lines: tuple[BillLine, ...] = ()
    moment: datetime | None = None
    store_id: str | None = None
    coupons: tuple[IssuedCoupon, ...] = ()  # already checked usable by this member here and now


@dataclass(frozen=True)
class MemberFacts:
    """What pricing needs to know about the member besides their level."""

    birthday: date | None = None
    registered_at: datetime | None = None


@dataclass(frozen=True)
class Discount:
    kind: str  # level | birthday | member_day_dish | birthday_dish
    amount: Money


@dataclass(frozen=True)
class CheckoutPricing:
    bill_total: Money
    discount: Money
    discounts: tuple[Discount, ...]
    points_used: int
    points_deduction: Money
    payable: Money
    paid_principal: Money
    paid_bonus: Money
    due_other_tender: Money
    points_earned: int
    points_multiplier: Fraction
    bonus_points: int  # flat spend bonuses, included in points_earned
    coupons: tuple[CouponEffect, ...] = ()

    @property
    def coupon_discount(self) -> Money:
        return sum((effect.amount for effect in self.coupons), Money.zero())

    @property
    def paid_from_balance(self) -> Money:
        return self.paid_principal + self.paid_bonus


def points_value(program: Program, points: int) -> Money:
    """What a number of points is worth at the till; it must convert to whole fen."""
    fen, remainder = divmod(points * 100, program.points.redemption.points_per_yuan)
    if remainder:
        raise DomainError(errors.POINTS_NOT_REDEEMABLE, {"points_per_yuan": program.points.redemption.points_per_yuan})
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


@dataclass(frozen=True)
class Occasions:
    """Which special days a moment is, for a member at a store."""

    member_day: bool
    birthday: bool
    birthday_month: bool


def occasions(program: Program, facts: MemberFacts, moment: datetime | None, store_id: str | None) -> Occasions:
    if moment is None:
        return Occasions(False, False, False)
    local = moment.astimezone(ZoneInfo(program.business_timezone))
    member_day = (
        program.member_day is not None
        and program.member_day.covers(store_id)
        and (local.day == program.member_day.day_of_month)
    )
    birthday = facts.birthday is not None and birthday_in_year(facts.birthday, local.year) == local.date()
    birthday_month = facts.birthday is not None and facts.birthday.month == local.month
    return Occasions(member_day, birthday, birthday_month)


def campaign_multiplier(
    program: Program, facts: MemberFacts, moment: datetime | None, store_id: str | None
) -> Fraction:
    """The campaign multipliers active now, combined by the programme's stacking rule (1 if none)."""
    today = occasions(program, facts, moment, store_id)
    active: list[Fraction] = []
    for rule in program.points.multipliers:
        # Every kind honours its optional window and pilot stores, not only `window` multipliers.
        if moment is None or not rule.active(moment, store_id):
            continue
        kind = rule.kind
        if (
            (kind is MultiplierKind.BIRTHDAY_MONTH and today.birthday_month)
            or (kind is MultiplierKind.MEMBER_DAY and today.member_day)
            or kind is MultiplierKind.WINDOW
            or (kind is MultiplierKind.NEW_MEMBER and _within_days(facts.registered_at, moment, rule.days or 0))
        ):
            active.append(fraction(rule.multiplier))
    if not active:
        return Fraction(1)
    stacking = program.points.stacking
    if stacking is Stacking.MULTIPLY:
        result = Fraction(1)
        for value in active:
            result *= value
        return result
    if stacking is Stacking.ADD_EXTRAS:
        return 1 + sum((value - 1 for value in active), Fraction(0))
    return max(active)


def _within_days(start: datetime | None, moment: datetime, days: int) -> bool:
    return start is not None and 0 <= (moment - start).total_seconds() < days * 86400


def round_points(program: Program, exact: Fraction) -> int:
    if program.points.rounding is PointsRounding.HALF_UP:
        return floor_points(exact + Fraction(1, 2))
    return floor_points(exact)


def points_for_payment(program: Program, level: LevelRule, paid: Money, multiplier: Fraction = Fraction(1)) -> int:
    """Points per yuan paid (after discount and points) × level × campaign multipliers, rounded."""
    exact = Fraction(paid.fen, 100) * fraction(program.points.earn_per_yuan) * level.points_multiplier * multiplier
    return round_points(program, exact)


def spend_bonus_points(program: Program, paid: Money, moment: datetime | None, store_id: str | None) -> int:
    if moment is None:
        return 0
    return sum(
        bonus.points
        for bonus in program.points.spend_bonuses
        if bonus.active(moment, store_id) and paid >= bonus.min_spend
    )


def _best_dish_rate(line: BillLine, discounts: list[tuple[str, DishDiscount]]) -> tuple[str, Fraction] | None:
    rates = [
        (kind, fraction(d.rate)) for kind, d in discounts if line.dish_id is not None and line.dish_id in d.dish_ids
    ]
    return min(rates, key=lambda pair: pair[1]) if rates else None


def _dish_discounts(program: Program, today: Occasions) -> list[tuple[str, DishDiscount]]:
    found: list[tuple[str, DishDiscount]] = []
    if today.member_day and program.member_day is not None:
        found += [("member_day_dish", d) for d in program.member_day.dish_discounts]
    if today.birthday:
        found += [("birthday_dish", d) for d in program.birthday.dish_discounts]
    return found


def price_checkout(
    program: Program,
    level: LevelRule,
    request: CheckoutRequest,
    balance: Balance,
    usable_points: int,
    facts: MemberFacts | None = None,
) -> CheckoutPricing:
    """Dish vouchers and promotions, then the level (or birthday) discount, then coupons, then
    points, then balance, then the other tender (R-PAY-2); points earned on what is paid."""
    facts = facts or MemberFacts()
    if request.bill_total.fen <= 0:
        raise DomainError(errors.AMOUNT_NOT_POSITIVE, {"field": "bill_total"})
    today = occasions(program, facts, request.moment, request.store_id)
    discounts: list[Discount] = []
    coupons = list(request.coupons)
    check_stacking(coupons)
    # 1. Dish vouchers take their units off the bill (what a capped voucher leaves stays on it).
    dish_effects, taken = take_dish_units(
        coupons,
        [(line.dish_id, line.quantity, line.unit_price) for line in request.lines],
        [line.list_price for line in request.lines],
    )
    vouchered = sum((effect.amount for effect in dish_effects), Money.zero())
    # 2. Dish promotions (member day, birthday) price the other units; those get no further discount.
    promoted_total, promoted_after = Money.zero(), Money.zero()
    applicable = _dish_discounts(program, today)
    by_kind: dict[str, Money] = {}
    for whole_line, units_taken in zip(request.lines, taken, strict=True):
        line = BillLine(whole_line.dish_id, whole_line.quantity - units_taken, whole_line.unit_price)
        best = _best_dish_rate(line, applicable) if line.quantity else None
        if best is None:
            continue
        kind, rate = best
        after = line.total.times_half_up(rate)
        promoted_total, promoted_after = promoted_total + line.total, promoted_after + after
        by_kind[kind] = by_kind.get(kind, Money.zero()) + (line.total - after)
    discounts += [Discount(kind, amount) for kind, amount in by_kind.items() if amount.fen]
    rest = request.bill_total - vouchered - promoted_total
    # 3. The bill discount on the rest: the level's, or the birthday's when that is larger.
    pays_from_balance = request.pay_with_balance or request.balance_only
    # "Only when paying from balance" needs a balance to pay from: an empty card earns no discount.
    pays_something_from_balance = pays_from_balance and balance.total.fen > 0
    level_applies = program.level_policy.discount_applies is DiscountScope.ALWAYS or pays_something_from_balance
    level_discount = rest - rest.times_half_up(level.discount_rate) if level_applies else Money.zero()
    birthday_discount = Money.zero()
    if today.birthday and program.birthday.bill_rate is not None:
        birthday_discount = rest - rest.times_half_up(fraction(program.birthday.bill_rate))
        if program.birthday.bill_discount_cap is not None:
            birthday_discount = min(birthday_discount, program.birthday.bill_discount_cap)
    if birthday_discount > level_discount:
        discounts.append(Discount("birthday", birthday_discount))
    elif level_discount.fen:
        discounts.append(Discount("level", level_discount))
    after_discount = promoted_after + rest - max(level_discount, birthday_discount)
    # 4. Cash, threshold, percent and free-meal coupons.
    bill_effects = apply_bill_coupons(coupons, after_discount)
    discounted = after_discount - sum((effect.amount for effect in bill_effects), Money.zero())
    # 5. Points.
    deduction = _points_deduction(program, request.use_points, discounted, usable_points)
    payable = discounted - deduction
    # 6. Balance, 7. the other tender.
    from_balance = Money.zero()
    if pays_from_balance:
        from_balance = min(payable, balance.total)
        if request.balance_only and from_balance < payable:
            raise DomainError(errors.INSUFFICIENT_BALANCE, {"balance": balance.total.yuan(), "payable": payable.yuan()})
    principal, bonus = split_balance_payment(from_balance, balance, program.balance_order)
    multiplier = campaign_multiplier(program, facts, request.moment, request.store_id)
    extra_points = spend_bonus_points(program, payable, request.moment, request.store_id)
    return CheckoutPricing(
        bill_total=request.bill_total,
        discount=request.bill_total - vouchered - after_discount,
        discounts=tuple(discounts),
        points_used=request.use_points,
        points_deduction=deduction,
        payable=payable,
        paid_principal=principal,
        paid_bonus=bonus,
        due_other_tender=payable - from_balance,
        points_earned=points_for_payment(program, level, payable, multiplier) + extra_points,
        points_multiplier=level.points_multiplier * multiplier,
        bonus_points=extra_points,
        coupons=tuple(dish_effects + bill_effects),
    )


def _points_deduction(program: Program, use_points: int, discounted: Money, usable_points: int) -> Money:
    """Points pay part of the bill within the redemption rules (R-PTS-5)."""
    if use_points == 0:
        return Money.zero()
    redemption = program.points.redemption
    if use_points < redemption.min_points:
        raise DomainError(errors.POINTS_BELOW_MINIMUM, {"min_points": redemption.min_points})
    deduction = points_value(program, use_points)
    limit = Money(floor_points(Fraction(discounted.fen) * fraction(redemption.max_share)))
    if deduction > limit:
        raise DomainError(errors.POINTS_EXCEED_BILL, {"max_points": _max_points(program, limit)})
    # A member in points debt (usable < 0) can still check out and earn; only spending is refused.
    if use_points > usable_points:
        raise DomainError(errors.INSUFFICIENT_POINTS, {"usable": max(usable_points, 0)})
    return deduction


def _max_points(program: Program, amount: Money) -> int:
    return amount.fen * program.points.redemption.points_per_yuan // 100


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
    coupons_outstanding: bool = False  # coupons used on the bill and not yet given back

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
            and self.points_earned_reversed == self.points_earned
            and not self.coupons_outstanding
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
    bonus_forfeited: Money  # so far, from the card and from cancelled instalments
    points_taken_back: int
    pending_open: Money = field(default_factory=Money.zero)  # instalments not yet released


@dataclass(frozen=True)
class RechargeRefund:
    principal: Money
    bonus_forfeited: Money  # taken from the card's bonus balance
    points_taken_back: int
    pending_cancelled: Money = field(default_factory=Money.zero)  # instalments that will not come


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
    due = Money(bonus_target) - paid.bonus_forfeited
    # Bonus not yet released goes first: the member loses a promise before money on the card.
    from_pending = min(due, paid.pending_open)
    from_card = min(due - from_pending, balance.bonus)
    return RechargeRefund(
        principal=amount,
        bonus_forfeited=from_card,
        points_taken_back=points_target - paid.points_taken_back,
        pending_cancelled=from_pending,
    )


# ---------------------------------------------------------------- limits (R-RCH-8, R-CMP-1)


@dataclass(frozen=True)
class RechargeLimits:
    max_single: Money | None = None
    max_daily: Money | None = None
    max_per_hour: int | None = None
    balance_cap: Money | None = None


@dataclass(frozen=True)
class RecentRecharges:
    """The member's recharges that the limits look at, read under the member's lock."""

    today_total: Money  # this business day
    last_hour: tuple[datetime, ...]  # times of the recharges in the past hour, oldest first


def check_recharge_limits(
    limits: RechargeLimits, amount: Money, recent: RecentRecharges, balance_after: Money, now: datetime
) -> None:
    """Refuse a recharge that breaks a limit, saying which and, for the hourly count, when to retry."""
    if limits.max_single is not None and amount > limits.max_single:
        raise DomainError(errors.RECHARGE_LIMIT_EXCEEDED, {"limit": "single", "max": limits.max_single.yuan()})
    if limits.max_daily is not None and recent.today_total + amount > limits.max_daily:
        left = max(limits.max_daily - recent.today_total, Money.zero())
        raise DomainError(
            errors.RECHARGE_LIMIT_EXCEEDED, {"limit": "daily", "max": limits.max_daily.yuan(), "left": left.yuan()}
        )
    if limits.max_per_hour is not None and len(recent.last_hour) >= limits.max_per_hour:
        oldest = recent.last_hour[-limits.max_per_hour]
        retry_after = max(1, int((oldest - now).total_seconds()) + 3600)
        raise DomainError(
            errors.RECHARGE_TOO_FREQUENT, {"max_per_hour": limits.max_per_hour, "retry_after": retry_after}
        )
    if limits.balance_cap is not None and balance_after > limits.balance_cap:
        raise DomainError(errors.BALANCE_CAP_EXCEEDED, {"cap": limits.balance_cap.yuan()})
