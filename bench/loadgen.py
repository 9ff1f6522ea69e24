"""A closed-loop HTTP/1.1 load generator, cheap enough to share the cores it measures.

Each of N clients owns one keep-alive connection and sends its next request as soon as the
previous answer is read (like wrk). Requests come from a function called per request, so each
can carry a fresh Idempotency-Key, a random member, or an order number an earlier answer gave.
Latency is measured from the first byte written to the last byte read, for every request in flight
during the measured window (those still unanswered when it closes are waited for, up to 60 s,
then counted as timeouts); throughput counts the answers completed inside the window. Raw asyncio
streams, no HTTP library per request: at about 1,000 requests/s it uses a few percent of one
core (it reports its own CPU time).

    python3 bench/loadgen.py http://127.0.0.1:8000/healthz --clients 8 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 60.0  # longer than DineCard's own waits (a pool check-out gives up after 30 s)
# Status recorded for answers that never came: connection refused or reset, timeouts, bad framing.
NO_ANSWER = 0


@dataclass
class Request:
    """One request to send; `on_response(status, body)` sees its answer (e.g. to keep an order number)."""

    op: str
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    on_response: Callable[[int, bytes], None] | None = None


@dataclass
class OpStats:
    """What one kind of request (checkout, look-up, ...) got.

    Throughput counts the answers completed inside the measured window. Latencies, statuses and
    errors cover every request in flight at any moment of the window: started in it, or started
    during the warm-up and answered in it or later (the clients wait for answers after the window
    closes). A request stalled across either end of the window is a long latency, an error or a
    timeout, never unseen.
    """

    completed: int = 0  # answers completed inside the window
    latencies: list[float] = field(default_factory=list)  # seconds, of the requests in flight in the window
    statuses: Counter[int] = field(default_factory=Counter)  # of requests in flight in the window
    error_codes: Counter[str] = field(default_factory=Counter)  # problem+json `code` of non-2xx answers

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


@dataclass
class LoadResult:
    clients: int
    seconds: float  # length of the measured window
    ops: dict[str, OpStats]
    cpu_seconds: float  # this process's CPU time during the measured window
    probes: dict[str, float] = field(default_factory=dict)  # change of each probe over the window

    @property
    def completed(self) -> int:
        return sum(stats.completed for stats in self.ops.values())

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds

    @property
    def errors(self) -> int:
        return sum(stats.errors for stats in self.ops.values())

    def all_latencies(self) -> list[float]:
        return [latency for stats in self.ops.values() for latency in stats.latencies]

    def summary(self) -> dict[str, object]:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "completed": self.completed,
            "throughput": round(self.throughput, 1),
            "errors": self.errors,
            "latency_ms": latency_summary(self.all_latencies()),
            "loadgen_cpu_share_of_one_core": round(self.cpu_seconds / self.seconds, 3),
            "probes": {name: round(value, 3) for name, value in self.probes.items()},
            "ops": {
                name: {
                    "count": stats.count,
                    "throughput": round(stats.completed / self.seconds, 1),
                    "latency_ms": latency_summary(stats.latencies),
                    "errors": stats.errors,
                    "statuses": {str(status): n for status, n in sorted(stats.statuses.items())},
                    "error_codes": dict(stats.error_codes.most_common(10)),
                }
                for name, stats in sorted(self.ops.items())
            },
        }


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list (share 0.99 for p99)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(share * len(sorted_values) - 1e-9))  # 0.99 * 100 is not quite 99
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(latencies: list[float]) -> dict[str, float]:
    values = sorted(latencies)
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 0.50) * 1000, 2),
        "p90": round(percentile(values, 0.90) * 1000, 2),
        "p99": round(percentile(values, 0.99) * 1000, 2),
        "max": round(values[-1] * 1000, 2),
    }


class _Connection:
    """One keep-alive connection; reopened after any failure."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.host_line = f"Host: {host}:{port}\r\n".encode()

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, request: Request) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = [f"{request.method} {request.path} HTTP/1.1\r\n".encode(), self.host_line]
        for name, value in request.headers:
            head.append(f"{name}: {value}\r\n".encode())
        body = request.body or b""
        if request.body is not None:
            head.append(b"Content-Type: application/json\r\n")
        if request.body is not None or request.method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}\r\n".encode())
        head.append(b"\r\n")
        self.writer.write(b"".join(head) + body)
        status, response_body, keep_alive = await _read_response(self.reader)
        if not keep_alive:
            self.close()
        return status, response_body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = False
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(parts), keep_alive
    if length is None:
        return status, await reader.read(), False
    return status, await reader.readexactly(length), keep_alive


def _problem_code(body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return "(not json)"
    return str(document.get("code", "(no code)")) if isinstance(document, dict) else "(not an object)"


async def _client(
    index: int,
    host: str,
    port: int,
    next_request: Callable[[int], Request],
    window: tuple[float, float],
    ops: dict[str, OpStats],
) -> None:
    measure_from, stop_at = window
    connection = _Connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            request = next_request(index)
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(connection.send(request), REQUEST_TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
                connection.close()
                status, body = NO_ANSWER, type(exc).__name__.encode()
            finished = time.perf_counter()
            if request.on_response is not None:
                request.on_response(status, body)
            stats = ops.setdefault(request.op, OpStats())
            if measure_from <= finished <= stop_at:
                stats.completed += 1
            if started <= stop_at and finished >= measure_from:  # in flight during the window
                stats.statuses[status] += 1
                # Every answer has a latency, errors too (a stall that ends in a 500 is still a wait);
                # a request that timed out waited at least that long; a refused connection waited for nothing.
                if status != NO_ANSWER or body == b"TimeoutError":
                    stats.latencies.append(finished - started)
                if not 200 <= status < 300:
                    stats.error_codes[
                        body.decode(errors="replace") if status == NO_ANSWER else _problem_code(body)
                    ] += 1
            if status == NO_ANSWER:
                await asyncio.sleep(0.05)  # a refused connection must not spin
    finally:
        connection.close()


async def run_load(
    url: str,
    clients: int,
    seconds: float,
    warmup: float,
    next_request: Callable[[int], Request],
    probes: dict[str, Callable[[], float]] | None = None,
) -> LoadResult:
    """Drive `clients` connections for `warmup + seconds`; statistics cover the last `seconds`.

    Each probe (e.g. a server's CPU seconds so far) is read when the window opens and closes.
    """
    probes = probes or {}
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    ops: dict[str, OpStats] = {}
    start = time.perf_counter()
    window = (start + warmup, start + warmup + seconds)
    tasks = [asyncio.create_task(_client(i, host, port, next_request, window, ops)) for i in range(clients)]
    await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
    cpu_before = _cpu_seconds()
    probed = {name: probe() for name, probe in probes.items()}
    await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
    cpu_after = _cpu_seconds()
    probed = {name: probe() - probed[name] for name, probe in probes.items()}
    # Requests in flight at the end are waited for (up to REQUEST_TIMEOUT, then a timeout error):
    # their latency counts, their completion does not count as throughput.
    _done, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 5)
    for task in pending:
        task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return LoadResult(clients, seconds, ops, cpu_after - cpu_before, probed)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    headers = tuple(tuple(h.split(":", 1)) for h in args.header)
    headers = tuple((name.strip(), value.strip()) for name, value in headers)
    result = asyncio.run(
        run_load(
            args.url, args.clients, args.seconds, args.warmup, lambda _i: Request("get", "GET", path, None, headers)
        )
    )
    print(json.dumps(result.summary(), indent=2))


if __name__ == "__main__":
    main()
