"""Money: integer fen, yuan strings only at the edges, half-up rounding in one place."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dinecard.shared.money import InvalidAmount, Money, min_money


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("500", 50000),
        ("500.5", 50050),
        ("500.50", 50050),
        ("500.05", 50005),
        ("0.01", 1),
        ("0", 0),
        ("0.00", 0),
        ("999999999999.99", 99999999999999),
    ],
)
def test_parse_yuan_reads_whole_yuan_and_up_to_two_decimals(text: str, fen: int) -> None:
    assert Money.parse_yuan(text) == Money(fen)


def test_parse_yuan_tolerates_surrounding_spaces() -> None:
    assert Money.parse_yuan(" 500.50 ") == Money(50050)


@pytest.mark.parametrize(
    "text",
    [
        "500.555",
        "-1",
        "-0.01",
        "abc",
        "",
        " ",
        "1e3",
        "+5",
        ".5",
        "500.",
        "00.5",
        "0500",
        "1,000",
        "5 00",
        "¥500",
        "1000000000000",  # thirteen digits of yuan
        "NaN",
        "Infinity",
    ],
)
def test_parse_yuan_refuses_text_that_is_not_a_plain_yuan_amount(text: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse_yuan(text)


@pytest.mark.parametrize("value", [None, 500.0, 500.5, 500, Decimal("500")])
def test_parse_yuan_refuses_values_that_are_not_text(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse_yuan(value)


def test_an_invalid_amount_is_a_value_error() -> None:
    assert issubclass(InvalidAmount, ValueError)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (50050, "500.50"),
        (123456789, "1234567.89"),
        (-1205, "-12.05"),
        (-5, "-0.05"),
        (-100, "-1.00"),
    ],
)
def test_yuan_always_shows_two_decimals_and_a_minus_sign_for_negatives(fen: int, text: str) -> None:
    assert Money(fen).yuan() == text
    assert str(Money(fen)) == text


def test_repr_shows_yuan() -> None:
    assert repr(Money(50050)) == "Money(500.50)"


@given(st.integers(min_value=0, max_value=99999999999999))
def test_parse_yuan_reads_back_what_yuan_writes(fen: int) -> None:
    assert Money.parse_yuan(Money(fen).yuan()) == Money(fen)


def test_addition_subtraction_and_negation_work_in_fen() -> None:
    assert Money(15000) + Money(5001) == Money(20001)
    assert Money(100) - Money(250) == Money(-150)
    assert -Money(1205) == Money(-1205)


def test_money_orders_by_amount_and_is_falsy_only_at_zero() -> None:
    assert Money(99) < Money(100) <= Money(100) < Money(101)
    assert not Money.zero()
    assert Money(1)
    assert Money(-1)
    assert Money.zero() == Money(0)


def test_min_money_returns_the_smaller_amount() -> None:
    assert min_money(Money(300), Money(200)) == Money(200)
    assert min_money(Money(200), Money(300)) == Money(200)
    assert min_money(Money(-1), Money(0)) == Money(-1)


@pytest.mark.parametrize("fen", [1.5, True, "100", Decimal(1)])
def test_money_refuses_anything_but_int_fen(fen: Any) -> None:
    with pytest.raises(AssertionError):
        Money(fen)


@pytest.mark.parametrize(
    ("fen", "rate", "expected_fen"),
    [
        (10, "0.95", 10),  # 9.5 fen: half rounds up
        (30, "0.95", 29),  # 28.5 fen
        (1, "0.95", 1),  # 0.95 fen
        (101, "0.85", 86),  # 85.85 fen
        (10, "0.85", 9),  # 8.5 fen
        (30, "0.85", 26),  # 25.5 fen
        (5, "0.90", 5),  # 4.5 fen
        (15, "0.90", 14),  # 13.5 fen
        (1, "0.49", 0),  # just under half a fen
        (1, "0.5", 1),  # exactly half a fen
        (1, "0.51", 1),
        (3, "0.85", 3),  # 2.55 fen
        (10000, "0.95", 9500),
        (10001, "0.95", 9501),  # 9500.95 fen
        (9999, "1", 9999),
        (9999, "0", 0),
        (0, "0.85", 0),
    ],
)
def test_times_half_up_rounds_half_a_fen_up(fen: int, rate: str, expected_fen: int) -> None:
    assert Money(fen).times_half_up(Fraction(rate)) == Money(expected_fen)


@given(
    st.integers(min_value=0, max_value=10**12),
    st.fractions(min_value=0, max_value=3, max_denominator=1000),
)
def test_times_half_up_agrees_with_decimal_round_half_up(fen: int, rate: Fraction) -> None:
    # a denominator of at most 1000 keeps the decimal division exact enough to round correctly
    expected = int((Decimal(fen * rate.numerator) / Decimal(rate.denominator)).quantize(Decimal(1), ROUND_HALF_UP))
    assert Money(fen).times_half_up(rate) == Money(expected)


@pytest.mark.parametrize("text", ["1٠٠", "1００", "0.５", "500.５０"])
def test_parse_yuan_refuses_digits_from_other_scripts(text: str) -> None:
    # the API documents amounts as ASCII digit strings; anything else is a client bug to surface
    with pytest.raises(InvalidAmount):
        Money.parse_yuan(text)
