"""Daily jobs: named functions run once per business date, in bounded batches.

To add a job, write it in your package's `scheduled.py` (found and imported automatically)
and register it with one line::

    def release_bonuses(container: Container, business_date: date, progress: JobProgress) -> JobResult:
        ...

    register_daily_job("bonus_release", release_bonuses)

A job must be idempotent by construction: running it twice for a date, or on two workers
at once, changes nothing more (lock the member and re-read under the lock; key messages with
`outbox.enqueue_once`). Work in bounded batches, one `container.database.write()` each, e.g.
with `keyset_batches`, and call `progress.advance` after each batch. Jobs run package by
package in alphabetical order, each module's jobs in the order it registers them;
`job_runs` records each finished run so `run_due` does not repeat it. A worker that
was down runs only the current date when it comes back, so a job should take everything due
by its date (e.g. lots expired by then), not only what fell due on that very day.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import JSON, Date, Integer, String, and_, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from dinecard.platform.db import Base, UtcDateTime
from dinecard.platform.outbox import redact_phones
from dinecard.shared.calendar import local_date

if TYPE_CHECKING:
    from dinecard.platform.container import Container

log = logging.getLogger("dinecard.jobs")

T = TypeVar("T")

BATCH_SIZE = 500
# Members per transaction of a set-based job: a few statements per range, each lock held briefly.
RANGE_SIZE = 2000
# Ranges a set-based job works at once on PostgreSQL (see `over_ranges`).
PARALLEL_RANGES = 2
# A run started this long ago and not finished is presumed dead (its worker crashed), so
# another worker may take it over; jobs are idempotent, so an overlap only wastes work.
RUN_LEASE = timedelta(hours=1)
ERROR_LENGTH_MAX = 300


class JobRun(Base):
    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Which run holds the job now; cleared when that run fails so the next one may start at once.
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH_MAX))


class JobProgress(Protocol):
    def set_total(self, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


class SilentProgress:
    """Progress reporting for runs nobody watches (the worker, tests)."""

    def set_total(self, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


@dataclass
class JobResult:
    """What a job did, as named counts (e.g. members, lots, points)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        """Add to one count."""
        self.counts[name] = self.counts.get(name, 0) + amount


JobFunction = Callable[["Container", date, JobProgress], JobResult]


@dataclass(frozen=True)
class DailyJob:
    name: str
    function: JobFunction

    @property
    def description(self) -> str:
        """The first line of the job function's docstring."""
        lines = (self.function.__doc__ or "").strip().splitlines()
        return lines[0] if lines else ""


_REGISTRY: dict[str, DailyJob] = {}
_discovered = False


def register_daily_job(name: str, function: JobFunction) -> None:
    """Add a job to the daily run; registering the same function again is harmless."""
    assert len(name) <= 60 and name.isidentifier(), f"job names are short identifiers: {name!r}"
    existing = _REGISTRY.get(name)
    assert existing is None or existing.function is function, f"two jobs are named {name!r}"
    _REGISTRY[name] = DailyJob(name, function)


def registered_jobs() -> list[DailyJob]:
    """Every daily job, after importing each package's `scheduled` module once."""
    global _discovered
    if not _discovered:
        import dinecard

        for package in sorted(pkgutil.iter_modules(dinecard.__path__), key=lambda module: module.name):
            if package.ispkg and importlib.util.find_spec(f"dinecard.{package.name}.scheduled") is not None:
                importlib.import_module(f"dinecard.{package.name}.scheduled")
        _discovered = True
    return list(_REGISTRY.values())


def business_today(container: Container) -> date:
    """Today in the chain's business time zone, by the container's clock."""
    return local_date(container.clock.now(), container.program.business_timezone)


def keyset_batches(
    container: Container,
    next_keys: Callable[[Session, str | None, int], Sequence[str]],
    batch_size: int = BATCH_SIZE,
) -> Iterator[list[str]]:
    """Ascending keys (e.g. member ids) one bounded page at a time; `next_keys(session, after, limit)` reads a page.

    Paging by key rather than offset stays correct while earlier keys drop out of the
    selection as they are processed.
    """
    after: str | None = None
    while True:
        with container.database.read() as session:
            keys = list(next_keys(session, after, batch_size))
        if not keys:
            return
        yield keys
        after = keys[-1]


def key_ranges(container: Container, column: Any, batch_size: int = RANGE_SIZE) -> Iterator[tuple[str | None, str]]:
    """Consecutive key ranges `(after, last]` of about `batch_size` rows each, ascending, over all of `column`.

    Set-based jobs work range by range: every statement of a batch then reads an index range
    (`after < member_id <= last`) instead of a long list of ids, and rows added behind the
    job (new members) are simply in a later range or in none.
    """
    after: str | None = None
    while True:
        with container.database.read() as session:
            page = select(column)
            if after is not None:
                page = page.where(column > after)
            last = session.execute(page.order_by(column).offset(batch_size - 1).limit(1)).scalar()
            if last is None:
                last = session.execute(select(func.max(column)).where(*([column > after] if after else []))).scalar()
        if last is None:
            return
        yield after, last
        after = last


