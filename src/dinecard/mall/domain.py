"""The points mall and buying a level with points as pure rules (R-PTS-4, R-CPN-3).

No database, no web, no clock: the services pass the reward's terms, the member's level and
usage, and the moment. Each refusal names its error kind and says why in `reason`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dinecard.program.domain import LevelRule, Program
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.times import iso_utc


class RewardKind(StrEnum):
    DISH = "dish"  # a dish voucher (a coupon of a `dish` template) the member uses at the till
    COUPON = "coupon"  # any coupon template
    MERCHANDISE = "merchandise"  # a thing handed over at the store: nothing is issued


class RedemptionStatus(StrEnum):
    REDEEMED = "redeemed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RewardTerms:
    """What decides whether a member may redeem a reward now (stock is claimed in the database)."""

    points_price: int
    active: bool = True
    starts_at: datetime | None = None  # inclusive
    ends_at: datetime | None = None  # exclusive: the first instant it is no longer offered
    levels: frozenset[str] | None = None  # None: every level
    per_member_limit: int | None = None


# ---------------------------------------------------------------- rewards


def shape_problem(kind: RewardKind, coupon_template_code: str | None, template_kind: str | None) -> str | None:
    """Why a reward's kind and coupon template do not fit together, or None.

    `template_kind` is the named template's kind once it has been looked up (None before that).
    """
    if kind is RewardKind.MERCHANDISE:
        return "a merchandise reward issues no coupon: leave coupon_template_code out" if coupon_template_code else None
    if not coupon_template_code:
        return f"a {kind.value} reward needs coupon_template_code (the coupon the member receives)"
    if kind is RewardKind.DISH and template_kind is not None and template_kind != "dish":
        return f"a dish reward needs a dish-voucher template, not a {template_kind} one"
    return None


def window_problem(starts_at: datetime | None, ends_at: datetime | None) -> str | None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        return "ends_at must be after starts_at"
    return None


def stock_problem(stock: int | None, redeemed_count: int) -> str | None:
    """Stock counts every non-cancelled redemption so far; it cannot go below them."""
    if stock is not None and stock < redeemed_count:
        return f"{redeemed_count} are already redeemed: stock cannot be lower"
    return None


def unavailable_reason(terms: RewardTerms, level_code: str, now: datetime) -> str | None:
    """Why the reward cannot be redeemed by a member of `level_code` at `now`, or None."""
    if not terms.active:
        return "inactive"
    if terms.starts_at is not None and now < terms.starts_at:
        return "not_started"
    if terms.ends_at is not None and now >= terms.ends_at:
        return "ended"
    if terms.levels is not None and level_code not in terms.levels:
        return "level_not_allowed"
    return None


def ensure_available(terms: RewardTerms, level_code: str, now: datetime) -> None:
    reason = unavailable_reason(terms, level_code, now)
    if reason is None:
        return
    detail: dict[str, object] = {"reason": reason}
    if reason == "not_started" and terms.starts_at is not None:
        detail["starts_at"] = iso_utc(terms.starts_at)
    elif reason == "ended" and terms.ends_at is not None:
        detail["ends_at"] = iso_utc(terms.ends_at)
    elif reason == "level_not_allowed" and terms.levels is not None:
        detail["levels"] = sorted(terms.levels)
    raise DomainError(errors.REWARD_UNAVAILABLE, detail)


def ensure_within_limit(per_member_limit: int | None, redeemed_before: int) -> None:
    """`redeemed_before`: the member's redemptions of this reward that were not cancelled."""
    if per_member_limit is not None and redeemed_before >= per_member_limit:
        raise DomainError(errors.REWARD_MEMBER_LIMIT, {"limit": per_member_limit, "redeemed": redeemed_before})


def ensure_enough_points(usable: int, needed: int) -> None:
    if usable < needed:
        raise DomainError(errors.INSUFFICIENT_POINTS, {"usable": max(usable, 0), "needed": needed})


# ---------------------------------------------------------------- cancelling


def cancel_deadline(redeemed_at: datetime, window_hours: int) -> datetime | None:
    """The last instant a redemption may still be cancelled (inclusive); None: never cancellable.

    "Within 24 hours" includes the 24th hour's last moment: redeemed at 12:00:00, cancellable
    up to and including 12:00:00 the next day, refused from 12:00:01.
    """
    if window_hours <= 0:
        return None
    return redeemed_at + timedelta(hours=window_hours)


def ensure_cancellable(status: RedemptionStatus, deadline: datetime | None, coupon_used: bool, now: datetime) -> None:
    """A redemption is cancelled once, by its deadline (fixed when it was redeemed, so a later change
    of the reward's window does not move it), and only while its coupon is unused: a used coupon
    has already been eaten, and giving the points back would pay for it twice."""
    if status is RedemptionStatus.CANCELLED:
        raise DomainError(errors.REDEMPTION_NOT_CANCELLABLE, {"reason": "already_cancelled"})
    if deadline is None:
        raise DomainError(errors.REDEMPTION_NOT_CANCELLABLE, {"reason": "not_cancellable"})
    if now > deadline:
        raise DomainError(
            errors.REDEMPTION_NOT_CANCELLABLE, {"reason": "window_passed", "cancellable_until": iso_utc(deadline)}
        )
    if coupon_used:
        raise DomainError(errors.REDEMPTION_NOT_CANCELLABLE, {"reason": "coupon_used"})


# ---------------------------------------------------------------- buying a level


def level_to_buy(program: Program, current_code: str, target_code: str) -> LevelRule:
    """The level a member may buy with points: only the one directly above theirs, and only if
    the programme gives it a points price (R-PTS-4). Levels are never skipped or bought down."""
    codes = [level.code for level in program.levels]
    current_rank = program.rank(current_code)
    next_level = codes[current_rank + 1] if current_rank + 1 < len(codes) else None
    detail: dict[str, object] = {"level_code": target_code, "current_level": current_code, "next_level": next_level}
    if target_code not in codes:
        raise DomainError(errors.LEVEL_NOT_PURCHASABLE, {**detail, "reason": "unknown_level"})
    target_rank = codes.index(target_code)
    if target_rank <= current_rank:
        raise DomainError(errors.LEVEL_NOT_PURCHASABLE, {**detail, "reason": "already_at_or_above"})
    if target_rank != current_rank + 1:
        # Only the next level: each level's price is from the one below, so skipping one is not priced.
        raise DomainError(errors.LEVEL_NOT_PURCHASABLE, {**detail, "reason": "not_next_level"})
    level = program.levels[target_rank]
    if level.points_price is None:
        raise DomainError(errors.LEVEL_NOT_PURCHASABLE, {**detail, "reason": "not_for_sale"})
    return level
