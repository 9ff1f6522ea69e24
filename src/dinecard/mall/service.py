"""The points mall (积分商城, R-CPN-3, R-PTS-4): HQ's catalogue, redeeming points for a reward,
cancelling a redemption within its window.

A redemption runs under the member's lock (members.service.lock_member), like every change of
a member, so per-member limits and usable points are judged on a state nobody else is changing.
Stock is shared by all members, so it is not locked: it is claimed with one conditional UPDATE,
and concurrent claims on the last unit give it to exactly one of them. Everything happens in the
caller's transaction: a refusal anywhere (coupon out of stock included) leaves nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import CouponStatus
from dinecard.coupons.models import Coupon
from dinecard.ledger import service as ledger
from dinecard.ledger.domain import EntryReason
from dinecard.mall import domain
from dinecard.mall.domain import RedemptionStatus, RewardKind, RewardTerms
from dinecard.mall.models import Redemption, Reward
from dinecard.members.domain import ensure_can_spend, ensure_open
from dinecard.members.models import Member
from dinecard.members.service import lock_member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.points.domain import usable_points
from dinecard.program.domain import Program
from dinecard.rewards import history
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_order_no
from dinecard.wallet.common import MemberAfter, member_after, require_store

MAX_PAGE = 200
# Fields HQ may change on a reward. Kind and coupon template stay: they are what was redeemed.
CHANGEABLE = frozenset(
    {
        "name",
        "name_en",
        "points_price",
        "stock",
        "per_member_limit",
        "levels",
        "cancel_window_hours",
        "starts_at",
        "ends_at",
        "active",
    }
)


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class RewardFields:
    id: str
    name: str
    kind: RewardKind
    points_price: int
    name_en: str | None = None
    coupon_template_code: str | None = None
    stock: int | None = None
    per_member_limit: int | None = None
    levels: frozenset[str] | None = None
    cancel_window_hours: int = 24
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True


def terms_of(row: Reward) -> RewardTerms:
    return RewardTerms(
        points_price=row.points_price,
        active=row.active,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        levels=frozenset(row.levels) if row.levels is not None else None,
        per_member_limit=row.per_member_limit,
    )


def _utc(moment: datetime | None) -> datetime | None:
    """Times are kept and answered in UTC, whatever offset HQ typed them with."""
    return moment.astimezone(UTC) if moment is not None else None


def _check_levels(program: Program, levels: frozenset[str] | list[str] | None) -> None:
    unknown = sorted(set(levels or ()) - {level.code for level in program.levels})
    if unknown:
        raise errors.invalid(("levels", f"unknown level codes: {', '.join(unknown)}"))


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    problem = domain.window_problem(starts_at, ends_at)
    if problem is not None:
        raise errors.invalid(("ends_at", problem))


def create_reward(uow: UnitOfWork, program: Program, fields: RewardFields, now: datetime) -> Reward:
    session = uow.session
    if session.get(Reward, fields.id) is not None:
        raise DomainError(errors.REWARD_TAKEN, {"reward_id": fields.id})
    template_kind = None
    if fields.coupon_template_code:
        template_kind = coupons.get_template(session, fields.coupon_template_code).kind
    problem = domain.shape_problem(fields.kind, fields.coupon_template_code, template_kind)
    if problem is not None:
        raise errors.invalid(("coupon_template_code", problem))
    _check_levels(program, fields.levels)
    _check_window(fields.starts_at, fields.ends_at)
    row = Reward(
        id=fields.id,
        name=fields.name,
        name_en=fields.name_en,
        kind=fields.kind.value,
        points_price=fields.points_price,
        coupon_template_code=fields.coupon_template_code,
        stock=fields.stock,
        redeemed_count=0,
        per_member_limit=fields.per_member_limit,
        levels=sorted(fields.levels) if fields.levels is not None else None,
        cancel_window_hours=fields.cancel_window_hours,
        starts_at=_utc(fields.starts_at),
        ends_at=_utc(fields.ends_at),
        active=fields.active,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def update_reward(uow: UnitOfWork, program: Program, reward_id: str, changes: dict[str, Any], now: datetime) -> Reward:
    """Change the fields named in `changes` (a null clears stock, limits, levels or a window end)."""
    assert set(changes) <= CHANGEABLE, set(changes) - CHANGEABLE
    # Locked, so no redemption claims stock between the check below and the commit.
    row = uow.session.get(Reward, reward_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise DomainError(errors.REWARD_NOT_FOUND, {"reward_id": reward_id})
    if "levels" in changes:
        _check_levels(program, changes["levels"])
        changes = {**changes, "levels": sorted(changes["levels"]) if changes["levels"] is not None else None}
    for name in ("starts_at", "ends_at"):
        if name in changes:
            changes = {**changes, name: _utc(changes[name])}
    stock_problem = domain.stock_problem(changes.get("stock", row.stock), row.redeemed_count)
    if stock_problem is not None:
        raise errors.invalid(("stock", stock_problem))
    _check_window(changes.get("starts_at", row.starts_at), changes.get("ends_at", row.ends_at))
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    return row


def get_reward(session: Session, reward_id: str) -> Reward:
    row = session.get(Reward, reward_id)
    if row is None:
        raise DomainError(errors.REWARD_NOT_FOUND, {"reward_id": reward_id})
    return row


def list_rewards(session: Session) -> list[Reward]:
    return list(session.execute(select(Reward).order_by(Reward.created_at, Reward.id)).scalars())


def _redeemed_counts(session: Session, member_id: str) -> dict[str, int]:
    """The member's redemptions that count against per-member limits (cancelled ones do not)."""
    rows = session.execute(
        select(Redemption.reward_id, func.count())
        .where(Redemption.member_id == member_id, Redemption.status == RedemptionStatus.REDEEMED.value)
        .group_by(Redemption.reward_id)
    ).all()
    return {reward_id: count for reward_id, count in rows}


