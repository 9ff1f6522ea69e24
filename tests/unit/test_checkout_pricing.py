"""Checkout pricing (R-PAY-2..4): level discount, then points, then balance, then other tender."""

from __future__ import annotations

import pytest

from dinecard.program.domain import BalanceOrder, Program
from dinecard.program.presets import default_program
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet.domain import (
    Balance,
    CheckoutPricing,
    CheckoutRequest,
    points_for_payment,
    points_value,
    price_checkout,
    split_balance_payment,
)
from tests.unit.programs import variant

PROGRAM = default_program()


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def _checkout(
    *,
    bill: str,
    level: str = "normal",
    use_points: int = 0,
    pay_with_balance: bool = True,
    balance_only: bool = False,
    principal: str = "0",
    bonus: str = "0",
    usable_points: int = 0,
    program: Program = PROGRAM,
) -> CheckoutPricing:
    return price_checkout(
        program,
        program.level(level),
        CheckoutRequest(_yuan(bill), use_points, pay_with_balance, balance_only),
        Balance(_yuan(principal), _yuan(bonus)),
        usable_points,
    )


def test_worked_example_silver_member_pays_95_from_balance_and_earns_114_points() -> None:
    # given a silver member with 500.00 principal and 80.00 bonus
    # when a 100.00 bill is paid from balance
    pricing = _checkout(bill="100.00", level="silver", principal="500.00", bonus="80.00")
    # then
    assert pricing.bill_total == _yuan("100.00")
    assert pricing.discount == _yuan("5.00")
    assert pricing.payable == _yuan("95.00")
    assert pricing.paid_principal == _yuan("81.90")
    assert pricing.paid_bonus == _yuan("13.10")
    assert pricing.paid_from_balance == _yuan("95.00")
    assert pricing.due_other_tender == Money.zero()
    assert pricing.points_used == 0
    assert pricing.points_deduction == Money.zero()
    assert pricing.points_earned == 114


@pytest.mark.parametrize(
    ("level", "payable", "points_earned"),
    [
        ("normal", "100.00", 100),
        ("silver", "95.00", 114),
        ("gold", "90.00", 135),
        ("diamond", "85.00", 170),
    ],
)
def test_each_level_has_its_discount_and_points_multiplier(level: str, payable: str, points_earned: int) -> None:
    pricing = _checkout(bill="100.00", level=level, pay_with_balance=False)
    assert pricing.payable.yuan() == payable
    assert pricing.discount == _yuan("100.00") - _yuan(payable)
    assert pricing.due_other_tender.yuan() == payable
    assert pricing.points_earned == points_earned


@pytest.mark.parametrize(
    ("level", "bill", "payable"),
    [
        ("silver", "100.01", "95.01"),  # 9500.95 fen
        ("silver", "0.10", "0.10"),  # 9.5 fen
        ("silver", "0.30", "0.29"),  # 28.5 fen
        ("gold", "0.05", "0.05"),  # 4.5 fen
        ("gold", "0.15", "0.14"),  # 13.5 fen
        ("diamond", "1.01", "0.86"),  # 85.85 fen
        ("diamond", "0.10", "0.09"),  # 8.5 fen
        ("diamond", "0.01", "0.01"),  # 0.85 fen
        ("normal", "0.01", "0.01"),
    ],
)
def test_the_discounted_bill_is_rounded_half_up_to_the_fen(level: str, bill: str, payable: str) -> None:
    pricing = _checkout(bill=bill, level=level, pay_with_balance=False)
    assert pricing.payable.yuan() == payable
    assert pricing.discount == _yuan(bill) - _yuan(payable)


@pytest.mark.parametrize("bill_fen", [0, -1, -10000])
def test_a_bill_of_zero_or_less_is_refused(bill_fen: int) -> None:
    request = CheckoutRequest(Money(bill_fen), use_points=0, pay_with_balance=True, balance_only=False)
    with pytest.raises(DomainError) as refusal:
        price_checkout(PROGRAM, PROGRAM.entry_level, request, Balance(_yuan("100"), _yuan("20")), 0)
    assert refusal.value.code == "amount_not_positive"


