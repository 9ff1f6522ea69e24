"""Processes the benchmark starts: uvicorn servers, the worker, one-shot commands. Always cleaned up.

Every process is started in its own session (process group) and stopped by signalling that
group, so uvicorn's worker processes go with their supervisor, on success, on error and on
Ctrl-C (an atexit hook catches whatever a crash left behind).
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

_LIVE: dict[int, ManagedProcess] = {}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ProcessFailed(RuntimeError):
    pass


class ManagedProcess:
    """A child in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log_dir: Path, cwd: Path | None = None):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0

    def start(self) -> ManagedProcess:
        log = self.log_path.open("ab")
        self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        _LIVE[self.process.pid] = self
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the whole group, SIGKILL after `grace` seconds."""
        if self.process is None:
            return
        pid = self.process.pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            try:
                self.process.wait(wait)
                # The supervisor may be gone while a worker lingers: make sure the group is empty.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                break
            except subprocess.TimeoutExpired:
                continue
        _LIVE.pop(pid, None)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ManagedProcess:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Server(ManagedProcess):
    """An HTTP server on 127.0.0.1:`port`, ready when `ready_path` answers 200."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        log_dir: Path,
        port: int,
        ready_path: str = "/readyz",
        cwd: Path | None = None,
    ):
        super().__init__(name, argv, env, log_dir, cwd)
        self.port = port
        self.ready_path = ready_path
        self.ready_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from spawn to the first 200 on the ready path."""
        deadline = self.spawned_at + timeout
        while time.perf_counter() < deadline:
            if not self.alive():
                raise ProcessFailed(f"{self.name} exited before it was ready:\n{self.log_tail()}")
            if _answers_200(self.port, self.ready_path):
                self.ready_seconds = time.perf_counter() - self.spawned_at
                return self.ready_seconds
            time.sleep(0.02)
        raise ProcessFailed(f"{self.name} not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def __enter__(self) -> Server:
        if self.process is None:
            self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's workers, or the server itself when it has none."""
        workers = [
            pid
            for pid in descendants(self.pid)
            if "spawn_main" in _cmdline(pid) and "resource_tracker" not in _cmdline(pid)
        ]
        return workers or [self.pid]

    def tree_cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in [self.pid, *descendants(self.pid)])


def _answers_200(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = _parent_of(int(entry))
            if parent is not None:
                parents[int(entry)] = parent
    found: list[int] = []
    frontier = [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    except OSError:
        pass
    return found


def run_child(
    name: str, argv: Sequence[str], env: dict[str, str], log_dir: Path, timeout: float, cwd: Path | None = None
) -> tuple[int, str]:
    """Run a command to the end in its own process group; (exit code, its output). Killed on timeout or Ctrl-C."""
    child = ManagedProcess(name, argv, env, log_dir, cwd).start()
    assert child.process is not None
    try:
        code = child.process.wait(timeout)
    finally:
        child.stop(grace=2)
    return code, child.log_path.read_text(errors="replace")


@atexit.register
def _stop_everything() -> None:
    for process in list(_LIVE.values()):
        process.stop(grace=2)


def install_signal_handlers() -> None:
    """SIGTERM behaves like Ctrl-C, so every `finally` runs and every group is stopped.

    SIGINT gets Python's own handler even when the shell started us with SIGINT ignored (a
    background job), so `kill -INT` stops a benchmark as Ctrl-C does.
    """

    def _interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
