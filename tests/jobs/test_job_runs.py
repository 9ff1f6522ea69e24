"""The daily-job framework: registration, one recorded run per job and business date, failures isolated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from dinecard.platform import jobs
from dinecard.platform.container import Container
from dinecard.platform.jobs import JobProgress, JobResult, JobRun, RunStatus, run_due
from dinecard.shared.clock import FixedClock
from tests.jobs.conftest import shanghai

TODAY = date(2027, 4, 1)


def _runs(container: Container) -> dict[str, JobRun]:
    with container.database.read() as session:
        return {run.job: run for run in session.execute(select(JobRun)).scalars()}


def _failing(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Always fails."""
    raise RuntimeError("the bonus table is missing")


@pytest.fixture
def failing_job(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs.registered_jobs()  # discover the real jobs first, so the failing one runs after them
    monkeypatch.setitem(jobs._REGISTRY, "always_fails", jobs.DailyJob("always_fails", _failing))


def test_the_points_jobs_are_registered_by_their_module_expiry_first() -> None:
    names = [job.name for job in jobs.registered_jobs()]
    assert names.index("points_expiry") < names.index("points_expiry_reminders")
    assert all(job.description for job in jobs.registered_jobs())


def test_a_second_job_with_a_taken_name_is_refused() -> None:
    jobs.registered_jobs()
    with pytest.raises(AssertionError, match="two jobs"):
        jobs.register_daily_job("points_expiry", _failing)


def test_a_finished_run_is_recorded_and_not_repeated_unless_asked(container: Container, clock: FixedClock) -> None:
    # given today's jobs have run
    clock.set(shanghai(2027, 4, 1, hour=9))
    first = run_due(container)

    # when they are run again, then they are skipped; a rerun runs them
    second = run_due(container)
    rerun = run_due(container, rerun=True)

    assert {outcome.status for outcome in first} == {RunStatus.RAN}
    assert {outcome.status for outcome in second} == {RunStatus.ALREADY_RAN}
    assert {outcome.status for outcome in rerun} == {RunStatus.RAN}
    runs = _runs(container)
    assert set(runs) == {job.name for job in jobs.registered_jobs()}
    assert all(run.business_date == TODAY and run.finished_at == clock.now() for run in runs.values())
    assert all(run.attempts == 2 and run.counts == {} and run.claim is None for run in runs.values())
    assert jobs.due_jobs(container, TODAY) == []


def test_a_failing_job_is_recorded_unfinished_and_does_not_stop_the_others(
    container: Container, clock: FixedClock, failing_job: None
) -> None:
    # given a registered job that fails
    clock.set(shanghai(2027, 4, 1, hour=9))

    # when the jobs run twice
    first = {outcome.job: outcome for outcome in run_due(container)}
    second = {outcome.job: outcome for outcome in run_due(container)}

    # then the failure is recorded and retried; the other jobs finished once
    assert first["always_fails"].status is RunStatus.FAILED
    assert first["always_fails"].error == "RuntimeError: the bonus table is missing"
    assert first["points_expiry"].status is RunStatus.RAN
    assert second["always_fails"].status is RunStatus.FAILED
    assert second["points_expiry"].status is RunStatus.ALREADY_RAN
    failed = _runs(container)["always_fails"]
    assert failed.finished_at is None and failed.attempts == 2 and failed.claim is None
    assert failed.last_error == "RuntimeError: the bonus table is missing"
    assert jobs.due_jobs(container, TODAY) == ["always_fails"]


def test_a_run_held_by_another_worker_is_left_alone_until_its_lease_ends(
    container: Container, clock: FixedClock
) -> None:
    # given another worker started today's expiry and has not finished
    clock.set(shanghai(2027, 4, 1, hour=9))
    with container.database.write() as uow:
        uow.session.add(
            JobRun(job="points_expiry", business_date=TODAY, started_at=clock.now(), attempts=1, claim="other-worker")
        )

    # when this worker runs the jobs, then it leaves that one alone
    [held] = [outcome for outcome in run_due(container) if outcome.job == "points_expiry"]
    assert held.status is RunStatus.RUNNING_ELSEWHERE

    # when the other worker's lease has run out, then this worker takes the run over
    clock.advance(jobs.RUN_LEASE + timedelta(seconds=1))
    [taken] = [outcome for outcome in run_due(container, TODAY) if outcome.job == "points_expiry"]
    assert taken.status is RunStatus.RAN
    assert _runs(container)["points_expiry"].attempts == 2


def test_jobs_never_run_for_a_date_that_has_not_begun(container: Container, clock: FixedClock) -> None:
    # 23:00 UTC on 31 March is already 1 April in Shanghai, but 2 April has not begun there
    clock.set(shanghai(2027, 4, 1, hour=7))
    assert jobs.business_today(container) == TODAY
    with pytest.raises(ValueError, match="has not begun"):
        run_due(container, TODAY + timedelta(days=1))
