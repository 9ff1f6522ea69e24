"""Member levels: which level cumulative figures earn, and what a change means."""

from __future__ import annotations

from dataclasses import dataclass

from dinecard.program.domain import LevelRule, Program
from dinecard.shared.money import Money


@dataclass(frozen=True)
class LevelChange:
    from_level: LevelRule
    to_level: LevelRule
    reason: str

    @property
    def is_upgrade(self) -> bool:
        return self.to_level.rank > self.from_level.rank

    def levels_gained(self, program: Program) -> list[LevelRule]:
        """Every level passed on the way up: each one's upgrade gift is given."""
        return [level for level in program.levels if self.from_level.rank < level.rank <= self.to_level.rank]


def _qualifies(level: LevelRule, cumulative_recharge: Money, cumulative_consume: Money) -> bool:
    by_recharge = level.min_cumulative_recharge is not None and cumulative_recharge >= level.min_cumulative_recharge
    by_consume = level.min_cumulative_consume is not None and cumulative_consume >= level.min_cumulative_consume
    return level.rank == 0 or by_recharge or by_consume


def earned_level(program: Program, cumulative_recharge: Money, cumulative_consume: Money) -> LevelRule:
    """The highest level whose recharge or consumption threshold the member has reached."""
    return max(
        (level for level in program.levels if _qualifies(level, cumulative_recharge, cumulative_consume)),
        key=lambda level: level.rank,
    )


def upgrade_after(
    program: Program, current_code: str, cumulative_recharge: Money, cumulative_consume: Money, reason: str
) -> LevelChange | None:
    """An immediate upgrade when a threshold is crossed; never a downgrade (that is a review's job)."""
    current = program.level(current_code)
    earned = earned_level(program, cumulative_recharge, cumulative_consume)
    if earned.rank > current.rank:
        return LevelChange(current, earned, reason)
    return None


def regrade_after_recharge_refund(
    program: Program, current_code: str, cumulative_recharge: Money, cumulative_consume: Money
) -> LevelChange | None:
    """A refunded recharge takes back the level it bought, down to what the remaining figures earn."""
    current = program.level(current_code)
    earned = earned_level(program, cumulative_recharge, cumulative_consume)
    if earned.rank < current.rank:
        return LevelChange(current, earned, "recharge_refunded")
    return None
