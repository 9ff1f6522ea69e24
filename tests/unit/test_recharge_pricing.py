"""Recharge tiers (R-RCH-2, R-RCH-3): the highest tier at or below the amount."""

from __future__ import annotations

import pytest

from dinecard.program.presets import default_program
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet.domain import quote_recharge, select_tier
from tests.unit.programs import variant

PROGRAM = default_program()


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def test_the_default_program_has_the_articles_four_tiers() -> None:
    table = [(tier.amount.yuan(), tier.bonus.yuan(), tier.points) for tier in PROGRAM.tiers]
    assert table == [
        ("200.00", "20.00", 100),
        ("500.00", "80.00", 300),
        ("1000.00", "200.00", 800),
        ("2000.00", "500.00", 2000),
    ]


@pytest.mark.parametrize(
    ("amount", "bonus", "points", "tier_amount"),
    [
        ("0.01", "0.00", 0, None),
        ("100", "0.00", 0, None),
        ("199.99", "0.00", 0, None),
        ("200", "20.00", 100, "200.00"),
        ("200.01", "20.00", 100, "200.00"),
        ("499.99", "20.00", 100, "200.00"),
        ("500", "80.00", 300, "500.00"),
        ("600", "80.00", 300, "500.00"),
        ("999.99", "80.00", 300, "500.00"),
        ("1000", "200.00", 800, "1000.00"),
        ("1999.99", "200.00", 800, "1000.00"),
        ("2000", "500.00", 2000, "2000.00"),
        ("5000", "500.00", 2000, "2000.00"),
    ],
)
def test_a_recharge_gets_the_highest_tier_at_or_below_its_amount(
    amount: str, bonus: str, points: int, tier_amount: str | None
) -> None:
    # when
    quote = quote_recharge(PROGRAM, _yuan(amount))
    # then
    assert quote.amount == _yuan(amount)
    assert quote.bonus.yuan() == bonus
    assert quote.points == points
    assert (quote.tier.amount.yuan() if quote.tier else None) == tier_amount


def test_recharge_of_600_gets_the_500_tier() -> None:
    tier = select_tier(PROGRAM, _yuan("600"))
    assert tier is not None
    assert (tier.amount, tier.bonus, tier.points) == (_yuan("500"), _yuan("80"), 300)


def test_recharge_of_199_99_gets_no_tier() -> None:
    assert select_tier(PROGRAM, _yuan("199.99")) is None


@pytest.mark.parametrize("fen", [0, -1, -50000])
def test_a_recharge_of_zero_or_less_is_refused(fen: int) -> None:
    with pytest.raises(DomainError) as refusal:
        quote_recharge(PROGRAM, Money(fen))
    assert refusal.value.code == "amount_not_positive"


def test_package_amounts_only_refuses_an_amount_between_tiers() -> None:
    # given
    program = variant({"recharge": {"package_amounts_only": True}})
    # when
    with pytest.raises(DomainError) as refusal:
        quote_recharge(program, _yuan("600"))
    # then
    assert refusal.value.code == "amount_not_a_package"
    assert refusal.value.detail == {"allowed": ["200.00", "500.00", "1000.00", "2000.00"]}


@pytest.mark.parametrize("amount", ["100", "199.99", "500.01", "5000"])
def test_package_amounts_only_refuses_amounts_below_or_off_the_tiers(amount: str) -> None:
    program = variant({"recharge": {"package_amounts_only": True}})
    with pytest.raises(DomainError) as refusal:
        quote_recharge(program, _yuan(amount))
    assert refusal.value.code == "amount_not_a_package"


def test_package_amounts_only_accepts_a_listed_package() -> None:
    program = variant({"recharge": {"package_amounts_only": True}})
    quote = quote_recharge(program, _yuan("1000"))
    assert (quote.bonus, quote.points) == (_yuan("200"), 800)


@pytest.mark.parametrize(
    ("amount", "bonus", "points"),
    [
        ("0.99", "0.00", 0),
        ("199.99", "0.00", 199),
        ("600.99", "80.00", 600),
        ("2000", "500.00", 2000),
        ("5000", "500.00", 5000),
    ],
)
def test_per_yuan_points_mode_gives_one_point_per_whole_yuan_and_keeps_the_tier_bonus(
    amount: str, bonus: str, points: int
) -> None:
    # given
    program = variant({"recharge": {"points_mode": "per_yuan"}})
    # when
    quote = quote_recharge(program, _yuan(amount))
    # then
    assert quote.bonus.yuan() == bonus
    assert quote.points == points
