"""Refunds (R-PAY-6, R-RCH-9): back to the same buckets, and a series of partials ends exactly at the whole."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet.domain import (
    Balance,
    CheckoutPaid,
    CheckoutRefund,
    RechargePaid,
    RechargeRefund,
    allocate_checkout_refund,
    allocate_recharge_refund,
)


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def _checkout_paid(
    principal: str, bonus: str, other: str = "0", points_earned: int = 0, points_used: int = 0
) -> CheckoutPaid:
    return CheckoutPaid(
        payable=_yuan(principal) + _yuan(bonus) + _yuan(other),
        principal=_yuan(principal),
        bonus=_yuan(bonus),
        other_tender=_yuan(other),
        points_earned=points_earned,
        points_used=points_used,
        refunded_principal=Money.zero(),
        refunded_bonus=Money.zero(),
        refunded_other=Money.zero(),
        points_earned_reversed=0,
        points_used_restored=0,
    )


def _after_checkout_refund(paid: CheckoutPaid, refund: CheckoutRefund) -> CheckoutPaid:
    return replace(
        paid,
        refunded_principal=paid.refunded_principal + refund.principal,
        refunded_bonus=paid.refunded_bonus + refund.bonus,
        refunded_other=paid.refunded_other + refund.other_tender,
        points_earned_reversed=paid.points_earned_reversed + refund.points_earned_reversed,
        points_used_restored=paid.points_used_restored + refund.points_used_restored,
    )


def _buckets(refund: CheckoutRefund) -> tuple[str, str, str, int, int]:
    return (
        refund.principal.yuan(),
        refund.bonus.yuan(),
        refund.other_tender.yuan(),
        refund.points_earned_reversed,
        refund.points_used_restored,
    )


WORKED_EXAMPLE = _checkout_paid("81.90", "13.10", points_earned=114)


# ---------------------------------------------------------------- checkout refunds


def test_a_whole_refund_returns_each_bucket_and_all_points() -> None:
    refund = allocate_checkout_refund(WORKED_EXAMPLE, None)
    assert refund.amount == _yuan("95.00")
    assert _buckets(refund) == ("81.90", "13.10", "0.00", 114, 0)


def test_a_whole_refund_of_a_mixed_payment_returns_points_used_too() -> None:
    # given 50.00 principal, 10.00 bonus and 40.00 cash were paid, 500 points used and 100 earned
    paid = _checkout_paid("50.00", "10.00", "40.00", points_earned=100, points_used=500)
    # when
    refund = allocate_checkout_refund(paid, None)
    # then
    assert refund.amount == _yuan("100.00")
    assert _buckets(refund) == ("50.00", "10.00", "40.00", 100, 500)


def test_an_explicit_refund_of_everything_equals_a_whole_refund() -> None:
    assert allocate_checkout_refund(WORKED_EXAMPLE, _yuan("95.00")) == allocate_checkout_refund(WORKED_EXAMPLE, None)


def test_three_partial_refunds_of_30_and_the_rest_end_exactly_at_the_whole() -> None:
    # given the worked example: 81.90 principal, 13.10 bonus, 114 points earned
    paid = WORKED_EXAMPLE
    refunds = []
    # when 30.00 is refunded three times, then the rest
    for amount in (_yuan("30.00"), _yuan("30.00"), _yuan("30.00"), None):
        refund = allocate_checkout_refund(paid, amount)
        refunds.append(refund)
        paid = _after_checkout_refund(paid, refund)
    # then each refund follows the remaining buckets, and points go back on the cumulative share
    assert [_buckets(refund) for refund in refunds] == [
        ("25.86", "4.14", "0.00", 36, 0),
        ("25.86", "4.14", "0.00", 36, 0),
        ("25.87", "4.13", "0.00", 36, 0),
        ("4.31", "0.69", "0.00", 6, 0),
    ]
    assert (paid.refunded_principal, paid.refunded_bonus, paid.points_earned_reversed) == (
        _yuan("81.90"),
        _yuan("13.10"),
        114,
    )
    assert paid.fully_refunded


def test_a_refund_of_more_than_remains_is_refused() -> None:
    # given 30.00 of 95.00 already refunded
    paid = _after_checkout_refund(WORKED_EXAMPLE, allocate_checkout_refund(WORKED_EXAMPLE, _yuan("30.00")))
    # when
    with pytest.raises(DomainError) as refusal:
        allocate_checkout_refund(paid, _yuan("65.01"))
    # then
    assert refusal.value.code == "refund_exceeds_remaining"
    assert refusal.value.detail == {"remaining": "65.00"}


def test_refunding_a_fully_refunded_checkout_is_refused() -> None:
    paid = _after_checkout_refund(WORKED_EXAMPLE, allocate_checkout_refund(WORKED_EXAMPLE, None))
    for amount in (None, _yuan("0.01")):
        with pytest.raises(DomainError) as refusal:
            allocate_checkout_refund(paid, amount)
        assert refusal.value.code == "nothing_to_refund"


def test_a_refund_of_zero_is_refused_while_money_remains() -> None:
    with pytest.raises(DomainError) as refusal:
        allocate_checkout_refund(WORKED_EXAMPLE, Money.zero())
    assert refusal.value.code == "amount_not_positive"


def test_refunding_a_bill_paid_entirely_with_points_gives_the_points_back() -> None:
    # given a bill of 95.00 paid with 9,500 points
    paid = _checkout_paid("0", "0", points_used=9500)
    # when
    refund = allocate_checkout_refund(paid, None)
    # then
    assert refund.amount == Money.zero()
    assert _buckets(refund) == ("0.00", "0.00", "0.00", 0, 9500)
    with pytest.raises(DomainError) as refusal:
        allocate_checkout_refund(_after_checkout_refund(paid, refund), None)
    assert refusal.value.code == "nothing_to_refund"


fen_strategy = st.integers(min_value=0, max_value=10**7)
points_strategy = st.integers(min_value=0, max_value=10**6)


@given(fen_strategy, fen_strategy, fen_strategy, points_strategy, points_strategy, st.data())
def test_any_series_of_partial_refunds_ends_exactly_where_a_whole_refund_would(
    principal: int, bonus: int, other: int, points_earned: int, points_used: int, data: st.DataObject
) -> None:
    # given any checkout that took some money
    payable = principal + bonus + other
    if payable == 0:
        other = payable = 1
    original = CheckoutPaid(
        payable=Money(payable),
        principal=Money(principal),
        bonus=Money(bonus),
        other_tender=Money(other),
        points_earned=points_earned,
        points_used=points_used,
        refunded_principal=Money.zero(),
        refunded_bonus=Money.zero(),
        refunded_other=Money.zero(),
        points_earned_reversed=0,
        points_used_restored=0,
    )
    whole = allocate_checkout_refund(original, None)
    paid = original
    # when it is refunded in random partial amounts, then the rest
    for _ in range(data.draw(st.integers(min_value=0, max_value=8))):
        if paid.remaining.fen == 0:
            break
        amount = Money(data.draw(st.integers(min_value=1, max_value=paid.remaining.fen)))
        refund = allocate_checkout_refund(paid, amount)
        # then every refund splits its amount exactly and takes nothing negative
        assert refund.principal + refund.bonus + refund.other_tender == amount
        assert min(refund.principal.fen, refund.bonus.fen, refund.other_tender.fen) >= 0
        assert refund.points_earned_reversed >= 0 and refund.points_used_restored >= 0
        paid = _after_checkout_refund(paid, refund)
        # and never gives back more than was taken
        assert paid.refunded_principal <= original.principal
        assert paid.refunded_bonus <= original.bonus
        assert paid.refunded_other <= original.other_tender
        assert paid.points_earned_reversed <= points_earned
        assert paid.points_used_restored <= points_used
    if not paid.fully_refunded:
        paid = _after_checkout_refund(paid, allocate_checkout_refund(paid, None))
    # and the end state is the whole refund's
    assert paid.fully_refunded
    assert paid.refunded_principal == whole.principal == original.principal
    assert paid.refunded_bonus == whole.bonus == original.bonus
    assert paid.refunded_other == whole.other_tender == original.other_tender
    assert paid.points_earned_reversed == whole.points_earned_reversed == points_earned
    assert paid.points_used_restored == whole.points_used_restored == points_used


# ---------------------------------------------------------------- recharge refunds

RECHARGE_500 = RechargePaid(
    principal=_yuan("500.00"),
    bonus=_yuan("80.00"),
    points=300,
    refunded_principal=Money.zero(),
    bonus_forfeited=Money.zero(),
    points_taken_back=0,
)


def _after_recharge_refund(paid: RechargePaid, refund: RechargeRefund) -> RechargePaid:
    return replace(
        paid,
        refunded_principal=paid.refunded_principal + refund.principal,
        bonus_forfeited=paid.bonus_forfeited + refund.bonus_forfeited,
        points_taken_back=paid.points_taken_back + refund.points_taken_back,
    )


def _recharge_refund(refund: RechargeRefund) -> tuple[str, str, int]:
    return refund.principal.yuan(), refund.bonus_forfeited.yuan(), refund.points_taken_back


def test_refund_of_an_unspent_recharge_returns_the_principal_and_forfeits_all_bonus_and_points() -> None:
    refund = allocate_recharge_refund(RECHARGE_500, Balance(_yuan("500.00"), _yuan("80.00")), None)
    assert _recharge_refund(refund) == ("500.00", "80.00", 300)


def test_refund_of_a_partly_spent_recharge_returns_only_the_unspent_principal() -> None:
    # given 200.00 of the principal was spent: 300.00 principal and 50.00 bonus remain
    refund = allocate_recharge_refund(RECHARGE_500, Balance(_yuan("300.00"), _yuan("50.00")), None)
    # then 300/500 of the bonus (48.00) and of the points (180) go with it
    assert _recharge_refund(refund) == ("300.00", "48.00", 180)


def test_the_bonus_forfeited_is_capped_by_the_bonus_balance() -> None:
    # given only 20.00 bonus is left, less than the 48.00 share
    refund = allocate_recharge_refund(RECHARGE_500, Balance(_yuan("300.00"), _yuan("20.00")), None)
    assert _recharge_refund(refund) == ("300.00", "20.00", 180)


@pytest.mark.parametrize(
    ("amount", "bonus", "points"),
    [
        ("0.01", "0.01", 1),  # 0.16 fen and 0.006 points, rounded up
        ("333.33", "53.34", 200),  # 5333.28 fen and 199.998 points
        ("100.00", "16.00", 60),  # exact
    ],
)
def test_bonus_and_points_forfeited_are_rounded_up(amount: str, bonus: str, points: int) -> None:
    refund = allocate_recharge_refund(RECHARGE_500, Balance(_yuan("500.00"), _yuan("80.00")), _yuan(amount))
    assert _recharge_refund(refund) == (amount, bonus, points)


def test_the_refundable_principal_is_what_the_recharge_has_left_even_with_more_balance() -> None:
    # given 100.00 of this recharge was refunded already, and other recharges keep 1,000.00 principal
    paid = replace(
        RECHARGE_500, refunded_principal=_yuan("100.00"), bonus_forfeited=_yuan("16.00"), points_taken_back=60
    )
    balance = Balance(_yuan("1000.00"), _yuan("500.00"))
    # when the rest is refunded
    refund = allocate_recharge_refund(paid, balance, None)
    # then
    assert _recharge_refund(refund) == ("400.00", "64.00", 240)
    with pytest.raises(DomainError) as refusal:
        allocate_recharge_refund(paid, balance, _yuan("400.01"))
    assert refusal.value.code == "refund_exceeds_remaining"
    assert refusal.value.detail == {"remaining": "400.00"}


def test_a_refund_beyond_the_principal_balance_is_refused() -> None:
    with pytest.raises(DomainError) as refusal:
        allocate_recharge_refund(RECHARGE_500, Balance(_yuan("300.00"), _yuan("50.00")), _yuan("300.01"))
    assert refusal.value.code == "refund_exceeds_remaining"
    assert refusal.value.detail == {"remaining": "300.00"}


def test_a_recharge_refund_is_refused_when_no_principal_is_left() -> None:
    for paid, balance in (
        (RECHARGE_500, Balance(Money.zero(), _yuan("80.00"))),
        (replace(RECHARGE_500, refunded_principal=_yuan("500.00")), Balance(_yuan("900.00"), Money.zero())),
    ):
        with pytest.raises(DomainError) as refusal:
            allocate_recharge_refund(paid, balance, None)
        assert refusal.value.code == "nothing_to_refund"


def test_a_recharge_refund_of_zero_is_refused() -> None:
    with pytest.raises(DomainError) as refusal:
        allocate_recharge_refund(RECHARGE_500, Balance(_yuan("500.00"), _yuan("80.00")), Money.zero())
    assert refusal.value.code == "amount_not_positive"


@given(
    st.integers(min_value=1, max_value=10**7),
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10**5),
    st.data(),
)
def test_partial_refunds_of_an_unspent_recharge_forfeit_exactly_its_bonus_and_points(
    principal: int, bonus: int, points: int, data: st.DataObject
) -> None:
    # given an unspent recharge
    paid = RechargePaid(Money(principal), Money(bonus), points, Money.zero(), Money.zero(), 0)
    balance = Balance(Money(principal), Money(bonus))
    # when it is refunded in random parts, then the rest
    partial_amounts = data.draw(st.lists(st.integers(min_value=1, max_value=principal), max_size=8))
    for amount_fen in [*partial_amounts, None]:
        left = principal - paid.refunded_principal.fen
        if left == 0:
            break
        amount = None if amount_fen is None else Money(min(amount_fen, left))
        refund = allocate_recharge_refund(paid, balance, amount)
        paid = _after_recharge_refund(paid, refund)
        balance = Balance(balance.principal - refund.principal, balance.bonus - refund.bonus_forfeited)
        # then the bonus and points forfeited so far are at least the refunded share, never more than the whole
        assert refund.bonus_forfeited.fen >= 0 and refund.points_taken_back >= 0
        assert paid.bonus_forfeited.fen * principal >= bonus * paid.refunded_principal.fen
        assert paid.points_taken_back * principal >= points * paid.refunded_principal.fen
        assert paid.bonus_forfeited.fen <= bonus and paid.points_taken_back <= points
    # and at the end all of it is gone
    assert balance == Balance(Money.zero(), Money.zero())
    assert (paid.bonus_forfeited, paid.points_taken_back) == (Money(bonus), points)
