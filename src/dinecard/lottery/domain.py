"""The lottery as pure rules (R-CPN-4, R-PTS-4): a prize table, a seeded weighted draw that
replays exactly, and what a table costs per draw. No database, no web, no clock.

The random stream is SHA-256 in counter mode, not `random.Random`: block i is
SHA-256(seed bytes || i as 8 bytes big-endian), read as a 256-bit integer. Python documents only
`random()` as stable across versions, not `randrange`, and an auditor should be able to re-check
a draw years later, in any language, from the stored seed: a hash and a loop are all it takes.
A block at or above the largest multiple of the total weight is skipped (rejection sampling),
so every weight unit is exactly equally likely.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

from dinecard.shared import errors
from dinecard.shared.money import Money

ALGORITHM = "sha256-counter-v1"  # stored with nothing else: a new algorithm would need its own name
MAX_WEIGHT = 1_000_000
MAX_PRIZES = 50
_SPACE = 1 << 256


class PrizeKind(StrEnum):
    COUPON = "coupon"  # a coupon of a template: cash, dish (菜品券), free meal (免单券), ...
    POINTS = "points"  # points given back
    NOTHING = "nothing"  # 谢谢参与


@dataclass(frozen=True)
class PrizeSpec:
    """One line of a prize table; `stock` None is unlimited, `given` counts prizes already won."""

    code: str
    name: str
    kind: PrizeKind
    weight: int
    stock: int | None = None
    given: int = 0
    points: int = 0
    coupon_template_code: str | None = None
    coupon_value: Money | None = None  # what one coupon is worth at most, where known

    @property
    def left(self) -> int | None:
        return None if self.stock is None else max(self.stock - self.given, 0)

    @property
    def available(self) -> bool:
        return self.stock is None or self.given < self.stock


@dataclass(frozen=True)
class PrizeTable:
    prizes: tuple[PrizeSpec, ...]
    cost_points: int = 100

    def candidates(self) -> list[tuple[str, int]]:
        """What a draw chooses from now: prizes with stock left, in table order, with their weights."""
        return [(prize.code, prize.weight) for prize in self.prizes if prize.available]


# ---------------------------------------------------------------- validation


def table_problems(table: PrizeTable) -> list[dict[str, Any]]:
    """Everything wrong with a table, in the API's validation-error shape (empty: it is valid)."""
    problems: list[dict[str, Any]] = []

    def problem(loc: list[str | int], message: str) -> None:
        problems.append({"loc": loc, "type": "value_error", "message": message})

    if table.cost_points < 1:
        problem(["cost_points"], "a draw costs at least 1 point")
    if not table.prizes:
        problem(["prizes"], "a lottery needs at least one prize")
    if len(table.prizes) > MAX_PRIZES:
        problem(["prizes"], f"at most {MAX_PRIZES} prizes")
    seen: set[str] = set()
    for index, prize in enumerate(table.prizes):
        loc: list[str | int] = ["prizes", index]
        if not prize.code:
            problem([*loc, "code"], "a prize needs a code")
        elif prize.code in seen:
            problem([*loc, "code"], f"prize code {prize.code} appears twice")
        seen.add(prize.code)
        if not 1 <= prize.weight <= MAX_WEIGHT:
            problem([*loc, "weight"], f"weight is a whole number from 1 to {MAX_WEIGHT}")
        if prize.stock is not None and prize.stock < prize.given:
            problem([*loc, "stock"], f"{prize.given} are already given; the stock cannot be lower")
        problems += [{**p, "loc": [*loc, p["loc"]]} for p in _kind_problems(prize)]
    return problems


def _kind_problems(prize: PrizeSpec) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def problem(field: str, message: str) -> None:
        found.append({"loc": field, "type": "value_error", "message": message})

    has_template = prize.coupon_template_code is not None
    if prize.kind is PrizeKind.COUPON and not has_template:
        problem("coupon_template_code", "a coupon prize needs a coupon template")
    if prize.kind is not PrizeKind.COUPON and has_template:
        problem("coupon_template_code", f"a {prize.kind.value} prize has no coupon template")
    if prize.kind is PrizeKind.POINTS and prize.points <= 0:
        problem("points", "a points prize gives more than 0 points")
    if prize.kind is not PrizeKind.POINTS and prize.points != 0:
        problem("points", f"a {prize.kind.value} prize gives no points")
    return found


def validate_table(table: PrizeTable) -> None:
    problems = table_problems(table)
    if problems:
        raise errors.invalid(*[(problem["loc"], problem["message"]) for problem in problems])


# ---------------------------------------------------------------- the draw


def seed_bytes(seed: str) -> bytes:
    """A seed is 2 to 64 hex digits (the service draws 32: 128 bits from `secrets`)."""
    if not 2 <= len(seed) <= 64 or len(seed) % 2:
        raise ValueError("a seed is an even number of hex digits, 2 to 64")
    return bytes.fromhex(seed)


