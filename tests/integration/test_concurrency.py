"""Concurrency on PostgreSQL: many threads on one member, a retry storm against real API processes,
and a canary proving the harness catches a lost update. Every loop is bounded in count and time;
all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from dinecard.ledger.domain import AccountKind
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.ledger.reconcile import run_reconciliation
from dinecard.ledger.service import load_member_accounts
from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.container import Container
from dinecard.platform.db import UnitOfWork
from dinecard.security.domain import Role
from dinecard.security.service import create_api_key
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from dinecard.wallet.models import Checkout
from tests.conftest import TEST_KEY

THREADS = 16
OPERATIONS_PER_THREAD = 12
HAMMER_SECONDS_MAX = 60.0
STORM_REQUESTS = 64
SERVER_START_SECONDS_MAX = 40.0


# ---------------------------------------------------------------- the harness


def hammer(jobs_per_thread: list[list[Callable[[], Any]]], seconds_max: float = HAMMER_SECONDS_MAX) -> list[Any]:
    """Release all threads at once; each runs its jobs in order. Returns every job's result or exception."""
    barrier = threading.Barrier(len(jobs_per_thread))
    deadline = time.monotonic() + seconds_max

    def run(jobs: list[Callable[[], Any]]) -> list[Any]:
        barrier.wait(timeout=30)
        outcomes: list[Any] = []
        for job in jobs:
            if time.monotonic() > deadline:
                outcomes.append(TimeoutError("the hammer ran out of time"))
                break
            try:
                outcomes.append(job())
            except Exception as exc:  # every failure is an outcome the test judges
                outcomes.append(exc)
        return outcomes

    with ThreadPoolExecutor(max_workers=len(jobs_per_thread)) as pool:
        futures = [pool.submit(run, jobs) for jobs in jobs_per_thread]
        return [outcome for future in futures for outcome in future.result(timeout=seconds_max + 60)]


def lost_updates(initial: int, final: int, debits: list[int], credits: list[int]) -> int:
    """How far the final balance is from what the successful operations add up to (0: none lost)."""
    return final - (initial + sum(credits) - sum(debits))


def refusal_codes(outcomes: list[Any]) -> Counter[str]:
    return Counter(outcome.code for outcome in outcomes if isinstance(outcome, DomainError))


def unexpected(outcomes: list[Any], allowed_codes: set[str]) -> list[Any]:
    return [
        outcome
        for outcome in outcomes
        if isinstance(outcome, BaseException)
        and not (isinstance(outcome, DomainError) and outcome.code in allowed_codes)
    ]


def in_transaction(container: Container, operation: Callable[[UnitOfWork, datetime], Any]) -> Any:
    with container.database.write() as uow:
        return operation(uow, container.clock.now())


def setup_member(container: Container, phone: str, recharge_fen: int) -> tuple[str, str]:
    """A store and a member with one recharge; returns (store id, member id)."""
    now = container.clock.now()
    with container.database.write() as uow:
        store_id = create_store(uow, f"C{phone[-4:]}", "并发测试店", now).id
        member_id = register_member(uow, container.cipher, container.program, RegisterMember(phone=phone), now)
    command = wallet.RechargeCommand(member_id, store_id, Money(recharge_fen), wallet.PaymentMethod.WECHAT)
    in_transaction(container, lambda uow, now: wallet.recharge(uow, container.program, command, now))
    return store_id, member_id


def member_money(container: Container, member_id: str) -> tuple[int, int]:
    with container.database.read() as session:
        accounts = load_member_accounts(session, member_id)
    return accounts.principal, accounts.bonus


def assert_reconciles(container: Container) -> None:
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    assert report.ok, {check.name: check.failures[:3] for check in report.checks if check.failures}


# ---------------------------------------------------------------- a. one member, many tills