def test_100_points_deduct_1_yuan() -> None:
    assert points_value(PROGRAM, 100) == _yuan("1.00")
    assert points_value(PROGRAM, 1) == _yuan("0.01")
    assert points_value(PROGRAM, 0) == Money.zero()
    assert points_value(PROGRAM, 12345) == _yuan("123.45")


def test_points_that_do_not_convert_to_whole_fen_are_refused() -> None:
    # given a program where 1,000 points are worth 1 yuan, one point is a tenth of a fen
    program = variant({"points": {"redemption": {"points_per_yuan": 1000}}})
    assert points_value(program, 1000) == _yuan("1.00")
    assert points_value(program, 10) == _yuan("0.01")
    with pytest.raises(DomainError) as refusal:
        points_value(program, 15)
    assert refusal.value.code == "points_not_redeemable"


def test_points_are_deducted_after_the_level_discount_and_earn_nothing_themselves() -> None:
    # given a silver member using 1,000 points (10.00) on a 100.00 bill
    pricing = _checkout(bill="100.00", level="silver", use_points=1000, usable_points=1000, pay_with_balance=False)
    # then 95.00 − 10.00 is due, and points are earned on the 85.00 actually paid
    assert pricing.points_used == 1000
    assert pricing.points_deduction == _yuan("10.00")
    assert pricing.payable == _yuan("85.00")
    assert pricing.due_other_tender == _yuan("85.00")
    assert pricing.points_earned == 102


def test_a_bill_paid_entirely_with_points_earns_nothing() -> None:
    pricing = _checkout(bill="100.00", level="silver", use_points=9500, usable_points=20000)
    assert pricing.payable == Money.zero()
    assert pricing.paid_from_balance == Money.zero()
    assert pricing.due_other_tender == Money.zero()
    assert pricing.points_earned == 0


def test_points_worth_more_than_the_discounted_bill_are_refused() -> None:
    # given the silver price of 100.00 is 95.00, so at most 9,500 points
    with pytest.raises(DomainError) as refusal:
        _checkout(bill="100.00", level="silver", use_points=9501, usable_points=100000)
    # then
    assert refusal.value.code == "points_exceed_bill"
    assert refusal.value.detail == {"max_points": 9500}


def test_using_more_points_than_usable_is_refused() -> None:
    with pytest.raises(DomainError) as refusal:
        _checkout(bill="100.00", use_points=501, usable_points=500)
    assert refusal.value.code == "insufficient_points"
    assert refusal.value.detail == {"usable": 500}


def test_using_exactly_the_usable_points_is_allowed() -> None:
    pricing = _checkout(bill="100.00", use_points=500, usable_points=500, pay_with_balance=False)
    assert pricing.payable == _yuan("95.00")


def test_too_little_balance_leaves_the_rest_to_another_tender() -> None:
    # given 50.00 principal and 10.00 bonus, a 100.00 bill paid with balance
    pricing = _checkout(bill="100.00", principal="50.00", bonus="10.00")
    # then the whole balance goes, and 40.00 is due in another tender
    assert pricing.paid_principal == _yuan("50.00")
    assert pricing.paid_bonus == _yuan("10.00")
    assert pricing.due_other_tender == _yuan("40.00")
    assert pricing.points_earned == 100


def test_balance_only_with_too_little_balance_is_refused() -> None:
    with pytest.raises(DomainError) as refusal:
        _checkout(bill="100.00", pay_with_balance=False, balance_only=True, principal="50.00", bonus="49.99")
    assert refusal.value.code == "insufficient_balance"
    assert refusal.value.detail == {"balance": "99.99", "payable": "100.00"}


def test_balance_only_with_exactly_enough_balance_is_paid_from_balance() -> None:
    pricing = _checkout(bill="100.00", balance_only=True, principal="50.00", bonus="50.00")
    assert pricing.paid_from_balance == _yuan("100.00")
    assert pricing.due_other_tender == Money.zero()


