"""DineCard's benchmarks (issue 7): every figure with its target and a MET / MISSED verdict.

    python3 dev.py bench                      # the full run: 3 runs of every scenario
    python3 dev.py bench --quick              # a smoke run: short loads, small data, 1 run
    python3 dev.py bench --only checkout hot  # some scenarios (the limit is measured with checkout)
    python3 dev.py bench --runs 5

Scenarios, in the order of each run: limit (pgbench and the thin baseline), checkout (members
spread), hot (one member), sqlite (embedded), mixed (an evening of every operation; also the API
worker's memory), jobs (points expiry and level review on a bulk database). Needs PostgreSQL
(127.0.0.1:5432, user postgres, or --pg-*) and pgbench; uses redis-server when installed.
Results go to bench/results/<date>.json (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import bulk_members
import report
from pg import Postgres
from seed import new_data_key
from servers import ManagedProcess, free_port, install_signal_handlers

import scenarios

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
SCENARIOS = ("limit", "checkout", "hot", "sqlite", "mixed", "jobs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 run, 1 s warm-up + 4 s load, small data")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, metavar="NAME", help=f"some of: {', '.join(SCENARIOS)}")
    parser.add_argument("--runs", type=int, help="runs of each scenario (default 3; --quick: 1)")
    parser.add_argument("--seconds", type=float, help="measured seconds per load (default 20; --quick: 4)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds before each measurement (default 5; --quick: 1)")
    parser.add_argument("--clients", type=int, default=32, help="clients of the PostgreSQL scenarios (default 32)")
    parser.add_argument("--sqlite-clients", type=int, default=4, help="clients of the SQLite scenario (default 4)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="API processes (default: cores)")
    parser.add_argument("--members", type=int, help="members seeded for the HTTP scenarios (default 2000; --quick 200)")
    parser.add_argument("--bulk-members", type=int, help="members of the jobs database (default 1,000,000)")
    parser.add_argument("--bulk-lots", type=int, help="points lots of the jobs database (default 10,000,000)")
    parser.add_argument("--job-timeout", type=float, default=600, help="stop a job after this many seconds (600)")
    parser.add_argument("--keep-bulk", action="store_true", help="keep the bulk database for the next run")
    parser.add_argument("--no-redis", action="store_true", help="count rate limits in memory, not in Redis")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/<date>[-quick].json)")
    parser.add_argument("--profile", action="store_true", help="py-spy the API processes under load (if installed)")
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary directory (logs, SQLite files)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.runs = args.runs or (1 if quick else 3)
    args.seconds = args.seconds or (4.0 if quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 5.0)
    args.members = args.members or (200 if quick else 2000)
    args.bulk_members = args.bulk_members or (20_000 if quick else 1_000_000)
    args.bulk_lots = args.bulk_lots or args.bulk_members * 10
    selected = list(args.only or SCENARIOS)
    if "checkout" in selected and "limit" not in selected:
        selected.insert(0, "limit")  # the checkout ratio needs the thin baseline of the same run
    args.selected = [name for name in SCENARIOS if name in selected]
    return args


def machine_facts(pg: Postgres, redis_version: str | None, args: argparse.Namespace) -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(total_kb / 2**20, 1),
        "load_average_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "postgresql": pg.facts(),
        "sqlite": sqlite3.sqlite_version,
        "uvicorn": version("uvicorn"),
        # uvicorn's parser and loop, the same for the thin baseline and DineCard (both "auto").
        "uvicorn_http": _installed("httptools") or "h11",
        "uvicorn_loop": _installed("uvloop") or "asyncio",
        "fastapi": version("fastapi"),
        "sqlalchemy": version("sqlalchemy"),
        "redis": redis_version or "not used (rate limits in memory per process)",
        "load_generator": f"bench/loadgen.py: asyncio, one process, on the same {os.cpu_count()} cores",
        "api_processes": args.workers,
    }


def _installed(package: str) -> str | None:
    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:
        return None


def print_header(facts: dict[str, Any], args: argparse.Namespace) -> None:
    pgf = facts["postgresql"]
    print("== DineCard benchmarks (issue 7) ==")
    print(f"date            {facts['date']}{'   QUICK SMOKE RUN: indicative only' if args.quick else ''}")
    print(f"machine         {facts['cores']} cores ({facts['cpu']}), {facts['ram_gib']} GiB RAM")
    print(f"load average    {' '.join(f'{x:.2f}' for x in facts['load_average_at_start'])} at start")
    print(f"python          {facts['python']}; uvicorn {facts['uvicorn']} (http {facts['uvicorn_http']}, "
          f"loop {facts['uvicorn_loop']}), FastAPI {facts['fastapi']}, SQLAlchemy {facts['sqlalchemy']}")  # fmt: skip
    print(f"postgresql      {pgf['server_version']}, synchronous_commit={pgf['synchronous_commit']}, "
          f"fsync={pgf['fsync']}, shared_buffers={pgf['shared_buffers']}, "
          f"max_connections={pgf['max_connections']}")  # fmt: skip
    print(f"sqlite          {facts['sqlite']} (WAL, synchronous=FULL)")
    print(f"redis           {facts['redis']}")
    print(f"load generator  on the same {facts['cores']} cores as the servers and the database (closed loop, asyncio)")
    print(f"API processes   {args.workers}; clients {args.clients} (PostgreSQL), {args.sqlite_clients} (SQLite)")
    print(f"each load       {args.warmup:g} s warm-up (not counted) + {args.seconds:g} s measured; {args.runs} run(s)")
    print(f"scenarios       {', '.join(args.selected)}")
    if max(facts["load_average_at_start"][:1]) > 0.5:
        print("WARNING         the machine is not quiet (load average above 0.5): figures will be low and noisy")


def start_redis(work: Path) -> tuple[ManagedProcess | None, str | None, str | None]:
    executable = shutil.which("redis-server")
    if not executable:
        return None, None, None
    port = free_port()
    argv = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = ManagedProcess("redis", argv, dict(os.environ), work).start()
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.05)
    info = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False).stdout.split()
    redis_version = next((part.split("=")[1] for part in info if part.startswith("v=")), "?")
    return process, f"redis://127.0.0.1:{port}/0", f"redis-server {redis_version} (private, for shared rate limits)"


def run_all(args: argparse.Namespace) -> int:
    pg = Postgres(args.pg_host, args.pg_port, args.pg_user)
    problem = pg.available()
    if problem:
        print(f"PostgreSQL is not reachable at {args.pg_host}:{args.pg_port}: {problem}", file=sys.stderr)
        return 2
    if "limit" in args.selected and not shutil.which("pgbench"):
        print(
            "pgbench is not installed (Debian: apt-get install postgresql-client): only the thin baseline is measured"
        )
    work = Path(tempfile.mkdtemp(prefix="dinecard-bench-"))
    redis, redis_url, redis_version = (None, None, None) if args.no_redis else start_redis(work)
    bench = scenarios.Bench(
        pg=pg,
        work=work,
        data_key=new_data_key(),
        warmup=args.warmup,
        seconds=args.seconds,
        clients=args.clients,
        sqlite_clients=args.sqlite_clients,
        workers=args.workers,
        seed_members=args.members,
        bulk=bulk_members.BulkSpec(members=args.bulk_members, lots=args.bulk_lots),
        job_seconds_limit=args.job_timeout,
        redis_url=redis_url,
        keep_bulk=args.keep_bulk,
        profile=args.profile,
    )
    facts = machine_facts(pg, redis_version, args)
    print_header(facts, args)
    runs: list[dict[str, float]] = []
    details: list[dict[str, Any]] = []
    failures: list[str] = []
    failed = False
    try:
        for run in range(1, args.runs + 1):
            print(f"\n== Run {run} of {args.runs} ==", flush=True)
            figures: dict[str, float] = {}
            detail: dict[str, Any] = {}
            runs.append(figures)  # filled as the scenarios finish, so an interrupted run keeps what it measured
            details.append(detail)
            for name in args.selected:
                print(f"[{name}]", flush=True)
                try:
                    outcome = _scenario(bench, name, run)
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # one broken scenario must not hide the others' figures
                    failed = True
                    failures.append(f"run {run} {name}: {type(exc).__name__}: {exc}")
                    traceback.print_exc()
                    continue
                for key, value in outcome["figures"].items():
                    figures.setdefault(key, value)  # a figure two scenarios give (serve ready): the first
                detail[name] = outcome["detail"]
            report.add_ratios(figures)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping servers and dropping the benchmark databases ...", file=sys.stderr)
        failed = True
        failures.append("interrupted")
    finally:
        if redis is not None:
            redis.stop()
        keep = {scenarios.BULK_DB} if args.keep_bulk else set()
        for name in sorted(pg.created - keep):
            pg.drop(name)
        if failed or args.keep_work or bench.errors_seen:
            print(f"Logs and files kept in {work} (server logs in logs/)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    runs = [figures for figures in runs if figures]
    found = report.outcomes(runs)
    report.print_figures(found, len(runs))
    report.print_summary(found)
    for failure in failures:
        print(f"FAILED {failure}")
    path = _write_json(args, facts, found, details, failures)
    print(f"\nResults written to {path}")
    return 1 if failed else 0


def _scenario(bench: scenarios.Bench, name: str, run: int) -> dict[str, Any]:
    if name == "limit":
        return scenarios.limit(bench, run)
    if name in ("checkout", "hot"):
        return scenarios.checkout_pg(bench, run, hot=name == "hot")
    if name == "sqlite":
        return scenarios.sqlite_http(bench, run)
    if name == "mixed":
        return scenarios.mixed(bench, run)
    return scenarios.jobs(bench, run)


def _write_json(
    args: argparse.Namespace, facts: dict[str, Any], found: list[report.Outcome], details: list, failures: list[str]
) -> Path:
    if args.output:
        path = args.output
    else:
        suffix = "-quick" if args.quick else ("" if args.selected == list(SCENARIOS) else "-partial")
        if failures:
            suffix += "-incomplete"  # never mistaken for a full run's results
        path = RESULTS / f"{date.today().isoformat()}{suffix}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": "python3 dev.py bench " + " ".join(sys.argv[1:]),
        "machine": facts,
        "settings": {
            "runs": args.runs,
            "warmup_s": args.warmup,
            "measured_s": args.seconds,
            "clients": args.clients,
            "sqlite_clients": args.sqlite_clients,
            "api_processes": args.workers,
            "seed_members": args.members,
            "bulk_members": args.bulk_members,
            "bulk_lots": args.bulk_lots,
            "scenarios": args.selected,
        },
        "figures": [outcome.to_json() for outcome in found],
        "runs": details,
        "failures": failures,
    }
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return path


def main() -> int:
    install_signal_handlers()
    return run_all(parse_args())


if __name__ == "__main__":
    sys.exit(main())