def test_concurrent_balance_only_checkouts_on_one_member_never_overspend(pg_container: Container) -> None:
    # given a diamond member (2000 recharged: 2000 + 500 bonus, 85 % price) at one store
    container = pg_container
    store_id, member_id = setup_member(container, "13900000001", 200_000)
    program = container.program

    def checkout(bill_fen: int) -> Callable[[], Any]:
        command = wallet.CheckoutCommand(member_id, store_id, Money(bill_fen), balance_only=True)
        return lambda: in_transaction(container, lambda uow, now: wallet.checkout(uow, program, command, now))

    def recharge() -> Any:
        command = wallet.RechargeCommand(member_id, store_id, Money(20_000), wallet.PaymentMethod.CASH)
        return in_transaction(container, lambda uow, now: wallet.recharge(uow, program, command, now))

    # Demand (~180 bills of 20-80 yuan) is well above supply (2500 + 12 x 220), so the balance runs out
    # while the tills are still busy: the overspend race is really contested.
    rng = random.Random(20260302)
    jobs = [
        [
            recharge if thread % 4 == 0 and index % 4 == 3 else checkout(rng.randint(2_000, 8_000))
            for index in range(OPERATIONS_PER_THREAD)
        ]
        for thread in range(THREADS)
    ]
    lowest_seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        for _ in range(5_000):
            if stop.is_set():
                return
            principal, bonus = member_money(container, member_id)
            lowest_seen.append(min(principal, bonus))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    # when every till checks out at once
    try:
        outcomes = hammer(jobs)
    finally:
        stop.set()
        watcher.join(timeout=10)

    # then only insufficient_balance refusals happened, and some of them did
    assert unexpected(outcomes, {errors.INSUFFICIENT_BALANCE.code}) == []
    checkouts = [o for o in outcomes if isinstance(o, wallet.CheckoutResult)]
    recharges = [o for o in outcomes if isinstance(o, wallet.RechargeResult)]
    assert len(checkouts) + len(recharges) + sum(refusal_codes(outcomes).values()) == THREADS * OPERATIONS_PER_THREAD
    refused = refusal_codes(outcomes)[errors.INSUFFICIENT_BALANCE.code]
    print(f"\n{len(checkouts)} checkouts, {len(recharges)} recharges, {refused} refused for balance")
    assert checkouts and recharges and refused > 0

    # and no balance was ever negative, neither as seen by the watcher nor as returned to a till
    assert lowest_seen and min(lowest_seen) >= 0
    for result in checkouts:
        assert result.paid_principal + result.paid_bonus == result.payable and result.due_other_tender.fen == 0
        assert result.member.principal.fen >= 0 and result.member.bonus.fen >= 0

    # and every successful checkout is recorded exactly once, and nothing else is
    with container.database.read() as session:
        rows = session.execute(
            select(Checkout.order_no, Checkout.payable_fen).where(Checkout.member_id == member_id)
        ).all()
    assert sorted(order_no for order_no, _ in rows) == sorted(result.order_no for result in checkouts)
    assert sum(payable for _, payable in rows) == sum(result.payable.fen for result in checkouts)

    # and the final balance is what the successful operations add up to, to the fen
    principal, bonus = member_money(container, member_id)
    assert (
        lost_updates(200_000, principal, [r.paid_principal.fen for r in checkouts], [r.amount.fen for r in recharges])
        == 0
    )
    assert lost_updates(50_000, bonus, [r.paid_bonus.fen for r in checkouts], [r.bonus.fen for r in recharges]) == 0
    payables = sum(r.payable.fen for r in checkouts)
    assert principal + bonus == 250_000 + sum(r.amount.fen + r.bonus.fen for r in recharges) - payables

    # and every till was told the balance after its own operation in one serial order: the ledger's
    assert_serial_order(container, member_id, [*checkouts, *recharges])
    assert_reconciles(container)


def assert_serial_order(container: Container, member_id: str, results: list[Any]) -> None:
    """Replaying the member's money postings in transaction order gives each result's balances after."""
    reported = {result.order_no: (result.member.principal.fen, result.member.bonus.fen) for result in results}
    with container.database.read() as session:
        rows = session.execute(
            select(JournalTransaction.order_no, Account.kind, func.sum(Posting.amount))
            .join(Posting, Posting.transaction_id == JournalTransaction.id)
            .join(Account, Account.id == Posting.account_id)
            .where(
                Account.member_id == member_id,
                Account.kind.in_([AccountKind.MEMBER_PRINCIPAL.value, AccountKind.MEMBER_BONUS.value]),
            )
            .group_by(JournalTransaction.id, JournalTransaction.order_no, Account.kind)
            .order_by(JournalTransaction.id)
        ).all()
    running = {AccountKind.MEMBER_PRINCIPAL.value: 0, AccountKind.MEMBER_BONUS.value: 0}
    after: dict[str, tuple[int, int]] = {}
    for order_no, kind, amount in rows:
        running[kind] += amount
        assert running[kind] >= 0, f"{kind} went negative at {order_no}"
        after[order_no] = (running[AccountKind.MEMBER_PRINCIPAL.value], running[AccountKind.MEMBER_BONUS.value])
    for order_no, balances in reported.items():
        assert after[order_no] == balances, f"{order_no}: reported {balances}, ledger order gives {after[order_no]}"


