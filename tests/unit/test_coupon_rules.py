"""Coupons as pure rules (R-CPN-1, R-PAY-2): what a template may promise, when a coupon may be used,
what each kind takes off a bill, and where coupons sit in the order of computation of a checkout.
No database, no web, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dinecard.coupons.domain import (
    CouponKind,
    CouponStatus,
    IssuedCoupon,
    Stacking,
    TemplateRules,
    UseContext,
    Validity,
    apply_bill_coupons,
    check_stacking,
    new_coupon_code,
    normalize_code,
    refusal,
    take_dish_units,
    usable_now,
)
from dinecard.program.domain import Program
from dinecard.program.presets import default_program, preset
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet.domain import Balance, BillLine, CheckoutPricing, CheckoutRequest, MemberFacts, price_checkout
from tests.unit.programs import variant

SHANGHAI = timezone(timedelta(hours=8))
TZ = "Asia/Shanghai"
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DEFAULT = default_program()
HOTPOT = preset("hotpot")
# 12:00 in Shanghai on Monday 2 March 2026 (not a member day, nobody's birthday month)
NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
# 00:30 on the 18th in Shanghai: the hotpot member day
HOTPOT_MEMBER_DAY = datetime(2026, 11, 17, 16, 30, tzinfo=UTC)
WINDOW_FROM = datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI)
WINDOW_UNTIL = datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI)
ONE_MICROSECOND = timedelta(microseconds=1)


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def _rules(kind: str, **fields: Any) -> TemplateRules:
    document: dict[str, Any] = {"kind": kind, "validity": {"days": 30}, **fields}
    return TemplateRules.model_validate(document)


def _coupon(
    rules: TemplateRules,
    *,
    code: str | None = None,
    template_code: str = "T",
    member_id: str = "m1",
    status: CouponStatus = CouponStatus.ISSUED,
    valid_from: datetime = WINDOW_FROM,
    valid_until: datetime = WINDOW_UNTIL,
) -> IssuedCoupon:
    return IssuedCoupon(code or new_coupon_code(), template_code, member_id, status, valid_from, valid_until, rules)


def cash(value: str, **fields: Any) -> IssuedCoupon:
    return _coupon(_rules("cash", value=value, **fields), template_code=f"CASH{value}")


def threshold_cash(threshold: str, value: str, **fields: Any) -> IssuedCoupon:
    return _coupon(_rules("threshold_cash", threshold=threshold, value=value, **fields), template_code="MJ")


def percent(rate: str, cap: str | None = None, **fields: Any) -> IssuedCoupon:
    extra = {"cap": cap} if cap is not None else {}
    return _coupon(_rules("percent", rate=rate, **extra, **fields), template_code="PCT")


def dish(*dish_ids: str, cap: str | None = None, **fields: Any) -> IssuedCoupon:
    extra = {"cap": cap} if cap is not None else {}
    return _coupon(_rules("dish", dish_ids=list(dish_ids), **extra, **fields), template_code="DISH")


def free_meal(cap: str | None = None, **fields: Any) -> IssuedCoupon:
    extra = {"cap": cap} if cap is not None else {}
    return _coupon(_rules("free_meal", **extra, **fields), template_code="FREE")


def _context(
    moment: datetime = NOON, *, member_id: str = "m1", level: str = "normal", store_id: str = "s1"
) -> UseContext:
    return UseContext(member_id, level, store_id, moment, TZ)


def _refusal_code(error: pytest.ExceptionInfo[DomainError]) -> tuple[str, str]:
    return error.value.code, error.value.detail["coupon_code"]


# ---------------------------------------------------------------- template validation


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("cash", {"value": "20.00"}),
        ("threshold_cash", {"value": "30.00", "threshold": "150.00"}),
        ("percent", {"rate": "0.88"}),
        ("percent", {"rate": "0.88", "cap": "50.00"}),
        ("dish", {"dish_ids": ["duck"]}),
        ("dish", {"dish_ids": ["duck", "goose"], "cap": "60.00"}),
        ("free_meal", {}),
        ("free_meal", {"cap": "200.00"}),
    ],
)
def test_each_kind_accepts_its_own_fields(kind: str, fields: dict[str, Any]) -> None:
    rules = _rules(kind, **fields)
    assert rules.kind is CouponKind(kind)
    assert rules.stacking is Stacking.ONE_PER_KIND


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("cash", {}, "a cash coupon needs value"),
        ("threshold_cash", {"value": "30.00"}, "a threshold_cash coupon needs threshold"),
        ("threshold_cash", {"threshold": "150.00"}, "a threshold_cash coupon needs value"),
        ("percent", {}, "a percent coupon needs rate"),
        ("percent", {"cap": "10.00"}, "a percent coupon needs rate"),
        ("dish", {}, "a dish coupon needs dish_ids"),
    ],
)
def test_each_kind_needs_its_fields(kind: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _rules(kind, **fields)


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("cash", {"value": "20.00", "threshold": "100.00"}, "threshold does not apply to a cash coupon"),
        ("cash", {"value": "20.00", "cap": "20.00"}, "cap does not apply to a cash coupon"),
        ("cash", {"value": "20.00", "rate": "0.9"}, "rate does not apply to a cash coupon"),
        ("cash", {"value": "20.00", "dish_ids": ["duck"]}, "dish_ids does not apply to a cash coupon"),
        (
            "threshold_cash",
            {"value": "30.00", "threshold": "150.00", "cap": "30.00"},
            "cap does not apply to a threshold_cash coupon",
        ),
        ("percent", {"rate": "0.9", "value": "10.00"}, "value does not apply to a percent coupon"),
        ("percent", {"rate": "0.9", "threshold": "10.00"}, "threshold does not apply to a percent coupon"),
        ("dish", {"dish_ids": ["duck"], "value": "10.00"}, "value does not apply to a dish coupon"),
        ("dish", {"dish_ids": ["duck"], "rate": "0.5"}, "rate does not apply to a dish coupon"),
        ("free_meal", {"value": "100.00"}, "value does not apply to a free_meal coupon"),
        ("free_meal", {"rate": "0.5"}, "rate does not apply to a free_meal coupon"),
        ("free_meal", {"dish_ids": ["duck"]}, "dish_ids does not apply to a free_meal coupon"),
    ],
)
def test_fields_of_other_kinds_are_refused(kind: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _rules(kind, **fields)


def test_the_threshold_may_equal_the_value_but_not_be_below_it() -> None:
    assert _rules("threshold_cash", value="20.00", threshold="20.00").threshold == _yuan("20.00")
    with pytest.raises(ValidationError, match="threshold must be at least the value"):
        _rules("threshold_cash", value="20.00", threshold="19.99")


def test_a_cash_value_must_be_more_than_zero() -> None:
    assert _rules("cash", value="0.01").value == _yuan("0.01")
    with pytest.raises(ValidationError, match="value must be greater than zero"):
        _rules("cash", value="0.00")


@pytest.mark.parametrize("rate", ["0.0001", "0.5", "0.88", "0.9999"])
def test_a_rate_strictly_between_0_and_1_is_accepted(rate: str) -> None:
    assert str(_rules("percent", rate=rate).rate) == rate


@pytest.mark.parametrize("rate", ["0", "0.0000", "1", "1.0", "1.01", "-0.1"])
def test_a_rate_of_0_or_1_or_outside_is_refused(rate: str) -> None:
    with pytest.raises(ValidationError):
        _rules("percent", rate=rate)


def test_a_dish_voucher_needs_at_least_one_dish() -> None:
    with pytest.raises(ValidationError, match="dish_ids needs at least one dish"):
        _rules("dish", dish_ids=[])


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="discount"):
        _rules("cash", value="10.00", discount="0.9")


@pytest.mark.parametrize(
    ("validity", "message"),
    [
        ({}, "give either valid_until"),
        ({"valid_until": "2026-04-01T00:00:00+08:00", "days": 7}, "give either valid_until"),
        ({"valid_from": "2026-03-01T00:00:00+08:00"}, "give either valid_until"),
        ({"valid_until": "2026-04-01T00:00:00+08:00", "delay_days": 1}, "delay_days applies only to relative"),
        (
            {"valid_from": "2026-04-01T00:00:00+08:00", "valid_until": "2026-04-01T00:00:00+08:00"},
            "valid_until must be after valid_from",
        ),
        ({"valid_until": "2026-04-01T00:00:00"}, "give a time zone offset"),
        ({"days": 0}, "greater than or equal to 1"),
        ({"days": 7, "delay_days": -1}, "greater than or equal to 0"),
    ],
)
def test_validity_is_either_fixed_or_relative(validity: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Validity.model_validate(validity)


# ---------------------------------------------------------------- the validity window


def test_seven_days_issued_at_2330_end_with_the_seventh_business_day_counting_the_issue_day() -> None:
    # given 23:30 on Monday 2 March in Shanghai (15:30 UTC)
    issued = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    # when
    starts, ends = Validity(days=7).window(issued, TZ)
    # then usable at once, until the end of Sunday 8 March in Shanghai
    assert starts == issued
    assert ends == datetime(2026, 3, 9, 0, 0, tzinfo=SHANGHAI)
    assert ends == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)


def test_issued_at_0030_shanghai_counts_that_shanghai_day_not_the_utc_day() -> None:
    # 16:30 UTC on 2 March is 00:30 on 3 March in Shanghai: the first business day is the 3rd
    issued = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
    assert Validity(days=7).window(issued, TZ) == (issued, datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI))


def test_one_day_ends_at_the_end_of_the_issue_day() -> None:
    assert Validity(days=1).window(NOON, TZ)[1] == datetime(2026, 3, 3, 0, 0, tzinfo=SHANGHAI)


def test_delay_days_start_at_local_midnight() -> None:
    # given issued at 12:00 on 2 March, usable from the next day, for three days
    starts, ends = Validity(days=3, delay_days=1).window(NOON, TZ)
    assert starts == datetime(2026, 3, 3, 0, 0, tzinfo=SHANGHAI)
    assert ends == datetime(2026, 3, 6, 0, 0, tzinfo=SHANGHAI)


def test_delay_days_from_2330_start_at_the_next_local_midnight() -> None:
    issued = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 on the 2nd in Shanghai
    starts, ends = Validity(days=1, delay_days=1).window(issued, TZ)
    assert (starts, ends) == (datetime(2026, 3, 3, 0, 0, tzinfo=SHANGHAI), datetime(2026, 3, 4, 0, 0, tzinfo=SHANGHAI))


def test_fixed_validity_starts_at_issue_or_at_valid_from() -> None:
    until = datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI)
    assert Validity(valid_until=until).window(NOON, TZ) == (NOON, until)
    later = datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI)
    assert Validity(valid_from=later, valid_until=until).window(NOON, TZ) == (later, until)


# ---------------------------------------------------------------- codes


def _code_with_body(body: str) -> str:
    matches = [body + char for char in ALPHABET if normalize_code(body + char) is not None]
    assert len(matches) == 1, matches
    return matches[0]


def test_new_codes_are_11_characters_of_the_alphabet_and_round_trip() -> None:
    codes = {new_coupon_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert len(code) == 11
        assert set(code) <= set(ALPHABET)
        assert normalize_code(code) == code


def test_spaces_dashes_and_lower_case_are_accepted() -> None:
    code = _code_with_body("K7M2PQ9XZA")
    typed = f" {code[:4]}-{code[4:8]} {code[8:]} ".lower()
    assert normalize_code(typed) == code
    assert normalize_code("-".join(code)) == code


@pytest.mark.parametrize("text", ["", "K7M2", "K7M2PQ9XZA", "K7M2PQ9XZA23", "K7M2PQ9XZ0A", "K7M2PQ9XZ_A"])
def test_wrong_lengths_and_foreign_characters_are_not_codes(text: str) -> None:
    assert normalize_code(text) is None


_TYPO_BODIES = ["K7M2PQ9XZA", "2222222222", "ZZZZZZZZZZ", "AB3CD4EF5G"]


@pytest.mark.parametrize("position", range(11))
def test_a_typo_in_any_position_is_caught(position: int) -> None:
    missed = []
    for body in _TYPO_BODIES:
        code = _code_with_body(body)
        for char in ALPHABET:
            if char != code[position]:
                typo = code[:position] + char + code[position + 1 :]
                if normalize_code(typo) is not None:
                    missed.append(typo)
    assert missed == []


def test_two_neighbouring_characters_swapped_are_caught() -> None:
    missed = []
    for body in [*_TYPO_BODIES, "23456789AB", "ZYXWVUTSRQ"]:
        code = _code_with_body(body)
        for index in range(10):
            if code[index] != code[index + 1]:
                swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
                if normalize_code(swapped) is not None:
                    missed.append(swapped)
    assert missed == []


# ---------------------------------------------------------------- refusals


def test_a_usable_coupon_has_no_refusal() -> None:
    assert refusal(cash("10.00"), _context()) is None


def test_valid_from_itself_works_and_the_instant_before_it_is_not_yet_valid() -> None:
    coupon = cash("10.00")
    assert refusal(coupon, _context(WINDOW_FROM)) is None
    assert refusal(coupon, _context(WINDOW_FROM - ONE_MICROSECOND)) is errors.COUPON_NOT_YET_VALID
    assert usable_now(coupon, WINDOW_FROM)
    assert not usable_now(coupon, WINDOW_FROM - ONE_MICROSECOND)


def test_the_last_instant_before_valid_until_works_and_valid_until_itself_is_expired() -> None:
    coupon = cash("10.00")
    assert refusal(coupon, _context(WINDOW_UNTIL - ONE_MICROSECOND)) is None
    assert refusal(coupon, _context(WINDOW_UNTIL)) is errors.COUPON_EXPIRED
    assert refusal(coupon, _context(WINDOW_UNTIL + timedelta(days=30))) is errors.COUPON_EXPIRED
    assert usable_now(coupon, WINDOW_UNTIL - ONE_MICROSECOND)
    assert not usable_now(coupon, WINDOW_UNTIL)


def test_used_and_voided_coupons_are_refused_even_within_their_window() -> None:
    rules = _rules("cash", value="10.00")
    assert refusal(_coupon(rules, status=CouponStatus.USED), _context()) is errors.COUPON_USED
    assert refusal(_coupon(rules, status=CouponStatus.VOIDED), _context()) is errors.COUPON_VOIDED
    assert not usable_now(_coupon(rules, status=CouponStatus.USED), NOON)


def test_a_used_coupon_says_used_rather_than_expired() -> None:
    coupon = _coupon(_rules("cash", value="10.00"), status=CouponStatus.USED)
    assert refusal(coupon, _context(WINDOW_UNTIL + timedelta(days=1))) is errors.COUPON_USED


def test_another_members_coupon_is_refused() -> None:
    assert refusal(cash("10.00"), _context(member_id="m2")) is errors.COUPON_WRONG_MEMBER


def test_a_coupon_for_some_stores_is_refused_elsewhere() -> None:
    coupon = cash("10.00", stores=["s1", "s3"])
    assert refusal(coupon, _context(store_id="s1")) is None
    assert refusal(coupon, _context(store_id="s3")) is None
    assert refusal(coupon, _context(store_id="s2")) is errors.COUPON_WRONG_STORE


def test_a_coupon_for_some_levels_is_refused_to_others() -> None:
    coupon = cash("10.00", levels=["gold", "diamond"])
    assert refusal(coupon, _context(level="gold")) is None
    assert refusal(coupon, _context(level="diamond")) is None
    assert refusal(coupon, _context(level="silver")) is errors.COUPON_WRONG_LEVEL
    assert refusal(coupon, _context(level="normal")) is errors.COUPON_WRONG_LEVEL


def test_a_blackout_date_is_the_shanghai_business_date() -> None:
    # given a coupon that cannot be used on 3 March (Shanghai)
    coupon = cash("10.00", blackout_dates=["2026-03-03"])
    # 15:59:59.999999 UTC on the 2nd is still the 2nd in Shanghai
    assert refusal(coupon, _context(datetime(2026, 3, 2, 15, 59, 59, 999999, tzinfo=UTC))) is None
    # 16:00 UTC on the 2nd is already the 3rd in Shanghai
    assert refusal(coupon, _context(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))) is errors.COUPON_BLACKOUT_DATE
    assert refusal(coupon, _context(datetime(2026, 3, 3, 15, 59, 59, tzinfo=UTC))) is errors.COUPON_BLACKOUT_DATE
    # 16:00 UTC on the 3rd is the 4th in Shanghai
    assert refusal(coupon, _context(datetime(2026, 3, 3, 16, 0, tzinfo=UTC))) is None


# ---------------------------------------------------------------- stacking


def test_one_coupon_of_each_kind_may_share_a_bill() -> None:
    check_stacking([threshold_cash("100.00", "10.00"), cash("5.00"), percent("0.9"), dish("duck"), free_meal("5.00")])


def test_two_coupons_of_one_kind_are_refused_by_default() -> None:
    first, second = cash("10.00"), cash("5.00")
    with pytest.raises(DomainError) as refused:
        check_stacking([first, second])
    assert _refusal_code(refused) == ("coupon_not_combinable", second.code)
    assert refused.value.detail["rule"] == "one_per_kind"
    assert refused.value.detail["coupon_kind"] == "cash"


def test_coupons_that_allow_any_number_may_share_a_bill() -> None:
    check_stacking([dish("duck", stacking="any"), dish("goose", stacking="any"), cash("10.00")])


def test_an_exclusive_coupon_alone_is_fine() -> None:
    check_stacking([free_meal(stacking="exclusive")])


def test_an_exclusive_coupon_stands_alone_whatever_the_order() -> None:
    exclusive, other = free_meal(stacking="exclusive"), cash("10.00")
    with pytest.raises(DomainError) as refused:
        check_stacking([exclusive, other])
    assert _refusal_code(refused) == ("coupon_not_combinable", exclusive.code)
    assert refused.value.detail["rule"] == "exclusive"
    with pytest.raises(DomainError) as refused:
        check_stacking([other, exclusive])
    # whatever the order, the refusal names the coupon that may not be combined
    assert _refusal_code(refused) == ("coupon_not_combinable", exclusive.code)
    assert refused.value.detail["rule"] == "exclusive"


def test_stacking_does_not_depend_on_the_order_the_codes_were_typed() -> None:
    only_one, any_number = cash("10.00"), cash("5.00", stacking="any")
    outcomes = []
    for order in ([only_one, any_number], [any_number, only_one]):
        try:
            check_stacking(order)
            outcomes.append("accepted")
        except DomainError as refused:
            outcomes.append(refused.code)
    # a one_per_kind coupon allows no other coupon of its kind on the bill
    assert outcomes == ["coupon_not_combinable", "coupon_not_combinable"]


# ---------------------------------------------------------------- each kind's arithmetic


def _taken(coupons: list[IssuedCoupon], after_discount: str) -> list[tuple[str, str]]:
    return [(effect.kind.value, effect.amount.yuan()) for effect in apply_bill_coupons(coupons, _yuan(after_discount))]


def test_cash_takes_its_value() -> None:
    assert _taken([cash("20.00")], "100.00") == [("cash", "20.00")]


def test_cash_bigger_than_the_bill_takes_the_bill() -> None:
    assert _taken([cash("50.00")], "30.00") == [("cash", "30.00")]


def test_percent_takes_the_share_not_paid() -> None:
    assert _taken([percent("0.88")], "100.00") == [("percent", "12.00")]


def test_percent_rounds_what_is_paid_half_up_to_the_fen() -> None:
    # 10.05 × 0.88 = 8.844 → 8.84 paid, 1.21 off
    assert _taken([percent("0.88")], "10.05") == [("percent", "1.21")]
    # 1.05 × 0.5 = 0.525 → 0.53 paid, 0.52 off
    assert _taken([percent("0.5")], "1.05") == [("percent", "0.52")]
    # 0.25 × 0.9 = 0.225 → 0.23 paid, 0.02 off
    assert _taken([percent("0.9")], "0.25") == [("percent", "0.02")]


def test_percent_is_capped() -> None:
    # 50 % of 100.00 would be 50.00; the cap is 30.00
    assert _taken([percent("0.5", cap="30.00")], "100.00") == [("percent", "30.00")]
    # below the cap, the cap does nothing
    assert _taken([percent("0.5", cap="30.00")], "40.00") == [("percent", "20.00")]


def test_free_meal_takes_the_whole_bill_or_its_cap() -> None:
    assert _taken([free_meal()], "88.88") == [("free_meal", "88.88")]
    assert _taken([free_meal("50.00")], "88.88") == [("free_meal", "50.00")]
    assert _taken([free_meal("100.00")], "88.88") == [("free_meal", "88.88")]


def test_threshold_exactly_met_qualifies() -> None:
    assert _taken([threshold_cash("150.00", "30.00")], "150.00") == [("threshold_cash", "30.00")]


def test_threshold_one_fen_short_is_refused_with_the_threshold_and_the_amount() -> None:
    coupon = threshold_cash("150.00", "30.00")
    with pytest.raises(DomainError) as refused:
        apply_bill_coupons([coupon], _yuan("149.99"))
    assert _refusal_code(refused) == ("coupon_threshold_not_met", coupon.code)
    assert refused.value.detail["threshold"] == "150.00"
    assert refused.value.detail["amount"] == "149.99"


def test_bill_coupons_apply_in_order_threshold_cash_percent_free_meal_whatever_the_order_given() -> None:
    # 200.00: 满150减30 → 170.00; 10 off → 160.00; 10 % off → 16.00 → 144.00; free meal capped at 100.00
    coupons = [free_meal("100.00"), percent("0.9"), cash("10.00"), threshold_cash("150.00", "30.00")]
    assert _taken(coupons, "200.00") == [
        ("threshold_cash", "30.00"),
        ("cash", "10.00"),
        ("percent", "16.00"),
        ("free_meal", "100.00"),
    ]


def test_the_threshold_is_measured_before_the_other_coupons() -> None:
    # 150.00 reaches 满150减30 even though a cash coupon also comes off: threshold first
    assert _taken([cash("20.00"), threshold_cash("150.00", "30.00")], "150.00") == [
        ("threshold_cash", "30.00"),
        ("cash", "20.00"),
    ]


def test_a_coupon_that_would_take_nothing_is_refused() -> None:
    # cash takes all 30.00; nothing is left for the percent coupon
    leftover = percent("0.9")
    with pytest.raises(DomainError) as refused:
        apply_bill_coupons([cash("50.00"), leftover], _yuan("30.00"))
    assert _refusal_code(refused) == ("coupon_no_effect", leftover.code)


def test_a_percent_coupon_that_rounds_to_nothing_is_refused() -> None:
    # 0.01 × 0.9 = 0.009 → 0.01 paid: nothing off
    coupon = percent("0.9")
    with pytest.raises(DomainError) as refused:
        apply_bill_coupons([coupon], _yuan("0.01"))
    assert _refusal_code(refused) == ("coupon_no_effect", coupon.code)


def _lines(*lines: tuple[str | None, int, str]) -> list[tuple[str | None, int, Money]]:
    return [(dish_id, quantity, _yuan(price)) for dish_id, quantity, price in lines]


def test_a_dish_voucher_takes_the_dearest_unit_it_covers() -> None:
    voucher = dish("duck", "goose")
    effects, taken = take_dish_units(
        [voucher], _lines(("tea", 1, "98.00"), ("duck", 1, "68.00"), ("goose", 1, "88.00"))
    )
    assert [(e.code, e.kind, e.amount.yuan(), e.dish_id) for e in effects] == [
        (voucher.code, CouponKind.DISH, "88.00", "goose")
    ]
    assert taken == [0, 0, 1]


def test_two_vouchers_take_two_units() -> None:
    first, second = dish("duck", stacking="any"), dish("duck", stacking="any")
    effects, taken = take_dish_units([first, second], _lines(("duck", 2, "68.00"), ("duck", 1, "72.00")))
    assert [(e.code, e.amount.yuan()) for e in effects] == [(first.code, "72.00"), (second.code, "68.00")]
    assert taken == [1, 1]


def test_two_vouchers_take_two_units_of_one_line() -> None:
    effects, taken = take_dish_units(
        [dish("duck", stacking="any"), dish("duck", stacking="any")], _lines(("duck", 3, "68.00"))
    )
    assert [e.amount.yuan() for e in effects] == ["68.00", "68.00"]
    assert taken == [2]


def test_a_voucher_cap_limits_what_it_takes() -> None:
    effects, taken = take_dish_units([dish("duck", cap="50.00")], _lines(("duck", 1, "68.00")))
    assert [e.amount.yuan() for e in effects] == ["50.00"]
    assert taken == [1]


def test_a_voucher_without_its_dish_on_the_bill_is_refused() -> None:
    voucher = dish("duck", "goose")
    with pytest.raises(DomainError) as refused:
        take_dish_units([voucher], _lines(("tea", 2, "10.00")))
    assert _refusal_code(refused) == ("coupon_dish_not_on_bill", voucher.code)
    assert refused.value.detail["dish_ids"] == ["duck", "goose"]


def test_a_second_voucher_for_a_single_unit_is_refused() -> None:
    first, second = dish("duck", stacking="any"), dish("duck", stacking="any")
    with pytest.raises(DomainError) as refused:
        take_dish_units([first, second], _lines(("duck", 1, "68.00")))
    assert _refusal_code(refused) == ("coupon_dish_not_on_bill", second.code)


def test_vouchers_that_can_all_be_honoured_are_honoured_whatever_their_order() -> None:
    # duck or goose, then duck only; bill: one duck (68.00), one goose (58.00)
    wide, narrow = dish("duck", "goose", stacking="any"), dish("duck", stacking="any")
    lines = _lines(("duck", 1, "68.00"), ("goose", 1, "58.00"))
    for order in ([narrow, wide], [wide, narrow]):
        effects, taken = take_dish_units(order, lines)
        assert sorted(e.amount.yuan() for e in effects) == ["58.00", "68.00"]
        assert taken == [1, 1]


# ---------------------------------------------------------------- price_checkout with coupons


def _checkout(
    level: str,
    bill: str | None = None,
    *,
    coupons: tuple[IssuedCoupon, ...] = (),
    lines: tuple[BillLine, ...] = (),
    program: Program = DEFAULT,
    moment: datetime = NOON,
    use_points: int = 0,
    usable_points: int = 0,
    balance: tuple[str, str] = ("1000.00", "0.00"),
) -> CheckoutPricing:
    total = _yuan(bill) if bill is not None else sum((line.total for line in lines), Money.zero())
    request = CheckoutRequest(total, use_points, True, False, lines, moment, "s1", coupons)
    return price_checkout(
        program,
        program.level(level),
        request,
        Balance(_yuan(balance[0]), _yuan(balance[1])),
        usable_points,
        MemberFacts(),
    )


def _figures(pricing: CheckoutPricing) -> dict[str, Any]:
    return {
        "bill_total": pricing.bill_total.yuan(),
        "discount": pricing.discount.yuan(),
        "coupon_discount": pricing.coupon_discount.yuan(),
        "points_deduction": pricing.points_deduction.yuan(),
        "payable": pricing.payable.yuan(),
        "points_earned": pricing.points_earned,
    }


def test_silver_member_level_discount_then_threshold_coupon() -> None:
    # silver 95 %: 200.00 → 10.00 off → 190.00 reaches 满150减30 → 160.00; 160 × 1.2 = 192 points
    coupon = threshold_cash("150.00", "30.00")
    pricing = _checkout("silver", "200.00", coupons=(coupon,))
    assert _figures(pricing) == {
        "bill_total": "200.00",
        "discount": "10.00",
        "coupon_discount": "30.00",
        "points_deduction": "0.00",
        "payable": "160.00",
        "points_earned": 192,
    }
    assert [(d.kind, d.amount.yuan()) for d in pricing.discounts] == [("level", "10.00")]
    assert [(c.code, c.kind.value, c.amount.yuan()) for c in pricing.coupons] == [
        (coupon.code, "threshold_cash", "30.00")
    ]
    assert pricing.paid_principal == _yuan("160.00")


def test_the_threshold_is_measured_after_the_level_discount() -> None:
    # silver: 157.89 × 0.95 = 149.9955 → 150.00 due: exactly the threshold
    pricing = _checkout("silver", "157.89", coupons=(threshold_cash("150.00", "30.00"),))
    assert (pricing.discount, pricing.payable) == (_yuan("7.89"), _yuan("120.00"))
    # 157.88 × 0.95 = 149.986 → 149.99 due: one fen short, though the bill itself is above 150
    coupon = threshold_cash("150.00", "30.00")
    with pytest.raises(DomainError) as refused:
        _checkout("silver", "157.88", coupons=(coupon,))
    assert _refusal_code(refused) == ("coupon_threshold_not_met", coupon.code)
    assert refused.value.detail["amount"] == "149.99"


def test_percent_off_comes_after_the_level_discount() -> None:
    # gold 90 %: 200.00 → 180.00; 88 % of it: 158.40 paid, 21.60 off
    pricing = _checkout("gold", "200.00", coupons=(percent("0.88"),))
    assert (pricing.discount, pricing.coupon_discount, pricing.payable) == (
        _yuan("20.00"),
        _yuan("21.60"),
        _yuan("158.40"),
    )
    # 158.40 × 1.5 = 237.6 → 237 points
    assert pricing.points_earned == 237


def test_coupons_come_before_points_and_the_points_limit_is_computed_after_them() -> None:
    # at most half of what is due may be paid with points
    program = variant({"points": {"redemption": {"max_share": "0.5"}}})
    # 100.00 − 20.00 cash = 80.00; half of it is 40.00 = 4000 points
    pricing = _checkout(
        "normal", "100.00", coupons=(cash("20.00"),), use_points=4000, usable_points=10_000, program=program
    )
    assert _figures(pricing) == {
        "bill_total": "100.00",
        "discount": "0.00",
        "coupon_discount": "20.00",
        "points_deduction": "40.00",
        "payable": "40.00",
        "points_earned": 40,
    }
    with pytest.raises(DomainError) as refused:
        _checkout("normal", "100.00", coupons=(cash("20.00"),), use_points=4001, usable_points=10_000, program=program)
    assert (refused.value.code, refused.value.detail) == ("points_exceed_bill", {"max_points": 4000})


def test_points_are_earned_on_what_is_paid_after_coupons_and_points() -> None:
    # normal: 100.00 − 20.00 cash − 30.00 points = 50.00 paid → 50 points
    pricing = _checkout("normal", "100.00", coupons=(cash("20.00"),), use_points=3000, usable_points=3000)
    assert (pricing.payable, pricing.points_earned) == (_yuan("50.00"), 50)


def test_a_free_meal_leaves_nothing_to_pay_and_earns_nothing() -> None:
    # diamond 85 %: 120.00 → 102.00, the free meal takes all of it
    pricing = _checkout("diamond", "120.00", coupons=(free_meal(),))
    assert _figures(pricing) == {
        "bill_total": "120.00",
        "discount": "18.00",
        "coupon_discount": "102.00",
        "points_deduction": "0.00",
        "payable": "0.00",
        "points_earned": 0,
    }
    assert pricing.paid_from_balance == Money.zero()
    assert pricing.due_other_tender == Money.zero()


def test_a_dish_voucher_unit_gets_no_level_discount_and_the_rest_does() -> None:
    # gold: duck 2 × 68.00 + rice 1 × 12.00; the voucher takes one duck (68.00);
    # 80.00 left at 90 % → 72.00
    voucher = dish("duck")
    lines = (BillLine("duck", 2, _yuan("68.00")), BillLine("rice", 1, _yuan("12.00")))
    pricing = _checkout("gold", lines=lines, coupons=(voucher,))
    assert _figures(pricing) == {
        "bill_total": "148.00",
        "discount": "8.00",
        "coupon_discount": "68.00",
        "points_deduction": "0.00",
        "payable": "72.00",
        "points_earned": 108,
    }
    assert [(c.code, c.kind.value, c.amount.yuan(), c.dish_id) for c in pricing.coupons] == [
        (voucher.code, "dish", "68.00", "duck")
    ]


def test_what_a_capped_voucher_leaves_gets_the_level_discount() -> None:
    # gold: duck 68.00, the voucher pays 50.00 of it; 18.00 left at 90 % → 16.20
    pricing = _checkout("gold", lines=(BillLine("duck", 1, _yuan("68.00")),), coupons=(dish("duck", cap="50.00"),))
    assert (pricing.coupon_discount, pricing.discount, pricing.payable) == (
        _yuan("50.00"),
        _yuan("1.80"),
        _yuan("16.20"),
    )


def test_the_threshold_is_measured_after_the_dish_voucher() -> None:
    # normal: duck 68.00 + 100.00 unitemised = 168.00; after the voucher 100.00 < 150.00
    coupon = threshold_cash("150.00", "30.00")
    with pytest.raises(DomainError) as refused:
        _checkout("normal", "168.00", lines=(BillLine("duck", 1, _yuan("68.00")),), coupons=(dish("duck"), coupon))
    assert _refusal_code(refused) == ("coupon_threshold_not_met", coupon.code)
    assert refused.value.detail["amount"] == "100.00"


def test_a_dish_voucher_and_the_member_day_promotion_on_one_line() -> None:
    # hotpot member day, gold (90 %): spicy soup 2 × 68.00, lamb 2 × 45.00.
    # The voucher takes one soup at full price (68.00); the other soup is half price (34.00 off);
    # the lamb gets the level discount (9.00 off): 34.00 + 81.00 = 115.00, × 2 on the member day
    voucher = dish("soup_spicy")
    lines = (BillLine("soup_spicy", 2, _yuan("68.00")), BillLine("lamb", 2, _yuan("45.00")))
    pricing = _checkout("gold", lines=lines, coupons=(voucher,), program=HOTPOT, moment=HOTPOT_MEMBER_DAY)
    assert _figures(pricing) == {
        "bill_total": "226.00",
        "discount": "43.00",
        "coupon_discount": "68.00",
        "points_deduction": "0.00",
        "payable": "115.00",
        "points_earned": 230,
    }
    assert [(d.kind, d.amount.yuan()) for d in pricing.discounts] == [("member_day_dish", "34.00"), ("level", "9.00")]
    assert [(c.amount.yuan(), c.dish_id) for c in pricing.coupons] == [("68.00", "soup_spicy")]


def test_the_threshold_counts_member_day_dishes_at_their_promoted_price() -> None:
    # hotpot member day, normal: spicy soup 2 × 68.00 → 68.00; lamb 2 × 45.00 → 90.00; due 158.00 ≥ 150.00
    lines = (BillLine("soup_spicy", 2, _yuan("68.00")), BillLine("lamb", 2, _yuan("45.00")))
    pricing = _checkout(
        "normal", lines=lines, coupons=(threshold_cash("150.00", "30.00"),), program=HOTPOT, moment=HOTPOT_MEMBER_DAY
    )
    assert (pricing.discount, pricing.coupon_discount, pricing.payable) == (
        _yuan("68.00"),
        _yuan("30.00"),
        _yuan("128.00"),
    )


def test_stacking_is_checked_at_checkout() -> None:
    second = cash("5.00")
    with pytest.raises(DomainError) as refused:
        _checkout("normal", "100.00", coupons=(cash("10.00"), second))
    assert _refusal_code(refused) == ("coupon_not_combinable", second.code)


def test_coupons_are_listed_dish_vouchers_first_then_in_application_order() -> None:
    lines = (BillLine("duck", 1, _yuan("68.00")), BillLine("rice", 2, _yuan("66.00")))
    coupons = (percent("0.9"), cash("10.00"), dish("duck"), threshold_cash("100.00", "20.00"))
    # normal: 200.00 − 68.00 voucher = 132.00; 满100减20 → 112.00; 10 off → 102.00; 10 % → 10.20 → 91.80
    pricing = _checkout("normal", lines=lines, coupons=coupons)
    assert [(c.kind.value, c.amount.yuan()) for c in pricing.coupons] == [
        ("dish", "68.00"),
        ("threshold_cash", "20.00"),
        ("cash", "10.00"),
        ("percent", "10.20"),
    ]
    assert (pricing.coupon_discount, pricing.payable) == (_yuan("108.20"), _yuan("91.80"))


# ---------------------------------------------------------------- property: the bill always adds up

_DISHES = ["duck", "goose", "tea"]


@st.composite
def _bills(draw: st.DrawFn) -> tuple[str, tuple[BillLine, ...], Money, tuple[IssuedCoupon, ...], int, str]:
    level = draw(st.sampled_from(["normal", "silver", "gold", "diamond"]))
    lines = tuple(
        BillLine(dish_id, draw(st.integers(1, 3)), Money(draw(st.integers(1, 20_000))))
        for dish_id in _DISHES
        if draw(st.booleans())
    )
    unitemised = Money(draw(st.integers(0 if lines else 1, 50_000)))
    total = sum((line.total for line in lines), unitemised)
    coupons: list[IssuedCoupon] = []
    if draw(st.booleans()):
        value = draw(st.integers(1, 30_000))
        coupons.append(cash(Money(value).yuan()))
    if draw(st.booleans()):
        value = draw(st.integers(1, 20_000))
        threshold = value + draw(st.integers(0, 30_000))
        coupons.append(threshold_cash(Money(threshold).yuan(), Money(value).yuan()))
    if draw(st.booleans()):
        rate = f"0.{draw(st.integers(1, 9999)):04d}"
        cap = draw(st.none() | st.integers(1, 20_000).map(lambda fen: Money(fen).yuan()))
        coupons.append(percent(rate, cap))
    if draw(st.booleans()):
        cap = draw(st.none() | st.integers(1, 20_000).map(lambda fen: Money(fen).yuan()))
        coupons.append(free_meal(cap))
    for _ in range(draw(st.integers(0, 2))):
        covered = draw(st.lists(st.sampled_from(_DISHES), min_size=1, max_size=2, unique=True))
        cap = draw(st.none() | st.integers(1, 20_000).map(lambda fen: Money(fen).yuan()))
        coupons.append(dish(*covered, cap=cap, stacking="any"))
    coupons = draw(st.permutations(coupons))
    use_points = draw(st.integers(0, 20_000))
    principal = Money(draw(st.integers(0, 100_000))).yuan()
    return level, lines, total, tuple(coupons), use_points, principal


@settings(max_examples=400, deadline=None)
@given(_bills())
def test_any_valid_combination_of_coupons_adds_up(bill: tuple[str, tuple[BillLine, ...], Money, Any, int, str]) -> None:
    level, lines, total, coupons, use_points, principal = bill
    try:
        pricing = _checkout(
            level,
            total.yuan(),
            lines=lines,
            coupons=coupons,
            use_points=use_points,
            usable_points=20_000,
            balance=(principal, "0.00"),
        )
    except DomainError as refused:
        # only the refusals a valid set of coupons may meet on a particular bill
        assert refused.code in {
            "coupon_threshold_not_met",
            "coupon_no_effect",
            "coupon_dish_not_on_bill",
            "points_exceed_bill",
        }, refused.code
        return
    assert pricing.bill_total == total
    assert pricing.bill_total == pricing.discount + pricing.coupon_discount + pricing.points_deduction + pricing.payable
    assert pricing.payable >= Money.zero()
    assert pricing.discount >= Money.zero()
    assert all(effect.amount > Money.zero() for effect in pricing.coupons)
    assert sorted(effect.code for effect in pricing.coupons) == sorted(coupon.code for coupon in coupons)
    assert pricing.paid_from_balance + pricing.due_other_tender == pricing.payable
    assert pricing.due_other_tender >= Money.zero()
