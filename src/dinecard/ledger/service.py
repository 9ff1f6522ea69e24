"""Writing to the ledger: accounts, and balanced journal transactions in the caller's transaction."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Table, Update, bindparam, case, insert, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from dinecard.ledger.domain import (
    MEMBER_KINDS,
    AccountKind,
    Entry,
    EntryReason,
    Unit,
    assert_balanced,
    counter_code,
    member_code,
)
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.platform.db import NEW_COUNTER_ACCOUNTS, UnitOfWork
from dinecard.points.domain import Lot

POSTINGS_TABLE = cast(Table, Posting.__table__)
TRANSACTIONS_TABLE = cast(Table, JournalTransaction.__table__)
ACCOUNTS_TABLE = cast(Table, Account.__table__)
# The statements of every journal transaction, built once (UnitOfWork.execute).
INSERT_TRANSACTION = insert(TRANSACTIONS_TABLE).returning(TRANSACTIONS_TABLE.c.id)
INSERT_POSTINGS = insert(POSTINGS_TABLE)
# A member's accounts, but only the lots that still hold points (most lots are spent or expired).
READ_MEMBER_ACCOUNTS = select(
    ACCOUNTS_TABLE.c.id, ACCOUNTS_TABLE.c.kind, ACCOUNTS_TABLE.c.balance, ACCOUNTS_TABLE.c.expires_at
).where(
    ACCOUNTS_TABLE.c.member_id == bindparam("member_id"),
    (ACCOUNTS_TABLE.c.kind != AccountKind.MEMBER_POINTS_LOT.value) | (ACCOUNTS_TABLE.c.balance > 0),
)
# session.info key: (kind, entries) of each journal transaction written, read after commit (metrics).
RECORDED_TRANSACTIONS = "ledger_recorded_transactions"
PREFETCHED_ACCOUNTS = "ledger_prefetched_accounts"


@dataclass
class MemberAccounts:
    """A member's ledger accounts with their balances, read under the member's lock.

    Services keep it current as they add entries, so one operation's later steps (and the
    balances it returns) see its earlier steps.
    """

    principal_id: int
    principal: int
    bonus_id: int
    bonus: int
    debt_id: int
    debt: int
    lots: list[Lot]
    pending_bonus_id: int | None = None  # created on the first deferred bonus
    pending_bonus: int = 0


def open_member_accounts(uow: UnitOfWork, member_id: str, now: datetime) -> None:
    _forget_prefetched(uow.session)
    rows = [
        {
            "code": member_code(member_id, kind),
            "kind": kind.value,
            "unit": unit.value,
            "member_id": member_id,
            "balance": 0,
            "created_at": now,
        }
        for kind, unit in (
            (AccountKind.MEMBER_PRINCIPAL, Unit.FEN),
            (AccountKind.MEMBER_BONUS, Unit.FEN),
            (AccountKind.MEMBER_POINTS_DEBT, Unit.POINTS),
        )
    ]
    uow.session.execute(insert(Account), rows)


def prefetch_member_accounts(session: Session, member_id: str) -> MemberAccounts:
    """Read a locked member's accounts now and hand the same snapshot to the next `load_member_accounts`.

    The audit's "before" reads the accounts just before the operation does: the operation
    then takes this snapshot instead of reading them again. Anything that changes a member's
    accounts in this transaction (a journal transaction, a new lot or account) drops it.
    """
    accounts = _read_member_accounts(session, member_id)
    session.info[PREFETCHED_ACCOUNTS] = (member_id, accounts)
    return accounts


def _forget_prefetched(session: Session) -> None:
    session.info.pop(PREFETCHED_ACCOUNTS, None)


def load_member_accounts(session: Session, member_id: str) -> MemberAccounts:
    prefetched = session.info.pop(PREFETCHED_ACCOUNTS, None)
    if prefetched is not None and prefetched[0] == member_id:
        accounts: MemberAccounts = prefetched[1]
        return accounts
    return _read_member_accounts(session, member_id)


def _read_member_accounts(session: Session, member_id: str) -> MemberAccounts:
    rows = session.execute(READ_MEMBER_ACCOUNTS, {"member_id": member_id}).all()
    singles: dict[str, tuple[int, int]] = {}
    lots: list[Lot] = []
    for account_id, kind, balance, expires_at in rows:
        if kind == AccountKind.MEMBER_POINTS_LOT:
            lots.append(Lot(account_id, balance, expires_at))
        else:
            singles[kind] = (account_id, balance)
    principal = singles[AccountKind.MEMBER_PRINCIPAL]
    bonus = singles[AccountKind.MEMBER_BONUS]
    debt = singles[AccountKind.MEMBER_POINTS_DEBT]
    pending = singles.get(AccountKind.MEMBER_PENDING_BONUS, (None, 0))
    return MemberAccounts(
        principal[0], principal[1], bonus[0], bonus[1], debt[0], debt[1], lots, pending[0], pending[1]
    )


def pending_bonus_account(uow: UnitOfWork, accounts: MemberAccounts, member_id: str, now: datetime) -> int:
    """The member's pending-bonus account, opened on first use (callers hold the member lock)."""
    _forget_prefetched(uow.session)
    if accounts.pending_bonus_id is None:
        accounts.pending_bonus_id = uow.session.execute(
            insert(Account)
            .values(
                code=member_code(member_id, AccountKind.MEMBER_PENDING_BONUS),
                kind=AccountKind.MEMBER_PENDING_BONUS.value,
                unit=Unit.FEN.value,
                member_id=member_id,
                balance=0,
                created_at=now,
            )
            .returning(Account.id)
        ).scalar_one()
    return accounts.pending_bonus_id


