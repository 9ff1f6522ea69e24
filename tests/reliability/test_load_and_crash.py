"""A busy evening over HTTP, with and without crashes: nothing acknowledged is lost, nothing is applied twice,
nothing is half-applied, and every fen and point adds up. See docs/reliability.md.

CI runs small sizes; DINECARD_RELIABILITY_FULL=1 runs the full ones (10,000 operations with several API processes,
20 worker kills during 10,000 more, 3 PostgreSQL restarts, 20 kills of the embedded SQLite server).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from dinecard.ledger.reconcile import run_reconciliation
from dinecard.platform.db import Database
from tests.integration.test_concurrency import _withdraw, hammer, lost_updates, unexpected
from tests.reliability.checks import Verdict, verify
from tests.reliability.load import FULL, Load, make_tills
from tests.reliability.servers import DinecardServer, PrivateCluster, run_reconcile_cli


@dataclass(frozen=True)
class Size:
    tills: int
    operations: int
    faults: int
    seconds_max: float


def size(ci: Size, full: Size) -> Size:
    return full if FULL else ci


MIXED = size(Size(64, 1_500, 0, 240), Size(64, 10_000, 0, 1_200))
WORKER_KILLS = size(Size(64, 1_000, 3, 240), Size(64, 10_000, 20, 1_200))
PG_RESTARTS = size(Size(64, 800, 1, 240), Size(64, 6_000, 3, 1_200))
SQLITE_KILLS = size(Size(64, 800, 3, 240), Size(64, 6_000, 20, 1_200))
CANARY_THREADS = 64
# Connections stay well below the shared server's max_connections (100): 2 workers x 12, the canary 24.
PG_POOL = {"DINECARD_DB_POOL_SIZE": "8", "DINECARD_DB_POOL_OVERFLOW": "4"}
CANARY_CONNECTIONS = 24


# ---------------------------------------------------------------- the evening and its checks


def evening(
    database_url: str, server: DinecardServer, tills: int, operations: int, seconds_max: float, seed: int
) -> Load:
    store_ids, keys, (setup_token, setup_key) = make_tills(database_url, tills)
    load = Load(
        base_url=lambda: server.base_url,
        tokens=keys,
        store_ids=store_ids,
        operations=operations,
        seconds_max=seconds_max,
        seed=seed,
    )
    load.setup(setup_token, setup_key)
    return load


def check_everything(name: str, database_url: str, data_dir: Path, load: Load, extra: dict[str, Any]) -> Verdict:
    """The journal against the database, `dinecard reconcile`, and a figures line for docs/reliability.md."""
    started = time.monotonic()
    verdict = verify(database_url, load.journal)
    verified = time.monotonic()
    status, output = run_reconcile_cli(database_url, data_dir)
    summary = next((line.strip() for line in output.splitlines() if "Reconciliation of" in line), output[-300:])
    figures = {
        "check": name,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "size": "full" if FULL else "ci",
        "tills": len(load.tokens),
        "seconds": round(load.elapsed, 1),
        "ops_per_second": round(load.journal.operations() / load.elapsed, 1) if load.elapsed else None,
        **load.journal.summary(),
        **extra,
        **verdict.figures,
        "reconcile": summary,
        "verify_seconds": round(verified - started, 1),
        "reconcile_seconds": round(time.monotonic() - verified, 1),
    }
    print(f"\nRELIABILITY {json.dumps(figures, ensure_ascii=False)}")

    journal = load.journal
    assert journal.failures == [], journal.failures[:10]
    assert journal.unresolved == [], [call for _, call, _ in journal.unresolved[:5]]
    assert journal.operations() >= load.operations, (journal.operations(), load.operations)
    assert verdict.problems == [], verdict.problems
    assert status == 0 and "all checks passed" in output, output[-3000:]
    # The load really did every kind of operation.
    for kind in ("members", "recharges", "checkouts", "refunds", "coupons"):
        assert journal.summary()["acknowledged"][kind] > 0, kind
    assert journal.stats["replays_checked"] > 0
    return verdict


def faults_were_felt(load: Load) -> None:
    """A kill or restart that no request noticed proves nothing: some requests must have failed and been retried."""
    felt = load.journal.stats["transport_errors"] + load.journal.stats["status_5xx"]
    assert felt > 0, load.journal.summary()


# ---------------------------------------------------------------- 1. several API processes, no faults


def test_64_tills_on_two_api_processes_lose_nothing_and_the_naive_wallet_does(rel_pg_url: str, tmp_path: Path) -> None:
    # given `dinecard serve --workers 2` on a fresh PostgreSQL database, and 64 tills with their own keys
    with DinecardServer(rel_pg_url, tmp_path, workers=2, env=PG_POOL) as server:
        load = evening(rel_pg_url, server, MIXED.tills, MIXED.operations, MIXED.seconds_max, seed=1)
        canary: dict[str, int] = {}

        # when they all work at once, while a naive read-then-write wallet runs in the same database
        load.run(fault=lambda _load: canary.update(naive_wallet_under_load(rel_pg_url)))
        logged_errors = server.logged_errors()

    # then nothing failed: no server error, no dropped connection, no timeout but the provoked ones
    stats = load.journal.stats
    assert (stats["status_5xx"], stats["transport_errors"], stats["timeouts"]) == (0, 0, 0), load.journal.summary()
    assert logged_errors == [], logged_errors[:5]

    # and every acknowledged operation is in the database exactly once, nothing else, and every fen adds up
    check_everything("mixed load, 2 API processes, PostgreSQL", rel_pg_url, tmp_path, load, {"canary": canary})

    # and the canary: under the same load the naive wallet lost updates, the locking one did not
    assert canary["naive_lost_fen"] > 0 and canary["locked_lost_fen"] == 0, canary

    # and the checks above have teeth: a lost update or a lost acknowledgment would have been found
    verifier_finds_a_lost_update(rel_pg_url, load)


def naive_wallet_under_load(database_url: str) -> dict[str, int]:
    """The isolation canary of test_concurrency.py, 64 threads, run while the tills hammer the same server."""
    engine = create_engine(database_url, pool_size=CANARY_CONNECTIONS, max_overflow=0)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE canary_wallet (id integer PRIMARY KEY, balance bigint NOT NULL)"))
        lost = {}
        for lock in (False, True):
            initial = 100_000
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM canary_wallet"))
                connection.execute(text("INSERT INTO canary_wallet VALUES (1, :b)"), {"b": initial})
            withdraw = functools.partial(_withdraw, engine, 7, lock=lock)
            jobs = [[withdraw for _ in range(5)] for _ in range(CANARY_THREADS)]
            outcomes = hammer(jobs, seconds_max=120)
            assert unexpected(outcomes, set()) == []
            with engine.begin() as connection:
                final = connection.execute(text("SELECT balance FROM canary_wallet WHERE id = 1")).scalar_one()
            debits = [outcome for outcome in outcomes if isinstance(outcome, int)]
            lost["locked_lost_fen" if lock else "naive_lost_fen"] = lost_updates(initial, final, debits, [])
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE canary_wallet"))
        return lost
    finally:
        engine.dispose()


def verifier_finds_a_lost_update(database_url: str, load: Load) -> None:
    # A till's acknowledgment the database does not have (or an order the tills were never told about).
    some_checkout = next(iter(load.journal.checkouts))
    forgetful = dataclasses.replace(
        load.journal, checkouts={k: v for k, v in load.journal.checkouts.items() if k != some_checkout}
    )
    assert any(some_checkout in problem for problem in verify(database_url, forgetful).problems)

    # A lost update on a cached balance: one member's principal off by a fen, as a read-then-write race leaves it.
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            account = connection.execute(
                text("SELECT id FROM ledger_accounts WHERE kind = 'member_principal' AND balance > 0 LIMIT 1")
            ).scalar_one()
            connection.execute(text("UPDATE ledger_accounts SET balance = balance - 1 WHERE id = :a"), {"a": account})
        try:
            problems = verify(database_url, load.journal).problems
            assert any(problem.startswith("Σ member principal") for problem in problems), problems
            database = Database(database_url)
            try:
                with database.read() as session:
                    assert not run_reconciliation(session, datetime.now(UTC)).ok
            finally:
                database.dispose()
        finally:
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :a"), {"a": account}
                )
    finally:
        engine.dispose()


# ---------------------------------------------------------------- 2. crashes


def kill_workers(server: DinecardServer, kills: int, rng: random.Random) -> Callable[[Load], None]:
    def fault(load: Load) -> None:
        for _ in range(kills):
            time.sleep(rng.uniform(0.5, 2.0))
            load.journal.inflight_at_faults.append(load.journal.inflight)
            server.kill_worker(rng)

    return fault


def test_api_workers_killed_mid_load_lose_nothing(rel_pg_url: str, tmp_path: Path) -> None:
    # given two API processes on PostgreSQL and 64 tills that retry with the same keys
    size_ = WORKER_KILLS
    with DinecardServer(rel_pg_url, tmp_path, workers=2, env=PG_POOL) as server:
        load = evening(rel_pg_url, server, size_.tills, size_.operations, size_.seconds_max, seed=2)

        # when an API worker is killed with SIGKILL at random moments, and the supervisor starts a new one
        load.run(fault=kill_workers(server, size_.faults, random.Random(2)))
        kills = server.worker_kills

    # then every acknowledged operation is there exactly once and nothing is half-applied
    assert kills == size_.faults
    faults_were_felt(load)
    figures = {"worker_kills": kills, "inflight_at_kills": load.journal.inflight_at_faults}
    check_everything("kill -9 API workers, PostgreSQL", rel_pg_url, tmp_path, load, figures)


def test_postgres_immediate_restarts_mid_load_lose_nothing(private_cluster: PrivateCluster, tmp_path: Path) -> None:
    # given two API processes on a private PostgreSQL cluster (the shared server is never touched)
    size_ = PG_RESTARTS
    database_url = private_cluster.create_database("dinecard_rel")
    rng = random.Random(3)

    def restart_postgres(load: Load) -> None:
        for _ in range(size_.faults):
            time.sleep(rng.uniform(1.0, 3.0))
            load.journal.inflight_at_faults.append(load.journal.inflight)
            private_cluster.crash_restart(down_seconds=rng.uniform(0.5, 2.0))

    with DinecardServer(database_url, tmp_path, workers=2, env=PG_POOL) as server:
        load = evening(database_url, server, size_.tills, size_.operations, size_.seconds_max, seed=3)

        # when PostgreSQL goes down with an immediate shutdown (no checkpoint: crash recovery), and comes back
        load.run(fault=restart_postgres)

    # then the same: nothing acknowledged lost, nothing doubled or half-applied, every fen accounted for
    assert private_cluster.restarts == size_.faults
    faults_were_felt(load)
    figures = {"postgres_restarts": private_cluster.restarts, "inflight_at_restarts": load.journal.inflight_at_faults}
    check_everything("PostgreSQL immediate restarts", database_url, tmp_path, load, figures)


def test_embedded_sqlite_server_killed_mid_write_loses_nothing(rel_sqlite_url: str, tmp_path: Path) -> None:
    # given the embedded mode: one `dinecard serve` process on a SQLite file, with its embedded worker
    size_ = SQLITE_KILLS
    rng = random.Random(4)
    with DinecardServer(rel_sqlite_url, tmp_path, workers=1) as server:
        load = evening(rel_sqlite_url, server, size_.tills, size_.operations, size_.seconds_max, seed=4)

        # when the server is killed with SIGKILL in the middle of the writes, and started again on the same port
        def kill_server(load: Load) -> None:
            for _ in range(size_.faults):
                time.sleep(rng.uniform(0.5, 2.0))
                load.journal.inflight_at_faults.append(load.journal.inflight)
                server.kill_and_restart(down_seconds=rng.uniform(0.2, 1.0))

        load.run(fault=kill_server)
        kills = server.server_kills

    # then the same checks hold on SQLite
    assert kills == size_.faults
    faults_were_felt(load)
    figures = {"server_kills": kills, "inflight_at_kills": load.journal.inflight_at_faults}
    check_everything("kill -9 the embedded SQLite server", rel_sqlite_url, tmp_path, load, figures)
