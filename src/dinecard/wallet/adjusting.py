"""Manual adjustments of a member's balance or points, always with a reason (R-CMP-6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, EntryReason
from dinecard.members.domain import ensure_open
from dinecard.members.service import lock_member
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.points.domain import usable_points
from dinecard.program.domain import Program
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_order_no
from dinecard.shared.money import Money
from dinecard.wallet.common import FEN, MemberAfter, member_after, money_entries, notify, require_store
from dinecard.wallet.models import Adjustment


@dataclass(frozen=True)
class AdjustCommand:
    member_id: str
    store_id: str | None
    principal: Money
    bonus: Money
    points: int
    reason: str
    actor_id: str | None = None


@dataclass(frozen=True)
class AdjustResult:
    order_no: str
    principal: Money
    bonus: Money
    points: int
    member: MemberAfter


def adjust(uow: UnitOfWork, program: Program, command: AdjustCommand, now: datetime) -> AdjustResult:
    """Add to or take from principal, bonus or points; never below zero, never without a reason."""
    if not command.reason.strip():
        raise DomainError(errors.REASON_REQUIRED)
    if not (command.principal.fen or command.bonus.fen or command.points):
        raise DomainError(errors.AMOUNT_NOT_POSITIVE)
    member = lock_member(uow, command.member_id)
    ensure_open(member.status)
    if command.store_id is not None:
        require_store(uow, command.store_id)
    accounts = ledger.load_member_accounts(uow.session, member.id)
    if accounts.principal + command.principal.fen < 0 or accounts.bonus + command.bonus.fen < 0:
        raise DomainError(errors.INSUFFICIENT_BALANCE)
    if command.points < 0 and -command.points > max(usable_points(accounts.lots, accounts.debt, now), 0):
        raise DomainError(errors.INSUFFICIENT_POINTS)
    store = command.store_id
    entries = money_entries(uow, accounts, command.principal.fen, command.bonus.fen, EntryReason.ADJUSTMENT)
    money = command.principal.fen + command.bonus.fen
    if money:
        entries.append(
            ledger.counter_entry(uow, AccountKind.ADJUSTMENT, FEN, -money, EntryReason.ADJUSTMENT, now, store, "fen")
        )
    if command.points > 0:
        entries += points.award(uow, program, accounts, member.id, command.points, now, EntryReason.ADJUSTMENT, store)
        member.points_lifetime += command.points
    elif command.points < 0:
        entries += points.take_back(uow, accounts, -command.points, now, EntryReason.ADJUSTMENT, store)
        member.points_lifetime += command.points
    order_no = new_order_no("A")
    transaction_id = ledger.record(
        uow,
        kind="adjustment",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=store,
        order_no=order_no,
        program_version=program.version,
        memo=command.reason[:200],
    )
    uow.session.add(
        Adjustment(
            order_no=order_no,
            member_id=member.id,
            store_id=store,
            principal_fen=command.principal.fen,
            bonus_fen=command.bonus.fen,
            points=command.points,
            reason=command.reason[:200],
            actor_id=command.actor_id,
            journal_transaction_id=transaction_id,
            created_at=now,
        )
    )
    member.updated_at = now
    after = member_after(program, member, accounts, now)
    notify(uow, member.id, "balance_adjusted", order_no, after, now, {"reason": command.reason[:200]})
    return AdjustResult(order_no, command.principal, command.bonus, command.points, after)
