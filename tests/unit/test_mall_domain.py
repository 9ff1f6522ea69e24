"""The points mall's pure rules: when a reward is offered, limits, points, the cancel window's
last valid second, and which level may be bought with points (R-PTS-4, R-CPN-3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dinecard.mall.domain import (
    RedemptionStatus,
    RewardKind,
    RewardTerms,
    cancel_deadline,
    ensure_available,
    ensure_cancellable,
    ensure_enough_points,
    ensure_within_limit,
    level_to_buy,
    shape_problem,
    stock_problem,
    unavailable_reason,
    window_problem,
)
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.times import iso_utc
from tests.unit.programs import with_levels

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _refusal(call: object, *args: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


# ---------------------------------------------------------------- availability


def test_an_active_reward_without_window_or_levels_is_available_to_everyone() -> None:
    assert unavailable_reason(RewardTerms(points_price=500), "normal", NOW) is None
    ensure_available(RewardTerms(points_price=500), "diamond", NOW)


def test_an_inactive_reward_is_refused() -> None:
    refused = _refusal(ensure_available, RewardTerms(points_price=500, active=False), "normal", NOW)

    assert refused.kind is errors.REWARD_UNAVAILABLE
    assert refused.detail == {"reason": "inactive"}


def test_the_window_starts_at_its_first_instant() -> None:
    terms = RewardTerms(points_price=500, starts_at=NOW)

    ensure_available(terms, "normal", NOW)
    refused = _refusal(ensure_available, terms, "normal", NOW - SECOND)
    assert refused.kind is errors.REWARD_UNAVAILABLE
    assert refused.detail == {"reason": "not_started", "starts_at": iso_utc(NOW)}


def test_the_window_ends_before_its_end_instant() -> None:
    terms = RewardTerms(points_price=500, ends_at=NOW)

    ensure_available(terms, "normal", NOW - SECOND)
    refused = _refusal(ensure_available, terms, "normal", NOW)
    assert refused.kind is errors.REWARD_UNAVAILABLE
    assert refused.detail == {"reason": "ended", "ends_at": iso_utc(NOW)}


def test_a_reward_for_some_levels_refuses_the_others() -> None:
    terms = RewardTerms(points_price=500, levels=frozenset({"gold", "diamond"}))

    ensure_available(terms, "gold", NOW)
    refused = _refusal(ensure_available, terms, "silver", NOW)
    assert refused.kind is errors.REWARD_UNAVAILABLE
    assert refused.detail == {"reason": "level_not_allowed", "levels": ["diamond", "gold"]}


def test_inactive_is_reported_before_the_window_and_the_level() -> None:
    terms = RewardTerms(points_price=1, active=False, ends_at=NOW, levels=frozenset({"gold"}))

    assert unavailable_reason(terms, "normal", NOW) == "inactive"


# ---------------------------------------------------------------- limits and points


def test_the_per_member_limit_allows_up_to_the_limit() -> None:
    ensure_within_limit(None, 1000)
    ensure_within_limit(2, 1)
    refused = _refusal(ensure_within_limit, 2, 2)

    assert refused.kind is errors.REWARD_MEMBER_LIMIT
    assert refused.detail == {"limit": 2, "redeemed": 2}


def test_points_exactly_the_price_are_enough() -> None:
    ensure_enough_points(500, 500)
    refused = _refusal(ensure_enough_points, 499, 500)

    assert refused.kind is errors.INSUFFICIENT_POINTS
    assert refused.detail == {"usable": 499, "needed": 500}


def test_a_points_debt_shows_as_zero_usable() -> None:
    refused = _refusal(ensure_enough_points, -30, 500)

    assert refused.detail == {"usable": 0, "needed": 500}


# ---------------------------------------------------------------- the cancel window


def test_the_last_valid_second_is_exactly_the_window_after_the_redemption() -> None:
    assert cancel_deadline(NOW, 24) == NOW + timedelta(hours=24)
    assert cancel_deadline(NOW, 0) is None


def test_cancel_at_the_deadline_is_allowed_and_one_second_later_refused() -> None:
    deadline = NOW + timedelta(hours=24)

    ensure_cancellable(RedemptionStatus.REDEEMED, cancel_deadline(NOW, 24), False, deadline)
    refused = _refusal(ensure_cancellable, RedemptionStatus.REDEEMED, deadline, False, deadline + SECOND)
    assert refused.kind is errors.REDEMPTION_NOT_CANCELLABLE
    assert refused.detail == {"reason": "window_passed", "cancellable_until": iso_utc(deadline)}


def test_a_zero_window_is_never_cancellable() -> None:
    refused = _refusal(ensure_cancellable, RedemptionStatus.REDEEMED, cancel_deadline(NOW, 0), False, NOW)

    assert refused.detail == {"reason": "not_cancellable"}


def test_a_cancelled_redemption_is_not_cancelled_again() -> None:
    refused = _refusal(ensure_cancellable, RedemptionStatus.CANCELLED, cancel_deadline(NOW, 24), False, NOW)

    assert refused.detail == {"reason": "already_cancelled"}


def test_a_redemption_whose_coupon_was_used_is_not_cancellable() -> None:
    refused = _refusal(ensure_cancellable, RedemptionStatus.REDEEMED, cancel_deadline(NOW, 24), True, NOW + SECOND)

    assert refused.detail == {"reason": "coupon_used"}


# ---------------------------------------------------------------- the catalogue


@pytest.mark.parametrize(
    ("kind", "template", "template_kind", "fits"),
    [
        (RewardKind.DISH, "DUCK", "dish", True),
        (RewardKind.DISH, "DUCK", None, True),  # before the template is looked up
        (RewardKind.DISH, "CASH5", "cash", False),
        (RewardKind.DISH, None, None, False),
        (RewardKind.COUPON, "CASH5", "cash", True),
        (RewardKind.COUPON, "DUCK", "dish", True),
        (RewardKind.COUPON, None, None, False),
        (RewardKind.MERCHANDISE, None, None, True),
        (RewardKind.MERCHANDISE, "CASH5", "cash", False),
    ],
)
def test_the_kind_decides_the_coupon_template(
    kind: RewardKind, template: str | None, template_kind: str | None, fits: bool
) -> None:
    assert (shape_problem(kind, template, template_kind) is None) is fits


def test_a_window_must_end_after_it_starts() -> None:
    assert window_problem(NOW, NOW + SECOND) is None
    assert window_problem(None, NOW) is None
    assert window_problem(NOW, NOW) is not None


def test_stock_cannot_go_below_what_is_redeemed() -> None:
    assert stock_problem(None, 10) is None
    assert stock_problem(10, 10) is None
    assert stock_problem(9, 10) is not None


# ---------------------------------------------------------------- buying a level


PRICED = with_levels({"silver": {"points_price": 3000}, "gold": {"points_price": 8000}})


def test_the_next_level_with_a_price_may_be_bought() -> None:
    assert level_to_buy(PRICED, "normal", "silver").code == "silver"
    assert level_to_buy(PRICED, "silver", "gold").points_price == 8000


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        ("normal", "gold", "not_next_level"),
        ("silver", "silver", "already_at_or_above"),
        ("gold", "silver", "already_at_or_above"),
        ("gold", "diamond", "not_for_sale"),
        ("normal", "platinum", "unknown_level"),
    ],
)
def test_other_levels_are_refused_with_the_reason(current: str, target: str, reason: str) -> None:
    refused = _refusal(level_to_buy, PRICED, current, target)

    assert refused.kind is errors.LEVEL_NOT_PURCHASABLE
    assert refused.detail["reason"] == reason
    assert refused.detail["current_level"] == current
    assert refused.detail["level_code"] == target


def test_the_refusal_names_the_level_that_could_be_bought() -> None:
    refused = _refusal(level_to_buy, PRICED, "normal", "gold")

    assert refused.detail["next_level"] == "silver"
    assert _refusal(level_to_buy, PRICED, "diamond", "gold").detail["next_level"] is None
