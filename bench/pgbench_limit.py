"""The database's own limit on this machine: pgbench's built-in tpcb-like script.

Scale 10, 8 clients, 2 threads (the cores), on a database of its own, `dinecard_bench_pgbench`,
which the thin baseline (thin_app.py) then reuses: the same four tables, the same transaction.
Without pgbench (Debian: postgresql-client) the tables are made by SQL and only the thin
baseline is measured.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import psycopg
from pg import Postgres
from servers import run_child

DATABASE = "dinecard_bench_pgbench"
SCALE = 10


def pgbench_path() -> str | None:
    return shutil.which("pgbench")


def _env(pg: Postgres) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PGHOST=pg.host, PGPORT=str(pg.port), PGUSER=pg.user)
    if pg.password:
        env["PGPASSWORD"] = pg.password
    return env


def initialize(pg: Postgres, log_dir: Path, scale: int = SCALE) -> str:
    """Create the pgbench database and its tables (pgbench -i, or the same tables by SQL without pgbench)."""
    executable = pgbench_path()
    url = pg.create(DATABASE)
    if executable is None:
        _initialize_by_sql(url, scale)
        return url
    code, output = run_child(
        "pgbench-init", [executable, "-i", "-q", "-s", str(scale), DATABASE], _env(pg), log_dir, 600
    )
    if code != 0:
        raise RuntimeError(f"pgbench -i failed:\n{output[-2000:]}")
    return url


def _initialize_by_sql(url: str, scale: int) -> None:
    """pgbench -i's four tables and rows, for the thin baseline when pgbench itself is missing."""
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in (
            "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
            "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))",
            "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
            "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
            "INSERT INTO pgbench_branches SELECT b, 0, '' FROM generate_series(1, %(s)s::int) b",
            "INSERT INTO pgbench_tellers SELECT t, (t - 1) / 10 + 1, 0, '' FROM generate_series(1, 10 * %(s)s::int) t",
            "INSERT INTO pgbench_accounts SELECT a, (a - 1) / 100000 + 1, 0, ''"
            " FROM generate_series(1, 100000 * %(s)s::int) a",
            "VACUUM ANALYZE",
        ):
            connection.execute(statement, {"s": scale} if "%(s)s" in statement else None)


def measure(pg: Postgres, log_dir: Path, seconds: int, clients: int = 8, threads: int = 2, label: str = "") -> dict:
    """One pgbench run of the built-in tpcb-like script: TPS and average latency."""
    executable = pgbench_path()
    assert executable
    argv = [executable, "-c", str(clients), "-j", str(threads), "-T", str(seconds), "-b", "tpcb-like", DATABASE]
    code, output = run_child(f"pgbench{label}", argv, _env(pg), log_dir, seconds + 120)
    if code != 0:
        raise RuntimeError(f"pgbench failed:\n{output[-2000:]}")
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    latency = re.search(r"latency average = ([0-9.]+) ms", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    assert tps, f"no tps in pgbench output:\n{output[-2000:]}"
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "clients": clients,
        "threads": threads,
        "seconds": seconds,
    }