class SeedStream:
    """Uniform whole numbers from a seed; the same seed gives the same numbers, forever."""

    def __init__(self, seed: str) -> None:
        self._key = seed_bytes(seed)
        self._counter = 0

    def below(self, bound: int) -> int:
        assert bound >= 1
        limit = _SPACE - _SPACE % bound
        while True:
            block = hashlib.sha256(self._key + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            value = int.from_bytes(block, "big")
            if value < limit:  # skip the top sliver that would favour low numbers
                return value % bound


@dataclass(frozen=True)
class DrawOutcome:
    prize_code: str | None  # None: every candidate turned out to be gone
    exhausted: tuple[str, ...]  # prizes picked but found gone, in the order they were picked


def run_draw(seed: str, candidates: Sequence[tuple[str, int]], claim: Callable[[str], bool]) -> DrawOutcome:
    """Pick by weight from the seed's stream; `claim(code)` says whether that prize can still be had.

    A prize that cannot is removed and the pick repeated from the same stream, so the draw is
    fixed by (seed, candidates, the prizes found gone): the live draw and its replay run this loop.
    """
    _check_candidates(candidates)
    stream = SeedStream(seed)
    remaining = list(candidates)
    exhausted: list[str] = []
    while remaining:
        point = stream.below(sum(weight for _code, weight in remaining))
        index = _index_at(remaining, point)
        code = remaining[index][0]
        if claim(code):
            return DrawOutcome(code, tuple(exhausted))
        exhausted.append(code)
        del remaining[index]
    return DrawOutcome(None, tuple(exhausted))


def replay(seed: str, candidates: Sequence[tuple[str, int]], exhausted: Sequence[str]) -> DrawOutcome:
    """The draw recomputed from its record: every prize recorded as gone is refused when picked."""
    gone = set(exhausted)
    return run_draw(seed, candidates, lambda code: code not in gone)


def pick(seed: str, candidates: Sequence[tuple[str, int]], exhausted: Sequence[str] = ()) -> str | None:
    return replay(seed, candidates, exhausted).prize_code


def _check_candidates(candidates: Sequence[tuple[str, int]]) -> None:
    codes = [code for code, _weight in candidates]
    if len(set(codes)) != len(codes):
        raise ValueError("candidate codes must be unique")
    if any(weight < 1 for _code, weight in candidates):
        raise ValueError("candidate weights must be at least 1")


def _index_at(candidates: Sequence[tuple[str, int]], point: int) -> int:
    """The candidate whose weight interval [start, start + weight) holds `point`, in table order."""
    start = 0
    for index, (_code, weight) in enumerate(candidates):
        start += weight
        if point < start:
            return index
    raise AssertionError("point beyond the total weight")


# ---------------------------------------------------------------- what a table costs


@dataclass(frozen=True)
class CostEstimate:
    """Per draw, at the table's current stock (a prize that is gone has probability 0).

    `value_points` counts coupons at their face value converted at the programme's redemption
    rate; coupon prizes of unknown value (`unvalued`) are left out of it, so it is a lower bound.
    """

    cost_points: int
    points_per_yuan: int
    probabilities: dict[str, Fraction]
    points_back: Fraction
    coupon_value_yuan: Fraction
    unvalued: tuple[str, ...]

    @property
    def value_points(self) -> Fraction:
        return self.points_back + self.coupon_value_yuan * self.points_per_yuan

    @property
    def margin_points(self) -> Fraction:
        """What a draw keeps of its cost on average; negative: the table gives away more than it takes."""
        return self.cost_points - self.value_points


def expected_cost(table: PrizeTable, points_per_yuan: int) -> CostEstimate:
    assert points_per_yuan >= 1
    live = [prize for prize in table.prizes if prize.available]
    total = sum(prize.weight for prize in live)
    probabilities = {prize.code: Fraction(0) for prize in table.prizes}
    points_back = Fraction(0)
    coupon_value = Fraction(0)
    unvalued: list[str] = []
    for prize in live:
        chance = Fraction(prize.weight, total)
        probabilities[prize.code] = chance
        points_back += chance * prize.points
        if prize.kind is PrizeKind.COUPON:
            if prize.coupon_value is None:
                unvalued.append(prize.code)
            else:
                coupon_value += chance * Fraction(prize.coupon_value.fen, 100)
    return CostEstimate(table.cost_points, points_per_yuan, probabilities, points_back, coupon_value, tuple(unvalued))


# ---------------------------------------------------------------- when a lottery runs


def window_problems(starts_at: datetime | None, ends_at: datetime | None) -> list[dict[str, Any]]:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        return [{"loc": ["ends_at"], "type": "value_error", "message": "ends_at must be after starts_at"}]
    return []


def is_running(active: bool, starts_at: datetime | None, ends_at: datetime | None, moment: datetime) -> bool:
    """Active, and `moment` within [starts_at, ends_at) where they are set."""
    return active and (starts_at is None or starts_at <= moment) and (ends_at is None or moment < ends_at)
