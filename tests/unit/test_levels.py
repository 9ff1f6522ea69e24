"""Member levels (R-LVL-1, R-LVL-3): thresholds on cumulative recharge, upgrades at once, no downgrade."""

from __future__ import annotations

import pytest

from dinecard.levels.domain import Standing, earned_level, regrade_after_refund, upgrade_after
from dinecard.program.presets import default_program
from dinecard.shared.money import Money
from tests.unit.programs import with_levels

PROGRAM = default_program()
NOTHING = Money.zero()


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


@pytest.mark.parametrize(
    ("cumulative_recharge", "level"),
    [
        ("0", "normal"),
        ("499.99", "normal"),
        ("500", "silver"),
        ("999.99", "silver"),
        ("1000", "gold"),
        ("1999.99", "gold"),
        ("2000", "diamond"),
        ("100000", "diamond"),
    ],
)
def test_cumulative_recharge_earns_the_level_at_each_threshold(cumulative_recharge: str, level: str) -> None:
    assert earned_level(PROGRAM, _yuan(cumulative_recharge), NOTHING).code == level


def test_consumption_earns_no_level_when_no_consumption_threshold_is_set() -> None:
    assert earned_level(PROGRAM, NOTHING, _yuan("100000")).code == "normal"


def test_a_consumption_threshold_is_an_alternative_path() -> None:
    # given gold may also be reached by consuming 3,000
    program = with_levels({"gold": {"min_consume": "3000"}})
    # then
    assert earned_level(program, NOTHING, _yuan("2999.99")).code == "normal"
    assert earned_level(program, NOTHING, _yuan("3000")).code == "gold"
    assert earned_level(program, _yuan("500"), _yuan("3000")).code == "gold"
    assert earned_level(program, _yuan("2000"), _yuan("3000")).code == "diamond"


def test_the_recharge_that_crosses_500_makes_a_normal_member_silver() -> None:
    change = upgrade_after(PROGRAM, "normal", Standing(_yuan("500"), NOTHING), "recharge")
    assert change is not None
    assert (change.from_level.code, change.to_level.code, change.reason) == ("normal", "silver", "recharge")
    assert change.is_upgrade
    assert [level.code for level in change.levels_gained(PROGRAM)] == ["silver"]


def test_a_normal_member_can_jump_to_diamond_at_once_and_gains_every_level_between() -> None:
    # when a new member recharges 2,000 at once
    change = upgrade_after(PROGRAM, "normal", Standing(_yuan("2000"), NOTHING), "recharge")
    # then
    assert change is not None
    assert change.to_level.code == "diamond"
    assert [level.code for level in change.levels_gained(PROGRAM)] == ["silver", "gold", "diamond"]


def test_a_silver_member_reaching_1000_gains_only_gold() -> None:
    change = upgrade_after(PROGRAM, "silver", Standing(_yuan("1000"), NOTHING), "recharge")
    assert change is not None
    assert [level.code for level in change.levels_gained(PROGRAM)] == ["gold"]


def test_no_upgrade_below_the_next_threshold() -> None:
    assert upgrade_after(PROGRAM, "silver", Standing(_yuan("999.99"), NOTHING), "recharge") is None
    assert upgrade_after(PROGRAM, "normal", Standing(_yuan("499.99"), NOTHING), "recharge") is None


def test_upgrade_after_never_downgrades() -> None:
    # given a diamond member whose figures only earn normal (e.g. given diamond by hand)
    assert upgrade_after(PROGRAM, "diamond", Standing(NOTHING, NOTHING), "recharge") is None
    assert upgrade_after(PROGRAM, "gold", Standing(_yuan("500"), NOTHING), "recharge") is None


def test_a_refunded_recharge_takes_back_the_level_it_bought() -> None:
    # given a diamond member whose cumulative recharge drops to 500 after a refund
    change = regrade_after_refund(PROGRAM, "diamond", Standing(_yuan("500"), NOTHING))
    # then
    assert change is not None
    assert (change.from_level.code, change.to_level.code, change.reason) == ("diamond", "silver", "recharge_refunded")
    assert not change.is_upgrade
    assert change.levels_gained(PROGRAM) == []


def test_a_refund_that_keeps_the_threshold_keeps_the_level() -> None:
    assert regrade_after_refund(PROGRAM, "silver", Standing(_yuan("500"), NOTHING)) is None
    assert regrade_after_refund(PROGRAM, "gold", Standing(_yuan("1500"), NOTHING)) is None


def test_a_regrade_never_upgrades() -> None:
    assert regrade_after_refund(PROGRAM, "normal", Standing(_yuan("2000"), NOTHING)) is None


def test_the_default_levels_carry_the_articles_discounts_and_multipliers() -> None:
    table = [
        (level.code, rank, str(level.discount_rate), str(level.points_multiplier), level.min_cumulative_recharge)
        for rank, level in enumerate(PROGRAM.levels)
    ]
    assert table == [
        ("normal", 0, "1", "1", None),
        ("silver", 1, "19/20", "6/5", _yuan("500")),
        ("gold", 2, "9/10", "3/2", _yuan("1000")),
        ("diamond", 3, "17/20", "2", _yuan("2000")),
    ]
    assert PROGRAM.entry_level.code == "normal"
