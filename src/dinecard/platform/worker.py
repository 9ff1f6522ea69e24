"""The background worker: delivers the outbox every interval and runs the daily jobs once per business date.

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

if TYPE_CHECKING:
    from dinecard.platform.container import Container

log = logging.getLogger("dinecard.worker")

INTERVAL_SECONDS_MIN = 0.05
INTERVAL_SECONDS_MAX = 3600.0
# Dispatch batches per iteration, so a long backlog cannot starve the daily jobs.
DISPATCH_BATCHES_MAX = 20
# After a failed job, wait this long before trying the day's jobs again.
JOB_RETRY_DELAY = timedelta(minutes=5)


@dataclass
class WorkerState:
    """What one worker remembers between iterations."""

    jobs_done_for: date | None = None
    jobs_retry_at: datetime | None = None


@dataclass
class Iteration:
    """What one iteration did."""

    sent: int = 0
    failed: int = 0
    jobs: list[jobs.JobOutcome] = field(default_factory=list)


def run_iteration(container: Container, state: WorkerState, channel: outbox.Channel | None = None) -> Iteration:
    """One pass of the worker: drain the outbox (bounded), then run today's jobs if they have not run."""
    iteration = Iteration()
    for _ in range(DISPATCH_BATCHES_MAX):
        result = outbox.dispatch_pending(container, channel=channel)
        iteration.sent += result.sent
        iteration.failed += result.failed
        if result.claimed < outbox.BATCH_SIZE:
            break
    today = jobs.business_today(container)
    now = container.clock.now()
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
