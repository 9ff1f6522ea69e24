"""Coupons as pure rules: what a template promises, when an issued coupon may be used, and
what each coupon takes off a bill (R-CPN-1, R-PAY-2). No database, no web, no clock.

The order on a bill: dish vouchers take their units off first (a unit given free is not
discounted again), then the level discount on the rest, then threshold and plain cash
coupons, then percent-off coupons, then the free-meal voucher; points and money come after.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from dinecard.program.domain import AwareDatetime, Rate, Rule, StoreScoped, fraction
from dinecard.shared import errors
from dinecard.shared.calendar import end_of_day, local_date, start_of_day
from dinecard.shared.errors import DomainError, ErrorKind
from dinecard.shared.money import Money
from dinecard.shared.schema_types import YuanAmount


class CouponKind(StrEnum):
    CASH = "cash"  # 无门槛券: a fixed amount off any bill
    THRESHOLD_CASH = "threshold_cash"  # 满减券: a fixed amount off a bill that reaches the threshold
    PERCENT = "percent"  # 折扣券: pay `rate` of the bill, at most `cap` off
    DISH = "dish"  # 菜品券: one unit of a listed dish free, at most `cap`
    FREE_MEAL = "free_meal"  # 免单券: the whole bill, at most `cap`


# Applied in this order after the level discount; dish vouchers come before it.
APPLICATION_ORDER = (CouponKind.THRESHOLD_CASH, CouponKind.CASH, CouponKind.PERCENT, CouponKind.FREE_MEAL)


class Stacking(StrEnum):
    ONE_PER_KIND = "one_per_kind"  # the default: at most one coupon of each kind on a bill
    EXCLUSIVE = "exclusive"  # no other coupon on the same bill
    ANY = "any"  # several of this kind may go on one bill (e.g. vouchers for different dishes)


class Validity(Rule):
    """Either fixed dates (valid_from/valid_until) or days from issue (days, delay_days)."""

    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = Field(
        default=None, description="Exclusive: the first instant it no longer works"
    )
    days: int | None = Field(
        default=None, ge=1, le=3660, description="Valid for this many business days, counting the first"
    )
    delay_days: int = Field(default=0, ge=0, le=365, description="Usable from this many days after issue")

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        fixed = self.valid_until is not None
        if fixed == (self.days is not None):
            raise ValueError("give either valid_until (fixed dates) or days (relative to issue)")
        if fixed and self.delay_days:
            raise ValueError("delay_days applies only to relative validity")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self

    def window(self, issued_at: datetime, timezone: str) -> tuple[datetime, datetime]:
        """When a coupon issued at `issued_at` may be used: [from, until)."""
        if self.valid_until is not None:
            return (self.valid_from or issued_at), self.valid_until
        assert self.days is not None
        first_day = local_date(issued_at, timezone) + timedelta(days=self.delay_days)
        starts = issued_at if self.delay_days == 0 else start_of_day(first_day, timezone)
        return starts, end_of_day(first_day + timedelta(days=self.days - 1), timezone)


class TemplateRules(StoreScoped):
    """What a coupon template promises; HQ edits it, the API validates it."""

    kind: CouponKind
    value: YuanAmount | None = Field(default=None, description="cash, threshold_cash: the amount off")
    threshold: YuanAmount | None = Field(default=None, description="threshold_cash: the bill must reach this")
    rate: Rate | None = Field(default=None, description="percent: the share paid, 0.88 = 12 % off")
    cap: YuanAmount | None = Field(default=None, description="percent, dish, free_meal: the most taken off")
    dish_ids: frozenset[str] | None = Field(default=None, description="dish: the dishes it covers (one unit)")
    validity: Validity
    levels: frozenset[str] | None = Field(default=None, description="Level codes that may use it; omit for all")
    blackout_dates: frozenset[date] = Field(default=frozenset(), description="Business dates it cannot be used")
    per_member_limit: int | None = Field(default=None, ge=1, le=10_000, description="Most one member may receive")
    stacking: Stacking = Stacking.ONE_PER_KIND

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Self:
        kind = self.kind
        needs = {
            CouponKind.CASH: {"value"},
            CouponKind.THRESHOLD_CASH: {"value", "threshold"},
            CouponKind.PERCENT: {"rate"},
            CouponKind.DISH: {"dish_ids"},
            CouponKind.FREE_MEAL: set(),
        }[kind]
        allowed = needs | {
            CouponKind.PERCENT: {"cap"},
            CouponKind.DISH: {"cap"},
            CouponKind.FREE_MEAL: {"cap"},
        }.get(kind, set())
        for name in ("value", "threshold", "rate", "cap", "dish_ids"):
            given = getattr(self, name) is not None
            if name in needs and not given:
                raise ValueError(f"a {kind.value} coupon needs {name}")
            if given and name not in allowed:
                raise ValueError(f"{name} does not apply to a {kind.value} coupon")
        if self.value is not None and self.value.fen <= 0:
            raise ValueError("value must be greater than zero")
        if self.threshold is not None and self.value is not None and self.threshold < self.value:
            raise ValueError("threshold must be at least the value")
        if self.rate is not None and not 0 < self.rate < 1:
            raise ValueError("rate is the share paid: above 0 and below 1 (0.88 = 12 % off)")
        if self.dish_ids is not None and not self.dish_ids:
            raise ValueError("dish_ids needs at least one dish")
        return self

    def face_value(self) -> Money | None:
        """What one coupon is worth at most, where that is known (for the lottery's cost estimate)."""
        return self.value if self.value is not None else self.cap


# ---------------------------------------------------------------- codes


_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: easy to read out and type


def _check_char(body: str) -> str:
    """Luhn mod 32: catches every single mistyped character and most swapped neighbours."""
    base = len(_CODE_ALPHABET)
    total, factor = 0, 2
    for char in reversed(body):
        addend = factor * _CODE_ALPHABET.index(char)
        total += addend // base + addend % base
        factor = 1 if factor == 2 else 2
    return _CODE_ALPHABET[(base - total % base) % base]


def new_coupon_code() -> str:
    """Ten random characters (50 bits, not guessable) and a check character against typos."""
    body = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    return body + _check_char(body)


def normalize_code(text: str) -> str | None:
    """The code as stored, from what a cashier typed or scanned (spaces, dashes, case); None if mistyped."""
    code = "".join(char for char in text.upper() if char not in " -")
    if len(code) != 11 or any(char not in _CODE_ALPHABET for char in code):
        return None
    return code if _check_char(code[:-1]) == code[-1] else None


# ---------------------------------------------------------------- issued coupons


class CouponStatus(StrEnum):
    ISSUED = "issued"  # usable within its window
    USED = "used"
    VOIDED = "voided"


@dataclass(frozen=True)
class IssuedCoupon:
    code: str
    template_code: str
    member_id: str
    status: CouponStatus
    valid_from: datetime
    valid_until: datetime
    rules: TemplateRules


@dataclass(frozen=True)
class UseContext:
    member_id: str
    level_code: str
    store_id: str
    moment: datetime
    timezone: str


def refusal(coupon: IssuedCoupon, context: UseContext) -> ErrorKind | None:
    """Why this coupon cannot be used on this member's bill here and now (None: it can)."""
    rules = coupon.rules
    if coupon.status is CouponStatus.USED:
        return errors.COUPON_USED
    if coupon.status is CouponStatus.VOIDED:
        return errors.COUPON_VOIDED
    if coupon.member_id != context.member_id:
        return errors.COUPON_WRONG_MEMBER
    if context.moment < coupon.valid_from:
        return errors.COUPON_NOT_YET_VALID
    if context.moment >= coupon.valid_until:
        return errors.COUPON_EXPIRED
    if not rules.covers(context.store_id):
        return errors.COUPON_WRONG_STORE
    if rules.levels is not None and context.level_code not in rules.levels:
        return errors.COUPON_WRONG_LEVEL
    if local_date(context.moment, context.timezone) in rules.blackout_dates:
        return errors.COUPON_BLACKOUT_DATE
    return None


def usable_now(coupon: IssuedCoupon, moment: datetime) -> bool:
    return coupon.status is CouponStatus.ISSUED and coupon.valid_from <= moment < coupon.valid_until


def refuse(kind: ErrorKind, code: str, **detail: object) -> DomainError:
    return DomainError(kind, {"coupon_code": code, **detail})


def check_stacking(coupons: list[IssuedCoupon]) -> None:
    """At most one coupon of a kind by default; an exclusive coupon stands alone. Whatever the
    order the codes were typed in, the same bill gets the same answer."""
    for coupon in coupons:
        if len(coupons) > 1 and coupon.rules.stacking is Stacking.EXCLUSIVE:
            raise refuse(errors.COUPON_NOT_COMBINABLE, coupon.code, rule="exclusive")
    kinds = Counter(coupon.rules.kind for coupon in coupons)
    for kind, count in kinds.items():
        same_kind = [coupon for coupon in coupons if coupon.rules.kind is kind]
        # One coupon of the kind that is not `any` forbids a second: the second typed is the one refused.
        if count > 1 and any(coupon.rules.stacking is not Stacking.ANY for coupon in same_kind):
            raise refuse(errors.COUPON_NOT_COMBINABLE, same_kind[1].code, rule="one_per_kind", coupon_kind=kind.value)


# ---------------------------------------------------------------- effects on a bill


@dataclass(frozen=True)
class CouponEffect:
    code: str
    template_code: str
    kind: CouponKind
    amount: Money
    dish_id: str | None = None


def _units_covered(coupon: IssuedCoupon, lines: list[tuple[str | None, int, Money]]) -> int:
    dish_ids = coupon.rules.dish_ids or frozenset()
    return sum(quantity for dish_id, quantity, _price in lines if dish_id in dish_ids)


def take_dish_units(
    coupons: list[IssuedCoupon],
    lines: list[tuple[str | None, int, Money]],
    list_prices: list[Money | None] | None = None,
) -> tuple[list[CouponEffect], list[int]]:
    """Each dish voucher takes the dearest unit it covers that no other voucher took.

    `lines` are (dish_id, quantity, unit price); `list_prices` the menu's prices, which a voucher
    never exceeds (a price typed at the till cannot inflate what it gives). The vouchers that cover
    the fewest units choose first, so a "duck only" voucher is not starved by a "duck or goose" one.
    Returns the effects and, per line, how many units the vouchers took (those units get no
    further promotion or discount).
    """
    taken = [0] * len(lines)
    effects: list[CouponEffect] = []
    vouchers = [coupon for coupon in coupons if coupon.rules.kind is CouponKind.DISH]
    for coupon in sorted(vouchers, key=lambda voucher: _units_covered(voucher, lines)):
        rules = coupon.rules
        assert rules.dish_ids is not None
        candidates = [
            (price, index)
            for index, (dish_id, quantity, price) in enumerate(lines)
            if dish_id in rules.dish_ids and quantity > taken[index]
        ]
        if not candidates:
            raise refuse(errors.COUPON_DISH_NOT_ON_BILL, coupon.code, dish_ids=sorted(rules.dish_ids))
        price, index = max(candidates, key=lambda pair: (pair[0], -pair[1]))
        taken[index] += 1
        list_price = list_prices[index] if list_prices is not None else None
        amount = min([price] + [limit for limit in (list_price, rules.cap) if limit is not None])
        effects.append(CouponEffect(coupon.code, coupon.template_code, rules.kind, amount, lines[index][0]))
    return effects, taken


def apply_bill_coupons(coupons: list[IssuedCoupon], after_discount: Money) -> list[CouponEffect]:
    """Cash, threshold, percent and free-meal coupons on what is due after the level discount.

    A threshold is measured on that amount (after the level discount and dish vouchers,
    before any other coupon): exactly the threshold qualifies.
    """
    effects: list[CouponEffect] = []
    remaining = after_discount
    for kind in APPLICATION_ORDER:
        for coupon in coupons:
            rules = coupon.rules
            if rules.kind is not kind:
                continue
            if kind is CouponKind.THRESHOLD_CASH:
                assert rules.threshold is not None
                if after_discount < rules.threshold:
                    raise refuse(
                        errors.COUPON_THRESHOLD_NOT_MET,
                        coupon.code,
                        threshold=rules.threshold.yuan(),
                        amount=after_discount.yuan(),
                    )
            amount = _amount_off(rules, remaining)
            if amount.fen == 0:
                raise refuse(errors.COUPON_NO_EFFECT, coupon.code)
            remaining -= amount
            effects.append(CouponEffect(coupon.code, coupon.template_code, kind, amount))
    return effects


def _amount_off(rules: TemplateRules, remaining: Money) -> Money:
    if rules.kind in (CouponKind.CASH, CouponKind.THRESHOLD_CASH):
        assert rules.value is not None
        return min(rules.value, remaining)
    if rules.kind is CouponKind.PERCENT:
        assert rules.rate is not None
        amount = remaining - remaining.times_half_up(fraction(rules.rate))
    else:
        amount = remaining
    return min(amount, rules.cap) if rules.cap is not None else amount


def with_status(coupon: IssuedCoupon, status: CouponStatus) -> IssuedCoupon:
    return replace(coupon, status=status)