# ---------------------------------------------------------------- many members, fresh stores


def test_members_on_fresh_stores_do_not_interfere_or_deadlock(pg_container: Container) -> None:
    # given 16 members and two stores whose counter accounts do not exist yet
    container = pg_container
    program = container.program
    now = container.clock.now()
    with container.database.write() as uow:
        store_ids = [create_store(uow, f"F{index}", f"新店{index}", now).id for index in range(2)]
        member_ids = [
            register_member(uow, container.cipher, program, RegisterMember(phone=f"1360000{index:04d}"), now)
            for index in range(THREADS)
        ]

    def story(index: int) -> list[Callable[[], Any]]:
        """Recharge 500, pay 100 from balance and 88.88 in cash, refund the first bill: four first-time writes."""
        member_id, store_id = member_ids[index], store_ids[index % 2]
        method = [wallet.PaymentMethod.WECHAT, wallet.PaymentMethod.ALIPAY][index % 2]
        paid: list[Any] = []

        def recharge() -> Any:
            command = wallet.RechargeCommand(member_id, store_id, Money(50_000), method)
            return in_transaction(container, lambda uow, now: wallet.recharge(uow, program, command, now))

        def checkout(bill_fen: int, with_balance: bool) -> Callable[[], Any]:
            command = wallet.CheckoutCommand(
                member_id, store_id, Money(bill_fen), pay_with_balance=with_balance, other_tender_method=method
            )

            def run() -> Any:
                result = in_transaction(container, lambda uow, now: wallet.checkout(uow, program, command, now))
                paid.append(result)
                return result

            return run

        def refund() -> Any:
            order_no = paid[0].order_no
            return in_transaction(container, lambda uow, now: wallet.refund(uow, program, order_no, None, now))

        return [recharge, checkout(10_000, True), checkout(8_888, False), refund]

    # when all of them go at once
    outcomes = hammer([story(index) for index in range(THREADS)])

    # then nothing was refused or deadlocked, and each member's balance is their own story's
    assert unexpected(outcomes, set()) == [], [repr(o) for o in outcomes if isinstance(o, BaseException)][:3]
    for member_id in member_ids:
        assert member_money(container, member_id) == (50_000, 8_000)  # the bill from balance was refunded
    assert_reconciles(container)


# ---------------------------------------------------------------- c. the canary: a naive wallet loses updates


@pytest.fixture
def canary_engine(postgres_url: str) -> Iterator[Any]:
    engine = create_engine(postgres_url, pool_size=THREADS, max_overflow=4)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS canary_wallet"))
        connection.execute(text("CREATE TABLE canary_wallet (id integer PRIMARY KEY, balance bigint NOT NULL)"))
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS canary_wallet"))
    engine.dispose()


def _withdraw(engine: Any, amount: int, *, lock: bool) -> int:
    """Read the balance, think, write it back less `amount`: without a lock, a classic lost update."""
    with engine.begin() as connection:
        read = "SELECT balance FROM canary_wallet WHERE id = 1" + (" FOR UPDATE" if lock else "")
        balance = connection.execute(text(read)).scalar_one()
        time.sleep(0.005)  # the window between read and write that a naive implementation leaves open
        if balance < amount:
            raise DomainError(errors.INSUFFICIENT_BALANCE)
        connection.execute(
            text("UPDATE canary_wallet SET balance = :balance WHERE id = 1"), {"balance": balance - amount}
        )
    return amount


def _run_canary(engine: Any, *, lock: bool) -> int:
    initial = 10_000
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM canary_wallet"))
        connection.execute(text("INSERT INTO canary_wallet VALUES (1, :balance)"), {"balance": initial})
    jobs = [[lambda: _withdraw(engine, 7, lock=lock) for _ in range(5)] for _ in range(THREADS)]
    outcomes = hammer(jobs, seconds_max=30)
    assert unexpected(outcomes, set()) == []
    with engine.begin() as connection:
        final = connection.execute(text("SELECT balance FROM canary_wallet WHERE id = 1")).scalar_one()
    return lost_updates(initial, final, [o for o in outcomes if isinstance(o, int)], [])


