"""A member's money and points history, read from the ledger, newest first, paged by cursor."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.ledger.domain import AccountKind
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.shared.money import Money

MAX_PAGE = 200
_MONEY_KINDS = (AccountKind.MEMBER_PRINCIPAL.value, AccountKind.MEMBER_BONUS.value)
_POINTS_KINDS = (AccountKind.MEMBER_POINTS_LOT.value, AccountKind.MEMBER_POINTS_DEBT.value)


@dataclass(frozen=True)
class MoneyEntry:
    transaction_id: int
    kind: str
    order_no: str | None
    store_id: str | None
    created_at: datetime
    principal_change: Money
    bonus_change: Money
    principal_after: Money
    bonus_after: Money


@dataclass(frozen=True)
class PointsEntry:
    transaction_id: int
    type: str
    points: int
    order_no: str | None
    store_id: str | None
    created_at: datetime
    expires_at: datetime | None


def _page_transaction_ids(
    session: Session, member_id: str, kinds: tuple[str, ...], before: int | None, limit: int, store_id: str | None
) -> list[int]:
    statement = (
        select(Posting.transaction_id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.member_id == member_id, Account.kind.in_(kinds))
        .group_by(Posting.transaction_id)
        .order_by(Posting.transaction_id.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(Posting.transaction_id < before)
    if store_id is not None:
        # Another store's operations stay out of sight; chain-wide ones (jobs) are shown.
        statement = statement.join(JournalTransaction, JournalTransaction.id == Posting.transaction_id).where(
            (JournalTransaction.store_id == store_id) | JournalTransaction.store_id.is_(None)
        )
    return list(session.execute(statement).scalars())


def _rows(session: Session, member_id: str, kinds: tuple[str, ...], transaction_ids: list[int]):  # type: ignore[no-untyped-def]
    return session.execute(
        select(
            JournalTransaction.id,
            JournalTransaction.kind,
            JournalTransaction.order_no,
            JournalTransaction.store_id,
            JournalTransaction.created_at,
            Account.kind.label("account_kind"),
            Account.expires_at,
            Posting.amount,
            Posting.reason,
            Posting.balance_after,
            Posting.id.label("posting_id"),
        )
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(JournalTransaction.id.in_(transaction_ids), Account.member_id == member_id, Account.kind.in_(kinds))
        .order_by(JournalTransaction.id.desc(), Posting.id)
    ).all()


def _after(session: Session, member_id: str, after: dict[str, int], kind: AccountKind, transaction_id: int) -> int:
    """A bucket's balance after a transaction; one that did not touch it keeps the last known balance."""
    if kind.value in after:
        return after[kind.value]
    latest = session.execute(
        select(Posting.balance_after)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.member_id == member_id, Account.kind == kind.value, Posting.transaction_id < transaction_id)
        .order_by(Posting.transaction_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return latest or 0


def money_history(
    session: Session, member_id: str, before: int | None, limit: int, store_id: str | None = None
) -> tuple[list[MoneyEntry], int | None]:
    limit = max(1, min(limit, MAX_PAGE))
    ids = _page_transaction_ids(session, member_id, _MONEY_KINDS, before, limit + 1, store_id)
    page, more = ids[:limit], len(ids) > limit
    changes: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    afters: dict[int, dict[str, int]] = defaultdict(dict)
    heads = {}
    for row in _rows(session, member_id, _MONEY_KINDS, page):
        heads[row.id] = row
        changes[row.id][row.account_kind] += row.amount
        afters[row.id][row.account_kind] = row.balance_after
    entries = []
    for transaction_id in page:
        head = heads[transaction_id]
        change, after = changes[transaction_id], afters[transaction_id]
        entries.append(
            MoneyEntry(
                transaction_id=transaction_id,
                kind=head.kind,
                order_no=head.order_no,
                store_id=head.store_id,
                created_at=head.created_at,
                principal_change=Money(change[AccountKind.MEMBER_PRINCIPAL.value]),
                bonus_change=Money(change[AccountKind.MEMBER_BONUS.value]),
                principal_after=Money(_after(session, member_id, after, AccountKind.MEMBER_PRINCIPAL, transaction_id)),
                bonus_after=Money(_after(session, member_id, after, AccountKind.MEMBER_BONUS, transaction_id)),
            )
        )
    return entries, (page[-1] if more else None)


def points_history(
    session: Session, member_id: str, before: int | None, limit: int, store_id: str | None = None
) -> tuple[list[PointsEntry], int | None]:
    """One entry per transaction and type: a checkout shows points used and points earned apart."""
    limit = max(1, min(limit, MAX_PAGE))
    ids = _page_transaction_ids(session, member_id, _POINTS_KINDS, before, limit + 1, store_id)
    page, more = ids[:limit], len(ids) > limit
    grouped: dict[tuple[int, str], list] = defaultdict(list)  # type: ignore[type-arg]
    for row in _rows(session, member_id, _POINTS_KINDS, page):
        grouped[(row.id, row.reason)].append(row)
    entries = []
    for (transaction_id, reason), rows in grouped.items():
        total = sum(row.amount for row in rows)
        if total == 0:
            continue
        expiries = [row.expires_at for row in rows if row.amount > 0 and row.expires_at is not None]
        head = rows[0]
        entries.append(
            PointsEntry(
                transaction_id,
                reason,
                total,
                head.order_no,
                head.store_id,
                head.created_at,
                min(expiries) if expiries else None,
            )
        )
    return entries, (page[-1] if more else None)