def apply_to_snapshot(accounts: MemberAccounts, entries: list[Entry]) -> None:
    """Move the in-memory balances by the member legs of `entries`."""
    for entry in entries:
        if entry.account_id == accounts.principal_id:
            accounts.principal += entry.amount
        elif entry.account_id == accounts.bonus_id:
            accounts.bonus += entry.amount
        elif entry.account_id == accounts.debt_id:
            accounts.debt += entry.amount
        elif entry.account_id == accounts.pending_bonus_id:
            accounts.pending_bonus += entry.amount
        elif entry.kind is AccountKind.MEMBER_POINTS_LOT:
            for index, lot in enumerate(accounts.lots):
                if lot.lot_id == entry.account_id:
                    accounts.lots[index] = Lot(lot.lot_id, lot.balance + entry.amount, lot.expires_at)
                    break
            else:
                raise AssertionError("a new lot must be added to the snapshot by whoever created it")


def lot_account(uow: UnitOfWork, member_id: str, expires_at: datetime | None, now: datetime) -> int:
    """The member's lot for one expiry moment, created on first use (callers hold the member lock)."""
    _forget_prefetched(uow.session)
    detail = "never" if expires_at is None else expires_at.strftime("%Y%m%dT%H%M%S")
    code = member_code(member_id, AccountKind.MEMBER_POINTS_LOT, detail)
    existing = uow.session.execute(select(Account.id).where(Account.code == code)).scalar_one_or_none()
    if existing is not None:
        return existing
    return uow.session.execute(
        insert(Account)
        .values(
            code=code,
            kind=AccountKind.MEMBER_POINTS_LOT.value,
            unit=Unit.POINTS.value,
            member_id=member_id,
            expires_at=expires_at,
            balance=0,
            created_at=now,
        )
        .returning(Account.id)
    ).scalar_one()


def counter_account(
    uow: UnitOfWork,
    kind: AccountKind,
    unit: Unit,
    now: datetime,
    store_id: str | None = None,
    detail: str | None = None,
) -> int:
    """A chain counter account, created on first use; safe when two processes race to create it."""
    assert kind not in MEMBER_KINDS
    code = counter_code(kind, store_id, detail)
    cache = uow.database.counter_account_ids
    if code in cache:
        return cache[code]
    uow.insert_ignoring_conflict(
        Account.__table__,
        {"code": code, "kind": kind.value, "unit": unit.value, "store_id": store_id, "balance": 0, "created_at": now},
        "code",
    )
    account_id = uow.session.execute(select(Account.id).where(Account.code == code)).scalar_one()
    # Remembered for other transactions only once this one commits (see Database).
    uow.session.info.setdefault(NEW_COUNTER_ACCOUNTS, {})[code] = account_id
    return account_id


