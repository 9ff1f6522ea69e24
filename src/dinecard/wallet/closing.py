"""Closing a card: refund unspent principal, forfeit bonus and points, settle a points debt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.ledger.service import MemberAccounts
from dinecard.members.domain import MemberStatus, ensure_open
from dinecard.members.service import lock_member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.points.domain import take_from_lots
from dinecard.program.domain import Program
from dinecard.shared.money import Money
from dinecard.wallet.common import FEN, MemberAfter, member_after, money_entries
from dinecard.wallet.models import BonusRelease, Recharge
from dinecard.wallet.refunding import RefundResult, refund

# ---------------------------------------------------------------- closing a card


@dataclass(frozen=True)
class CloseResult:
    refunds: list[RefundResult]
    principal_returned: Money
    bonus_forfeited: Money
    points_forfeited: int
    member: MemberAfter


def _cancel_all_pending_bonus(uow: UnitOfWork, accounts: MemberAccounts, member_id: str, now: datetime) -> list[Entry]:
    """A closed card gets no more instalments, whichever recharge promised them."""
    open_releases = (
        uow.session.execute(
            select(BonusRelease).where(
                BonusRelease.member_id == member_id,
                BonusRelease.released_at.is_(None),
                BonusRelease.cancelled_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    for release in open_releases:
        release.cancelled_at = now
    cancelled = sum(release.amount_fen for release in open_releases)
    if not cancelled:
        return []
    assert accounts.pending_bonus_id is not None
    entries = [
        Entry(accounts.pending_bonus_id, AccountKind.MEMBER_PENDING_BONUS, -cancelled, FEN, EntryReason.BONUS_FORFEIT),
        ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, cancelled, EntryReason.BONUS_FORFEIT, now),
    ]
    ledger.apply_to_snapshot(accounts, entries)
    return entries


def _settle_points_on_close(uow: UnitOfWork, accounts: MemberAccounts, now: datetime) -> list[Entry]:
    """Net a points debt against the lots, then write off what remains of the debt."""
    entries: list[Entry] = []
    usable = sum(lot.balance for lot in accounts.lots if lot.usable_at(now))
    for lot_id, portion in take_from_lots(accounts.lots, min(-accounts.debt, usable), now):
        entries.append(Entry(lot_id, AccountKind.MEMBER_POINTS_LOT, -portion, Unit.POINTS, EntryReason.DEBT))
        entries.append(Entry(accounts.debt_id, AccountKind.MEMBER_POINTS_DEBT, portion, Unit.POINTS, EntryReason.DEBT))
    ledger.apply_to_snapshot(accounts, entries)
    if accounts.debt:
        write_off = [
            Entry(
                accounts.debt_id,
                AccountKind.MEMBER_POINTS_DEBT,
                -accounts.debt,
                Unit.POINTS,
                EntryReason.DEBT_WRITE_OFF,
            ),
            ledger.counter_entry(
                uow, AccountKind.POINTS_DEBT_WRITTEN_OFF, Unit.POINTS, accounts.debt, EntryReason.DEBT_WRITE_OFF, now
            ),
        ]
        ledger.apply_to_snapshot(accounts, write_off)
        entries += write_off
    return entries


def close_card(uow: UnitOfWork, program: Program, member_id: str, now: datetime, reason: str | None) -> CloseResult:
    """Refund every recharge's unspent principal, forfeit bonus and points, and close the card."""
    member = lock_member(uow, member_id)
    ensure_open(member.status)
    recharges = (
        uow.session.execute(
            select(Recharge.order_no)
            .where(Recharge.member_id == member_id, Recharge.refunded_principal_fen < Recharge.amount_fen)
            .order_by(Recharge.id.desc())
        )
        .scalars()
        .all()
    )
    refunds: list[RefundResult] = []
    for order_no in recharges:
        accounts = ledger.load_member_accounts(uow.session, member_id)
        if accounts.principal == 0:
            break
        refunds.append(refund(uow, program, order_no, None, now, reason or "card closed"))
    accounts = ledger.load_member_accounts(uow.session, member_id)
    assert accounts.principal == 0, "every fen of principal came from a recharge that can be refunded"
    bonus_left = accounts.bonus
    entries = money_entries(uow, accounts, 0, -bonus_left, EntryReason.BONUS_FORFEIT)
    entries.append(ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, bonus_left, EntryReason.BONUS_FORFEIT, now))
    entries += _cancel_all_pending_bonus(uow, accounts, member_id, now)
    entries += _settle_points_on_close(uow, accounts, now)
    lot_points = sum(lot.balance for lot in accounts.lots)
    forfeits = [
        Entry(lot.lot_id, AccountKind.MEMBER_POINTS_LOT, -lot.balance, Unit.POINTS, EntryReason.FORFEIT)
        for lot in accounts.lots
        if lot.balance
    ]
    ledger.apply_to_snapshot(accounts, forfeits)
    forfeits.append(
        ledger.counter_entry(uow, AccountKind.POINTS_FORFEITED, Unit.POINTS, lot_points, EntryReason.FORFEIT, now)
    )
    entries += forfeits
    ledger.record(
        uow,
        kind="card_closed",
        entries=entries,
        now=now,
        member_id=member_id,
        store_id=None,
        order_no=None,
        program_version=program.version,
        memo=reason,
    )
    member.status = MemberStatus.CLOSED.value
    member.updated_at = now
    outbox.enqueue(
        uow,
        member_id=member_id,
        topic="card_closed",
        now=now,
        payload={"principal_returned": sum((r.principal for r in refunds), Money.zero()).yuan()},
    )
    return CloseResult(
        refunds=refunds,
        principal_returned=sum((r.principal for r in refunds), Money.zero()),
        bonus_forfeited=Money(bonus_left) + sum((r.bonus_forfeited for r in refunds), Money.zero()),
        points_forfeited=lot_points,
        member=member_after(program, member, accounts, now),
    )