def over_ranges(
    container: Container,
    column: Any,
    work: Callable[[str | None, str], T],
    *,
    parallel: int | None = None,
    batch_size: int | None = None,
) -> Iterator[T]:
    """`work(after, last)` for every key range of `column`, each result as it is done, in range order.

    On PostgreSQL `parallel` ranges are worked at once, each in its own transaction on its
    own connection: a set-based range is a few heavy statements, each on one server core, so
    a second range in flight uses the second core. Ranges never overlap and each locks its
    members in id order, so they cannot deadlock each other or a till. SQLite has one writer:
    there the ranges run one after another.
    """
    parallel = PARALLEL_RANGES if parallel is None else parallel
    ranges = key_ranges(container, column, RANGE_SIZE if batch_size is None else batch_size)
    if container.database.dialect != "postgresql" or parallel <= 1:
        for after, last in ranges:
            yield work(after, last)
        return
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="job-range") as pool:
        in_flight: deque[Future[T]] = deque()
        for after, last in ranges:
            in_flight.append(pool.submit(work, after, last))
            if len(in_flight) >= parallel:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def in_range(column: Any, after: str | None, last: str) -> Any:
    """`after < column <= last` (no lower bound for the first range)."""
    upper = column <= last
    return upper if after is None else and_(column > after, upper)


def member_pages(
    column: Any, *conditions: Any, distinct: bool = False
) -> Callable[[Session, str | None, int], Sequence[str]]:
    """A `keyset_batches` page reader: member ids from `column`, ascending, where `conditions` hold."""

    def page(session: Session, after: str | None, limit: int) -> Sequence[str]:
        statement = select(column).where(*conditions)
        if distinct:
            statement = statement.distinct()
        if after is not None:
            statement = statement.where(column > after)
        ids = session.execute(statement.order_by(column).limit(limit)).scalars()
        return [member_id for member_id in ids if member_id is not None]

    return page


class RunStatus(StrEnum):
    RAN = "ran"
    ALREADY_RAN = "already_ran"
    RUNNING_ELSEWHERE = "running_elsewhere"
    FAILED = "failed"


@dataclass(frozen=True)
class JobOutcome:
    job: str
    business_date: date
    status: RunStatus
    counts: dict[str, int]
    error: str | None = None


def due_jobs(container: Container, business_date: date) -> list[str]:
    """Names of the registered jobs with no finished run for the date."""
    names = [job.name for job in registered_jobs()]
    with container.database.read() as session:
        finished = set(
            session.execute(
                select(JobRun.job).where(JobRun.business_date == business_date, JobRun.finished_at.is_not(None))
            ).scalars()
        )
    return [name for name in names if name not in finished]


def run_due(
    container: Container,
    as_of: date | None = None,
    *,
    rerun: bool = False,
    progress_for: Callable[[str], JobProgress] | None = None,
) -> list[JobOutcome]:
    """Run every registered job not yet finished for the business date (default: today); `rerun` repeats them."""
    business_date = as_of or business_today(container)
    if business_date > business_today(container):
        raise ValueError(f"{business_date} has not begun in the business time zone; jobs never run ahead")
    outcomes = []
    for job in registered_jobs():
        progress = progress_for(job.name) if progress_for else SilentProgress()
        outcomes.append(_run_one(container, job, business_date, rerun, progress))
    return outcomes


def _run_one(
    container: Container, job: DailyJob, business_date: date, rerun: bool, progress: JobProgress
) -> JobOutcome:
    claim = uuid.uuid4().hex
    refusal = _claim(container, job.name, business_date, claim, rerun)
    if refusal is not None:
        return JobOutcome(job.name, business_date, refusal, {})
    try:
        result = job.function(container, business_date, progress)
    except Exception as exc:
        # One failing job must not stop the others; the run stays unfinished and is retried.
        log.exception("daily job %s for %s failed", job.name, business_date)
        error = redact_phones(f"{type(exc).__name__}: {exc}")[:ERROR_LENGTH_MAX]
        _release(container, job.name, business_date, claim, {"claim": None, "last_error": error})
        return JobOutcome(job.name, business_date, RunStatus.FAILED, {}, error)
    finished = {"finished_at": container.clock.now(), "counts": result.counts, "claim": None, "last_error": None}
    _release(container, job.name, business_date, claim, finished)
    log.info("daily job %s for %s: %s", job.name, business_date, result.counts)
    return JobOutcome(job.name, business_date, RunStatus.RAN, result.counts)


def _claim(container: Container, name: str, business_date: date, claim: str, rerun: bool) -> RunStatus | None:
    """Take the (job, date) run for this process, or say why not."""
    now = container.clock.now()
    with container.database.write() as uow:
        uow.insert_ignoring_conflict_many(
            JobRun.__table__,
            {"job": name, "business_date": business_date, "started_at": now, "attempts": 0, "claim": claim},
            ["job", "business_date"],
        )
        key = (JobRun.job == name, JobRun.business_date == business_date)
        statement = select(JobRun.finished_at, JobRun.claim, JobRun.started_at).where(*key)
        if uow.database.dialect == "postgresql":
            statement = statement.with_for_update()
        finished_at, holder, started_at = uow.session.execute(statement).one()
        if not rerun and finished_at is not None:
            return RunStatus.ALREADY_RAN
        if holder not in (None, claim) and now - started_at < RUN_LEASE:
            return RunStatus.RUNNING_ELSEWHERE
        uow.session.execute(
            update(JobRun).where(*key).values(started_at=now, claim=claim, attempts=JobRun.attempts + 1)
        )
    return None


def _release(container: Container, name: str, business_date: date, claim: str, values: dict[str, Any]) -> None:
    with container.database.write() as uow:
        # Only the holder records its outcome: a run whose lease was taken over stays silent.
        uow.session.execute(
            update(JobRun)
            .where(JobRun.job == name, JobRun.business_date == business_date, JobRun.claim == claim)
            .values(**values)
        )
