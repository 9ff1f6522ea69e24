"""The periodic level review (R-LVL-4 降级保护, R-LVL-5 保级) and re-earning a level after a downgrade."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dinecard.levels.domain import (
    LevelChange,
    ReviewFacts,
    Standing,
    earned_rank,
    offsets_after_downgrade,
    review,
    upgrade_after,
)
from dinecard.program.domain import Program
from dinecard.program.presets import default_program, preset
from dinecard.shared.calendar import add_months
from dinecard.shared.money import Money
from tests.unit.programs import variant, with_levels

PROGRAM = default_program()
SHANGHAI = timezone(timedelta(hours=8))
ANCHOR = datetime(2026, 1, 31, 10, 0, tzinfo=SHANGHAI)
PERIOD_END = add_months(ANCHOR, 3)  # 30 April 2026 10:00: the end of the quarter (31 April does not exist)
NOTHING = Money.zero()


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def _facts(level: str, consumed: str) -> ReviewFacts:
    return ReviewFacts(level_code=level, anchor=ANCHOR, consumed_since_anchor=_yuan(consumed))


def _policy(**changes: Any) -> Program:
    """The default programme with level_policy fields set, None included (variant cannot set None)."""
    document = copy.deepcopy(PROGRAM.model_dump(mode="json"))
    document["level_policy"].update(changes)
    return Program.model_validate(document)


def _downgrade(result: LevelChange | str | None) -> tuple[str, str, str]:
    assert isinstance(result, LevelChange), result
    return result.from_level.code, result.to_level.code, result.reason


# ---------------------------------------------------------------- when the review happens


def test_the_quarter_ends_three_calendar_months_after_the_anchor_clamped_to_the_month_end() -> None:
    assert add_months(ANCHOR, 3) == datetime(2026, 4, 30, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("consumed", ["0", "499.99", "500", "10000"])
def test_before_the_quarter_ends_there_is_nothing_to_review(consumed: str) -> None:
    assert review(PROGRAM, _facts("diamond", consumed), PERIOD_END - timedelta(microseconds=1)) is None
    assert review(PROGRAM, _facts("diamond", consumed), ANCHOR) is None


def test_the_quarter_end_is_compared_as_an_instant() -> None:
    # 02:00 UTC is 10:00 in Shanghai: exactly the end of the quarter
    assert review(PROGRAM, _facts("gold", "500"), datetime(2026, 4, 30, 2, 0, tzinfo=UTC)) == "kept"
    assert review(PROGRAM, _facts("gold", "500"), datetime(2026, 4, 30, 1, 59, 59, tzinfo=UTC)) is None


# ---------------------------------------------------------------- kept or lowered


@pytest.mark.parametrize("consumed", ["500", "500.01", "3000"])
def test_consuming_500_in_the_quarter_keeps_the_level(consumed: str) -> None:
    assert review(PROGRAM, _facts("diamond", consumed), PERIOD_END) == "kept"


@pytest.mark.parametrize("consumed", ["499.99", "0.01", "0"])
def test_consuming_less_than_500_lowers_the_level_by_one(consumed: str) -> None:
    result = review(PROGRAM, _facts("diamond", consumed), PERIOD_END)
    assert _downgrade(result) == ("diamond", "gold", "review_downgrade")
    assert isinstance(result, LevelChange)
    assert (result.from_rank, result.to_rank, result.is_upgrade) == (3, 2, False)
    assert result.levels_gained(PROGRAM) == []


@pytest.mark.parametrize(("level", "lowered_to"), [("diamond", "gold"), ("gold", "silver"), ("silver", "normal")])
def test_a_review_lowers_exactly_one_level_never_more(level: str, lowered_to: str) -> None:
    # even a year without any consumption costs one level per review
    result = review(PROGRAM, _facts(level, "0"), add_months(ANCHOR, 12))
    assert _downgrade(result)[:2] == (level, lowered_to)


@pytest.mark.parametrize("consumed", ["0", "100000"])
def test_the_entry_level_is_never_reviewed(consumed: str) -> None:
    assert review(PROGRAM, _facts("normal", consumed), add_months(ANCHOR, 60)) is None


@pytest.mark.parametrize("retention", [None, "0"])
@pytest.mark.parametrize(("consumed", "kept"), [("0.01", True), ("100000", True), ("0", False)])
def test_without_a_retention_amount_any_consumption_keeps_the_level(
    retention: str | None, consumed: str, kept: bool
) -> None:
    program = _policy(retention_quarter_consume=retention)
    result = review(program, _facts("gold", consumed), PERIOD_END)
    if kept:
        assert result == "kept"
    else:
        assert _downgrade(result)[:2] == ("gold", "silver")


def test_a_different_retention_amount_is_honoured() -> None:
    program = _policy(retention_quarter_consume="1000")
    assert review(program, _facts("gold", "999.99"), PERIOD_END) != "kept"
    assert review(program, _facts("gold", "1000"), PERIOD_END) == "kept"


def test_without_a_review_period_levels_are_never_lowered() -> None:
    program = _policy(downgrade_after_months=None)
    assert review(program, _facts("diamond", "0"), add_months(ANCHOR, 60)) is None


def test_a_six_month_review_period_is_honoured() -> None:
    program = variant({"level_policy": {"downgrade_after_months": 6}})
    assert review(program, _facts("gold", "0"), PERIOD_END) is None
    assert review(program, _facts("gold", "0"), add_months(ANCHOR, 6) - timedelta(microseconds=1)) is None
    assert _downgrade(review(program, _facts("gold", "0"), add_months(ANCHOR, 6)))[:2] == ("gold", "silver")


@settings(max_examples=200, deadline=None)
@given(
    level=st.sampled_from(["normal", "silver", "gold", "diamond"]),
    consumed_fen=st.integers(min_value=0, max_value=200_000),
    days_after_anchor=st.integers(min_value=0, max_value=400),
)
def test_a_review_keeps_lowers_by_one_or_waits(level: str, consumed_fen: int, days_after_anchor: int) -> None:
    facts = ReviewFacts(level, ANCHOR, Money(consumed_fen))
    period_end = ANCHOR + timedelta(days=days_after_anchor)
    result = review(PROGRAM, facts, period_end)
    rank = PROGRAM.rank(level)
    if rank == 0 or period_end < PERIOD_END:
        assert result is None
    elif consumed_fen >= 50_000:
        assert result == "kept"
    else:
        assert isinstance(result, LevelChange)
        assert (result.from_rank, result.to_rank) == (rank, rank - 1)


# ---------------------------------------------------------------- re-earning after a downgrade


def test_after_a_downgrade_the_offsets_make_the_member_stand_at_the_new_level() -> None:
    # given a diamond member who recharged 2,500 and consumed 800 in all, lowered to gold
    standing = Standing(_yuan("2500"), _yuan("800"))
    assert earned_rank(PROGRAM, standing) == 3  # without offsets they would be diamond again at once
    # when
    recharge_offset, consume_offset = offsets_after_downgrade(PROGRAM, PROGRAM.rank("gold"), standing)
    # then the offsets are what stood beyond gold's thresholds (gold has no consumption threshold)
    assert (recharge_offset, consume_offset) == (_yuan("1500"), _yuan("800"))
    lowered = Standing(_yuan("2500"), _yuan("800"), recharge_offset, consume_offset)
    assert (lowered.qualifying_recharge, lowered.qualifying_consume) == (_yuan("1000"), NOTHING)
    assert earned_rank(PROGRAM, lowered) == PROGRAM.rank("gold")
    assert upgrade_after(PROGRAM, "gold", lowered, "recharge") is None


@pytest.mark.parametrize(("recharge", "earned"), [("999.99", None), ("1000", "diamond"), ("1500", "diamond")])
def test_recharging_the_gap_between_the_two_thresholds_earns_the_old_level_back(
    recharge: str, earned: str | None
) -> None:
    # given the member lowered to gold above, with offsets 1,500 and 800
    offsets = offsets_after_downgrade(PROGRAM, PROGRAM.rank("gold"), Standing(_yuan("2500"), _yuan("800")))
    # when they recharge again: diamond (2,000) less gold (1,000) is the gap
    after = Standing(_yuan("2500") + _yuan(recharge), _yuan("800"), *offsets)
    change = upgrade_after(PROGRAM, "gold", after, "recharge")
    # then
    if earned is None:
        assert change is None
    else:
        assert change is not None
        assert (change.from_level.code, change.to_level.code) == ("gold", earned)
        assert [level.code for level in change.levels_gained(PROGRAM)] == ["diamond"]


def test_a_member_exactly_at_the_old_threshold_is_offset_by_the_gap() -> None:
    standing = Standing(_yuan("2000"), NOTHING)
    offsets = offsets_after_downgrade(PROGRAM, PROGRAM.rank("gold"), standing)
    assert offsets == (_yuan("1000"), NOTHING)
    assert earned_rank(PROGRAM, Standing(_yuan("2000"), NOTHING, *offsets)) == PROGRAM.rank("gold")


def test_a_member_lowered_to_the_entry_level_re_earns_silver_with_500_more() -> None:
    standing = Standing(_yuan("700"), _yuan("300"))
    offsets = offsets_after_downgrade(PROGRAM, 0, standing)
    assert offsets == (_yuan("700"), _yuan("300"))
    assert earned_rank(PROGRAM, Standing(_yuan("700"), _yuan("300"), *offsets)) == 0
    assert upgrade_after(PROGRAM, "normal", Standing(_yuan("1199.99"), _yuan("300"), *offsets), "recharge") is None
    change = upgrade_after(PROGRAM, "normal", Standing(_yuan("1200"), _yuan("300"), *offsets), "recharge")
    assert change is not None and change.to_level.code == "silver"


def test_two_downgrades_in_a_row_replace_the_offsets() -> None:
    # given diamond at 2,500 recharged: lowered to gold, then to silver a quarter later
    first = offsets_after_downgrade(PROGRAM, PROGRAM.rank("gold"), Standing(_yuan("2500"), NOTHING))
    second = offsets_after_downgrade(PROGRAM, PROGRAM.rank("silver"), Standing(_yuan("2500"), NOTHING, *first))
    # then
    assert (first, second) == ((_yuan("1500"), NOTHING), (_yuan("2000"), NOTHING))
    assert earned_rank(PROGRAM, Standing(_yuan("2500"), NOTHING, *second)) == PROGRAM.rank("silver")
    # and 500 more recharged earns gold back
    change = upgrade_after(PROGRAM, "silver", Standing(_yuan("3000"), NOTHING, *second), "recharge")
    assert change is not None and change.to_level.code == "gold"


def test_consumption_offsets_work_the_same_for_a_chain_with_consumption_levels() -> None:
    # given the tea chain (silver at 300 consumed, gold at 1,000): a gold member with 1,800 consumed
    tea = preset("tea")
    standing = Standing(_yuan("5000"), _yuan("1800"))
    # when lowered to silver
    offsets = offsets_after_downgrade(tea, tea.rank("silver"), standing)
    # then recharges do not count (tea levels have no recharge threshold) and 700 more consumed earns gold
    assert offsets == (_yuan("5000"), _yuan("1500"))
    assert earned_rank(tea, Standing(_yuan("5000"), _yuan("1800"), *offsets)) == tea.rank("silver")
    assert upgrade_after(tea, "silver", Standing(_yuan("5000"), _yuan("2499.99"), *offsets), "consume") is None
    change = upgrade_after(tea, "silver", Standing(_yuan("5000"), _yuan("2500"), *offsets), "consume")
    assert change is not None and change.to_level.code == "gold"


def test_with_both_paths_either_one_re_earns_the_level() -> None:
    # given gold may also be reached by consuming 3,000; a diamond member at 2,500 recharged, 4,000 consumed
    program = with_levels({"gold": {"min_consume": "3000"}})
    standing = Standing(_yuan("2500"), _yuan("4000"))
    offsets = offsets_after_downgrade(program, program.rank("gold"), standing)
    assert offsets == (_yuan("1500"), _yuan("1000"))
    assert earned_rank(program, Standing(_yuan("2500"), _yuan("4000"), *offsets)) == program.rank("gold")
    # diamond has only a recharge threshold: more consumption does not earn it back, a 1,000 recharge does
    assert upgrade_after(program, "gold", Standing(_yuan("2500"), _yuan("9000"), *offsets), "consume") is None
    change = upgrade_after(program, "gold", Standing(_yuan("3500"), _yuan("4000"), *offsets), "recharge")
    assert change is not None and change.to_level.code == "diamond"


@settings(max_examples=200, deadline=None)
@given(
    program=st.sampled_from([PROGRAM, preset("tea")]),
    recharge_fen=st.integers(min_value=0, max_value=1_000_000),
    consume_fen=st.integers(min_value=0, max_value=1_000_000),
    data=st.data(),
)
def test_offsets_leave_the_member_exactly_at_the_level_they_were_lowered_to(
    program: Program, recharge_fen: int, consume_fen: int, data: st.DataObject
) -> None:
    # given a programme whose levels all use the same path (recharge for default, consumption for tea)
    standing = Standing(Money(recharge_fen), Money(consume_fen))
    to_rank = data.draw(st.integers(min_value=0, max_value=earned_rank(program, standing)), label="to_rank")
    # when
    offsets = offsets_after_downgrade(program, to_rank, standing)
    # then
    assert all(offset.fen >= 0 for offset in offsets)
    assert earned_rank(program, Standing(Money(recharge_fen), Money(consume_fen), *offsets)) == to_rank


MIXED_PATHS = with_levels({"gold": {"min_consume": "3000"}})


def test_a_member_who_skipped_silver_by_consumption_stands_at_silver_after_a_downgrade() -> None:
    # given gold reachable by consuming 3,000; a gold member who consumed 3,000 and never recharged
    standing = Standing(NOTHING, _yuan("3000"))
    assert earned_rank(MIXED_PATHS, standing) == MIXED_PATHS.rank("gold")
    # when the review lowers them to silver (recharge 500 only)
    offsets = offsets_after_downgrade(MIXED_PATHS, MIXED_PATHS.rank("silver"), standing)
    # then they stand at silver: a later refund of an unrelated recharge must not drop them to normal,
    # and recharging the 500 gap from silver to gold earns gold back
    assert earned_rank(MIXED_PATHS, Standing(NOTHING, _yuan("3000"), *offsets)) == MIXED_PATHS.rank("silver")