def counter_entry(
    uow: UnitOfWork,
    kind: AccountKind,
    unit: Unit,
    amount: int,
    reason: EntryReason,
    now: datetime,
    store_id: str | None = None,
    detail: str | None = None,
) -> Entry:
    return Entry(counter_account(uow, kind, unit, now, store_id, detail), kind, amount, unit, reason)


@functools.cache
def _move_balances(count: int) -> Update:
    """One UPDATE moving `count` member accounts by their deltas, built once per count.

    `balance = balance + CASE id WHEN :a0 THEN :d0 … END WHERE id IN (:a0, …) RETURNING id, balance`:
    a checkout moves principal, bonus and a points lot in one round trip instead of three (the
    member's lock is held across them). Only accounts of the member this transaction has locked.
    """
    accounts = ACCOUNTS_TABLE.c
    delta = case(
        *[
            (accounts.id == bindparam(f"a{index}"), sql_cast(bindparam(f"d{index}"), BigInteger))
            for index in range(count)
        ]
    )
    return (
        update(ACCOUNTS_TABLE)
        .where(accounts.id.in_([bindparam(f"a{index}") for index in range(count)]))
        .values(balance=accounts.balance + delta)
        .returning(accounts.id, accounts.balance)
    )


def _move_parameters(deltas: dict[int, int]) -> dict[str, int]:
    parameters: dict[str, int] = {}
    for index, (account_id, delta) in enumerate(deltas.items()):
        parameters[f"a{index}"] = account_id
        parameters[f"d{index}"] = delta
    return parameters


def _merge_zero_money_legs(entries: list[Entry]) -> list[Entry]:
    """Keep at most one zero leg per member money account (a refund may add two)."""
    seen_zero: set[int] = set()
    kept = []
    for entry in entries:
        if entry.amount == 0:
            if entry.account_id in seen_zero or any(
                other.account_id == entry.account_id and other.amount != 0 for other in entries
            ):
                continue
            seen_zero.add(entry.account_id)
        kept.append(entry)
    return kept


def record(
    uow: UnitOfWork,
    *,
    kind: str,
    entries: list[Entry],
    now: datetime,
    member_id: str | None,
    store_id: str | None,
    order_no: str | None,
    program_version: int | None,
    memo: str | None = None,
) -> int:
    """Write one balanced journal transaction and move the member balances it touches."""
    _forget_prefetched(uow.session)
    # Zero legs are dropped, except that a transaction moving member money keeps both the
    # principal and the bonus leg, so every money history line knows both balances after it.
    money_kinds = (AccountKind.MEMBER_PRINCIPAL, AccountKind.MEMBER_BONUS)
    moves_money = any(entry.amount != 0 and entry.kind in money_kinds for entry in entries)
    entries = [entry for entry in entries if entry.amount != 0 or (moves_money and entry.kind in money_kinds)]
    entries = _merge_zero_money_legs(entries)
    assert_balanced(entries)
    uow.session.info.setdefault(RECORDED_TRANSACTIONS, []).append((kind, entries))
    transaction_id: int = uow.execute(
        INSERT_TRANSACTION,
        {
            "kind": kind,
            "member_id": member_id,
            "store_id": store_id,
            "order_no": order_no,
            "program_version": program_version,
            "created_at": now,
            "memo": memo,
        },
    ).scalar_one()
    deltas: dict[int, int] = defaultdict(int)
    for entry in entries:
        if entry.kind in MEMBER_KINDS:
            deltas[entry.account_id] += entry.amount
    balances_after: dict[int, int] = {}
    if deltas:
        # The CHECK constraints refuse a negative member balance even if a rule above is wrong.
        moved = uow.execute(_move_balances(len(deltas)), _move_parameters(deltas))
        balances_after = {row.id: row.balance for row in moved}
        assert balances_after.keys() == deltas.keys(), "every member account moved exists"
    if entries:
        # The Core table insert keeps NULL balances in one executemany (the ORM would split it).
        uow.execute(
            INSERT_POSTINGS,
            [
                {
                    "transaction_id": transaction_id,
                    "account_id": entry.account_id,
                    "amount": entry.amount,
                    "unit": entry.unit.value,
                    "reason": entry.reason.value,
                    "balance_after": balances_after.get(entry.account_id),
                }
                for entry in entries
            ],
        )
    return transaction_id
