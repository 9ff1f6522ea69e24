"""What the member's own page shows, read through the same services as the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from dinecard.coupons import service as coupons
from dinecard.ledger import history
from dinecard.ledger.service import load_member_accounts
from dinecard.levels.domain import Standing
from dinecard.levels.service import standing
from dinecard.members.models import Member
from dinecard.members.service import MemberView, member_view
from dinecard.program.domain import LevelRule, Program
from dinecard.security.crypto import PersonalDataCipher
from dinecard.shared.money import Money

HISTORY_ROWS = 10
EXPIRY_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class LevelProgress:
    """How far the member is from the next level, by recharge and by consumption."""

    next_level: LevelRule | None
    recharge_needed: Money | None  # None: no recharge path to the next level
    consume_needed: Money | None
    percent: int  # along the shorter path

    @property
    def shorter(self) -> str | None:
        """'recharge' or 'consume': the path that asks for less money."""
        if self.recharge_needed is None and self.consume_needed is None:
            return None
        if self.consume_needed is None:
            return "recharge"
        if self.recharge_needed is None:
            return "consume"
        return "recharge" if self.recharge_needed <= self.consume_needed else "consume"


def level_progress(program: Program, level_code: str, figures: Standing) -> LevelProgress:
    rank = program.rank(level_code)
    if rank + 1 >= len(program.levels):
        return LevelProgress(None, None, None, 100)
    target = program.levels[rank + 1]
    recharge_needed = consume_needed = None
    percents: dict[str, int] = {}
    if target.min_recharge is not None:
        recharge_needed = max(target.min_recharge - figures.qualifying_recharge, Money(0))
        percents["recharge"] = _percent(figures.qualifying_recharge, target.min_recharge)
    if target.min_consume is not None:
        consume_needed = max(target.min_consume - figures.qualifying_consume, Money(0))
        percents["consume"] = _percent(figures.qualifying_consume, target.min_consume)
    progress = LevelProgress(target, recharge_needed, consume_needed, 0)
    shorter = progress.shorter
    return LevelProgress(target, recharge_needed, consume_needed, percents.get(shorter, 0) if shorter else 0)


def _percent(have: Money, need: Money) -> int:
    if need.fen <= 0:
        return 100
    return max(0, min(100, have.fen * 100 // need.fen))


@dataclass(frozen=True)
class ExpiringPoints:
    points: int
    expires_at: datetime  # the first instant they are no longer usable

    @property
    def last_minute(self) -> datetime:
        """The last minute they can be used (shown as "usable until")."""
        return self.expires_at - timedelta(minutes=1)


@dataclass(frozen=True)
class CouponLine:
    code: str
    name: str
    name_en: str | None
    valid_until: datetime


@dataclass(frozen=True)
class MemberHome:
    member: MemberView
    progress: LevelProgress
    expiring: list[ExpiringPoints]
    coupons: list[CouponLine]
    money: list[history.MoneyEntry]
    money_more: bool
    points: list[history.PointsEntry]
    points_more: bool

    @property
    def expiring_total(self) -> int:
        return sum(lot.points for lot in self.expiring)


def expiring_soon(session: Session, member_id: str, now: datetime) -> list[ExpiringPoints]:
    """Points lots that stop being usable within 30 days, soonest first (R-PTS-3)."""
    lots = load_member_accounts(session, member_id).lots
    soon = [
        ExpiringPoints(lot.balance, lot.expires_at)
        for lot in lots
        if lot.expires_at is not None and lot.usable_at(now) and lot.expires_at <= now + EXPIRY_WINDOW
    ]
    return sorted(soon, key=lambda lot: lot.expires_at)


def load_home(
    session: Session, cipher: PersonalDataCipher, program: Program, member_id: str, now: datetime
) -> MemberHome:
    view = member_view(session, cipher, program, member_id, now)
    member = session.get(Member, member_id)
    assert member is not None
    usable = coupons.member_coupons(session, member_id, "usable", now)
    names = coupons.templates_by_code(session, {coupon.template_code for coupon in usable})
    lines = [
        CouponLine(
            coupon.code,
            names[coupon.template_code].name if coupon.template_code in names else coupon.template_code,
            names[coupon.template_code].name_en if coupon.template_code in names else None,
            coupon.valid_until,
        )
        for coupon in usable
    ]
    money, money_next = history.money_history(session, member_id, None, HISTORY_ROWS)
    points, points_next = history.points_history(session, member_id, None, HISTORY_ROWS)
    return MemberHome(
        member=view,
        progress=level_progress(program, member.level_code, standing(member)),
        expiring=expiring_soon(session, member_id, now),
        coupons=lines,
        money=money,
        money_more=money_next is not None,
        points=points,
        points_more=points_next is not None,
    )
