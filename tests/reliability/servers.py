"""Processes the reliability checks start, kill and restart: `dinecard serve` and a private PostgreSQL cluster.

Everything runs in its own process group and is killed in `finally`; ports are chosen free; all traffic stays
on 127.0.0.1. The shared PostgreSQL server is never stopped or restarted: the restart check starts a cluster
of its own (initdb into a temporary directory) and crashes that one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx
import pytest
from sqlalchemy import create_engine, text

from dinecard.platform.migrate import upgrade
from tests.conftest import IN_CI, TEST_KEY
from tests.integration.test_concurrency import SERVER_START_SECONDS_MAX, _free_port

STARTUP_LINE = "Application startup complete"
# Business limits a busy evening of 64 tills on a few hundred cards would meet by design (3 recharges per
# card per hour, 6,000 requests per key and minute); the load is about money, not about those refusals.
LOAD_LIMITS = {
    "DINECARD_LIMIT_RECHARGES_PER_PHONE_PER_HOUR": "1000000",
    "DINECARD_LIMIT_DAILY_RECHARGE_YUAN": "100000000",
    "DINECARD_API_RATE_LIMIT": "1000000/minute",
}


def dinecard_command() -> list[str]:
    """The installed `dinecard` script of this interpreter's environment (or the same entry point via -c)."""
    script = Path(sys.executable).with_name("dinecard")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from dinecard.platform.cli import main; sys.exit(main())"]


def dinecard_env(database_url: str, data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any DINECARD_* setting of the developer's, plus the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DINECARD_")}
    env.update(
        DINECARD_DATABASE_URL=database_url,
        DINECARD_DATA_KEY=TEST_KEY,
        DINECARD_DATA_DIR=str(data_dir),
        DINECARD_LOG_FORMAT="json",
        COLUMNS="200",  # rich wraps at 80 columns without a terminal
    )
    env.update(extra or {})
    return env


def run_reconcile_cli(database_url: str, data_dir: Path) -> tuple[int, str]:
    """`dinecard reconcile` against the database: (exit status, output)."""
    completed = subprocess.run(
        [*dinecard_command(), "reconcile"],
        env=dinecard_env(database_url, data_dir),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of `pid`, read from /proc."""
    found = []
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat_path) as stat_file:
                stat = stat_file.read()
            # The command name may hold spaces and parentheses: the fields after it start at the last ')'.
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            if int(ppid) != pid or state == "Z":
                continue
            child = int(stat_path.split("/")[2])
            with open(f"/proc/{child}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read().replace(b"\0", b" ").decode(errors="replace")
            found.append((child, cmdline))
        except (OSError, ValueError):
            continue  # the process ended while we looked
    return found


class DinecardServer:
    """`dinecard serve --workers N` in its own process group, restartable on the same port.

    With N > 1 uvicorn's supervisor runs the workers as child processes and replaces one that dies, which is
    what `kill_worker` relies on; with N = 1 the server is a single process (the embedded SQLite mode).
    """

    def __init__(self, database_url: str, data_dir: Path, workers: int, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.workers = workers
        self.env = dinecard_env(database_url, data_dir, {**LOAD_LIMITS, **(env or {})})
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.worker_kills = 0
        self.server_kills = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [*dinecard_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.data_dir, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        self.wait_ready()

    def wait_ready(self, seconds: float = SERVER_START_SECONDS_MAX) -> None:
        deadline = time.monotonic() + seconds
        while True:
            assert self.process is not None
            assert self.process.poll() is None, f"the server exited: {self.log_tail()}"
            assert time.monotonic() < deadline, f"the server did not get ready: {self.log_tail()}"
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL if it lingers. Safe to call twice."""
        process = self.process
        if process is None:
            return
        self.process = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # also any worker the supervisor left behind
        process.wait(timeout=10)

    def __enter__(self) -> DinecardServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------ faults

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return [pid for pid, cmdline in _children(self.process.pid) if "spawn_main" in cmdline]

    def startups(self) -> int:
        """How many times an API process finished starting (uvicorn's log line), over every start."""
        return self.log_path.read_text(errors="replace").count(STARTUP_LINE)

    def kill_worker(self, rng: random.Random, seconds_max: float = 60.0) -> int:
        """kill -9 one API worker at random; return once the supervisor's replacement has started. Its pid."""
        deadline = time.monotonic() + seconds_max
        # The supervisor may be replacing a worker itself (one that missed its health check on a busy machine).
        while len(pids := self.worker_pids()) != self.workers:
            assert time.monotonic() < deadline, f"expected {self.workers} workers, found {pids}: {self.log_tail()}"
            time.sleep(0.05)
        started_before = self.startups()
        victim = rng.choice(pids)
        os.kill(victim, signal.SIGKILL)
        self.worker_kills += 1
        deadline = time.monotonic() + seconds_max
        while self.startups() <= started_before or len(self.worker_pids()) < self.workers:
            assert time.monotonic() < deadline, f"no replacement for worker {victim}: {self.log_tail()}"
            time.sleep(0.05)
        return victim

    def kill_and_restart(self, down_seconds: float) -> None:
        """kill -9 the whole server (every process of the group), wait, and start it again on the same port."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.server_kills += 1
        time.sleep(down_seconds)
        self.start()

    # ------------------------------------------------------------ diagnostics

    def log_tail(self, characters: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    def logged_errors(self) -> list[str]:
        """Log lines at ERROR or above: unexpected exceptions inside a request, failed startups."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line]


# ---------------------------------------------------------------- a private PostgreSQL cluster


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl live: DINECARD_TEST_PG_BINDIR, the PATH, or Debian's versioned directories."""
    configured = os.environ.get("DINECARD_TEST_PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def skip_or_fail(reason: str) -> None:
    """Like `postgres_url`: a failure in CI, a visible skip elsewhere."""
    if IN_CI:
        pytest.fail(f"CI needs this: {reason}")
    pytest.skip(reason)


class PrivateCluster:
    """A throw-away PostgreSQL cluster (initdb into a temporary directory) that the test may crash at will.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (runuser).
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                skip_or_fail("running as root and there is no postgres user to own a private cluster")
            runuser = shutil.which("runuser")
            if runuser is None:
                skip_or_fail("running as root without runuser to start a private cluster as postgres")
            self.as_user = [str(runuser), "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="dinecard_pg_"))
        if self.as_user:
            shutil.chown(self.root, user="postgres")
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = _free_port()
        self.restarts = 0
        self.running = False

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> None:
        completed = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )
        assert completed.returncode == 0, f"{args[0]} failed: {completed.stdout}\n{completed.stderr}\n{self.log_tail()}"

    def _options(self) -> str:
        # fsync and synchronous_commit stay on (the defaults): an acknowledged commit must survive the crash.
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=150"

    def init_and_start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        pg_ctl = str(self.bindir / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w", "-t", "60", "start")
        self.running = True

    def crash_restart(self, down_seconds: float) -> None:
        """Immediate shutdown (no checkpoint: like a crash, recovery from WAL at the next start), then start."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1

    def create_database(self, name: str) -> str:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url = self.admin_url.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        return url

    def destroy(self) -> None:
        if self.running:
            subprocess.run(
                [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, characters: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"
