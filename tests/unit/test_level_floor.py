"""Bought levels survive refunds: `regrade_after_refund` lowers a member to what the remaining
figures earn, but never below the level bought with points (`floor_code`).

Default thresholds (cumulative recharge): silver 500, gold 1000, diamond 2000.
"""

from __future__ import annotations

import pytest

from dinecard.levels.domain import Standing, regrade_after_refund
from dinecard.program.presets import default_program
from dinecard.shared.money import Money
from tests.unit.programs import with_levels

PROGRAM = default_program()


def standing(recharge: str, consume: str = "0") -> Standing:
    return Standing(Money.parse_yuan(recharge), Money.parse_yuan(consume))


def lowered_to(current: str, figures: Standing, floor_code: str | None) -> str | None:
    change = regrade_after_refund(PROGRAM, current, figures, floor_code=floor_code)
    if change is None:
        return None
    assert change.from_level.code == current
    assert not change.is_upgrade
    code: str = change.to_level.code
    return code


@pytest.mark.parametrize(
    ("current", "recharge", "floor_code", "expected"),
    [
        # a bought silver: a refund down to nothing leaves silver
        ("silver", "0", "silver", None),
        # gold bought on top of 500 recharged: the refund of it all stops at gold
        ("gold", "0", "gold", None),
        ("gold", "499.99", "gold", None),
        # bought silver, then recharged to diamond: refunding lowers, but not below silver
        ("diamond", "0", "silver", "silver"),
        ("diamond", "300", "silver", "silver"),
        # above the floor the remaining figures still decide
        ("diamond", "1500", "silver", "gold"),
        ("diamond", "1000", "silver", "gold"),
        ("diamond", "999.99", "silver", "silver"),
        ("diamond", "500", "normal", "silver"),
        # a floor at the level held: never lowered
        ("diamond", "0", "diamond", None),
    ],
)
def test_a_refund_never_lowers_below_the_bought_level(
    current: str, recharge: str, floor_code: str, expected: str | None
) -> None:
    assert lowered_to(current, standing(recharge), floor_code) == expected


def test_without_a_floor_a_refund_lowers_to_what_remains() -> None:
    assert lowered_to("diamond", standing("0"), None) == "normal"
    assert lowered_to("diamond", standing("999.99"), None) == "silver"
    assert lowered_to("gold", standing("1000"), None) is None


def test_the_change_carries_ranks_and_the_reason() -> None:
    change = regrade_after_refund(PROGRAM, "diamond", standing("0"), "checkout_refunded", floor_code="gold")

    assert change is not None
    assert (change.from_level.code, change.to_level.code, change.reason) == ("diamond", "gold", "checkout_refunded")
    assert (change.from_rank, change.to_rank) == (3, 2)
    assert change.levels_gained(PROGRAM) == []


def test_the_default_reason_is_a_recharge_refund() -> None:
    change = regrade_after_refund(PROGRAM, "gold", standing("0"), floor_code="silver")

    assert change is not None
    assert (change.to_level.code, change.reason) == ("silver", "recharge_refunded")


@pytest.mark.parametrize("floor_code", ["platinum", "", "GOLD"])
def test_an_unknown_floor_code_is_ignored(floor_code: str) -> None:
    # e.g. the level was renamed in a later programme: the figures alone decide
    assert lowered_to("diamond", standing("500"), floor_code) == "silver"
    assert lowered_to("gold", standing("0"), floor_code) == "normal"
    assert lowered_to("silver", standing("500"), floor_code) is None


def test_a_floor_above_the_level_held_never_raises_the_member() -> None:
    # a floor is only a lower bound: it never turns a refund into an upgrade
    assert regrade_after_refund(PROGRAM, "silver", standing("0"), floor_code="diamond") is None
    assert regrade_after_refund(PROGRAM, "normal", standing("0"), floor_code="gold") is None


def test_a_refund_that_leaves_the_level_earned_changes_nothing_whatever_the_floor() -> None:
    assert regrade_after_refund(PROGRAM, "gold", standing("1000"), floor_code="silver") is None
    assert regrade_after_refund(PROGRAM, "gold", standing("5000"), floor_code="gold") is None


def test_the_floor_also_holds_against_consumption_thresholds() -> None:
    # given silver may also be earned by consuming 300
    program = with_levels({"silver": {"min_consume": "300"}})

    # a gold member bought silver; refunds leave 300 consumed and nothing recharged
    change = regrade_after_refund(program, "gold", standing("0", "300"), floor_code="silver")
    assert change is not None and change.to_level.code == "silver"
    # with 299.99 consumed the floor still holds at silver
    change = regrade_after_refund(program, "gold", standing("0", "299.99"), floor_code="silver")
    assert change is not None and change.to_level.code == "silver"
    # and without the floor the member would fall to normal
    change = regrade_after_refund(program, "gold", standing("0", "299.99"))
    assert change is not None and change.to_level.code == "normal"
