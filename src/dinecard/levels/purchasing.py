"""Buying the next level with points (R-PTS-4: 积分购买等级).

The level changes like any upgrade (history row with reason `purchased`, the level's upgrade
gift, a notification), and two things make a bought level stick:
- `level_floor_code`: refunds do not take a bought level away (the periodic review still may);
- the level offsets are set so the member stands exactly at the bought level's thresholds, so
  later recharges and consumption count on from the bought level, not from where they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import EntryReason
from dinecard.levels.domain import LevelChange, offsets_after_downgrade
from dinecard.levels.service import apply_level_change
from dinecard.levels.service import standing as standing_of
from dinecard.mall.domain import ensure_enough_points, level_to_buy
from dinecard.members.domain import ensure_can_spend
from dinecard.members.service import lock_member
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.points.domain import usable_points
from dinecard.program.domain import LevelRule, Program
from dinecard.rewards import history
from dinecard.shared.ids import new_order_no
from dinecard.wallet.common import MemberAfter, member_after, require_store

PURCHASED = "purchased"  # the reason in the level history


@dataclass(frozen=True)
class LevelPurchaseCommand:
    member_id: str
    level_code: str
    store_id: str


@dataclass(frozen=True)
class LevelPurchaseResult:
    order_no: str
    from_level: LevelRule
    to_level: LevelRule
    points_spent: int
    upgrade_gift_points: int
    member: MemberAfter
    upgrade_gift_coupons: tuple[str, ...] = ()


def purchase_level(
    uow: UnitOfWork, program: Program, command: LevelPurchaseCommand, now: datetime
) -> LevelPurchaseResult:
    member = lock_member(uow, command.member_id)
    ensure_can_spend(member.status, True)
    require_store(uow, command.store_id)
    from_level = program.level(member.level_code)
    to_level = level_to_buy(program, member.level_code, command.level_code)
    price = to_level.points_price
    assert price is not None  # level_to_buy refuses a level without a price
    accounts = ledger.load_member_accounts(uow.session, member.id)
    ensure_enough_points(usable_points(accounts.lots, accounts.debt, now), price)
    order_no = new_order_no("P")
    store = command.store_id
    entries = points.spend(uow, accounts, price, now, store, reason=EntryReason.LEVEL_PURCHASE)
    from_rank, to_rank = program.rank(from_level.code), program.rank(to_level.code)
    change = LevelChange(from_level, to_level, PURCHASED, from_rank, to_rank)
    gifts = apply_level_change(uow, program, member, accounts, change, order_no, now, store)
    entries += gifts.entries
    gift_points, gift_coupons = gifts.points, gifts.coupons
    member.points_lifetime += gift_points
    recharge_offset, consume_offset = offsets_after_downgrade(program, to_rank, standing_of(member))
    member.level_recharge_offset_fen = recharge_offset.fen
    member.level_consume_offset_fen = consume_offset.fen
    member.level_floor_code = to_level.code
    member.updated_at = now
    ledger.record(
        uow,
        kind="level_purchase",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=store,
        order_no=order_no,
        program_version=program.version,
        memo=f"level {from_level.code} -> {to_level.code}",
    )
    history.record(
        uow,
        member.id,
        "level_purchased",
        order_no,
        now,
        from_level=from_level.code,
        to_level=to_level.code,
        points=price,
        store_id=store,
    )
    return LevelPurchaseResult(
        order_no=order_no,
        from_level=from_level,
        to_level=to_level,
        points_spent=price,
        upgrade_gift_points=gift_points,
        member=member_after(program, member, accounts, now),
        upgrade_gift_coupons=gift_coupons,
    )
