"""A member's life, step by step, through the real services with the injected clock.

`Life` keeps one member, one store and the clock together so a scenario reads like a diary:
move the clock, do something, then `expect` every figure the member sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dinecard.ledger.domain import AccountKind
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.levels.models import LevelHistory
from dinecard.members.service import RegisterMember, member_view, register_member
from dinecard.menu.service import DishFields, as_menu_dish, create_dish, dishes_by_id
from dinecard.platform.container import Container
from dinecard.platform.db import UnitOfWork
from dinecard.platform.jobs import RunStatus, run_due
from dinecard.program import service as programs
from dinecard.program.domain import Program
from dinecard.shared.clock import FixedClock
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A wall-clock moment in the business time zone, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass(frozen=True)
class Figures:
    """Everything the member sees, as the till would print it."""

    principal: str
    bonus: str
    pending_bonus: str
    usable: int
    lifetime: int
    level: str
    history: tuple[tuple[str, str, str], ...]


class Life:
    """One member's year at one store, driven by a pinned clock."""

    def __init__(self, container: Container, clock: FixedClock) -> None:
        self.container = container
        self.clock = clock
        self.member_id = ""
        with container.database.write() as uow:
            self.store_id = create_store(uow, "L001", "场景测试店", clock.now()).id

    # ------------------------------------------------------------ time and programme

    def at(self, year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> None:
        moment = shanghai(year, month, day, hour, minute)
        assert moment >= self.clock.now(), "a scenario only moves forward"
        self.clock.set(moment)

    @property
    def program(self) -> Program:
        return self.container.programs.at(self.clock.now())

    def adopt(self, document: dict[str, Any] | Program, note: str = "scenario") -> Program:
        """Save a programme (or its document) as the new version, in force from now."""
        program = document if isinstance(document, Program) else Program.model_validate(document)
        now = self.clock.now()
        with self.container.database.write() as uow:
            saved = programs.save_version(uow, program, now, now, "scenario", note)
        self.container.programs.invalidate()
        assert self.program.version == saved.version
        return saved

    # ------------------------------------------------------------ operations

    def register(self, phone: str, birthday: date | None = None) -> str:
        with self.container.database.write() as uow:
            self.member_id = register_member(
                uow,
                self.container.cipher,
                self.program,
                RegisterMember(phone=phone, birthday=birthday, store_id=self.store_id),
                self.clock.now(),
            )
        return self.member_id

    def recharge(self, yuan: str, member_id: str | None = None) -> wallet.RechargeResult:
        command = wallet.RechargeCommand(
            member_id or self.member_id, self.store_id, Money.parse_yuan(yuan), wallet.PaymentMethod.WECHAT
        )
        with self.container.database.write() as uow:
            return wallet.recharge(uow, self.program, command, self.clock.now())

    def checkout(
        self,
        bill: str,
        items: tuple[tuple[str, str, int, str], ...] = (),
        use_points: int = 0,
        pay_with_balance: bool = True,
    ) -> wallet.CheckoutResult:
        """items: (dish_id, name, quantity, unit price); whatever the balance does not cover is paid in cash."""
        command = wallet.CheckoutCommand(
            member_id=self.member_id,
            store_id=self.store_id,
            bill_total=Money.parse_yuan(bill),
            items=tuple(
                wallet.LineItem(dish_id, name, quantity, Money.parse_yuan(price))
                for dish_id, name, quantity, price in items
            ),
            use_points=use_points,
            pay_with_balance=pay_with_balance,
            other_tender_method=wallet.PaymentMethod.CASH,
        )
        with self.container.database.write() as uow:
            _put_on_menu(uow, items, self.clock.now())
        with self.container.database.write() as uow:
            return wallet.checkout(uow, self.program, command, self.clock.now())

    def refund(self, order_no: str, yuan: str | None = None) -> wallet.RefundResult:
        amount = Money.parse_yuan(yuan) if yuan is not None else None
        with self.container.database.write() as uow:
            return wallet.refund(uow, self.program, order_no, amount, self.clock.now(), "scenario")

    def run_jobs(self, day: date | None = None, rerun: bool = False) -> dict[str, dict[str, int]]:
        """Every daily job for a business date (default: today); returns what each did."""
        outcomes = run_due(self.container, as_of=day, rerun=rerun)
        failed = [(outcome.job, outcome.error) for outcome in outcomes if outcome.status is RunStatus.FAILED]
        assert not failed, failed
        return {outcome.job: outcome.counts for outcome in outcomes if outcome.status is RunStatus.RAN}

    # ------------------------------------------------------------ reading back

    def figures(self) -> Figures:
        with self.container.database.read() as session:
            view = member_view(session, self.container.cipher, self.program, self.member_id, self.clock.now())
            history = session.execute(
                select(LevelHistory.from_level, LevelHistory.to_level, LevelHistory.reason)
                .where(LevelHistory.member_id == self.member_id)
                .order_by(LevelHistory.id)
            ).all()
        return Figures(
            principal=view.principal.yuan(),
            bonus=view.bonus.yuan(),
            pending_bonus=view.pending_bonus.yuan(),
            usable=view.points_usable,
            lifetime=view.points_lifetime,
            level=view.level.code,
            history=tuple((str(a), str(b), str(c)) for a, b, c in history),
        )

    def expect(
        self,
        *,
        principal: str,
        bonus: str,
        usable: int,
        lifetime: int,
        level: str,
        history: list[tuple[str, str, str]],
        pending_bonus: str = "0.00",
    ) -> None:
        expected = Figures(principal, bonus, pending_bonus, usable, lifetime, level, tuple(history))
        assert self.figures() == expected

    def lots(self) -> dict[date, int]:
        """The member's points lots by the business day they expire on (the first day they are gone), empty ones too."""
        with self.container.database.read() as session:
            rows = session.execute(
                select(Account.expires_at, Account.balance).where(
                    Account.member_id == self.member_id, Account.kind == AccountKind.MEMBER_POINTS_LOT.value
                )
            ).all()
        lots: dict[date, int] = {}
        for expires_at, balance in rows:
            assert expires_at is not None, "these programmes never give points that never expire"
            # expires_at is the first instant the lot is no longer usable: 00:00 of that day.
            first_day_gone = expires_at.astimezone(SHANGHAI).date()
            lots[first_day_gone] = lots.get(first_day_gone, 0) + balance
        return lots

    def points_expired(self) -> int:
        """Points of this member's lots the chain has written off as expired (the expiry legs on their lots)."""
        with self.container.database.read() as session:
            total: int = session.execute(
                select(func.coalesce(-func.sum(Posting.amount), 0))
                .join(Account, Account.id == Posting.account_id)
                .join(JournalTransaction, JournalTransaction.id == Posting.transaction_id)
                .where(
                    Account.member_id == self.member_id,
                    Account.kind == AccountKind.MEMBER_POINTS_LOT.value,
                    JournalTransaction.kind == "points_expired",
                )
            ).scalar_one()
        return total

    def transactions(self, kind: str | None = None) -> int:
        statement = select(func.count()).select_from(JournalTransaction)
        if kind is not None:
            statement = statement.where(JournalTransaction.kind == kind)
        with self.container.database.read() as session:
            count: int = session.execute(statement).scalar_one()
        return count

    def assert_reconciles(self) -> None:
        with self.container.database.read() as session:
            report = run_reconciliation(session, self.clock.now())
        assert report.ok, [(check.name, check.failures) for check in report.checks if check.failures]


@pytest.fixture
def life(container: Container, clock: FixedClock) -> Iterator[Life]:
    yield Life(container, clock)


def _put_on_menu(uow: UnitOfWork, items: tuple[tuple[str, str, int, str], ...], now: datetime) -> None:
    """The scripted years sell dishes by id: each is put on the menu the first time it is sold."""
    known = dishes_by_id(uow.session, [dish_id for dish_id, *_ in items])
    for dish_id, name, _quantity, price in items:
        if dish_id not in known:
            fields = DishFields(name, None, "菜品", Money.parse_yuan(price), None, None)
            known[dish_id] = as_menu_dish(create_dish(uow, dish_id, fields, now))