def test_the_harness_catches_a_naive_read_then_write_wallet(canary_engine: Any) -> None:
    # given a wallet that reads, sleeps and writes without a lock, hammered like the real one
    # when 16 threads withdraw at once, then the same balance check finds money appearing from nowhere
    lost = _run_canary(canary_engine, lock=False)
    print(f"\nthe naive wallet lost {lost} fen of debits")
    assert lost > 0

    # and the same wallet with SELECT ... FOR UPDATE passes the same check: the harness is fair
    assert _run_canary(canary_engine, lock=True) == 0


# ---------------------------------------------------------------- b. a retry storm against real API processes


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def api_server(database_url: str, data_dir: Path, workers: int = 2) -> Iterator[str]:
    """uvicorn serving dinecard.platform.asgi:app in its own process group; yields the base URL."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DINECARD_")}
    env.update(
        DINECARD_DATABASE_URL=database_url,
        DINECARD_DATA_KEY=TEST_KEY,
        DINECARD_DATA_DIR=str(data_dir),
        DINECARD_DB_POOL_SIZE="10",
        DINECARD_DB_POOL_OVERFLOW="20",
    )
    log_path = data_dir / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "dinecard.platform.asgi:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=data_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS_MAX
        while True:
            assert process.poll() is None, f"the server exited: {log_path.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, f"the server did not start: {log_path.read_text(errors='replace')}"
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_retry_storm_on_two_api_processes_applies_a_checkout_once(
    pg_container: Container, postgres_url: str, tmp_path: Path
) -> None:
    # given a silver member (500 + 80) and an API key, made directly in the database
    container = pg_container
    store_id, member_id = setup_member(container, "13900000002", 50_000)
    with container.database.write() as uow:
        _key_id, token = create_api_key(uow, "retry storm", Role.HQ_ADMIN, None, container.clock.now())
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    body = {"store_id": store_id, "bill_total": "100.00", "balance_only": True}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"storm-{uuid.uuid4()}"}
    url_path = f"/api/v1/members/{member_id}/checkouts"

    with api_server(postgres_url, data_dir) as base_url:
        # when 64 tills send the same checkout with the same key at the same moment
        def send() -> httpx.Response:
            with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as client:
                return client.post(url_path, json=body, headers=headers)

        responses = hammer([[send] for _ in range(STORM_REQUESTS)], seconds_max=90)

        # then every answer is the same 201, and only one of them was not a replay
        assert unexpected(responses, set()) == []
        statuses = Counter(response.status_code for response in responses)
        assert statuses == {201: STORM_REQUESTS}, {
            status: [r.text for r in responses if r.status_code == status][:2] for status in statuses
        }
        bodies = {json.dumps(response.json(), sort_keys=True) for response in responses}
        assert len(bodies) == 1
        replayed = Counter(response.headers.get("Idempotent-Replayed") for response in responses)
        assert replayed == {None: 1, "true": STORM_REQUESTS - 1}
        answer = responses[0].json()
        assert answer["payable"] == "95.00" and answer["balance"]["total"] == "485.00"

        # and the same key with a different body is refused, not replayed
        with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
            reused = client.post(url_path, json={**body, "bill_total": "101.00"}, headers=headers)
            assert reused.status_code == 409, reused.text
            assert reused.json()["code"] == errors.IDEMPOTENCY_KEY_REUSED.code

            # and a new key is a new checkout
            fresh = client.post(url_path, json=body, headers={**headers, "Idempotency-Key": f"storm-{uuid.uuid4()}"})
            assert fresh.status_code == 201, fresh.text
            assert fresh.json()["order_no"] != answer["order_no"]

    # and the database holds exactly the two checkouts, the balance decreased twice by 95.00
    with container.database.read() as session:
        order_nos = session.execute(select(Checkout.order_no).where(Checkout.member_id == member_id)).scalars().all()
    assert sorted(order_nos) == sorted([answer["order_no"], fresh.json()["order_no"]])
    assert member_money(container, member_id) == (50_000 - 2 * 8_190, 8_000 - 2 * 1_310)
    assert_reconciles(container)
