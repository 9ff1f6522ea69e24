"""The scenarios of issue 7, one function each: prepare a fresh database, start servers, load, measure.

Every scenario run gets its own copy of a database prepared once per benchmark invocation
(PostgreSQL: CREATE DATABASE ... TEMPLATE; SQLite: a file copy), so runs start from the same
state and none sees another's rows. Each returns `figures` (name -> number, see report.py) and
`detail` (what the JSON keeps).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bulk_members
import pgbench_limit
import profiling
from loadgen import LoadResult, run_load
from pg import Postgres
from seed import Chain, seed_chain
from servers import ManagedProcess, ProcessFailed, Server, free_port, memory_kb, run_child
from workloads import CheckoutLoad, MixedEvening, ThinLoad

BENCH_DIR = Path(__file__).resolve().parent
SEED_DB = "dinecard_bench_seed"
RUN_DB = "dinecard_bench_run"
BULK_DB = "dinecard_bench_bulk"
BULK_RUN_DB = "dinecard_bench_bulk_run"
# Raised for the benchmark: a busy evening from one till key is far above the production
# defaults (6000/minute per key, 3 recharges per member per hour, 5,000/10,000 yuan caps).
BENCH_LIMITS = {
    "DINECARD_API_RATE_LIMIT": "10000000/minute",
    "DINECARD_LIMIT_RECHARGES_PER_PHONE_PER_HOUR": "1000000",
    "DINECARD_LIMIT_RECHARGE_MAX_YUAN": "100000000",
    "DINECARD_LIMIT_DAILY_RECHARGE_YUAN": "100000000000",
}


@dataclass
class Bench:
    """What every scenario shares: where things are, how long to load, what was prepared."""

    pg: Postgres
    work: Path  # temporary: logs, SQLite files
    data_key: str
    warmup: float
    seconds: float
    clients: int
    sqlite_clients: int
    workers: int
    seed_members: int
    bulk: bulk_members.BulkSpec
    job_seconds_limit: float
    redis_url: str | None = None
    keep_bulk: bool = False
    profile: bool = False
    timed_out_jobs: set[str] = field(default_factory=set)
    errors_seen: bool = False  # a load got errors: keep the server logs for a look
    chain: Chain | None = None
    sqlite_chain: Chain | None = None
    sqlite_template: Path | None = None
    prepared: set[str] = field(default_factory=set)

    @property
    def logs(self) -> Path:
        path = self.work / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def bin(self) -> Path:
        return Path(sys.executable).parent


def say(text: str) -> None:
    print(text, flush=True)


# ---------------------------------------------------------------- environment and servers


def dinecard_env(bench: Bench, url: str, data_dir: Path, *, postgres: bool) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DINECARD_")}
    env.update(BENCH_LIMITS)
    env.update(
        DINECARD_DATABASE_URL=url,
        DINECARD_DATA_KEY=bench.data_key,
        DINECARD_DATA_DIR=str(data_dir),
        DINECARD_LOG_FORMAT="json",  # what production writes; INFO level, one access line per request
    )
    if postgres:
        env["DINECARD_EMBEDDED_WORKER"] = "false"  # production: `dinecard worker` processes do background work
        if bench.redis_url:
            env["DINECARD_REDIS_URL"] = bench.redis_url  # shared rate limits, as several API processes need
    return env


def dinecard_server(bench: Bench, name: str, env: dict[str, str], workers: int) -> Server:
    port = free_port()
    argv = [str(bench.bin / "dinecard"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    # Started in the work directory, so a developer's .env in the repository cannot change them.
    return Server(name, argv, env, bench.logs, port, cwd=bench.work)


def _cpu_probes(*servers: Server) -> dict[str, Any]:
    probes: dict[str, Any] = {"machine_busy_cpu_s": machine_busy_seconds}
    for server in servers:
        probes[f"{server.name}_cpu_s"] = server.tree_cpu_seconds
    return probes


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle so far (from /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load(bench: Bench, url: str, clients: int, generator: Any, *servers: Server) -> LoadResult:
    profilers = []
    if bench.profile:
        for server in servers:
            output = bench.work / "profiles" / f"{server.name}.txt"
            profiler = profiling.start(server.pid, bench.warmup + bench.seconds, output, bench.logs)
            if profiler is None:
                say("  (no profile: py-spy is not installed; .venv/bin/pip install py-spy)")
            else:
                profilers.append((profiler, output))
    try:
        result = asyncio.run(run_load(url, clients, bench.seconds, bench.warmup, generator, _cpu_probes(*servers)))
        bench.errors_seen = bench.errors_seen or result.errors > 0
        return result
    finally:
        for profiler, output in profilers:
            assert profiler.process is not None
            try:
                profiler.process.wait(60)
            finally:
                profiler.stop(grace=2)
            try:
                profiling.print_summary(output)
            except (OSError, ValueError) as exc:  # a profile is a bonus: never lose the figures for it
                say(f"  (profile {output} not summarized: {exc})")


def _load_figures(prefix: str, result: LoadResult, server: Server) -> dict[str, float]:
    latencies = result.summary()["latency_ms"]
    assert isinstance(latencies, dict)
    cpu = result.probes.get(f"{server.name}_cpu_s", 0.0)
    return {
        f"{prefix}.rps": result.throughput,
        f"{prefix}.p50_ms": latencies.get("p50", float("nan")),
        f"{prefix}.p99_ms": latencies.get("p99", float("nan")),
        f"{prefix}.errors": float(result.errors),
        f"{prefix}.server_cpu_ms_per_request": 1000 * cpu / max(1, result.completed),
        f"{prefix}.machine_busy_share": result.probes.get("machine_busy_cpu_s", 0.0)
        / (result.seconds * (os.cpu_count() or 1)),
        f"{prefix}.loadgen_cpu_share": result.cpu_seconds / result.seconds,
    }


# ---------------------------------------------------------------- preparation (once per invocation)


def prepare_seed(bench: Bench) -> None:
    """The PostgreSQL chain every HTTP scenario copies (checkout, hot, mixed)."""
    if "seed" in bench.prepared:
        return
    say(f"Preparing {SEED_DB}: {bench.seed_members:,} members through the services ...")
    url = bench.pg.create(SEED_DB)
    bench.chain = seed_chain(url, bench.data_key, bench.seed_members, say=say)
    # Planner statistics, as autovacuum would have made them on a database in service; without
    # them the first copies (made before autovacuum comes by) get other plans than later ones.
    bench.pg.vacuum_analyze(SEED_DB)
    bench.prepared.add("seed")


def prepare_sqlite(bench: Bench) -> None:
    if "sqlite" in bench.prepared:
        return
    path = bench.work / "sqlite-template" / "dinecard.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    say(f"Preparing an embedded SQLite chain: {bench.seed_members:,} members through the services ...")
    bench.sqlite_chain = seed_chain(f"sqlite:///{path}", bench.data_key, bench.seed_members, say=say)
    with sqlite3.connect(path) as connection:  # fold the WAL into the file, so one file is the whole copy
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    bench.sqlite_template = path
    bench.prepared.add("sqlite")


def prepare_pgbench(bench: Bench) -> None:
    if "pgbench" in bench.prepared:
        return
    how = "pgbench -i" if pgbench_limit.pgbench_path() else "the same tables by SQL"
    say(f"Preparing {pgbench_limit.DATABASE}: {how}, scale {pgbench_limit.SCALE} ...")
    pgbench_limit.initialize(bench.pg, bench.logs)
    bench.prepared.add("pgbench")


def prepare_bulk(bench: Bench) -> None:
    if "bulk" in bench.prepared:
        return
    spec = bench.bulk
    url = bench.pg.url(BULK_DB)
    if bench.keep_bulk and _database_exists(bench.pg, BULK_DB) and bulk_members.spec_of_database(url) == spec:
        say(f"Reusing {BULK_DB} ({spec.members:,} members, {spec.lots:,} lots), kept by an earlier --keep-bulk run")
        bench.pg.created.add(BULK_DB)
    else:
        lots = spec.members * spec.lots_per_member
        say(f"Generating {BULK_DB}: {spec.members:,} members and {lots:,} points lots ...")
        url = bench.pg.create(BULK_DB)
        code, output = run_child(
            "bulk-upgrade",
            [str(bench.bin / "dinecard"), "db", "upgrade"],
            _bulk_env(bench, url),
            bench.logs,
            600,
            cwd=bench.work,
        )
        if code != 0:
            raise ProcessFailed(f"dinecard db upgrade failed:\n{output[-2000:]}")
        started = _now()
        bulk_members.generate(url, spec, say=lambda text: say("  " + text.strip()))
        say(f"  generated in {_now() - started:.0f} s; database size {bench.pg.size_bytes(BULK_DB) / 2**30:.2f} GiB")
    bench.prepared.add("bulk")


def _database_exists(pg: Postgres, name: str) -> bool:
    with pg.admin() as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _now() -> float:
    return time.perf_counter()


def _bulk_env(bench: Bench, url: str, now: str | None = None) -> dict[str, str]:
    env = dinecard_env(bench, url, bench.work / "bulk-data", postgres=True)
    env["DINECARD_LOG_LEVEL"] = "WARNING"
    if now:
        env["DINECARD_NOW"] = now
    return env


# ---------------------------------------------------------------- 1. the limit


def limit(bench: Bench, run: int) -> dict[str, Any]:
    prepare_pgbench(bench)
    seconds = max(1, round(bench.seconds))
    pgbench: dict[str, Any] = {}
    if pgbench_limit.pgbench_path():
        pgbench = pgbench_limit.measure(bench.pg, bench.logs, seconds, label=f"-run{run}")
        say(f"  pgbench tpcb-like, scale {pgbench_limit.SCALE}, 8 clients: {pgbench['tps']:.0f} TPS")
    else:
        say("  pgbench: not installed (Debian: apt-get install postgresql-client), not measured")
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "thin_app:app", "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(bench.workers), "--no-access-log", "--log-level", "info",
    ]  # fmt: skip
    env = dict(os.environ, BENCH_THIN_DSN=bench.pg.url(pgbench_limit.DATABASE))
    with Server(f"thin-run{run}", argv, env, bench.logs, port) as server:
        result = load(bench, server.url, bench.clients, ThinLoad(pgbench_limit.SCALE, seed=run), server)
    figures = _load_figures("limit.thin", result, server)
    if pgbench:
        figures["limit.pgbench_tps"] = pgbench["tps"]
    p99 = figures["limit.thin.p99_ms"]
    say(f"  thin baseline, {bench.clients} clients: {result.throughput:.0f} requests/s, p99 {p99} ms")
    return {"figures": figures, "detail": {"pgbench": pgbench, "thin": result.summary()}}


# ---------------------------------------------------------------- 2./3. checkouts on PostgreSQL


def checkout_pg(bench: Bench, run: int, hot: bool) -> dict[str, Any]:
    prepare_seed(bench)
    assert bench.chain is not None
    prefix = "hot" if hot else "checkout"
    url = bench.pg.create(RUN_DB, template=SEED_DB)
    try:
        env = dinecard_env(bench, url, bench.work / f"data-{prefix}-{run}", postgres=True)
        deadlocks_before = bench.pg.deadlocks(RUN_DB)
        server = dinecard_server(bench, f"{prefix}-run{run}", env, bench.workers)
        with server:
            result = load(bench, server.url, bench.clients, CheckoutLoad(bench.chain, hot, seed=run), server)
        ready = server.ready_seconds
        bench.pg.wait_idle(RUN_DB)  # backends report their statistics when they exit
        deadlocks = bench.pg.deadlocks(RUN_DB) - deadlocks_before
    finally:
        bench.pg.drop(RUN_DB)
    figures = _load_figures(prefix, result, server)
    figures[f"{prefix}.deadlocks"] = float(deadlocks)
    if not hot:
        figures["ready.serve_pg_s"] = ready or float("nan")
    say(
        f"  {'one hot member' if hot else 'members spread'}, {bench.clients} clients, {bench.workers} API processes: "
        f"{result.throughput:.0f} checkouts/s, p99 {figures[prefix + '.p99_ms']} ms, {result.errors} errors, "
        f"{deadlocks} deadlocks"
    )
    return {"figures": figures, "detail": {"load": result.summary(), "ready_seconds": ready}}


# ---------------------------------------------------------------- 4. embedded SQLite


def sqlite_http(bench: Bench, run: int) -> dict[str, Any]:
    prepare_sqlite(bench)
    assert bench.sqlite_template is not None and bench.sqlite_chain is not None
    data_dir = bench.work / f"sqlite-run{run}"
    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / "dinecard.db"
    shutil.copyfile(bench.sqlite_template, database)
    try:
        env = dinecard_env(bench, f"sqlite:///{database}", data_dir, postgres=False)
        server = dinecard_server(bench, f"sqlite-run{run}", env, 1)
        with server:
            generator = CheckoutLoad(bench.sqlite_chain, hot=False, seed=run)
            result = load(bench, server.url, bench.sqlite_clients, generator, server)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    figures = _load_figures("sqlite", result, server)
    figures["ready.serve_sqlite_s"] = server.ready_seconds or float("nan")
    say(
        f"  embedded SQLite, {bench.sqlite_clients} clients, 1 process: {result.throughput:.0f} checkouts/s, "
        f"p99 {figures['sqlite.p99_ms']} ms, {result.errors} errors"
    )
    return {"figures": figures, "detail": {"load": result.summary(), "ready_seconds": server.ready_seconds}}


# ---------------------------------------------------------------- 5./7. the mixed evening, memory


def mixed(bench: Bench, run: int) -> dict[str, Any]:
    prepare_seed(bench)
    assert bench.chain is not None
    url = bench.pg.create(RUN_DB, template=SEED_DB)
    try:
        env = dinecard_env(bench, url, bench.work / f"data-mixed-{run}", postgres=True)
        worker = ManagedProcess(
            f"worker-run{run}", [str(bench.bin / "dinecard"), "worker"], env, bench.logs, cwd=bench.work
        )
        server = dinecard_server(bench, f"mixed-run{run}", env, bench.workers)
        with worker, server:
            result = load(bench, server.url, bench.clients, MixedEvening(bench.chain, seed=run), server)
            memory = {pid: memory_kb(pid) for pid in server.worker_pids()}
            if not worker.alive():
                raise ProcessFailed(f"the worker died during the evening:\n{worker.log_tail()}")
    finally:
        bench.pg.drop(RUN_DB)
    summary = result.summary()
    figures = _load_figures("mixed", result, server)
    figures["ready.serve_pg_s"] = server.ready_seconds or float("nan")  # used when checkout did not run
    ops = summary["ops"]
    assert isinstance(ops, dict)
    for op, stats in ops.items():
        figures[f"mixed.{op}.p50_ms"] = stats["latency_ms"].get("p50", float("nan"))
        figures[f"mixed.{op}.p99_ms"] = stats["latency_ms"].get("p99", float("nan"))
        figures[f"mixed.{op}.errors"] = float(stats["errors"])
        figures[f"mixed.{op}.rps"] = stats["throughput"]
    rss = [values.get("VmRSS", 0) for values in memory.values()]
    figures["memory.worker_rss_mb"] = max(rss) / 1024 if rss else float("nan")
    figures["memory.worker_peak_rss_mb"] = max(values.get("VmHWM", 0) for values in memory.values()) / 1024
    say(
        f"  mixed evening, {bench.clients} clients: {result.throughput:.0f} requests/s, {result.errors} errors; "
        f"API worker RSS {', '.join(f'{kb / 1024:.0f}' for kb in rss)} MB"
    )
    for op, stats in ops.items():
        latency = stats["latency_ms"]
        say(
            f"    {op:16} {stats['throughput']:7.1f}/s  p50 {latency.get('p50', '-'):>7} ms  "
            f"p99 {latency.get('p99', '-'):>7} ms  errors {stats['errors']} {stats['error_codes'] or ''}"
        )
    return {"figures": figures, "detail": {"load": summary, "worker_memory_kb": memory}}


# ---------------------------------------------------------------- 6. daily jobs at scale


def jobs(bench: Bench, run: int) -> dict[str, Any]:
    prepare_bulk(bench)
    spec = bench.bulk
    now = f"{spec.as_of.isoformat()}T00:05:00+08:00"  # the worker's first iteration of the day
    started = _now()
    url = bench.pg.create(BULK_RUN_DB, template=BULK_DB)
    say(f"  copied the bulk database in {_now() - started:.0f} s")
    figures: dict[str, float] = {}
    detail: dict[str, Any] = {}
    try:
        # The order of a daily run: the levels package's jobs come before the points package's.
        for job, key in (("level_review", "review"), ("points_expiry", "expiry")):
            if job in bench.timed_out_jobs:
                # It did not finish within the limit in an earlier run: the verdict cannot change.
                figures[f"jobs.{key}_s"] = bench.job_seconds_limit
                figures[f"jobs.{key}_timed_out"] = 1.0
                say(f"  {job}: skipped, it did not finish within {bench.job_seconds_limit:.0f} s in an earlier run")
                continue
            argv = [sys.executable, str(BENCH_DIR / "run_job.py"), job, "--as-of", spec.as_of.isoformat()]
            try:
                code, output = run_child(
                    f"{job}-run{run}", argv, _bulk_env(bench, url, now), bench.logs, bench.job_seconds_limit, bench.work
                )
            except subprocess.TimeoutExpired:
                # Stopped at the time limit: the figure is "at least the limit", which misses any target below it.
                figures[f"jobs.{key}_s"] = bench.job_seconds_limit
                figures[f"jobs.{key}_timed_out"] = 1.0
                bench.timed_out_jobs.add(job)
                detail[job] = {"timed_out_after_s": bench.job_seconds_limit}
                say(f"  {job}: stopped after {bench.job_seconds_limit:.0f} s (--job-timeout), not finished")
                continue
            if code != 0:
                raise ProcessFailed(f"{job} failed:\n{output[-3000:]}")
            outcome = json.loads(output.strip().splitlines()[-1])
            figures[f"jobs.{key}_s"] = outcome["seconds"]
            figures[f"jobs.{key}_peak_rss_mb"] = outcome["peak_rss_kb"] / 1024
            detail[job] = outcome
            peak_mb = outcome["peak_rss_kb"] / 1024
            say(f"  {job}: {outcome['seconds']:.1f} s, peak RSS {peak_mb:.0f} MB, {outcome['counts']}")
    finally:
        bench.pg.drop(BULK_RUN_DB)
    return {"figures": figures, "detail": detail}
