"""The named roundings: points down, proportional splits exact, cumulative shares exact at the end."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dinecard.shared.rounding import cumulative_share, floor_points, split_proportionally


@pytest.mark.parametrize(
    ("exact", "points"),
    [
        (Fraction("119.988"), 119),
        (Fraction("114"), 114),
        (Fraction("0.999"), 0),
        (Fraction(0), 0),
        (Fraction(1, 3), 0),
        (Fraction(7, 2), 3),
    ],
)
def test_floor_points_rounds_down(exact: Fraction, points: int) -> None:
    assert floor_points(exact) == points


def test_floor_points_refuses_a_negative_amount() -> None:
    with pytest.raises(AssertionError):
        floor_points(Fraction(-1, 2))


def test_split_of_the_worked_example_gives_the_larger_remainder_to_principal() -> None:
    # given 95.00 paid from 500.00 principal and 80.00 bonus
    # when split: 8189.66 and 1310.34 fen exactly
    parts = split_proportionally(9500, [50000, 8000])
    # then
    assert parts == [8190, 1310]


def test_split_gives_the_missing_fen_to_the_largest_remainders() -> None:
    assert split_proportionally(10, [1, 2]) == [3, 7]  # 3.33 and 6.67
    assert split_proportionally(100, [1, 1, 1]) == [34, 33, 33]
    assert split_proportionally(7, [5, 3, 2]) == [4, 2, 1]  # 3.5, 2.1, 1.4


def test_split_breaks_ties_in_favour_of_the_earlier_weight() -> None:
    assert split_proportionally(1, [1, 1]) == [1, 0]
    assert split_proportionally(2, [1, 1, 1]) == [1, 1, 0]
    assert split_proportionally(1, [0, 5, 5]) == [0, 1, 0]


def test_split_of_a_whole_returns_each_weight_exactly() -> None:
    assert split_proportionally(58000, [50000, 8000, 0]) == [50000, 8000, 0]


def test_split_never_gives_anything_to_a_zero_weight() -> None:
    assert split_proportionally(5, [0, 3]) == [0, 5]
    assert split_proportionally(3, [0, 1, 0, 1, 0]) == [0, 2, 0, 1, 0]


def test_split_of_zero_over_zero_weights_is_all_zero() -> None:
    assert split_proportionally(0, [0, 0, 0]) == [0, 0, 0]
    assert split_proportionally(0, []) == []


def test_split_of_something_over_zero_weights_is_a_programmer_error() -> None:
    with pytest.raises(AssertionError):
        split_proportionally(1, [0, 0])


weights_strategy = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=6)


@given(weights_strategy, st.integers(min_value=0, max_value=10**12))
def test_split_always_adds_up_to_the_total_and_stays_within_a_fen_of_the_exact_share(
    weights: list[int], total: int
) -> None:
    if sum(weights) == 0:
        total = 0
    parts = split_proportionally(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, sum(weights)) if sum(weights) else Fraction(0)
        assert part >= 0
        assert exact - 1 < part < exact + 1


@given(weights_strategy, st.data())
def test_split_of_an_amount_up_to_the_weight_sum_never_exceeds_a_weight(
    weights: list[int], data: st.DataObject
) -> None:
    total = data.draw(st.integers(min_value=0, max_value=sum(weights)))
    parts = split_proportionally(total, weights)
    assert sum(parts) == total
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))


def test_cumulative_share_rounds_down_along_the_way_and_ends_exact() -> None:
    # given 114 points earned on a 95.00 payment, refunded 30.00, 30.00, 30.00 then the rest
    shares = [cumulative_share(114, refunded, 9500) for refunded in (3000, 6000, 9000, 9500)]
    # then each cumulative share is 114 × refunded / 9500 rounded down, and the last is the whole
    assert shares == [36, 72, 108, 114]
    assert [later - earlier for earlier, later in zip([0, *shares], shares, strict=False)] == [36, 36, 36, 6]


def test_cumulative_share_of_nothing_out_of_nothing_is_the_whole() -> None:
    assert cumulative_share(300, 0, 0) == 300


def test_cumulative_share_refuses_a_part_beyond_the_whole() -> None:
    with pytest.raises(AssertionError):
        cumulative_share(100, 11, 10)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=10**9), st.data())
def test_a_series_of_cumulative_shares_adds_up_to_exactly_the_whole(whole: int, of: int, data: st.DataObject) -> None:
    cut_points = data.draw(st.lists(st.integers(min_value=0, max_value=of), max_size=10))
    parts = [*sorted(cut_points), of]
    given_so_far = 0
    for part in parts:
        share = cumulative_share(whole, part, of)
        assert share >= given_so_far
        assert Fraction(whole * part, of) - 1 < share <= Fraction(whole * part, of)
        given_so_far = share
    assert given_so_far == whole
