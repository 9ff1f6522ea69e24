"""Every rounding DineCard does, each with a name, so it can be tested at its boundaries."""

from __future__ import annotations

from fractions import Fraction


def floor_points(exact: Fraction) -> int:
    """Points earned are rounded down: a member never gets a point that was not fully earned."""
    assert exact >= 0
    return exact.numerator // exact.denominator


def split_proportionally(total: int, weights: list[int]) -> list[int]:
    """Split total into integer parts proportional to weights (largest remainder method).

    The parts always add up to total exactly and no part exceeds its weight's exact share
    rounded up, so splitting a balance-sized amount never overdraws a bucket.
    """
    assert total >= 0 and all(weight >= 0 for weight in weights)
    weight_sum = sum(weights)
    if weight_sum == 0:
        assert total == 0, "cannot split a non-zero amount over zero weights"
        return [0 for _ in weights]
    floors = [total * weight // weight_sum for weight in weights]
    remainders = [total * weight % weight_sum for weight in weights]
    missing = total - sum(floors)
    # Ties go to the earlier weight so the result is deterministic.
    order = sorted(range(len(weights)), key=lambda index: (-remainders[index], index))
    for index in order[:missing]:
        floors[index] += 1
    return floors


def cumulative_share(whole: int, part: int, of: int) -> int:
    """The share of `whole` that belongs to `part` out of `of`, rounded down, exact at the end.

    Used for partial refunds: computing the cumulative share each time (rather than a share of
    each refund) guarantees that a series of partial refunds adds up to exactly `whole`.
    """
    assert 0 <= part <= of
    if of == 0:
        return whole
    return whole * part // of
