"""`dinecard reconcile` on a real ledger: exit 0 when it agrees, exit 1 naming the check a corruption breaks."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.cli import app
from dinecard.platform.container import Container
from dinecard.platform.settings import get_settings
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from tests.conftest import TEST_KEY

CACHED_BALANCES = "member balances equal the sum of their postings"
MEMBER_TOTALS = "member cumulative figures and lifetime points match the records"
BALANCED_TRANSACTIONS = "every journal transaction balances (per unit)"

Invoke = Callable[..., Result]


def _flat(output: str) -> str:
    """Rich wraps long lines at the terminal width; compare with whitespace collapsed."""
    return " ".join(output.split())


def _failed(output: str, check_name: str) -> bool:
    return re.search(r"FAILED \(\d+\) " + re.escape(check_name), _flat(output)) is not None


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point the CLI's settings at a database; get_settings() is cached, so clear it around each use."""
    for name in [name for name in os.environ if name.startswith("DINECARD_")]:
        monkeypatch.delenv(name)

    def point_at(database_url: str) -> None:
        monkeypatch.setenv("DINECARD_DATABASE_URL", database_url)
        monkeypatch.setenv("DINECARD_DATA_KEY", TEST_KEY)
        monkeypatch.setenv("DINECARD_DATA_DIR", str(tmp_path / "cli-data"))
        get_settings.cache_clear()

    return point_at


@pytest.fixture
def invoke(cli_env: Callable[[str], None], monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Run the Typer app in-process; the containers it builds are disposed afterwards."""
    built: list[Container] = []
    from_settings = Container.from_settings.__func__  # type: ignore[attr-defined]

    def tracking(cls: type[Container], settings: Any) -> Container:
        container = from_settings(cls, settings)
        built.append(container)
        return container

    monkeypatch.setattr(Container, "from_settings", classmethod(tracking))
    runner = CliRunner()

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        return runner.invoke(app, list(args))

    yield run
    get_settings.cache_clear()
    for container in built:
        container.database.dispose()


def _some_history(container: Container) -> str:
    """Two members with recharges, checkouts (with points), partial refunds; returns one member's id."""
    program = container.program
    now = container.clock.now()
    with container.database.write() as uow:
        store_id = create_store(uow, "R001", "对账测试店", now).id
        wang = register_member(uow, container.cipher, program, RegisterMember(phone="13700000001"), now)
        li = register_member(uow, container.cipher, program, RegisterMember(phone="13700000002"), now)

    def run(operation: Callable[[Any, Any], Any]) -> Any:
        with container.database.write() as uow:
            return operation(uow, container.clock.now())

    def recharge(member_id: str, fen: int) -> wallet.RechargeResult:
        command = wallet.RechargeCommand(member_id, store_id, Money(fen), wallet.PaymentMethod.ALIPAY)
        return run(lambda uow, now: wallet.recharge(uow, program, command, now))

    def checkout(member_id: str, bill_fen: int, use_points: int = 0) -> wallet.CheckoutResult:
        command = wallet.CheckoutCommand(member_id, store_id, Money(bill_fen), use_points=use_points)
        return run(lambda uow, now: wallet.checkout(uow, program, command, now))

    recharge(wang, 50_000)
    big = recharge(li, 100_000)
    dinner = checkout(wang, 12_800, use_points=200)
    checkout(li, 68_800)
    run(lambda uow, now: wallet.refund(uow, program, dinner.order_no, Money(3_000), now, "菜品问题"))
    run(lambda uow, now: wallet.refund(uow, program, big.order_no, Money(10_000), now, "部分退卡"))
    return wang


@pytest.mark.parametrize(
    ("statement", "check_name"),
    [
        (
            "UPDATE ledger_accounts SET balance = balance + 1 WHERE member_id = :member AND kind = 'member_principal'",
            CACHED_BALANCES,
        ),
        ("UPDATE members SET cumulative_consume_fen = cumulative_consume_fen + 100 WHERE id = :member", MEMBER_TOTALS),
        (
            "UPDATE ledger_postings SET amount = amount + 1 WHERE id = (SELECT max(id) FROM ledger_postings)",
            BALANCED_TRANSACTIONS,
        ),
    ],
    ids=["cached-balance", "member-totals", "posting-amount"],
)
def test_reconcile_exits_0_on_a_real_ledger_and_1_naming_the_check_a_corruption_breaks(
    container: Container, invoke: Invoke, cli_env: Callable[[str], None], statement: str, check_name: str
) -> None:
    # given a ledger written by the real services
    member_id = _some_history(container)
    cli_env(container.database.url)

    # when it is reconciled, then every check passes
    clean = invoke("reconcile")
    assert clean.exit_code == 0, clean.output
    assert "all checks passed" in _flat(clean.output)
    assert "FAILED" not in clean.output

    # when a row is changed behind the ledger's back
    with container.database.write() as uow:
        uow.session.execute(text(statement), {"member": member_id})

    # then reconcile exits 1 and names the check that broke
    broken = invoke("reconcile")
    assert broken.exit_code == 1, broken.output
    assert _failed(broken.output, check_name), broken.output
    summary = _flat(broken.output).split("journal transactions: ")[-1]
    assert summary.startswith("FAILED:") and check_name in summary, summary


def test_demo_chain_reconciles_and_the_console_script_exits_1_on_corruption(
    tmp_path: Path, invoke: Invoke, cli_env: Callable[[str], None]
) -> None:
    # given a fresh embedded database with the demo chain loaded through the CLI
    database_path = tmp_path / "demo.db"
    cli_env(f"sqlite:///{database_path}")
    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    loaded = invoke("demo", "load", "--members", "30", "--days", "20")
    assert loaded.exit_code == 0, loaded.output
    assert "30 members" in loaded.output

    # when it is reconciled by the installed entry point in its own process, then it passes
    command = [sys.executable, "-c", "from dinecard.platform.cli import main; main()", "reconcile"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("DINECARD_")}
    env.update(
        DINECARD_DATABASE_URL=f"sqlite:///{database_path}",
        DINECARD_DATA_KEY=TEST_KEY,
        DINECARD_DATA_DIR=str(tmp_path / "cli-data"),
    )
    passed = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "all checks passed" in _flat(passed.stdout)

    # when a cached balance is corrupted, then the process exits 1 naming the check
    with sqlite3.connect(database_path) as connection:
        connection.execute(
            "UPDATE ledger_accounts SET balance = balance + 1 "
            "WHERE id = (SELECT min(id) FROM ledger_accounts WHERE kind = 'member_bonus' AND balance > 0)"
        )
    failed = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert _failed(failed.stdout, CACHED_BALANCES), failed.stdout
