"""Risk events and alerts (R-SEC-4, R-OPS-4): raised once per pattern, listed and resolved by HQ.

An event is stored, counted in metrics and sent to the outbox (for HQ's channels, never the
member) in the transaction that raises it; its dedupe key makes a pattern seen by many scans,
or by two workers at once, raise one event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dinecard.ledger.reconcile import Report, run_reconciliation
from dinecard.platform import metrics, outbox
from dinecard.platform.db import UnitOfWork
from dinecard.security.models import RiskEvent
from dinecard.shared import errors
from dinecard.shared.errors import DomainError

if TYPE_CHECKING:
    from dinecard.platform.container import Container

log = logging.getLogger("dinecard.risk")

MAX_PAGE = 200
# Enough of a failed reconciliation to start looking; `dinecard reconcile` prints the rest.
FAILURES_PER_CHECK_IN_ALERT = 5
FAILURE_LENGTH_MAX = 200
NEGATIVE_BALANCE_CHECK = "no negative balance"  # the start of that reconciliation check's name

RISK_EVENT_NOT_FOUND = errors.add("risk_event_not_found", 404, "风险事件不存在", "No such risk event")
RISK_EVENT_RESOLVED = errors.add(
    "risk_event_already_resolved", 409, "该风险事件已处理", "This risk event has already been resolved"
)


class Category(StrEnum):
    RISK = "risk"  # an unusual pattern for review
    ALERT = "alert"  # an operational alarm: something that must not happen did


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Finding:
    """A pattern a rule found; `dedupe_key` names the pattern so it is raised once."""

    kind: str
    severity: Severity
    dedupe_key: str
    details: dict[str, Any] = field(default_factory=dict)
    category: Category = Category.RISK
    member_id: str | None = None
    store_id: str | None = None
    actor_id: str | None = None

    def __post_init__(self) -> None:
        assert len(self.dedupe_key) <= 120 and len(self.kind) <= 40, "they must fit their columns"


def known_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of `keys` have been raised already (so a scan writes nothing when it finds nothing new)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = session.execute(select(RiskEvent.dedupe_key).where(RiskEvent.dedupe_key.in_(chunk))).scalars()
        found.update(key for key in rows if key is not None)
    return found


def raise_event(uow: UnitOfWork, finding: Finding, now: datetime) -> int | None:
    """Store the finding, count it and tell HQ through the outbox; None when its pattern was raised before."""
    dialect_insert = postgresql.insert if uow.database.dialect == "postgresql" else sqlite.insert
    # On PostgreSQL a concurrent scan raising the same key waits here for the other's outcome.
    event_id = uow.session.execute(
        dialect_insert(RiskEvent)
        .values(
            category=finding.category.value,
            kind=finding.kind,
            severity=finding.severity.value,
            member_id=finding.member_id,
            store_id=finding.store_id,
            actor_id=finding.actor_id,
            dedupe_key=finding.dedupe_key,
            details=finding.details,
            detected_at=now,
            status="open",
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(RiskEvent.id)
    ).scalar_one_or_none()
    if event_id is None:
        return None
    metrics.count_after_commit(uow.session, metrics.RISK_EVENTS.labels(finding.category.value, finding.kind))
    outbox.enqueue(
        uow,
        member_id=None,  # for HQ's channels: the member is never told
        topic="alert" if finding.category is Category.ALERT else "risk_event",
        payload={
            "risk_event_id": event_id,
            "category": finding.category.value,
            "kind": finding.kind,
            "severity": finding.severity.value,
            "member_id": finding.member_id,
            "store_id": finding.store_id,
            "actor_id": finding.actor_id,
            "details": finding.details,
        },
        now=now,
    )
    level = logging.ERROR if finding.severity is Severity.CRITICAL else logging.WARNING
    log.log(level, "%s raised: %s (event %s)", finding.category.value, finding.dedupe_key, event_id)
    return event_id


def raise_all(container: Container, findings: list[Finding]) -> dict[str, int]:
    """Raise the findings not raised before, in one transaction; how many were new, by kind."""
    with container.database.read() as session:
        seen = known_keys(session, [finding.dedupe_key for finding in findings])
    fresh = [finding for finding in findings if finding.dedupe_key not in seen]
    raised: dict[str, int] = {}
    if not fresh:
        return raised
    with container.database.write() as uow:
        now = container.clock.now()
        for finding in fresh:
            if raise_event(uow, finding, now) is not None:
                raised[finding.kind] = raised.get(finding.kind, 0) + 1
    return raised


# ---------------------------------------------------------------- alerts


def reconciliation_alerts(report: Report, business_date: date) -> list[Finding]:
    """A critical alert for a failed reconciliation, and one more when a balance has the wrong sign."""
    failed = [check for check in report.checks if check.failures]
    if not failed:
        return []
    examples = {
        check.name: [failure[:FAILURE_LENGTH_MAX] for failure in check.failures[:FAILURES_PER_CHECK_IN_ALERT]]
        for check in failed
    }
    details = {"business_date": business_date.isoformat(), "failed_checks": examples}
    # Keyed by business date: a failure that persists is raised again each day until it is fixed.
    findings = [
        Finding(
            "reconciliation_failed",
            Severity.CRITICAL,
            f"reconciliation_failed:{business_date.isoformat()}",
            details,
            Category.ALERT,
        )
    ]
    for check in failed:
        if check.name.startswith(NEGATIVE_BALANCE_CHECK):
            findings.append(
                Finding(
                    "negative_balance",
                    Severity.CRITICAL,
                    f"negative_balance:{business_date.isoformat()}",
                    {"business_date": business_date.isoformat(), "accounts": examples[check.name]},
                    Category.ALERT,
                )
            )
    return findings


def check_ledger(container: Container, business_date: date) -> tuple[Report, dict[str, int]]:
    """Reconcile the whole ledger (R-OPS-2) and raise the alerts its failures call for."""
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    findings = reconciliation_alerts(report, business_date)
    return report, raise_all(container, findings) if findings else {}


# ---------------------------------------------------------------- review


def list_events(
    session: Session,
    *,
    status: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    store_id: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[RiskEvent], int | None]:
    """A page of events, newest first, and the cursor for the next page (None at the end)."""
    assert 1 <= limit <= MAX_PAGE
    statement = select(RiskEvent).order_by(RiskEvent.id.desc()).limit(limit + 1)
    filters = ((RiskEvent.status, status), (RiskEvent.category, category), (RiskEvent.kind, kind))
    for column, value in (*filters, (RiskEvent.store_id, store_id)):
        if value is not None:
            statement = statement.where(column == value)
    if before is not None:
        statement = statement.where(RiskEvent.id < before)
    rows = list(session.execute(statement).scalars())
    next_before = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_before


def resolve_event(uow: UnitOfWork, event_id: int, resolved_by: str, note: str, now: datetime) -> RiskEvent:
    """Mark an open event resolved, with who did it and why."""
    statement = select(RiskEvent).where(RiskEvent.id == event_id)
    if uow.database.dialect == "postgresql":
        statement = statement.with_for_update()
    event = uow.session.execute(statement).scalar_one_or_none()
    if event is None:
        raise DomainError(RISK_EVENT_NOT_FOUND)
    if event.status != "open":
        raise DomainError(RISK_EVENT_RESOLVED)
    event.status = "resolved"
    event.resolved_by = resolved_by[:80]
    event.resolved_at = now
    event.resolution_note = note[:200]
    return event
