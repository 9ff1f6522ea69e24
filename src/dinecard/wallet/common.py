"""What every wallet operation shares: payment methods, the balances after, ledger legs, notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.ledger.service import MemberAccounts
from dinecard.members.models import Member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.points.domain import usable_points
from dinecard.program.domain import LevelRule, Program
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stores.models import Store

FEN = Unit.FEN


class PaymentMethod(StrEnum):
    CASH = "cash"
    BANK_CARD = "bank_card"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    OTHER = "other"


class Channel(StrEnum):
    OFFLINE = "offline"  # at the till
    ONLINE = "online"  # on the member's own phone


@dataclass(frozen=True)
class MemberAfter:
    """A member's level, balances and points right after an operation (R-PAY-5)."""

    level: LevelRule
    principal: Money
    bonus: Money
    points_usable: int
    points_lifetime: int


def member_after(program: Program, member: Member, accounts: MemberAccounts, now: datetime) -> MemberAfter:
    return MemberAfter(
        level=program.level(member.level_code),
        principal=Money(accounts.principal),
        bonus=Money(accounts.bonus),
        points_usable=usable_points(accounts.lots, accounts.debt, now),
        points_lifetime=member.points_lifetime,
    )


def require_store(uow: UnitOfWork, store_id: str) -> None:
    known = uow.database.known_store_ids
    if store_id in known:
        return
    if uow.session.execute(select(Store.id).where(Store.id == store_id)).first() is None:
        raise DomainError(errors.STORE_NOT_FOUND)
    # A store row read in an uncommitted transaction could still vanish; stores are created
    # in their own transaction, so one visible here is committed.
    known.add(store_id)


def money_entries(
    uow: UnitOfWork, accounts: MemberAccounts, principal: int, bonus: int, reason: EntryReason
) -> list[Entry]:
    entries = [
        Entry(accounts.principal_id, AccountKind.MEMBER_PRINCIPAL, principal, FEN, reason),
        Entry(accounts.bonus_id, AccountKind.MEMBER_BONUS, bonus, FEN, reason),
    ]
    ledger.apply_to_snapshot(accounts, entries)
    return entries


def notify(
    uow: UnitOfWork,
    member_id: str,
    topic: str,
    order_no: str,
    after: MemberAfter,
    now: datetime,
    extra: dict[str, Any],
) -> None:
    outbox.enqueue(
        uow,
        member_id=member_id,
        topic=topic,
        now=now,
        payload={
            "order_no": order_no,
            "principal": after.principal.yuan(),
            "bonus": after.bonus.yuan(),
            "points": after.points_usable,
            "level": after.level.code,
            **extra,
        },
    )
