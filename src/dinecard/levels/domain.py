"""Member levels: which level cumulative figures earn, upgrades, and the periodic review."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dinecard.program.domain import LevelRule, Program
from dinecard.shared.calendar import add_months
from dinecard.shared.money import Money


@dataclass(frozen=True)
class Standing:
    """The figures a level is judged on.

    After a downgrade the member re-earns levels from where they now stand: the offsets are
    what the cumulative figures held beyond the new level's threshold at that moment.
    """

    cumulative_recharge: Money
    cumulative_consume: Money
    recharge_offset: Money = field(default_factory=Money.zero)
    consume_offset: Money = field(default_factory=Money.zero)

    @property
    def qualifying_recharge(self) -> Money:
        return self.cumulative_recharge - self.recharge_offset

    @property
    def qualifying_consume(self) -> Money:
        return self.cumulative_consume - self.consume_offset


@dataclass(frozen=True)
class LevelChange:
    from_level: LevelRule
    to_level: LevelRule
    reason: str
    from_rank: int
    to_rank: int

    @property
    def is_upgrade(self) -> bool:
        return self.to_rank > self.from_rank

    def levels_gained(self, program: Program) -> list[LevelRule]:
        """Every level passed on the way up: each one's upgrade gift is given."""
        return list(program.levels[self.from_rank + 1 : self.to_rank + 1])


def _qualifies(level: LevelRule, standing: Standing) -> bool:
    by_recharge = level.min_recharge is not None and standing.qualifying_recharge >= level.min_recharge
    by_consume = level.min_consume is not None and standing.qualifying_consume >= level.min_consume
    return by_recharge or by_consume


def earned_rank(program: Program, standing: Standing) -> int:
    """The highest level whose recharge or consumption threshold the member has reached."""
    rank = 0
    for index, level in enumerate(program.levels[1:], start=1):
        if _qualifies(level, standing):
            rank = index
    return rank


def earned_level(program: Program, cumulative_recharge: Money, cumulative_consume: Money) -> LevelRule:
    return program.levels[earned_rank(program, Standing(cumulative_recharge, cumulative_consume))]


def _change(program: Program, from_code: str, to_rank: int, reason: str) -> LevelChange:
    from_rank = program.rank(from_code)
    return LevelChange(program.levels[from_rank], program.levels[to_rank], reason, from_rank, to_rank)


def upgrade_after(program: Program, current_code: str, standing: Standing, reason: str) -> LevelChange | None:
    """An immediate upgrade when a threshold is crossed (R-LVL-3); never a downgrade."""
    earned = earned_rank(program, standing)
    if earned > program.rank(current_code):
        return _change(program, current_code, earned, reason)
    return None


def regrade_after_refund(
    program: Program,
    current_code: str,
    standing: Standing,
    reason: str = "recharge_refunded",
    floor_code: str | None = None,
) -> LevelChange | None:
    """A refund takes back the level the refunded money bought, down to what the remaining figures
    earn, but never below a level bought with points (`floor_code`): points paid for that one."""
    earned = earned_rank(program, standing)
    if floor_code is not None and floor_code in {level.code for level in program.levels}:
        earned = max(earned, program.rank(floor_code))
    if earned < program.rank(current_code):
        return _change(program, current_code, earned, reason)
    return None


def offsets_after_downgrade(program: Program, to_rank: int, standing: Standing) -> tuple[Money, Money]:
    """Offsets that make the member stand exactly at the new level's thresholds."""
    level = program.levels[to_rank]
    recharge_floor = level.min_recharge or Money(0)
    consume_floor = level.min_consume or Money(0)
    # Offsets may be negative: a member who held the higher level by one path stands exactly at
    # the new level's threshold on the other path too, so the new level is what they earn.
    recharge_offset = standing.cumulative_recharge - recharge_floor
    consume_offset = standing.cumulative_consume - consume_floor
    return recharge_offset, consume_offset


@dataclass(frozen=True)
class ReviewFacts:
    """What the periodic review needs to know about one member."""

    level_code: str
    anchor: datetime  # when the level was last gained, kept or lowered
    consumed_since_anchor: Money


def review(program: Program, facts: ReviewFacts, period_end: datetime) -> LevelChange | str | None:
    """保级/降级保护 (R-LVL-4, R-LVL-5) at the end of a review period (months after the anchor).

    Returns a downgrade of exactly one level, "kept" when the level is kept for another
    period, or None when the period has not ended yet.
    """
    policy = program.level_policy
    rank = program.rank(facts.level_code)
    if rank == 0 or policy.downgrade_after_months is None:
        return None
    if period_end < add_months(facts.anchor, policy.downgrade_after_months):
        return None
    threshold = policy.retention_quarter_consume
    if threshold is None or threshold.fen == 0:
        kept = facts.consumed_since_anchor.fen > 0  # without a retention amount, any consumption keeps it
    else:
        kept = facts.consumed_since_anchor >= threshold
    if kept:
        return "kept"
    return _change(program, facts.level_code, rank - 1, "review_downgrade")
