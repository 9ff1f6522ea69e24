"""Checkout promotions: member day (R-LIF-3), birthday day (R-LIF-2), pilot stores (R-OPS-6),
the level discount's scope (R-PAY-2) and the redemption rules (R-PTS-5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dinecard.program.domain import Program
from dinecard.program.presets import SOUP_BASES, default_program, preset
from dinecard.shared.calendar import birthday_in_year
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet.domain import (
    Balance,
    BillLine,
    CheckoutPricing,
    CheckoutRequest,
    Discount,
    MemberFacts,
    occasions,
    price_checkout,
)
from tests.unit.programs import variant

SHANGHAI = timezone(timedelta(hours=8))
HOTPOT = preset("hotpot")
DEFAULT = default_program()
# 16:30 UTC on the 17th is 00:30 on the 18th in Shanghai: already the member day there.
MEMBER_DAY = datetime(2026, 11, 17, 16, 30, tzinfo=UTC)
SOUP = BillLine("soup_spicy", 1, Money(6800))
LAMB = BillLine("lamb", 2, Money(4500))
NO_FACTS = MemberFacts()


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def _price(
    program: Program,
    level: str,
    lines: tuple[BillLine, ...] = (),
    *,
    bill: str | None = None,
    moment: datetime | None = MEMBER_DAY,
    store_id: str | None = "s1",
    facts: MemberFacts = NO_FACTS,
    pay_with_balance: bool = True,
    balance_only: bool = False,
    use_points: int = 0,
    usable_points: int = 0,
    balance: Balance | None = None,
) -> CheckoutPricing:
    bill_total = _yuan(bill) if bill else sum((line.total for line in lines), Money.zero())
    request = CheckoutRequest(bill_total, use_points, pay_with_balance, balance_only, lines, moment, store_id)
    return price_checkout(
        program,
        program.level(level),
        request,
        balance or Balance(_yuan("1000"), _yuan("300")),
        usable_points,
        facts,
    )


def _kinds(pricing: CheckoutPricing) -> list[tuple[str, str]]:
    return [(discount.kind, discount.amount.yuan()) for discount in pricing.discounts]


def _balanced(pricing: CheckoutPricing) -> bool:
    return bool(pricing.discount == pricing.bill_total - (pricing.payable + pricing.points_deduction))


# ---------------------------------------------------------------- member day


def test_on_member_day_soup_bases_are_half_price_and_get_no_level_discount() -> None:
    # given a gold member (90 %) with a 68.00 soup base and two 45.00 lamb plates on the 18th
    # when
    pricing = _price(HOTPOT, "gold", (SOUP, LAMB))
    # then soup 68.00 → 34.00; lamb 90.00 → 81.00 at the level rate
    assert pricing.bill_total == _yuan("158.00")
    assert _kinds(pricing) == [("member_day_dish", "34.00"), ("level", "9.00")]
    assert pricing.discount == _yuan("43.00")
    assert pricing.payable == _yuan("115.00")
    assert _balanced(pricing)
    # and double points on the member day: 115 × 2
    assert pricing.points_earned == 230


@pytest.mark.parametrize("soup", SOUP_BASES)
def test_every_soup_base_is_half_price_on_member_day(soup: str) -> None:
    pricing = _price(HOTPOT, "normal", (BillLine(soup, 2, _yuan("39.99")),))
    # 79.98 halved is 39.99
    assert _kinds(pricing) == [("member_day_dish", "39.99")]
    assert pricing.payable == _yuan("39.99")


def test_a_half_price_line_is_rounded_half_up_to_the_fen() -> None:
    # 3 × 12.33 = 36.99, half is 18.495 → 18.50 due, 18.49 off
    pricing = _price(HOTPOT, "normal", (BillLine("soup_bone", 3, _yuan("12.33")),))
    assert (pricing.payable, _kinds(pricing)) == (_yuan("18.50"), [("member_day_dish", "18.49")])


def test_bill_amounts_without_line_items_get_the_level_discount() -> None:
    # given 158.00 billed but only the soup itemised: the other 90.00 is discounted at the level rate
    pricing = _price(HOTPOT, "gold", (SOUP,), bill="158.00")
    assert pricing.payable == _yuan("115.00")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 17, 15, 59, 59, 999999, tzinfo=UTC),  # 23:59:59.999999 on the 17th in Shanghai
        datetime(2026, 11, 17, 12, 0, tzinfo=SHANGHAI),
        datetime(2026, 11, 18, 16, 0, tzinfo=UTC),  # 00:00 on the 19th in Shanghai
        datetime(2026, 11, 19, 12, 0, tzinfo=SHANGHAI),
    ],
)
def test_the_day_before_and_after_the_18th_are_not_member_days(moment: datetime) -> None:
    pricing = _price(HOTPOT, "gold", (SOUP, LAMB), moment=moment)
    # the whole 158.00 at 90 %, single points
    assert _kinds(pricing) == [("level", "15.80")]
    assert pricing.payable == _yuan("142.20")
    assert pricing.points_earned == 142


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 18, 0, 0, tzinfo=SHANGHAI),
        datetime(2026, 11, 18, 23, 59, 59, 999999, tzinfo=SHANGHAI),
        datetime(2027, 2, 18, 12, 0, tzinfo=SHANGHAI),
    ],
)
def test_the_whole_18th_of_every_month_is_member_day(moment: datetime) -> None:
    assert _price(HOTPOT, "gold", (SOUP, LAMB), moment=moment).payable == _yuan("115.00")


def test_the_member_day_follows_the_programs_time_zone() -> None:
    # given the same chain running in UTC: 16:30 UTC on the 17th is still the 17th
    program = preset("hotpot", "UTC")
    assert _price(program, "gold", (SOUP, LAMB)).payable == _yuan("142.20")


def test_a_checkout_without_a_moment_has_no_member_day() -> None:
    assert _price(HOTPOT, "gold", (SOUP, LAMB), moment=None).payable == _yuan("142.20")


@pytest.mark.parametrize(("store_id", "payable", "points"), [("s1", "115.00", 230), ("s2", "142.20", 142)])
def test_a_pilot_member_day_applies_only_in_its_stores(store_id: str, payable: str, points: int) -> None:
    # given the member day is piloted in store s1 only
    program = variant({"member_day": {"stores": ["s1"]}}, HOTPOT)
    # when
    pricing = _price(program, "gold", (SOUP, LAMB), store_id=store_id)
    # then neither the half-price soup nor the double points reach other stores
    assert (pricing.payable.yuan(), pricing.points_earned) == (payable, points)


# ---------------------------------------------------------------- birthday day


def test_a_birthday_on_member_day_gets_the_free_soup_not_the_half_price_one() -> None:
    # given the member's birthday is 18 November
    facts = MemberFacts(birthday=date(1990, 11, 18))
    # when
    pricing = _price(HOTPOT, "gold", (SOUP, LAMB), facts=facts)
    # then the soup is free (the better of 0 and 0.5), the lamb at 90 %
    assert _kinds(pricing) == [("birthday_dish", "68.00"), ("level", "9.00")]
    assert pricing.payable == _yuan("81.00")
    assert _balanced(pricing)
    # and the member day still doubles points: 81 × 2
    assert pricing.points_earned == 162


def test_a_birthday_on_another_day_gets_the_free_soup_and_single_points() -> None:
    facts = MemberFacts(birthday=date(1990, 11, 20))
    pricing = _price(HOTPOT, "gold", (SOUP, LAMB), moment=datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI), facts=facts)
    assert _kinds(pricing) == [("birthday_dish", "68.00"), ("level", "9.00")]
    assert (pricing.payable, pricing.points_earned) == (_yuan("81.00"), 81)


def test_the_day_after_the_birthday_the_soup_is_full_price() -> None:
    facts = MemberFacts(birthday=date(1990, 11, 19))
    pricing = _price(HOTPOT, "gold", (SOUP, LAMB), moment=datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI), facts=facts)
    assert _kinds(pricing) == [("level", "15.80")]


def _birthday_program(cap: str | None = "30") -> Program:
    birthday = {"bill_rate": "0.5", "bill_discount_cap": cap} if cap else {"bill_rate": "0.5"}
    return variant({"birthday": birthday})


BIRTHDAY = MemberFacts(birthday=date(1990, 11, 18))
ON_BIRTHDAY = datetime(2026, 11, 18, 12, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("bill", "kind", "amount", "payable", "points"),
    [
        # 50 % off capped at 30.00 beats the diamond 15.00
        ("100.00", "birthday", "30.00", "70.00", 280),
        # 30.00 (capped) against diamond 30.00: equal, the level discount is shown
        ("200.00", "level", "30.00", "170.00", 680),
        # diamond 45.00 beats the capped 30.00
        ("300.00", "level", "45.00", "255.00", 1020),
        # 59.98 × 50 % = 29.99 (under the cap) beats 59.98 × 15 % = 9.00 (8.997 rounded)
        ("59.98", "birthday", "29.99", "29.99", 119),
    ],
)
def test_the_larger_of_birthday_and_level_discount_applies_never_both(
    bill: str, kind: str, amount: str, payable: str, points: int
) -> None:
    # when a diamond member (85 %, ×2) pays on their birthday (birthday month ×2 too)
    pricing = _price(_birthday_program(), "diamond", bill=bill, moment=ON_BIRTHDAY, facts=BIRTHDAY)
    # then
    assert _kinds(pricing) == [(kind, amount)]
    assert pricing.payable.yuan() == payable
    assert _balanced(pricing)
    assert pricing.points_earned == points


def test_an_uncapped_birthday_discount_takes_half_the_bill() -> None:
    pricing = _price(_birthday_program(cap=None), "diamond", bill="300.00", moment=ON_BIRTHDAY, facts=BIRTHDAY)
    assert _kinds(pricing) == [("birthday", "150.00")]


def test_a_free_birthday_meal_leaves_nothing_to_pay_and_earns_nothing() -> None:
    program = variant({"birthday": {"bill_rate": "0"}})
    pricing = _price(program, "silver", bill="88.00", moment=ON_BIRTHDAY, facts=BIRTHDAY)
    assert _kinds(pricing) == [("birthday", "88.00")]
    assert (pricing.payable, pricing.paid_from_balance, pricing.points_earned) == (Money.zero(), Money.zero(), 0)


def test_the_birthday_discount_is_only_on_the_birthday_itself() -> None:
    pricing = _price(
        _birthday_program(),
        "diamond",
        bill="100.00",
        moment=datetime(2026, 11, 19, 12, 0, tzinfo=SHANGHAI),
        facts=BIRTHDAY,
    )
    # the level's 15.00, and still double points for the birthday month: 85 × 2 × 2
    assert _kinds(pricing) == [("level", "15.00")]
    assert pricing.points_earned == 340


def test_the_birthday_is_judged_in_the_business_time_zone() -> None:
    # 16:00 UTC on 17 November is 00:00 on the 18th in Shanghai
    moment = datetime(2026, 11, 17, 16, 0, tzinfo=UTC)
    pricing = _price(_birthday_program(), "diamond", bill="100.00", moment=moment, facts=BIRTHDAY)
    assert _kinds(pricing) == [("birthday", "30.00")]


LEAP_DAY = MemberFacts(birthday=date(2000, 2, 29))


@pytest.mark.parametrize(
    ("day", "is_birthday"),
    [
        (date(2027, 2, 28), True),  # not a leap year: celebrated on 28 February
        (date(2027, 3, 1), False),
        (date(2027, 2, 27), False),
        (date(2028, 2, 28), False),  # a leap year: the 29th itself
        (date(2028, 2, 29), True),
    ],
)
def test_a_29_february_birthday_is_celebrated_on_28_february_in_other_years(day: date, is_birthday: bool) -> None:
    moment = datetime(day.year, day.month, day.day, 12, 0, tzinfo=SHANGHAI)
    assert occasions(DEFAULT, LEAP_DAY, moment, None).birthday is is_birthday
    pricing = _price(_birthday_program(cap=None), "normal", bill="100.00", moment=moment, facts=LEAP_DAY)
    assert pricing.payable == (_yuan("50.00") if is_birthday else _yuan("100.00"))


def test_birthday_in_year_moves_only_29_february() -> None:
    assert birthday_in_year(date(2000, 2, 29), 2027) == date(2027, 2, 28)
    assert birthday_in_year(date(2000, 2, 29), 2028) == date(2028, 2, 29)
    assert birthday_in_year(date(1990, 2, 28), 2027) == date(2027, 2, 28)
    assert birthday_in_year(date(1990, 12, 31), 2027) == date(2027, 12, 31)


# ---------------------------------------------------------------- level discount scope

BALANCE_PAYMENT_ONLY = variant({"level_policy": {"discount_applies": "balance_payment"}})


@pytest.mark.parametrize(
    ("pay_with_balance", "balance_only", "payable", "kinds"),
    [
        (False, False, "100.00", []),
        (True, False, "95.00", [("level", "5.00")]),
        (False, True, "95.00", [("level", "5.00")]),
    ],
)
def test_the_level_discount_can_be_limited_to_bills_paid_from_balance(
    pay_with_balance: bool, balance_only: bool, payable: str, kinds: list[tuple[str, str]]
) -> None:
    pricing = _price(
        BALANCE_PAYMENT_ONLY,
        "silver",
        bill="100.00",
        pay_with_balance=pay_with_balance,
        balance_only=balance_only,
    )
    assert (pricing.payable.yuan(), _kinds(pricing)) == (payable, kinds)


def test_a_bill_paid_partly_from_balance_gets_the_whole_level_discount() -> None:
    pricing = _price(BALANCE_PAYMENT_ONLY, "silver", bill="100.00", balance=Balance(_yuan("10"), _yuan("0")))
    assert (pricing.payable, pricing.paid_from_balance, pricing.due_other_tender) == (
        _yuan("95"),
        _yuan("10"),
        _yuan("85"),
    )


def test_an_empty_balance_earns_no_balance_payment_discount() -> None:
    # given a silver member with nothing on the card, asking to pay from balance (the API default)
    pricing = _price(BALANCE_PAYMENT_ONLY, "silver", bill="100.00", balance=Balance(Money.zero(), Money.zero()))
    # then everything is paid by another tender, so the bill is not "paid (at least partly) from balance"
    assert pricing.paid_from_balance == Money.zero()
    assert pricing.payable == _yuan("100.00")


def test_the_birthday_discount_does_not_depend_on_paying_from_balance() -> None:
    program = variant({"level_policy": {"discount_applies": "balance_payment"}}, _birthday_program())
    pricing = _price(program, "diamond", bill="100.00", moment=ON_BIRTHDAY, facts=BIRTHDAY, pay_with_balance=False)
    assert _kinds(pricing) == [("birthday", "30.00")]


# ---------------------------------------------------------------- the breakdown


def test_the_breakdown_adds_up_with_points_used() -> None:
    # given the member-day bill of 115.00 after discounts, 2,000 points (20.00) used
    pricing = _price(HOTPOT, "gold", (SOUP, LAMB), use_points=2000, usable_points=2000)
    # then
    assert pricing.discount == _yuan("43.00")
    assert pricing.points_deduction == _yuan("20.00")
    assert pricing.payable == _yuan("95.00")
    assert pricing.discount == pricing.bill_total - (pricing.payable + pricing.points_deduction)
    assert sum((discount.amount for discount in pricing.discounts), Money.zero()) == pricing.discount
    # and points are earned on the 95.00 paid, doubled
    assert pricing.points_earned == 190


def test_no_discount_gives_an_empty_breakdown() -> None:
    pricing = _price(HOTPOT, "normal", (LAMB,), moment=datetime(2026, 11, 1, 12, 0, tzinfo=SHANGHAI))
    assert (pricing.discounts, pricing.discount, pricing.payable) == ((), Money.zero(), _yuan("90.00"))


DISHES = [*SOUP_BASES, "lamb", "beef", "tofu"]
BIRTHDAY_HOTPOT = variant({"birthday": {"bill_rate": "0.5", "bill_discount_cap": "30"}}, HOTPOT)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    program=st.sampled_from([HOTPOT, BIRTHDAY_HOTPOT]),
    level=st.sampled_from(["normal", "silver", "gold", "diamond"]),
    lines=st.lists(
        st.builds(
            BillLine,
            st.sampled_from(DISHES),
            st.integers(min_value=1, max_value=5),
            st.builds(Money, st.integers(min_value=1, max_value=20_000)),
        ),
        max_size=6,
    ),
    unitemised_fen=st.integers(min_value=0, max_value=50_000),
    day=st.integers(min_value=15, max_value=21),
    birthday=st.none() | st.builds(date, st.just(1990), st.just(11), st.integers(min_value=15, max_value=21)),
    pay_with_balance=st.booleans(),
)
def test_the_discount_is_the_bill_less_what_is_paid_and_the_breakdown_sums_to_it(
    data: st.DataObject,
    program: Program,
    level: str,
    lines: list[BillLine],
    unitemised_fen: int,
    day: int,
    birthday: date | None,
    pay_with_balance: bool,
) -> None:
    # given
    bill = sum((line.total for line in lines), Money(unitemised_fen))
    if bill.fen == 0:
        bill = Money(1)
    facts = MemberFacts(birthday=birthday)
    moment = datetime(2026, 11, day, 12, 0, tzinfo=SHANGHAI)

    def price(points: int) -> CheckoutPricing:
        request = CheckoutRequest(bill, points, pay_with_balance, False, tuple(lines), moment, "s1")
        return price_checkout(program, program.level(level), request, Balance(_yuan("300"), _yuan("50")), 10**9, facts)

    before_points = price(0)
    points = data.draw(st.integers(min_value=0, max_value=before_points.payable.fen), label="points")
    # when
    pricing = price(points)
    # then
    assert pricing.discount == pricing.bill_total - (pricing.payable + pricing.points_deduction)
    assert pricing.discount == sum((discount.amount for discount in pricing.discounts), Money.zero())
    assert pricing.discount == before_points.discount
    assert all(discount.amount.fen > 0 for discount in pricing.discounts)
    kinds = [discount.kind for discount in pricing.discounts]
    assert len(kinds) == len(set(kinds))
    assert not {"level", "birthday"} <= set(kinds)
    assert Money.zero() <= pricing.payable <= bill
    assert pricing.payable == pricing.paid_from_balance + pricing.due_other_tender


# ---------------------------------------------------------------- redemption rules


def _refusal(program: Program, level: str, bill: str, use_points: int) -> DomainError:
    with pytest.raises(DomainError) as refusal:
        _price(program, level, bill=bill, use_points=use_points, usable_points=10**7, pay_with_balance=False)
    return refusal.value


MIN_1000 = variant({"points": {"redemption": {"min_points": 1000}}})


def test_fewer_points_than_the_minimum_are_refused() -> None:
    refusal = _refusal(MIN_1000, "normal", "100.00", 999)
    assert (refusal.code, refusal.detail) == ("points_below_minimum", {"min_points": 1000})


@pytest.mark.parametrize(("use_points", "payable"), [(0, "100.00"), (1000, "90.00"), (1001, "89.99")])
def test_no_points_or_at_least_the_minimum_are_accepted(use_points: int, payable: str) -> None:
    pricing = _price(MIN_1000, "normal", bill="100.00", use_points=use_points, usable_points=5000)
    assert pricing.payable.yuan() == payable


HALF_SHARE = variant({"points": {"redemption": {"max_share": "0.5"}}})


def test_points_may_pay_at_most_the_max_share_of_the_discounted_bill() -> None:
    # given a silver member's 100.00 bill is 95.00: half is 47.50, i.e. 4,750 points
    pricing = _price(HALF_SHARE, "silver", bill="100.00", use_points=4750, usable_points=10000)
    assert (pricing.points_deduction, pricing.payable) == (_yuan("47.50"), _yuan("47.50"))
    refusal = _refusal(HALF_SHARE, "silver", "100.00", 4751)
    assert (refusal.code, refusal.detail) == ("points_exceed_bill", {"max_points": 4750})


def test_the_max_share_is_rounded_down_to_the_fen() -> None:
    # half of 95.01 is 47.505: at most 47.50
    assert _price(HALF_SHARE, "normal", bill="95.01", use_points=4750, usable_points=10000).payable == _yuan("47.51")
    refusal = _refusal(HALF_SHARE, "normal", "95.01", 4751)
    assert (refusal.code, refusal.detail) == ("points_exceed_bill", {"max_points": 4750})


TENTH_OF_A_FEN = variant({"points": {"redemption": {"points_per_yuan": 1000}}})


@pytest.mark.parametrize("use_points", [1, 9, 15, 1001])
def test_points_that_are_not_a_whole_number_of_fen_are_refused_at_checkout(use_points: int) -> None:
    # given 1,000 points = 1 yuan, one point is a tenth of a fen
    refusal = _refusal(TENTH_OF_A_FEN, "normal", "100.00", use_points)
    assert (refusal.code, refusal.detail) == ("points_not_redeemable", {"points_per_yuan": 1000})


@pytest.mark.parametrize(
    ("use_points", "deduction"), [(10, "0.01"), (1000, "1.00"), (1010, "1.01"), (100000, "100.00")]
)
def test_points_in_whole_fen_are_deducted_at_a_tenth_of_a_fen_each(use_points: int, deduction: str) -> None:
    pricing = _price(TENTH_OF_A_FEN, "normal", bill="100.00", use_points=use_points, usable_points=10**6)
    assert pricing.points_deduction.yuan() == deduction


def test_the_max_points_reported_follow_the_points_per_yuan() -> None:
    program = variant({"points": {"redemption": {"points_per_yuan": 1000, "max_share": "0.5"}}})
    refusal = _refusal(program, "normal", "95.01", 47510)
    assert (refusal.code, refusal.detail) == ("points_exceed_bill", {"max_points": 47500})


def test_the_minimum_is_checked_before_the_share() -> None:
    program = variant({"points": {"redemption": {"min_points": 1000, "max_share": "0.5"}}})
    assert _refusal(program, "normal", "10.00", 999).code == "points_below_minimum"
    assert _refusal(program, "normal", "10.00", 1000).code == "points_exceed_bill"


def test_member_day_discounts_come_before_the_points_share() -> None:
    # given the member-day gold bill of 115.00 and max share 0.5: at most 57.50
    program = variant({"points": {"redemption": {"max_share": "0.5"}}}, HOTPOT)
    assert _price(program, "gold", (SOUP, LAMB), use_points=5750, usable_points=10**6).payable == _yuan("57.50")
    with pytest.raises(DomainError) as refusal:
        _price(program, "gold", (SOUP, LAMB), use_points=5751, usable_points=10**6)
    assert refusal.value.detail == {"max_points": 5750}


def test_discount_records_are_plain_values() -> None:
    assert Discount("level", _yuan("5")) == Discount("level", Money(500))
