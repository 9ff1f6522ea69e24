"""Points earned at checkout (R-PAY-4): campaign multipliers combined by the stacking rule, always
times the level multiplier; rounding; flat spend bonuses (the tea chain's winter campaign)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dinecard.program.domain import Program
from dinecard.program.presets import TEA as TEA_DOCUMENT
from dinecard.program.presets import default_program, preset
from dinecard.shared.money import Money
from dinecard.wallet.domain import (
    Balance,
    CheckoutPricing,
    CheckoutRequest,
    MemberFacts,
    campaign_multiplier,
    points_for_payment,
    price_checkout,
    spend_bonus_points,
)
from tests.unit.programs import variant

SHANGHAI = timezone(timedelta(hours=8))
DEFAULT = default_program()
TEA = preset("tea")
ONE_MICROSECOND = timedelta(microseconds=1)

# The 18th (member day) of the member's birthday month, three days after registering.
MOMENT = datetime(2026, 11, 18, 12, 0, tzinfo=SHANGHAI)
EVERYTHING = MemberFacts(birthday=date(1990, 11, 5), registered_at=datetime(2026, 11, 15, 10, 0, tzinfo=SHANGHAI))
NOTHING_SPECIAL = MemberFacts()

BIRTHDAY_MONTH_2 = {"code": "birthday_month", "kind": "birthday_month", "multiplier": "2"}
MEMBER_DAY_2 = {"code": "member_day", "kind": "member_day", "multiplier": "2"}
NEW_MEMBER_3 = {"code": "welcome", "kind": "new_member", "multiplier": "3", "days": 7}


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def _program(multipliers: list[dict[str, Any]], **points: Any) -> Program:
    return variant({"member_day": {"day_of_month": 18}, "points": {"multipliers": multipliers, **points}})


def _price(
    program: Program,
    level: str,
    bill: str,
    *,
    moment: datetime | None = MOMENT,
    facts: MemberFacts = NOTHING_SPECIAL,
    store_id: str | None = "s1",
    use_points: int = 0,
) -> CheckoutPricing:
    request = CheckoutRequest(_yuan(bill), use_points, False, False, (), moment, store_id)
    return price_checkout(program, program.level(level), request, Balance(Money.zero(), Money.zero()), 10**6, facts)


# ---------------------------------------------------------------- stacking


@pytest.mark.parametrize(
    ("stacking", "multiplier", "points"),
    [
        ("highest_campaign_times_level", Fraction(3), 405),  # max(2, 2, 3) = 3; 90 × 1.5 × 3
        ("product_of_campaigns_times_level", Fraction(12), 1620),  # 2 × 2 × 3; 90 × 1.5 × 12
        ("sum_of_extras_times_level", Fraction(5), 675),  # 1 + 1 + 1 + 2; 90 × 1.5 × 5
    ],
)
def test_the_stacking_rule_combines_birthday_month_member_day_and_new_member(
    stacking: str, multiplier: Fraction, points: int
) -> None:
    # given all three campaigns apply to a gold member (90 %, ×1.5) on a 100.00 bill
    program = _program([BIRTHDAY_MONTH_2, MEMBER_DAY_2, NEW_MEMBER_3], stacking=stacking)
    # when
    pricing = _price(program, "gold", "100.00", facts=EVERYTHING)
    # then
    assert campaign_multiplier(program, EVERYTHING, MOMENT, "s1") == multiplier
    assert pricing.payable == _yuan("90.00")
    assert pricing.points_multiplier == Fraction(3, 2) * multiplier
    assert pricing.points_earned == points


@pytest.mark.parametrize(
    ("stacking", "multiplier"),
    [
        ("highest_campaign_times_level", Fraction(2)),
        ("product_of_campaigns_times_level", Fraction(4)),
        ("sum_of_extras_times_level", Fraction(3)),
    ],
)
def test_two_doublings_stack_by_the_rule(stacking: str, multiplier: Fraction) -> None:
    program = _program([BIRTHDAY_MONTH_2, MEMBER_DAY_2], stacking=stacking)
    assert campaign_multiplier(program, EVERYTHING, MOMENT, None) == multiplier


def test_extras_add_fractional_multipliers() -> None:
    # ×2 and ×1.5 give ×2.5
    program = _program([BIRTHDAY_MONTH_2, {**MEMBER_DAY_2, "multiplier": "1.5"}], stacking="sum_of_extras_times_level")
    assert campaign_multiplier(program, EVERYTHING, MOMENT, None) == Fraction(5, 2)


@pytest.mark.parametrize(
    "stacking", ["highest_campaign_times_level", "product_of_campaigns_times_level", "sum_of_extras_times_level"]
)
def test_without_any_campaign_only_the_level_multiplier_counts(stacking: str) -> None:
    # given an ordinary day (the 10th), no birthday, registered long ago
    program = _program([BIRTHDAY_MONTH_2, MEMBER_DAY_2, NEW_MEMBER_3], stacking=stacking)
    moment = datetime(2026, 11, 10, 12, 0, tzinfo=SHANGHAI)
    facts = MemberFacts(birthday=date(1990, 5, 5), registered_at=datetime(2025, 1, 1, tzinfo=SHANGHAI))
    # then silver earns 95 × 1.2 = 114
    assert campaign_multiplier(program, facts, moment, None) == 1
    assert _price(program, "silver", "100.00", moment=moment, facts=facts).points_earned == 114


def test_a_checkout_without_a_moment_gets_no_campaign_multiplier() -> None:
    program = _program([BIRTHDAY_MONTH_2, MEMBER_DAY_2, NEW_MEMBER_3])
    assert campaign_multiplier(program, EVERYTHING, None, None) == 1


@pytest.mark.parametrize(
    ("moment", "in_birthday_month"),
    [
        (datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI), True),
        (datetime(2026, 11, 30, 23, 59, 59, tzinfo=SHANGHAI), True),
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), False),  # already 1 December in Shanghai
        (datetime(2026, 10, 31, 16, 0, tzinfo=UTC), True),  # already 1 November in Shanghai
        (datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC), False),
    ],
)
def test_the_birthday_month_is_the_local_calendar_month(moment: datetime, in_birthday_month: bool) -> None:
    multiplier = campaign_multiplier(DEFAULT, MemberFacts(birthday=date(1990, 11, 5)), moment, None)
    assert multiplier == (2 if in_birthday_month else 1)


@settings(max_examples=100, deadline=None)
@given(ten_thousandths=st.lists(st.integers(min_value=10_000, max_value=100_000), min_size=1, max_size=4))
def test_stacking_results_lie_between_the_highest_and_the_product(ten_thousandths: list[int]) -> None:
    # given several always-active window multipliers between ×1 and ×10, with up to four decimals
    values = [Fraction(value, 10_000) for value in ten_thousandths]
    multipliers = [
        {
            "code": f"w{index}",
            "kind": "window",
            "multiplier": f"{value // 10_000}.{value % 10_000:04d}",
            "starts_at": "2026-01-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        }
        for index, value in enumerate(ten_thousandths)
    ]
    results = {
        stacking: campaign_multiplier(_program(multipliers, stacking=stacking), NOTHING_SPECIAL, MOMENT, None)
        for stacking in (
            "highest_campaign_times_level",
            "sum_of_extras_times_level",
            "product_of_campaigns_times_level",
        )
    }
    product = Fraction(1)
    for value in values:
        product *= value
    # then every rule gives at least 1 and at most the product, ordered highest ≤ sum ≤ product
    assert results["highest_campaign_times_level"] == max(values)
    assert results["product_of_campaigns_times_level"] == product
    assert results["sum_of_extras_times_level"] == 1 + sum(value - 1 for value in values)
    assert 1 <= results["highest_campaign_times_level"] <= results["sum_of_extras_times_level"] <= product


# ---------------------------------------------------------------- new member and window multipliers

REGISTERED_AT = datetime(2026, 11, 1, 10, 0, tzinfo=SHANGHAI)
NEW_MEMBER = MemberFacts(registered_at=REGISTERED_AT)


@pytest.mark.parametrize(
    ("moment", "multiplier"),
    [
        (REGISTERED_AT - timedelta(seconds=1), 1),  # before registering (clock skew): not new
        (REGISTERED_AT, 3),
        (REGISTERED_AT + timedelta(days=7) - ONE_MICROSECOND, 3),
        (REGISTERED_AT + timedelta(days=7), 1),  # exactly 7 days later is no longer new
        (REGISTERED_AT + timedelta(days=30), 1),
    ],
)
def test_the_new_member_multiplier_lasts_exactly_its_days(moment: datetime, multiplier: int) -> None:
    program = _program([NEW_MEMBER_3])
    assert campaign_multiplier(program, NEW_MEMBER, moment, None) == multiplier


def test_the_new_member_multiplier_needs_a_registration_time() -> None:
    assert campaign_multiplier(_program([NEW_MEMBER_3]), NOTHING_SPECIAL, REGISTERED_AT, None) == 1


WINDOW_STARTS_AT = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
WINDOW_ENDS_AT = datetime(2026, 12, 8, 0, 0, tzinfo=SHANGHAI)
TRIPLE_WEEK = {
    "code": "triple_week",
    "kind": "window",
    "multiplier": "3",
    "starts_at": WINDOW_STARTS_AT.isoformat(),
    "ends_at": WINDOW_ENDS_AT.isoformat(),
}


@pytest.mark.parametrize(
    ("moment", "multiplier"),
    [
        (WINDOW_STARTS_AT - ONE_MICROSECOND, 1),
        (WINDOW_STARTS_AT, 3),
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), 3),  # the same instant as the start
        (WINDOW_ENDS_AT - ONE_MICROSECOND, 3),
        (WINDOW_ENDS_AT, 1),
    ],
)
def test_a_window_multiplier_runs_from_its_start_to_just_before_its_end(moment: datetime, multiplier: int) -> None:
    assert campaign_multiplier(_program([TRIPLE_WEEK]), NOTHING_SPECIAL, moment, None) == multiplier


@pytest.mark.parametrize(("store_id", "multiplier"), [("s1", 3), ("s2", 1), (None, 1)])
def test_a_store_scoped_window_multiplier_applies_only_in_its_stores(store_id: str | None, multiplier: int) -> None:
    program = _program([{**TRIPLE_WEEK, "stores": ["s1"]}])
    assert campaign_multiplier(program, NOTHING_SPECIAL, WINDOW_STARTS_AT, store_id) == multiplier


@pytest.mark.parametrize("rule", [BIRTHDAY_MONTH_2, MEMBER_DAY_2, {**NEW_MEMBER_3, "multiplier": "2"}])
@pytest.mark.parametrize(("store_id", "multiplier"), [("s1", 2), ("s2", 1)])
def test_every_kind_of_multiplier_can_be_piloted_in_some_stores(
    rule: dict[str, Any], store_id: str, multiplier: int
) -> None:
    # given the member's birthday month, the member day and their first week all at once
    program = _program([{**rule, "stores": ["s1"]}])
    assert campaign_multiplier(program, EVERYTHING, MOMENT, store_id) == multiplier


def test_only_the_multipliers_of_the_store_are_stacked() -> None:
    # given ×3 new member everywhere and ×2 member day piloted in s1, multiplied
    program = _program([NEW_MEMBER_3, {**MEMBER_DAY_2, "stores": ["s1"]}], stacking="product_of_campaigns_times_level")
    assert campaign_multiplier(program, EVERYTHING, MOMENT, "s1") == 6
    assert campaign_multiplier(program, EVERYTHING, MOMENT, "s2") == 3


def test_a_birthday_month_multiplier_limited_to_2027_does_not_apply_in_2026() -> None:
    # given double birthday points only during 2027 (EarnMultiplier is a Window: the document accepts the dates)
    rule = {**BIRTHDAY_MONTH_2, "starts_at": "2027-01-01T00:00:00+08:00", "ends_at": "2028-01-01T00:00:00+08:00"}
    program = _program([rule])
    # then in November 2026 the member's birthday month earns single points
    assert campaign_multiplier(program, EVERYTHING, MOMENT, None) == 1


# ---------------------------------------------------------------- rounding

HALF_UP = variant({"points": {"rounding": "half_up"}})


@pytest.mark.parametrize(
    ("level", "paid", "down", "half_up"),
    [
        ("silver", "99.99", 119, 120),  # 119.988
        ("silver", "1.25", 1, 2),  # 1.5 exactly: half goes up
        ("silver", "1.24", 1, 1),  # 1.488
        ("gold", "0.99", 1, 1),  # 1.485
        ("gold", "0.33", 0, 0),  # 0.495
        ("gold", "0.34", 0, 1),  # 0.51
        ("normal", "0.49", 0, 0),
        ("normal", "0.50", 0, 1),
        ("diamond", "10.00", 20, 20),
    ],
)
def test_points_are_rounded_down_or_half_up_as_configured(level: str, paid: str, down: int, half_up: int) -> None:
    assert points_for_payment(DEFAULT, DEFAULT.level(level), _yuan(paid)) == down
    assert points_for_payment(HALF_UP, HALF_UP.level(level), _yuan(paid)) == half_up


def test_rounding_applies_once_to_the_product_of_all_multipliers() -> None:
    # 33.33 × 1.2 × 3 = 119.988: rounding each step (39.996 → 39, × 3 = 117) would lose points
    assert points_for_payment(DEFAULT, DEFAULT.level("silver"), _yuan("33.33"), Fraction(3)) == 119
    assert points_for_payment(HALF_UP, HALF_UP.level("silver"), _yuan("33.33"), Fraction(3)) == 120


def test_earn_per_yuan_scales_points_before_rounding() -> None:
    program = variant({"points": {"earn_per_yuan": "0.5"}})
    # 99.99 × 0.5 × 1.2 = 59.994
    assert points_for_payment(program, program.level("silver"), _yuan("99.99")) == 59


# ---------------------------------------------------------------- spend bonus (tea preset)

WINTER_WARMTH: dict[str, Any] = TEA_DOCUMENT["points"]["spend_bonuses"][0]
IN_WINTER = datetime(2026, 12, 15, 12, 0, tzinfo=SHANGHAI)
WINTER_STARTS_AT = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
WINTER_ENDS_AT = datetime(2027, 3, 1, 0, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("bill", "bonus_points", "points_earned"),
    [("50.00", 50, 100), ("49.99", 0, 49), ("50.01", 50, 100), ("500.00", 50, 550)],
)
def test_the_winter_campaign_gives_50_points_for_a_bill_of_at_least_50(
    bill: str, bonus_points: int, points_earned: int
) -> None:
    pricing = _price(TEA, "normal", bill, moment=IN_WINTER)
    assert (pricing.bonus_points, pricing.points_earned) == (bonus_points, points_earned)


@pytest.mark.parametrize(
    ("moment", "bonus_points"),
    [
        (WINTER_STARTS_AT - ONE_MICROSECOND, 0),
        (WINTER_STARTS_AT, 50),
        (WINTER_ENDS_AT - ONE_MICROSECOND, 50),
        (WINTER_ENDS_AT, 0),
        (datetime(2027, 7, 1, 12, 0, tzinfo=SHANGHAI), 0),
    ],
)
def test_the_winter_campaign_gives_nothing_outside_its_window(moment: datetime, bonus_points: int) -> None:
    assert spend_bonus_points(TEA, _yuan("50.00"), moment, None) == bonus_points
    assert _price(TEA, "normal", "50.00", moment=moment).bonus_points == bonus_points


def test_no_spend_bonus_without_a_moment() -> None:
    assert spend_bonus_points(TEA, _yuan("500.00"), None, None) == 0


@pytest.mark.parametrize(
    ("bill", "payable", "bonus_points", "points_earned"),
    [
        # 52.63 × 95 % = 49.9985 → 50.00: bonus; 50 × 1.2 + 50
        ("52.63", "50.00", 50, 110),
        # 52.62 × 95 % = 49.989 → 49.99: no bonus; 49.99 × 1.2 = 59.988
        ("52.62", "49.99", 0, 59),
    ],
)
def test_the_spend_bonus_is_judged_on_the_amount_after_the_level_discount(
    bill: str, payable: str, bonus_points: int, points_earned: int
) -> None:
    pricing = _price(TEA, "silver", bill, moment=IN_WINTER)
    assert (pricing.payable.yuan(), pricing.bonus_points, pricing.points_earned) == (
        payable,
        bonus_points,
        points_earned,
    )


@pytest.mark.parametrize(("use_points", "payable", "bonus_points"), [(1000, "50.00", 50), (1001, "49.99", 0)])
def test_the_spend_bonus_is_judged_on_the_amount_after_points(use_points: int, payable: str, bonus_points: int) -> None:
    pricing = _price(TEA, "normal", "60.00", moment=IN_WINTER, use_points=use_points)
    assert (pricing.payable.yuan(), pricing.bonus_points) == (payable, bonus_points)


def test_a_pilot_store_spend_bonus_applies_only_in_its_stores() -> None:
    program = variant({"points": {"spend_bonuses": [{**WINTER_WARMTH, "stores": ["s1"]}]}}, TEA)
    assert spend_bonus_points(program, _yuan("50"), IN_WINTER, "s1") == 50
    assert spend_bonus_points(program, _yuan("50"), IN_WINTER, "s2") == 0


def test_spend_bonuses_that_apply_together_add_up() -> None:
    extra = {"code": "big_spender", "min_spend": "100", "points": 30}
    program = variant({"points": {"spend_bonuses": [WINTER_WARMTH, extra]}}, TEA)
    assert spend_bonus_points(program, _yuan("99.99"), IN_WINTER, None) == 50
    assert spend_bonus_points(program, _yuan("100"), IN_WINTER, None) == 80


def test_the_spend_bonus_is_not_multiplied() -> None:
    # given a gold tea member (×1.5) in winter: 100.00 × 90 % = 90.00 → 135 points, plus a flat 50
    pricing = _price(TEA, "gold", "100.00", moment=IN_WINTER)
    assert (pricing.points_earned, pricing.bonus_points) == (185, 50)