def available_to(session: Session, member_id: str, now: datetime) -> list[Reward]:
    """The rewards this member could redeem now, points aside: offered, for their level, under
    their limit, in stock. A hint for the till; the redemption itself judges again under the lock."""
    member = session.get(Member, member_id)
    if member is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    counts = _redeemed_counts(session, member_id)
    available = []
    for row in list_rewards(session):
        terms = terms_of(row)
        if domain.unavailable_reason(terms, member.level_code, now) is not None:
            continue
        if terms.per_member_limit is not None and counts.get(row.id, 0) >= terms.per_member_limit:
            continue
        if row.stock is not None and row.redeemed_count >= row.stock:
            continue
        available.append(row)
    return available


# ---------------------------------------------------------------- redeeming


@dataclass(frozen=True)
class RedeemCommand:
    member_id: str
    reward_id: str
    store_id: str


@dataclass(frozen=True)
class RedemptionResult:
    redemption: Redemption
    reward: Reward
    member: MemberAfter


def _claim_stock(uow: UnitOfWork, reward_id: str) -> None:
    """One conditional UPDATE: on PostgreSQL a concurrent claim waits for this row, then re-checks
    the condition against the committed count, so the last unit goes to exactly one claimant."""
    claimed = uow.session.execute(
        update(Reward)
        .where(Reward.id == reward_id, Reward.stock.is_(None) | (Reward.redeemed_count < Reward.stock))
        .values(redeemed_count=Reward.redeemed_count + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(errors.REWARD_OUT_OF_STOCK, {"reward_id": reward_id})


def redeem(uow: UnitOfWork, program: Program, command: RedeemCommand, now: datetime) -> RedemptionResult:
    """Spend the reward's points price (soonest-expiring lots first), claim one unit of stock,
    and issue its coupon for dish and coupon rewards."""
    session = uow.session
    member = lock_member(uow, command.member_id)
    ensure_can_spend(member.status, True)
    require_store(uow, command.store_id)
    reward = session.get(Reward, command.reward_id, populate_existing=True)
    if reward is None:
        raise DomainError(errors.REWARD_NOT_FOUND, {"reward_id": command.reward_id})
    terms = terms_of(reward)
    domain.ensure_available(terms, member.level_code, now)
    domain.ensure_within_limit(terms.per_member_limit, _redeemed_counts(session, member.id).get(reward.id, 0))
    accounts = ledger.load_member_accounts(session, member.id)
    domain.ensure_enough_points(usable_points(accounts.lots, accounts.debt, now), reward.points_price)
    # Points are judged before stock is claimed: a member who cannot pay never holds the row.
    _claim_stock(uow, reward.id)
    order_no = new_order_no("M")
    coupon_code = None
    if reward.coupon_template_code is not None:
        issued = coupons.issue(
            uow, program, member.id, reward.coupon_template_code, now, coupons.Source.MALL, source_ref=order_no
        )
        coupon_code = issued[0].code
    entries = points.spend(uow, accounts, reward.points_price, now, command.store_id, reason=EntryReason.MALL_REDEEM)
    transaction_id = ledger.record(
        uow,
        kind="mall_redemption",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=command.store_id,
        order_no=order_no,
        program_version=program.version,
        memo=f"reward {reward.id}",
    )
    row = Redemption(
        order_no=order_no,
        member_id=member.id,
        reward_id=reward.id,
        store_id=command.store_id,
        points=reward.points_price,
        coupon_code=coupon_code,
        status=RedemptionStatus.REDEEMED.value,
        journal_transaction_id=transaction_id,
        created_at=now,
        cancellable_until=domain.cancel_deadline(now, reward.cancel_window_hours),
    )
    session.add(row)
    session.flush()
    member.updated_at = now
    after = member_after(program, member, accounts, now)
    history.record(
        uow,
        member.id,
        "mall_redeemed",
        order_no,
        now,
        reward_id=reward.id,
        reward_name=reward.name,
        points=reward.points_price,
        coupon_code=coupon_code,
        store_id=command.store_id,
    )
    outbox.enqueue(
        uow,
        member_id=member.id,
        topic="mall_redeemed",
        payload={
            "order_no": order_no,
            "reward": reward.name,
            "points_spent": reward.points_price,
            "coupon_code": coupon_code,
            "points": after.points_usable,
        },
        now=now,
    )
    return RedemptionResult(row, reward, after)


# ---------------------------------------------------------------- cancelling


@dataclass(frozen=True)
class CancelResult:
    redemption: Redemption
    reward: Reward
    points_restored: int
    member: MemberAfter


def find_redemption(session: Session, order_no: str) -> Redemption:
    row = session.execute(select(Redemption).where(Redemption.order_no == order_no)).scalar_one_or_none()
    if row is None:
        raise DomainError(errors.REDEMPTION_NOT_FOUND, {"order_no": order_no})
    return row


def cancel(
    uow: UnitOfWork,
    program: Program,
    order_no: str,
    reason: str | None,
    actor_id: str | None,
    now: datetime,
) -> CancelResult:
    """Undo a redemption within its window: void its unused coupon, give the points back to the
    lots they came from (a grace lot for a lot that has expired since), give the unit back."""
    session = uow.session
    member_id = find_redemption(session, order_no).member_id
    member = lock_member(uow, member_id)
    ensure_open(member.status)  # a closed card forfeited its points: none come back to it (a frozen one may)
    # Read again under the member's lock: a concurrent cancel has either finished or not begun.
    row = session.execute(
        select(Redemption).where(Redemption.order_no == order_no).execution_options(populate_existing=True)
    ).scalar_one()
    reward = session.get(Reward, row.reward_id, populate_existing=True)
    assert reward is not None
    coupon = None
    if row.coupon_code is not None:
        coupon = session.execute(
            select(Coupon).where(Coupon.code == row.coupon_code).execution_options(populate_existing=True)
        ).scalar_one()
    domain.ensure_cancellable(
        RedemptionStatus(row.status),
        row.cancellable_until,
        coupon is not None and coupon.status == CouponStatus.USED.value,
        now,
    )
    # A coupon HQ already voided stays voided; the member still gets the points back.
    if coupon is not None and coupon.status == CouponStatus.ISSUED.value:
        coupons.void(uow, coupon, reason or f"redemption {order_no} cancelled", actor_id, now)
    accounts = ledger.load_member_accounts(session, member.id)
    spent = points.spent_lots(session, row.journal_transaction_id, EntryReason.MALL_REDEEM)
    entries = points.restore(
        uow, program, accounts, member.id, spent, 0, row.points, now, row.store_id, reason=EntryReason.MALL_CANCEL
    )
    transaction_id = ledger.record(
        uow,
        kind="mall_cancellation",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=row.store_id,
        order_no=order_no,
        program_version=program.version,
        memo=(reason or "")[:200] or None,
    )
    session.execute(
        update(Reward)
        .where(Reward.id == reward.id, Reward.redeemed_count > 0)
        .values(redeemed_count=Reward.redeemed_count - 1)
        .execution_options(synchronize_session=False)
    )
    row.status = RedemptionStatus.CANCELLED.value
    row.cancelled_at = now
    row.cancel_journal_transaction_id = transaction_id
    member.updated_at = now
    history.record(
        uow, member.id, "mall_cancelled", order_no, now, reward_id=reward.id, points=row.points, reason=reason
    )
    after = member_after(program, member, accounts, now)
    outbox.enqueue(
        uow,
        member_id=member.id,
        topic="mall_redemption_cancelled",
        payload={
            "order_no": order_no,
            "reward": reward.name,
            "points_restored": row.points,
            "points": after.points_usable,
        },
        now=now,
    )
    return CancelResult(row, reward, row.points, after)


# ---------------------------------------------------------------- reading


def redemption_store(session: Session, order_no: str) -> str | None:
    """Where a redemption happened: cancelling it is scoped to that store."""
    return find_redemption(session, order_no).store_id


def member_redemptions(
    session: Session, member_id: str, before: int | None, limit: int
) -> tuple[list[Redemption], int | None]:
    """Newest first; `before` is the cursor (`next_before` of the previous page)."""
    if session.get(Member, member_id) is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Redemption).where(Redemption.member_id == member_id)
    if before is not None:
        query = query.where(Redemption.id < before)
    rows = list(session.execute(query.order_by(Redemption.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def rewards_by_id(session: Session, reward_ids: set[str]) -> dict[str, Reward]:
    if not reward_ids:
        return {}
    return {row.id: row for row in session.execute(select(Reward).where(Reward.id.in_(reward_ids))).scalars()}