def test_not_paying_with_balance_leaves_everything_to_another_tender() -> None:
    pricing = _checkout(bill="100.00", level="silver", pay_with_balance=False, principal="500.00", bonus="80.00")
    assert pricing.paid_principal == Money.zero()
    assert pricing.paid_bonus == Money.zero()
    assert pricing.due_other_tender == _yuan("95.00")
    assert pricing.points_earned == 114


@pytest.mark.parametrize(
    ("order", "principal", "bonus"),
    [
        (BalanceOrder.PROPORTIONAL, "81.90", "13.10"),
        (BalanceOrder.BONUS_FIRST, "15.00", "80.00"),
        (BalanceOrder.PRINCIPAL_FIRST, "95.00", "0.00"),
    ],
)
def test_the_balance_order_decides_which_bucket_pays_first(order: BalanceOrder, principal: str, bonus: str) -> None:
    program = variant({"balance_order": order.value})
    pricing = _checkout(bill="100.00", level="silver", principal="500.00", bonus="80.00", program=program)
    assert (pricing.paid_principal.yuan(), pricing.paid_bonus.yuan()) == (principal, bonus)


@pytest.mark.parametrize(
    ("order", "amount", "principal", "bonus"),
    [
        (BalanceOrder.BONUS_FIRST, "10.00", "0.00", "10.00"),
        (BalanceOrder.BONUS_FIRST, "30.00", "10.00", "20.00"),
        (BalanceOrder.PRINCIPAL_FIRST, "10.00", "10.00", "0.00"),
        (BalanceOrder.PRINCIPAL_FIRST, "120.00", "100.00", "20.00"),
        (BalanceOrder.PROPORTIONAL, "60.00", "50.00", "10.00"),
        (BalanceOrder.PROPORTIONAL, "0.01", "0.01", "0.00"),
        (BalanceOrder.PROPORTIONAL, "120.00", "100.00", "20.00"),
        (BalanceOrder.PROPORTIONAL, "0.00", "0.00", "0.00"),
    ],
)
def test_split_balance_payment_draws_on_the_buckets_in_order(
    order: BalanceOrder, amount: str, principal: str, bonus: str
) -> None:
    # given a balance of 100.00 principal and 20.00 bonus
    split = split_balance_payment(_yuan(amount), Balance(_yuan("100.00"), _yuan("20.00")), order)
    assert (split[0].yuan(), split[1].yuan()) == (principal, bonus)


def test_paying_more_than_the_balance_from_it_is_a_programmer_error() -> None:
    with pytest.raises(AssertionError):
        split_balance_payment(_yuan("120.01"), Balance(_yuan("100.00"), _yuan("20.00")), BalanceOrder.BONUS_FIRST)


@pytest.mark.parametrize(
    ("level", "paid", "points"),
    [
        ("silver", "99.99", 119),  # 119.988
        ("normal", "99.99", 99),
        ("gold", "99.99", 149),  # 149.985
        ("diamond", "99.99", 199),  # 199.98
        ("silver", "0.83", 0),  # 0.996
        ("silver", "0.84", 1),  # 1.008
        ("gold", "0.66", 0),  # 0.99
        ("gold", "0.67", 1),  # 1.005
        ("normal", "0.99", 0),
        ("normal", "1.00", 1),
    ],
)
def test_points_earned_are_rounded_down(level: str, paid: str, points: int) -> None:
    assert points_for_payment(PROGRAM, PROGRAM.level(level), _yuan(paid)) == points


def test_a_silver_payable_of_99_99_earns_119_points_at_checkout() -> None:
    # given 105.25 at 95 % is 99.9875, rounded half up to 99.99
    pricing = _checkout(bill="105.25", level="silver", pay_with_balance=False)
    assert pricing.payable == _yuan("99.99")
    assert pricing.points_earned == 119
