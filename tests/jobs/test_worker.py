"""The worker: one iteration delivers the outbox and runs the day's jobs once; the loop stops when asked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient

from dinecard.platform import jobs
from dinecard.platform.api import create_app
from dinecard.platform.container import Container
from dinecard.platform.jobs import JobProgress, JobResult, RunStatus
from dinecard.platform.settings import Settings
from dinecard.platform.worker import JOB_RETRY_DELAY, WorkerState, WorkerThread, run_iteration
from dinecard.shared.clock import FixedClock
from tests.jobs.conftest import messages, new_member, recharge, shanghai

WORKER_THREAD = "dinecard-worker"


def _worker_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == WORKER_THREAD]


def _eventually(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_one_iteration_delivers_the_outbox_and_runs_todays_jobs_once(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given a member whose March 2026 points have expired, and their recharge message unsent
    wang = new_member(container, "13700000001")
    recharge(container, wang, store_id, 500)
    clock.set(shanghai(2027, 4, 1, hour=9))
    state = WorkerState()

    # when the worker iterates twice, and a second worker (no memory) once
    first = run_iteration(container, state)
    second = run_iteration(container, state)
    other = run_iteration(container, WorkerState())

    # then the first iteration sends what was pending and runs the jobs
    assert first.sent >= 1 and first.failed == 0
    assert {outcome.job: outcome.status for outcome in first.jobs} == {
        job.name: RunStatus.RAN for job in jobs.registered_jobs()
    }
    assert state.jobs_done_for == date(2027, 4, 1)
    # and the second sends the messages the jobs wrote, without running them again
    assert second.sent >= 1 and second.jobs == []
    assert other.jobs == [] and other.sent == 0
    assert all(message.sent_at is not None for message in messages(container))
    assert len(messages(container, "points_expired")) == 1


def test_after_a_failed_job_the_worker_waits_before_trying_again(
    container: Container, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a job that fails
    def fails(container: Container, business_date: date, progress: JobProgress) -> JobResult:
        """Fails."""
        raise RuntimeError("boom")

    jobs.registered_jobs()
    monkeypatch.setitem(jobs._REGISTRY, "fails", jobs.DailyJob("fails", fails))
    clock.set(shanghai(2027, 4, 1, hour=9))
    state = WorkerState()

    # when the worker iterates, then again at once, then after the retry delay
    first = run_iteration(container, state)
    soon = run_iteration(container, state)
    clock.advance(JOB_RETRY_DELAY)
    later = run_iteration(container, state)

    # then the failing job is tried once per delay and the day is not marked done
    assert [outcome.status for outcome in first.jobs if outcome.job == "fails"] == [RunStatus.FAILED]
    assert soon.jobs == []
    assert [outcome.status for outcome in later.jobs if outcome.job == "fails"] == [RunStatus.FAILED]
    assert state.jobs_done_for is None


def test_the_worker_thread_works_until_stopped(container: Container) -> None:
    # given a pending message
    new_member(container, "13700000002")
    with container.database.write() as uow:
        from dinecard.platform import outbox

        outbox.enqueue(uow, member_id=None, topic="hello", payload={}, now=container.clock.now())

    # when a worker thread runs with a short interval
    worker = WorkerThread(container, interval_seconds=0.05)
    worker.start()
    try:
        delivered = _eventually(lambda: all(message.sent_at is not None for message in messages(container)))
    finally:
        worker.stop(timeout_seconds=30)

    # then it delivered the message and stopped when asked
    assert delivered
    assert not worker.thread.is_alive()


def test_the_api_runs_the_worker_only_when_embedded_worker_is_set(container: Container) -> None:
    # given the test containers' settings, which leave embedded_worker unset
    assert container.settings.embedded_worker is None
    with TestClient(create_app(container)) as client:
        assert client.get("/healthz").status_code == 200
        assert _worker_threads() == []

    # when the setting is on
    container.settings = container.settings.model_copy(
        update={"embedded_worker": True, "worker_interval_seconds": 0.05}
    )
    with TestClient(create_app(container)) as client:
        assert client.get("/healthz").status_code == 200
        running = _worker_threads()

    # then the server runs one worker thread while it is up, and stops it on shutdown
    assert len(running) == 1
    assert not running[0].is_alive()


def test_serve_turns_the_embedded_worker_on_for_sqlite_only() -> None:
    assert Settings(database_url="sqlite:///x.db").worker_in_server() is True
    assert Settings(database_url="postgresql://u@h/db").worker_in_server() is False
    assert Settings(database_url="sqlite:///x.db", embedded_worker=False).worker_in_server() is False
    assert Settings(database_url="postgresql://u@h/db", embedded_worker=True).worker_in_server() is True
