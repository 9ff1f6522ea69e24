"""Points movements as ledger entries: awarding, spending, taking back and giving back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.ledger.models import Account, Posting
from dinecard.ledger.service import MemberAccounts
from dinecard.platform.db import UnitOfWork
from dinecard.points.domain import Lot, grace_expiry, lot_expiry, sort_for_spending, take_from_lots
from dinecard.program.domain import Program

LOT = AccountKind.MEMBER_POINTS_LOT
POINTS = Unit.POINTS


def award(
    uow: UnitOfWork,
    program: Program,
    accounts: MemberAccounts,
    member_id: str,
    points: int,
    now: datetime,
    reason: EntryReason,
    store_id: str | None = None,
) -> list[Entry]:
    """New points: first they pay off any debt from earlier take-backs, the rest goes into a lot."""
    assert points >= 0
    if points == 0:
        return []
    repay = min(points, -accounts.debt)
    entries = [ledger.counter_entry(uow, AccountKind.POINTS_ISSUED, POINTS, -points, reason, now, store_id)]
    if repay:
        entries.append(Entry(accounts.debt_id, AccountKind.MEMBER_POINTS_DEBT, repay, POINTS, reason))
    if points > repay:
        expires_at = lot_expiry(program, now)
        lot_id = _lot_in_snapshot(accounts, expires_at) or ledger.lot_account(uow, member_id, expires_at, now)
        _ensure_lot_in_snapshot(accounts, lot_id, expires_at)
        entries.append(Entry(lot_id, LOT, points - repay, POINTS, reason))
    ledger.apply_to_snapshot(accounts, entries)
    return entries


def _lot_in_snapshot(accounts: MemberAccounts, expires_at: datetime | None) -> int | None:
    return next((lot.lot_id for lot in accounts.lots if lot.expires_at == expires_at), None)


def _ensure_lot_in_snapshot(accounts: MemberAccounts, lot_id: int, expires_at: datetime | None) -> None:
    if all(lot.lot_id != lot_id for lot in accounts.lots):
        accounts.lots.append(Lot(lot_id, 0, expires_at))


def spend(
    uow: UnitOfWork,
    accounts: MemberAccounts,
    points: int,
    now: datetime,
    store_id: str | None = None,
    reason: EntryReason = EntryReason.REDEEM,
) -> list[Entry]:
    """Use points, soonest-expiring lots first (the caller has checked they are usable)."""
    if points == 0:
        return []
    taken = take_from_lots(accounts.lots, points, now)
    entries = [Entry(lot_id, LOT, -portion, POINTS, reason) for lot_id, portion in taken]
    entries.append(ledger.counter_entry(uow, AccountKind.POINTS_REDEEMED, POINTS, points, reason, now, store_id))
    ledger.apply_to_snapshot(accounts, entries)
    return entries


def take_back(
    uow: UnitOfWork,
    accounts: MemberAccounts,
    points: int,
    now: datetime,
    reason: EntryReason,
    store_id: str | None = None,
) -> list[Entry]:
    """Take awarded points back; what was already spent becomes a debt that later awards repay."""
    if points == 0:
        return []
    usable = [lot for lot in accounts.lots if lot.usable_at(now)]
    available = sum(lot.balance for lot in usable)
    from_lots = min(points, available)
    entries = [
        Entry(lot_id, LOT, -portion, POINTS, reason) for lot_id, portion in take_from_lots(usable, from_lots, now)
    ]
    if points > from_lots:
        entries.append(
            Entry(accounts.debt_id, AccountKind.MEMBER_POINTS_DEBT, -(points - from_lots), POINTS, EntryReason.DEBT)
        )
    entries.append(ledger.counter_entry(uow, AccountKind.POINTS_ISSUED, POINTS, points, reason, now, store_id))
    ledger.apply_to_snapshot(accounts, entries)
    return entries


def restore(
    uow: UnitOfWork,
    program: Program,
    accounts: MemberAccounts,
    member_id: str,
    spent_lots: list[Lot],
    already_restored: int,
    points: int,
    now: datetime,
    store_id: str | None = None,
    reason: EntryReason = EntryReason.REFUND_RESTORE,
) -> list[Entry]:
    """Give used points back to the lots they came from, keeping their expiry (R-PAY-6).

    `spent_lots` holds what the original spend took from each lot (balance = points taken).
    Points go back latest-expiring first; a lot that has expired since gives them a grace lot.
    Like any points coming in, they first pay off a points debt, so lots and debt never coexist.
    """
    if points == 0:
        return []
    entries: list[Entry] = []
    skip = already_restored
    remaining = points
    repay = min(points, -accounts.debt)
    if repay:
        entries.append(Entry(accounts.debt_id, AccountKind.MEMBER_POINTS_DEBT, repay, POINTS, reason))
        skip += repay  # the lots that would have received these points are skipped, latest-expiring first
        remaining -= repay
    for lot in reversed(sort_for_spending(spent_lots)):
        portion = min(lot.balance, skip)
        skip -= portion
        portion = min(lot.balance - portion, remaining)
        if portion == 0:
            continue
        remaining -= portion
        expired = lot.expires_at is not None and lot.expires_at <= now
        target, expires_at = lot.lot_id, lot.expires_at
        if expired:
            expires_at = grace_expiry(program, now)
            target = ledger.lot_account(uow, member_id, expires_at, now)
        _ensure_lot_in_snapshot(accounts, target, expires_at)
        entries.append(Entry(target, LOT, portion, POINTS, reason))
        if remaining == 0:
            break
    assert remaining == 0, "cannot restore more points than were used"
    entries.append(ledger.counter_entry(uow, AccountKind.POINTS_REDEEMED, POINTS, -points, reason, now, store_id))
    ledger.apply_to_snapshot(accounts, entries)
    return entries


def spent_lots(session: Session, journal_transaction_id: int, reason: EntryReason = EntryReason.REDEEM) -> list[Lot]:
    """What a spend took from each lot (balance = points taken), to give them back to the same lots."""
    rows = session.execute(
        select(Posting.account_id, Posting.amount, Account.expires_at)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Posting.transaction_id == journal_transaction_id,
            Posting.reason == reason.value,
            Account.kind == AccountKind.MEMBER_POINTS_LOT.value,
        )
    ).all()
    return [Lot(account_id, -amount, expires_at) for account_id, amount, expires_at in rows]
