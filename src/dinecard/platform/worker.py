"""The background worker: each interval it delivers the outbox and seals the audit log; daily jobs once a date.

`dinecard worker` runs it in its own process (production, any number of them); in embedded
mode the API server runs the same loop in a thread (`WorkerThread`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from dinecard.platform import jobs, outbox
from dinecard.security import audit, risk

if TYPE_CHECKING:
    from dinecard.platform.container import Container

log = logging.getLogger("dinecard.worker")

INTERVAL_SECONDS_MIN = 0.05
INTERVAL_SECONDS_MAX = 3600.0
# Dispatch batches per iteration, so a long backlog cannot starve the daily jobs.
DISPATCH_BATCHES_MAX = 20
# Audit seal batches per iteration, for the same reason.
SEAL_BATCHES_MAX = 20
# After a failed job, wait this long before trying the day's jobs again.
JOB_RETRY_DELAY = timedelta(minutes=5)
# Every worker scans; the risk events' dedupe keys make overlapping scans raise each pattern once.
RISK_SCAN_INTERVAL = timedelta(minutes=1)


@dataclass
class WorkerState:
    """What one worker remembers between iterations."""

    jobs_done_for: date | None = None
    jobs_retry_at: datetime | None = None
    risk_scan_due_at: datetime | None = None


@dataclass
class Iteration:
    """What one iteration did."""

    sent: int = 0
    failed: int = 0
    sealed: int = 0
    jobs: list[jobs.JobOutcome] = field(default_factory=list)
    risks: dict[str, int] = field(default_factory=dict)


def run_iteration(container: Container, state: WorkerState, channel: outbox.Channel | None = None) -> Iteration:
    """One pass of the worker: drain the outbox and seal the audit log (bounded), then run today's jobs if due."""
    iteration = Iteration()
    for _ in range(DISPATCH_BATCHES_MAX):
        result = outbox.dispatch_pending(container, channel=channel)
        iteration.sent += result.sent
        iteration.failed += result.failed
        if result.claimed < outbox.BATCH_SIZE:
            break
    iteration.sealed = seal_audit(container)
    today = jobs.business_today(container)
    now = container.clock.now()
    if state.risk_scan_due_at is None or now >= state.risk_scan_due_at:
        state.risk_scan_due_at = now + RISK_SCAN_INTERVAL
        iteration.risks = scan_risks(container)
    if state.jobs_done_for == today or (state.jobs_retry_at is not None and now < state.jobs_retry_at):
        return iteration
    if jobs.due_jobs(container, today):
        iteration.jobs = jobs.run_due(container, today)
    if any(outcome.status is jobs.RunStatus.FAILED for outcome in iteration.jobs):
        state.jobs_retry_at = now + JOB_RETRY_DELAY
    elif not any(outcome.status is jobs.RunStatus.RUNNING_ELSEWHERE for outcome in iteration.jobs):
        state.jobs_done_for = today
        state.jobs_retry_at = None
    # A job running on another worker is looked at again next iteration; that costs one query.
    return iteration


def seal_audit(container: Container) -> int:
    """Seal the settled audit entries (bounded); a failure is logged so the daily jobs still run."""
    now = audit.sealing_time(container.clock.now())
    sealed = 0
    try:
        for _ in range(SEAL_BATCHES_MAX):
            result = audit.seal_pending(container.database, now)
            sealed += result.sealed
            if result.late:
                log.info("audit: %s entries committed late were sealed after later ones", result.late)
            if result.sealed < audit.SEAL_BATCH:
                break
    except Exception:
        log.exception("sealing the audit log failed")
    return sealed


def scan_risks(container: Container) -> dict[str, int]:
    """The frequent risk scan (new events by kind); a failure is logged so the daily jobs still run."""
    try:
        return risk.scan_recent(container)
    except Exception:
        log.exception("risk scan failed")
        return {}


def run_worker(container: Container, stop: threading.Event, interval_seconds: float) -> None:
    """Iterate until `stop` is set, sleeping `interval_seconds` between iterations (woken early by `stop`)."""
    interval = min(max(interval_seconds, INTERVAL_SECONDS_MIN), INTERVAL_SECONDS_MAX)
    state = WorkerState()
    while not stop.is_set():
        try:
            iteration = run_iteration(container, state)
            if iteration.sent or iteration.failed or iteration.jobs:
                log.info("worker: %s sent, %s failed, %s jobs", iteration.sent, iteration.failed, len(iteration.jobs))
        except Exception:
            # The database may be briefly unreachable or busy: log and try again next time.
            log.exception("worker iteration failed")
        stop.wait(interval)


class WorkerThread:
    """The worker loop in a daemon thread, for the embedded (one-process) mode."""

    def __init__(self, container: Container, interval_seconds: float) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=run_worker,
            args=(container, self.stop_event, interval_seconds),
            name="dinecard-worker",
            daemon=True,
        )

    def start(self) -> None:
        """Start the loop; its first iteration runs at once."""
        self.thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Ask the loop to stop and wait for the iteration in progress to finish."""
        self.stop_event.set()
        self.thread.join(timeout_seconds)
