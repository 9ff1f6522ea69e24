"""Helpers for the daily-job tests: members and points made by the real services, read back from the ledger."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from dinecard.ledger.domain import AccountKind
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.members.service import RegisterMember, member_view, register_member
from dinecard.platform.cli import app
from dinecard.platform.container import Container
from dinecard.platform.outbox import OutboxMessage
from dinecard.platform.settings import get_settings
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from tests.conftest import TEST_KEY

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year: int, month: int, day: int, hour: int = 12, microsecond: int = 0) -> datetime:
    """A wall-clock moment in the business time zone, as UTC."""
    return datetime(year, month, day, hour, tzinfo=SHANGHAI).replace(microsecond=microsecond).astimezone(UTC)


def midnight(day: date) -> datetime:
    """The first instant of a business day, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def store_id(container: Container) -> str:
    with container.database.write() as uow:
        return create_store(uow, "J001", "定时任务测试店", container.clock.now()).id


def new_member(container: Container, phone: str) -> str:
    with container.database.write() as uow:
        return register_member(
            uow, container.cipher, container.program, RegisterMember(phone=phone), container.clock.now()
        )


def recharge(container: Container, member_id: str, store_id: str, yuan: int) -> wallet.RechargeResult:
    command = wallet.RechargeCommand(member_id, store_id, Money(yuan * 100), wallet.PaymentMethod.WECHAT)
    with container.database.write() as uow:
        return wallet.recharge(uow, container.program, command, container.clock.now())


def checkout(container: Container, member_id: str, store_id: str, yuan: int, use_points: int = 0) -> None:
    command = wallet.CheckoutCommand(member_id, store_id, Money(yuan * 100), use_points=use_points)
    with container.database.write() as uow:
        wallet.checkout(uow, container.program, command, container.clock.now())


def lots(container: Container, member_id: str) -> dict[datetime | None, int]:
    """A member's points lots by expiry moment, empty ones included."""
    with container.database.read() as session:
        rows = session.execute(
            select(Account.expires_at, Account.balance).where(
                Account.member_id == member_id, Account.kind == AccountKind.MEMBER_POINTS_LOT.value
            )
        ).all()
    return {expires_at: balance for expires_at, balance in rows}


def usable_points(container: Container, member_id: str) -> int:
    with container.database.read() as session:
        view = member_view(session, container.cipher, container.program, member_id, container.clock.now())
    return view.points_usable


def expired_counter_total(container: Container) -> int:
    with container.database.read() as session:
        return session.execute(
            select(func.coalesce(func.sum(Posting.amount), 0))
            .join(Account, Account.id == Posting.account_id)
            .where(Account.kind == AccountKind.POINTS_EXPIRED.value)
        ).scalar_one()


def expiry_transactions(container: Container, member_id: str | None = None) -> int:
    """Expiry journal transactions, or those with a leg on the member's own accounts."""
    statement = select(func.count(func.distinct(JournalTransaction.id))).where(
        JournalTransaction.kind == "points_expired"
    )
    if member_id is not None:
        statement = (
            statement.join(Posting, Posting.transaction_id == JournalTransaction.id)
            .join(Account, Account.id == Posting.account_id)
            .where(Account.member_id == member_id)
        )
    with container.database.read() as session:
        return session.execute(statement).scalar_one()


def messages(container: Container, topic: str | None = None) -> list[OutboxMessage]:
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if topic is not None:
        statement = statement.where(OutboxMessage.topic == topic)
    with container.database.read() as session:
        return list(session.execute(statement).scalars())


def assert_reconciles(container: Container) -> None:
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    assert report.ok, [(check.name, check.failures) for check in report.checks if check.failures]


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, datetime], Invoke]]:
    """`invoke_at(database_url, now)` gives a runner of the Typer app against that database, its clock pinned."""
    for name in [name for name in os.environ if name.startswith("DINECARD_")]:
        monkeypatch.delenv(name)
    built: list[Container] = []
    from_settings = Container.from_settings.__func__  # type: ignore[attr-defined]

    def tracking(cls: type[Container], settings: Any) -> Container:
        container = from_settings(cls, settings)
        built.append(container)
        return container

    monkeypatch.setattr(Container, "from_settings", classmethod(tracking))
    runner = CliRunner()

    def invoke_at(database_url: str, now: datetime) -> Invoke:
        def run(*args: str) -> Result:
            monkeypatch.setenv("DINECARD_DATABASE_URL", database_url)
            monkeypatch.setenv("DINECARD_DATA_KEY", TEST_KEY)
            monkeypatch.setenv("DINECARD_DATA_DIR", str(tmp_path / "cli-data"))
            monkeypatch.setenv("DINECARD_NOW", now.isoformat())
            get_settings.cache_clear()
            return runner.invoke(app, list(args))

        return run

    yield invoke_at
    get_settings.cache_clear()
    for container in built:
        container.database.dispose()
